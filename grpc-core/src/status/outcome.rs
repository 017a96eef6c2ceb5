//! The one classifier of a call's outcome: what a response head, the
//! trailers, or the end of the body say about how the call ended. Every
//! layer that reacts to a call's status asks here (client head reading,
//! telemetry, deadline, compression, limits, load shedding, retries), and
//! nothing else reads `grpc-status` itself.
//!
//! It follows PROTOCOL-HTTP2 and http-grpc-status-mapping, as tower-http's
//! `classify` does for HTTP: an outcome is known at once from the head, or
//! only at the end of the stream.
//!
//! | what arrives | outcome |
//! |---|---|
//! | a head with `grpc-status` (trailers-only), whatever the HTTP status | [`HeadOutcome::Ended`] with that code (`UNKNOWN` when it is not a number) |
//! | a head with an HTTP status other than 200 | [`HeadOutcome::NotGrpc`], the code from the one [HTTP table](super::mapping::code_from_http_status) |
//! | a 200 head whose `content-type` is not `application/grpc…` | [`HeadOutcome::NotGrpc`], `UNKNOWN` |
//! | a 200 gRPC head | [`HeadOutcome::Streaming`]: the status comes at the end |
//! | trailers with `grpc-status` | that code ([`code_of_trailers`]) |
//! | trailers without `grpc-status`, or no trailers at all | `INTERNAL`: the stream ended without a status |
//!
//! ```
//! use grpc_core::status::outcome::{classify_head, code_of_trailers, HeadOutcome};
//! use grpc_core::{Code, Status};
//!
//! let refused = Status::unauthenticated("no token").into_http::<()>();
//! assert_eq!(classify_head(refused.status(), refused.headers()), HeadOutcome::Ended(Code::Unauthenticated));
//!
//! let proxy = http::Response::builder().status(503).body(()).unwrap();
//! assert!(matches!(classify_head(proxy.status(), proxy.headers()), HeadOutcome::NotGrpc { code: Code::Unavailable, .. }));
//!
//! assert_eq!(code_of_trailers(Some(&Status::ok().to_headers())), Code::Ok);
//! assert_eq!(code_of_trailers(None), Code::Internal);
//! ```

use http::{HeaderMap, HeaderValue, StatusCode};

use super::mapping::code_from_http_status;
use super::{Code, Status};
use crate::headers::{is_grpc_content_type, GRPC_STATUS};

/// What a response head says about its call; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadOutcome {
    /// A gRPC response whose messages follow; its status is in the
    /// trailers.
    Streaming,
    /// A trailers-only response: the call ended with this code.
    Ended(Code),
    /// Not a gRPC response: the call failed with `code`.
    NotGrpc {
        /// The code the one table gives.
        code: Code,
        /// What gave it away.
        why: NotGrpc,
    },
}

/// Why a response is not a gRPC one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotGrpc {
    /// Its HTTP status is not 200.
    HttpStatus(StatusCode),
    /// It is 200, with no `content-type`, or one that is not gRPC's.
    ContentType,
}

impl HeadOutcome {
    /// The code, when the head ended the call.
    pub fn code(self) -> Option<Code> {
        match self {
            HeadOutcome::Streaming => None,
            HeadOutcome::Ended(code) | HeadOutcome::NotGrpc { code, .. } => Some(code),
        }
    }

    /// Whether messages follow: a gRPC response that is not trailers-only.
    pub fn is_streaming(self) -> bool {
        self == HeadOutcome::Streaming
    }
}

/// Classifies a response head; see the [module docs](self).
pub fn classify_head(status: StatusCode, headers: &HeaderMap) -> HeadOutcome {
    if let Some(value) = headers.get(GRPC_STATUS) {
        return HeadOutcome::Ended(code_of(value));
    }
    if status != StatusCode::OK {
        return HeadOutcome::NotGrpc {
            code: code_from_http_status(status),
            why: NotGrpc::HttpStatus(status),
        };
    }
    match headers.get(http::header::CONTENT_TYPE) {
        Some(value) if is_grpc_content_type(value) => HeadOutcome::Streaming,
        _ => HeadOutcome::NotGrpc {
            code: Code::Unknown,
            why: NotGrpc::ContentType,
        },
    }
}

