//! [`Error`]: why an endpoint could not be built or a connection could not be
//! made.
//!
//! The error is opaque, in hyper's style: ask it what happened with the
//! `is_*` predicates, and read the underlying cause (an `io::Error`, a
//! `hyper::Error`, an `http::uri::InvalidUri`) through
//! [`source()`](std::error::Error::source).
//!
//! Errors of a call are turned into a [`Status`](grpc_core::Status) by
//! [`status_from_error`](crate::status::status_from_error): every kind here
//! maps to [`Code::Unavailable`](grpc_core::Code::Unavailable) except
//! [`Error::is_invalid_request`], which is [`Code::Internal`](grpc_core::Code::Internal),
//! and [`Error::is_invalid_uri`], which is
//! [`Code::InvalidArgument`](grpc_core::Code::InvalidArgument).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use grpc_core::BoxError;

/// Why an endpoint, a connection or a request could not be made.
///
/// Cheap to clone: the cause is shared, so every call waiting on one
/// connection attempt can be handed the same failure.
#[derive(Clone)]
pub struct Error {
    kind: Kind,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The endpoint URI could not be parsed or has an unsupported scheme.
    InvalidUri,
    /// The TCP connection or the HTTP/2 handshake failed.
    Connect,
    /// The connection attempt did not finish within the connect timeout.
    ConnectTimeout,
    /// A previous connection attempt failed and the channel is waiting out
    /// its backoff; the call failed fast instead of waiting.
    Backoff,
    /// The connection closed before the request could be sent on it.
    ConnectionClosed,
    /// The request could not be turned into an HTTP/2 request (bad path).
    InvalidRequest,
    /// TLS failed: the handshake (untrusted certificate, name mismatch, no
    /// ALPN `h2`), or the TLS configuration could not be built.
    Tls,
    /// The request carries credentials held back for a TLS connection
    /// (`HeldCredentials`) and the endpoint is not TLS.
    InsecureTransport,
}

impl Error {
    #[cfg(test)]
    pub(crate) fn new(kind: Kind) -> Error {
        Error { kind, source: None }
    }

    pub(crate) fn with(kind: Kind, source: impl Into<BoxError>) -> Error {
        Error {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// The same failure seen again, e.g. by a call failing fast during backoff.
    pub(crate) fn in_backoff(last: &Error) -> Error {
        Error {
            kind: Kind::Backoff,
            source: Some(Arc::new(last.clone())),
        }
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The endpoint target is invalid or uses a scheme this client does not
    /// support (it supports `http://`, `https://` with the `tls` feature,
    /// and `unix:` paths).
    pub fn is_invalid_uri(&self) -> bool {
        self.kind == Kind::InvalidUri
    }

    /// Connecting failed: refused, unreachable, timed out, handshake error,
    /// or the channel is in backoff after such a failure.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            Kind::Connect | Kind::ConnectTimeout | Kind::Backoff | Kind::Tls
        )
    }

    /// TLS failed: the handshake (an untrusted certificate, a name
    /// mismatch, a server without ALPN `h2`) or building the TLS
    /// configuration (unreadable PEM). The rustls error or the reason is the
    /// [`source()`](std::error::Error::source).
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// The connection attempt timed out.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::ConnectTimeout
    }

    /// The call failed fast because the channel is waiting out the backoff
    /// of a failed connection attempt (the failed attempt is the source).
    pub fn is_backoff(&self) -> bool {
        self.kind == Kind::Backoff
    }

    /// The connection closed before the request could be sent on it.
    pub fn is_closed(&self) -> bool {
        self.kind == Kind::ConnectionClosed
    }

    /// The request could not be sent as an HTTP/2 request (e.g. its path is
    /// not a valid URI path).
    pub fn is_invalid_request(&self) -> bool {
        self.kind == Kind::InvalidRequest
    }

    /// The request carries credentials an auth layer held back for a TLS
    /// connection ([`HeldCredentials`](grpc_core::security::HeldCredentials))
    /// and the endpoint is not TLS, so
    /// it was refused before anything was sent. Maps to
    /// [`Code::Unauthenticated`](grpc_core::Code::Unauthenticated).
    pub fn is_insecure_transport(&self) -> bool {
        self.kind == Kind::InsecureTransport
    }

    fn description(&self) -> &'static str {
        match self.kind {
            Kind::InvalidUri => "invalid endpoint URI",
            Kind::Connect => "failed to connect",
            Kind::ConnectTimeout => "connection attempt timed out",
            Kind::Backoff => "not connected: waiting to retry after a failed connection attempt",
            Kind::ConnectionClosed => "connection closed before the request was sent",
            Kind::InvalidRequest => "invalid request",
            Kind::Tls => "TLS failed",
            Kind::InsecureTransport => "refused to send credentials over a plaintext connection",
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("grpc_client::Error");
        d.field(&self.kind);
        if let Some(source) = &self.source {
            d.field(source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backoff_error_keeps_the_failed_attempt_as_its_source() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let first = Error::with(Kind::Connect, refused);
        let later = Error::in_backoff(&first);
        assert!(later.is_backoff() && later.is_connect());
        let source = later.source().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(source.kind(), Kind::Connect);
        let io = source
            .source()
            .unwrap()
            .downcast_ref::<std::io::Error>()
            .unwrap();
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
