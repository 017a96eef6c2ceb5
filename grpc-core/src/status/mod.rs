//! [`Status`]: the outcome of a call, and its lossless header form.
//!
//! On the wire a status is `grpc-status` (a decimal [`Code`]), an optional
//! `grpc-message` (percent-encoded UTF-8) and an optional
//! `grpc-status-details-bin` (base64 of a serialized `google.rpc.Status`),
//! in the trailers or, for a trailers-only response, in the headers.
//!
//! ```
//! use grpc_core::{Code, Status};
//!
//! let status = Status::new(Code::NotFound, "no such user: \u{e9}mile\n");
//! let mut headers = http::HeaderMap::new();
//! status.add_to_headers(&mut headers);
//! assert_eq!(headers["grpc-status"], "5");
//! assert_eq!(headers["grpc-message"], "no such user: %C3%A9mile%0A");
//!
//! let back = Status::from_headers(&headers).unwrap();
//! assert_eq!(back.code(), Code::NotFound);
//! assert_eq!(back.message(), status.message());
//! ```
//!
//! `Status` knows nothing of hyper, h2 or tower. Which code a transport
//! failure stands for is [`mapping`], the one table of the stack; finding
//! such a failure in an error's `source()` chain is the job of
//! `grpc-layers`' status module, which the server and the client use where
//! hyper hands them an error.

mod code;
pub mod mapping;
pub mod outcome;

pub use code::Code;

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use percent_encoding::{percent_decode, percent_encode, AsciiSet, CONTROLS};

use crate::error::BoxError;
use crate::headers::{GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS};
use crate::metadata::{encoding, MetadataMap};

/// Bytes percent-encoded in `grpc-message`: everything outside 0x20–0x7E
/// (non-ASCII is always encoded by `percent_encoding`) and `%` itself.
const MESSAGE_ENCODE_SET: &AsciiSet = &CONTROLS.add(b'%');