/// The status of a head that ended its call, with its message: the one in
/// a trailers-only head, or one that says what the non-gRPC response was.
/// `None` for a [`HeadOutcome::Streaming`] head.
pub fn status_of_head(status: StatusCode, headers: &HeaderMap) -> Option<Status> {
    match classify_head(status, headers) {
        HeadOutcome::Streaming => None,
        HeadOutcome::Ended(_) => Status::from_headers(headers),
        HeadOutcome::NotGrpc {
            code,
            why: NotGrpc::HttpStatus(status),
        } => Some(Status::new(
            code,
            format!("non-gRPC response: HTTP status {status}"),
        )),
        HeadOutcome::NotGrpc { code, .. } => Some(Status::new(
            code,
            match headers.get(http::header::CONTENT_TYPE) {
                Some(value) => format!(
                    "non-gRPC response: content-type {:?}",
                    String::from_utf8_lossy(value.as_bytes())
                ),
                None => "non-gRPC response: no content-type".to_owned(),
            },
        )),
    }
}

/// The code that ends a stream with these trailers (`None`: the stream
/// ended without any): theirs, or `INTERNAL` without a `grpc-status`.
pub fn code_of_trailers(trailers: Option<&HeaderMap>) -> Code {
    match trailers.and_then(|trailers| trailers.get(GRPC_STATUS)) {
        Some(value) => code_of(value),
        None => Code::Internal,
    }
}

/// A `grpc-status` value's code; `UNKNOWN` when it is not one.
pub fn code_of(value: &HeaderValue) -> Code {
    Code::from_bytes(value.as_bytes()).unwrap_or(Code::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::APPLICATION_GRPC;

    fn head(status: u16, headers: &[(&'static str, &'static str)]) -> HeadOutcome {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        classify_head(StatusCode::from_u16(status).unwrap(), &map)
    }

    #[test]
    fn a_trailers_only_head_ends_the_call_with_its_code_whatever_the_http_status() {
        assert_eq!(
            head(200, &[("grpc-status", "5")]),
            HeadOutcome::Ended(Code::NotFound)
        );
        assert_eq!(
            head(503, &[("grpc-status", "8")]),
            HeadOutcome::Ended(Code::ResourceExhausted)
        );
        assert_eq!(
            head(200, &[("grpc-status", "x")]),
            HeadOutcome::Ended(Code::Unknown)
        );
    }

    #[test]
    fn a_non_grpc_head_maps_through_the_one_table() {
        assert_eq!(head(503, &[]).code(), Some(Code::Unavailable));
        assert_eq!(head(404, &[]).code(), Some(Code::Unimplemented));
        assert_eq!(
            head(200, &[("content-type", "text/html")]).code(),
            Some(Code::Unknown)
        );
        assert_eq!(head(200, &[]).code(), Some(Code::Unknown));
    }

    #[test]
    fn a_grpc_head_streams_and_its_trailers_say_the_code() {
        let mut map = HeaderMap::new();
        map.insert(http::header::CONTENT_TYPE, APPLICATION_GRPC);
        assert!(classify_head(StatusCode::OK, &map).is_streaming());
        assert_eq!(code_of_trailers(Some(&HeaderMap::new())), Code::Internal);
        let mut trailers = HeaderMap::new();
        trailers.insert(GRPC_STATUS, HeaderValue::from_static("4"));
        assert_eq!(code_of_trailers(Some(&trailers)), Code::DeadlineExceeded);
    }

    #[test]
    fn the_status_of_a_head_says_what_it_was() {
        let status = status_of_head(StatusCode::BAD_GATEWAY, &HeaderMap::new()).unwrap();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.message(),
            "non-gRPC response: HTTP status 502 Bad Gateway"
        );
        let mut map = HeaderMap::new();
        map.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        let status = status_of_head(StatusCode::OK, &map).unwrap();
        assert!(status.message().contains("text/plain"), "{status:?}");
    }
}
