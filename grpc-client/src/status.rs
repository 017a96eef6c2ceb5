//! Transport errors → [`Status`]: which gRPC code a broken connection or
//! stream becomes.
//!
//! The codes come from the stack's one table,
//! [`grpc_core::status::mapping`], read through `grpc-layers`'
//! [`DefaultMapper`] (which recognises h2, hyper, io and tower errors in a
//! `source()` chain). This module adds one rule to it, for this crate's
//! [`Error`], and [`status_from_error`] is where the crate applies it: the
//! [`Channel`](crate::Channel) maps its own errors with it, so a bare
//! channel reports the same codes as one inside a status layer, and the
//! typed calls map the errors of whatever service stack they call through
//! with it. The rules, in order:
//!
//! 1. a [`Status`] anywhere in the error's chain wins, as it is;
//! 2. this crate's [`Error`] is [`Code::Unavailable`] (connect failure,
//!    connect timeout, backoff, TLS failure, connection closed), except an
//!    invalid request ([`Code::Internal`]), an invalid URI
//!    ([`Code::InvalidArgument`]) and credentials refused over a plaintext
//!    connection ([`Code::Unauthenticated`]);
//! 3. a stream reset follows the table of gRPC's `PROTOCOL-HTTP2.md`
//!    ([`code_from_http2_error`]); a `GOAWAY` from the peer is a connection
//!    failure, [`Code::Unavailable`];
//! 4. a refused, reset, closed or timed-out connection (`io::Error`,
//!    `hyper::Error`) is [`Code::Unavailable`]; tower's `Elapsed` is
//!    [`Code::DeadlineExceeded`] and `Overloaded` [`Code::Unavailable`];
//! 5. anything else is [`Code::Unknown`].
//!
//! The message lists the chain (`outer: inner: …`) and the original error
//! stays reachable through the status's `source()`.
//!
//! ```
//! use grpc_client::status::status_from_error;
//! use grpc_core::Code;
//!
//! let reset = h2::Error::from(h2::Reason::REFUSED_STREAM);
//! let status = status_from_error(Box::new(reset));
//! assert_eq!(status.code(), Code::Unavailable);
//! assert!(std::error::Error::source(&status).is_some());
//! ```
//!
//! To map a channel's errors in a service stack, give the client status
//! layer this crate's [`mapper`]:
//!
//! ```
//! use grpc_client::Endpoint;
//! use grpc_layers::status::ClientStatusLayer;
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let stack = ServiceBuilder::new()
//!     .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
//!     .service(channel);
//! # let _ = stack;
//! # }
//! ```
//!
//! [`DefaultMapper`]: grpc_layers::status::DefaultMapper
//! [`code_from_http2_error`]: grpc_core::status::mapping::code_from_http2_error

use std::sync::LazyLock;

use grpc_core::status::mapping::{connection_failure_code, Side};
use grpc_core::{BoxError, Code, Status};
use grpc_layers::status::{DefaultMapper, MapError};

use crate::error::Error;

/// The stack's default table plus the rule for this crate's [`Error`].
static MAPPER: LazyLock<DefaultMapper> = LazyLock::new(|| {
    DefaultMapper::new().rule::<Error>(|err| Status::new(code_from_error(err), String::new()))
});

/// The mapper this crate applies to transport errors: `grpc-layers`'
/// [`DefaultMapper`] with a rule for [`Error`]. Add your own rules to it,
/// and hand it to a
/// [`ClientStatusLayer`](grpc_layers::status::ClientStatusLayer).
pub fn mapper() -> DefaultMapper {
    MAPPER.clone()
}

/// Turns a transport error (a service's `Err`, a body error) into a
/// [`Status`]; see the [module docs](self) for the rules.
pub fn status_from_error(err: BoxError) -> Status {
    MAPPER.map_error(err)
}

fn code_from_error(err: &Error) -> Code {
    if err.is_invalid_request() {
        Code::Internal
    } else if err.is_invalid_uri() {
        Code::InvalidArgument
    } else if err.is_insecure_transport() {
        Code::Unauthenticated
    } else {
        // Connect, connect timeout, backoff, TLS, connection closed: the
        // connection failed, as the one table says.
        connection_failure_code(Side::Client)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as StdError;
    use std::fmt;
    use std::io;

    use super::*;
    use crate::error::Kind;

    /// An error that wraps another, as layers and hyper do.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn the_table_is_the_layers_one() {
        // The full table is tested in grpc-layers; these show it is used.
        for (reason, code) in [
            (h2::Reason::REFUSED_STREAM, Code::Unavailable),
            (h2::Reason::CANCEL, Code::Cancelled),
            (h2::Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        ] {
            let nested = Wrapped(Box::new(h2::Error::from(reason)));
            assert_eq!(status_from_error(Box::new(nested)).code(), code);
        }
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            status_from_error(Box::new(refused)).code(),
            Code::Unavailable
        );
        let status = Status::permission_denied("no");
        let back = status_from_error(Box::new(Wrapped(Box::new(status))));
        assert_eq!(back.code(), Code::PermissionDenied);
        assert_eq!(back.message(), "no");
    }

    #[test]
    fn connect_failures_timeouts_and_backoff_are_unavailable() {
        let refused = Error::with(
            Kind::Connect,
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        for err in [
            refused.clone(),
            Error::new(Kind::ConnectTimeout),
            Error::in_backoff(&refused),
            Error::new(Kind::ConnectionClosed),
            Error::with(Kind::Tls, "unknown issuer"),
        ] {
            assert_eq!(status_from_error(Box::new(err)).code(), Code::Unavailable);
        }
        assert_eq!(
            status_from_error(Box::new(Error::new(Kind::InvalidRequest))).code(),
            Code::Internal
        );
        assert_eq!(
            status_from_error(Box::new(Error::new(Kind::InvalidUri))).code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn the_message_is_the_chain_and_the_error_is_the_source() {
        let refused = Error::with(
            Kind::Connect,
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        let status = status_from_error(Box::new(refused));
        assert_eq!(status.message(), "failed to connect: connection refused");
        let source = StdError::source(&status).unwrap();
        assert!(source.downcast_ref::<Error>().unwrap().is_connect());

        let other = status_from_error(Box::new(Wrapped("disk on fire".into())));
        assert_eq!(other.code(), Code::Unknown);
        assert_eq!(other.message(), "wrapped: disk on fire");
    }

    #[test]
    fn the_mapper_is_the_one_status_from_error_uses() {
        let err = Error::new(Kind::InvalidUri);
        assert_eq!(
            mapper().map_error(Box::new(err)).code(),
            Code::InvalidArgument
        );
        assert!(format!("{:?}", mapper()).contains("grpc_client::error::Error"));
    }
}