/// The outcome of a gRPC call: a [`Code`], a message, optional binary details
/// and metadata, and optionally the error that caused it.
///
/// A `Status` is one pointer wide, so `Result<T, Status>` stays small.
#[derive(Clone)]
pub struct Status(Box<Inner>);

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    details: Bytes,
    metadata: MetadataMap,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status(Box::new(Inner {
            code,
            message: message.into(),
            details: Bytes::new(),
            metadata: MetadataMap::new(),
            source: None,
        }))
    }

    /// The OK status.
    pub fn ok() -> Status {
        Status::new(Code::Ok, String::new())
    }

    constructors! {
        /// A [`Code::Cancelled`] status.
        cancelled => Cancelled,
        /// A [`Code::Unknown`] status.
        unknown => Unknown,
        /// A [`Code::InvalidArgument`] status.
        invalid_argument => InvalidArgument,
        /// A [`Code::DeadlineExceeded`] status.
        deadline_exceeded => DeadlineExceeded,
        /// A [`Code::NotFound`] status.
        not_found => NotFound,
        /// A [`Code::AlreadyExists`] status.
        already_exists => AlreadyExists,
        /// A [`Code::PermissionDenied`] status.
        permission_denied => PermissionDenied,
        /// A [`Code::ResourceExhausted`] status.
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] status.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Aborted`] status.
        aborted => Aborted,
        /// A [`Code::OutOfRange`] status.
        out_of_range => OutOfRange,
        /// A [`Code::Unimplemented`] status.
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] status.
        internal => Internal,
        /// A [`Code::Unavailable`] status.
        unavailable => Unavailable,
        /// A [`Code::DataLoss`] status.
        data_loss => DataLoss,
        /// A [`Code::Unauthenticated`] status.
        unauthenticated => Unauthenticated,
    }

    /// Adds binary details (usually a serialized `google.rpc.Status`).
    pub fn with_details(mut self, details: impl Into<Bytes>) -> Status {
        self.0.details = details.into();
        self
    }

    /// Adds metadata sent alongside the status (in the trailers).
    pub fn with_metadata(mut self, metadata: MetadataMap) -> Status {
        self.0.metadata = metadata;
        self
    }

    /// Records the error that caused this status; reachable through
    /// [`Error::source`].
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Status {
        self.0.source = Some(Arc::from(source.into()));
        self
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The status message (decoded, as UTF-8).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The binary details; empty when none were given.
    pub fn details(&self) -> &Bytes {
        &self.0.details
    }

    /// Metadata carried with the status.
    pub fn metadata(&self) -> &MetadataMap {
        &self.0.metadata
    }

    /// Metadata carried with the status, mutably.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.0.metadata
    }

    /// Whether the code is [`Code::Ok`].
    pub fn is_ok(&self) -> bool {
        self.0.code == Code::Ok
    }

    /// The status an error carries: a `Status` found in the error or
    /// anywhere in its `source()` chain is returned as it is; anything else
    /// becomes [`Code::Unknown`] with the error's text and the error kept as
    /// the source.
    ///
    /// This reads statuses, it does not classify errors: an h2 reset or a
    /// broken connection that reaches it is `UNKNOWN`. The server and the
    /// client turn transport errors into statuses (through [`mapping`])
    /// where hyper hands them over, so the errors that travel further are
    /// statuses already; `grpc-layers`' `DefaultMapper` classifies any
    /// other error the same way.
    pub fn from_error(err: BoxError) -> Status {
        match err.downcast::<Status>() {
            Ok(status) => *status,
            Err(err) => {
                if let Some(status) = find_in_chain::<Status>(&*err) {
                    return status.clone();
                }
                Status::new(Code::Unknown, err.to_string()).with_source(err)
            }
        }
    }

    /// Reads a status from headers or trailers. `None` when there is no
    /// `grpc-status`. A `grpc-status` that is not a number is read as
    /// [`Code::Unknown`] with a message that says so.
    pub fn from_headers(headers: &HeaderMap) -> Option<Status> {
        let raw = headers.get(GRPC_STATUS)?;
        let code = match Code::from_bytes(raw.as_bytes()) {
            Some(code) => code,
            None => {
                return Some(Status::new(
                    Code::Unknown,
                    format!(
                        "invalid grpc-status: {:?}",
                        String::from_utf8_lossy(raw.as_bytes())
                    ),
                ))
            }
        };
        let message = headers
            .get(GRPC_MESSAGE)
            .map(|v| decode_grpc_message(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let details = headers
            .get(GRPC_STATUS_DETAILS)
            .and_then(|v| encoding::decode_binary(v.as_bytes()).ok())
            .unwrap_or_default();
        let metadata = if headers.len() > 1 {
            MetadataMap::from_headers(headers.clone())
        } else {
            MetadataMap::new()
        };
        Some(Status(Box::new(Inner {
            code,
            message,
            details,
            metadata,
            source: None,
        })))
    }

    /// Writes `grpc-status`, `grpc-message` (if not empty),
    /// `grpc-status-details-bin` (if not empty) and the status metadata.
    pub fn add_to_headers(&self, headers: &mut HeaderMap) {
        headers.insert(GRPC_STATUS, self.0.code.to_header_value());
        if !self.0.message.is_empty() {
            headers.insert(GRPC_MESSAGE, encode_grpc_message(&self.0.message));
        }
        if !self.0.details.is_empty() {
            let v = encoding::encode_binary(&self.0.details);
            headers.insert(
                GRPC_STATUS_DETAILS,
                HeaderValue::from_maybe_shared(Bytes::from(v)).expect("base64 is a valid header"),
            );
        }
        if !self.0.metadata.is_empty() {
            self.0.metadata.append_to(headers);
        }
    }

    /// The status as a header map (for trailers).
    pub fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(2 + self.0.metadata.len());
        self.add_to_headers(&mut headers);
        headers
    }

    /// A trailers-only response carrying this status: HTTP 200,
    /// `content-type: application/grpc`, the status in the header block and an
    /// empty body (so the stream ends with the headers).
    pub fn into_http<B: Default>(self) -> http::Response<B> {
        self.into_http_with(B::default())
    }

    /// A trailers-only response carrying this status, over `empty`: a body
    /// that ends at once. This is the one refusal path of the layers: each
    /// passes the empty state of its own response body, so none needs
    /// `ResBody: Default`.
    ///
    /// ```
    /// use grpc_core::Status;
    ///
    /// let response = Status::unauthenticated("no token").into_http_with(());
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["grpc-status"], "16");
    /// assert_eq!(response.headers()["content-type"], "application/grpc");
    /// ```
    pub fn into_http_with<B>(self, empty: B) -> http::Response<B> {
        let mut response = http::Response::new(empty);
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, crate::headers::APPLICATION_GRPC);
        self.add_to_headers(headers);
        response
    }
}

/// Finds an error of type `E` in `err` or its `source()` chain.
pub fn find_in_chain<'a, E: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

/// Percent-encodes a status message for `grpc-message`.
pub fn encode_grpc_message(message: &str) -> HeaderValue {
    let encoded: Cow<'_, str> = percent_encode(message.as_bytes(), MESSAGE_ENCODE_SET).into();
    match encoded {
        Cow::Borrowed(s) => HeaderValue::from_str(s),
        Cow::Owned(s) => HeaderValue::from_maybe_shared(Bytes::from(s)),
    }
    .expect("percent-encoded text is a valid header value")
}

/// Decodes `grpc-message` leniently: malformed escapes are kept as they are
/// and invalid UTF-8 is replaced, never an error.
pub fn decode_grpc_message(raw: &[u8]) -> Cow<'_, str> {
    let decoded: Cow<'_, [u8]> = percent_decode(raw).into();
    match decoded {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => Cow::Owned(match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Status");
        d.field("code", &self.0.code);
        if !self.0.message.is_empty() {
            d.field("message", &self.0.message);
        }
        if !self.0.details.is_empty() {
            d.field("details", &self.0.details);
        }
        if !self.0.metadata.is_empty() {
            d.field("metadata", &self.0.metadata);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status: {:?}", self.0.code)?;
        if !self.0.message.is_empty() {
            write!(f, ", message: {:?}", self.0.message)?;
        }
        Ok(())
    }
}

impl Error for Status {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|e| &**e as &(dyn Error + 'static))
    }
}

/// An I/O error of the application (a handler's `?` on a file or socket):
/// the connection failures of [`mapping::is_connection_failure`] are
/// `UNAVAILABLE`, as on a client; the other kinds take the code of the same
/// name where gRPC has one.
impl From<std::io::Error> for Status {
    /// Through the one table, as a client sees it
    /// ([`mapping::code_from_io_error`]): a connection failure is
    /// `UNAVAILABLE`, any other kind `UNKNOWN`.
    fn from(err: std::io::Error) -> Self {
        let code = mapping::code_from_io_error(err.kind(), mapping::Side::Client);
        Status::new(code, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_status_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Status>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn details_and_metadata_survive_the_header_form() {
        let mut md = MetadataMap::new();
        md.insert("x-retry", "no").unwrap();
        let status = Status::new(Code::Aborted, "conflict")
            .with_details(Bytes::from_static(b"\x08\x0a\x12\x00"))
            .with_metadata(md);
        let back = Status::from_headers(&status.to_headers()).unwrap();
        assert_eq!(back.code(), Code::Aborted);
        assert_eq!(back.message(), "conflict");
        assert_eq!(back.details().as_ref(), b"\x08\x0a\x12\x00");
        assert_eq!(back.metadata().get("x-retry"), Some("no"));
    }

    #[test]
    fn a_malformed_grpc_status_reads_as_unknown() {
        let mut h = HeaderMap::new();
        h.insert(GRPC_STATUS, HeaderValue::from_static("abc"));
        assert_eq!(Status::from_headers(&h).unwrap().code(), Code::Unknown);
        assert!(Status::from_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn malformed_percent_escapes_are_kept_not_rejected() {
        assert_eq!(decode_grpc_message(b"100%"), "100%");
        assert_eq!(decode_grpc_message(b"%zz%4"), "%zz%4");
        assert_eq!(decode_grpc_message(b"%FF"), "\u{fffd}");
    }

    #[test]
    fn a_status_in_the_source_chain_is_found() {
        #[derive(Debug)]
        struct Wrapper(Status);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("wrapper")
            }
        }
        impl Error for Wrapper {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let s = Status::from_error(Box::new(Wrapper(Status::aborted("x"))));
        assert_eq!(s.code(), Code::Aborted);
        let s = Status::from_error("plain".into());
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(s.message(), "plain");
        assert!(s.source().is_some());
    }

    #[test]
    fn trailers_only_response_carries_status_in_headers() {
        let resp: http::Response<()> = Status::unimplemented("nope").into_http();
        assert_eq!(resp.status(), http::StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/grpc");
        assert_eq!(resp.headers()["grpc-status"], "12");
        assert_eq!(resp.headers()["grpc-message"], "nope");
    }

    proptest! {
        #[test]
        fn any_message_round_trips_through_percent_encoding(message in any::<String>()) {
            let encoded = encode_grpc_message(&message);
            prop_assert!(encoded.as_bytes().iter().all(|b| (0x20..=0x7e).contains(b)));
            prop_assert_eq!(decode_grpc_message(encoded.as_bytes()), message);
        }
    }
}
