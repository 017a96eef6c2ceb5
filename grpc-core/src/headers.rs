//! Header names and constant values used by gRPC over HTTP/2.
//!
//! Constant values are `HeaderValue::from_static`, so setting them costs no
//! allocation per call.

use http::header::HeaderName;
use http::HeaderValue;

/// `grpc-status`: the status code, in trailers or in a trailers-only response.
pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`: the percent-encoded status message.
pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// `grpc-status-details-bin`: serialized `google.rpc.Status`, base64.
pub const GRPC_STATUS_DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");
/// `grpc-timeout`: the call's deadline as a relative timeout.
pub const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
/// `grpc-encoding`: the compression applied to messages of this stream.
pub const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
/// `grpc-accept-encoding`: compression algorithms the sender accepts.
pub const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
/// `te`: must be `trailers` on gRPC requests.
pub const TE: HeaderName = HeaderName::from_static("te");

/// `application/grpc`.
pub const APPLICATION_GRPC: HeaderValue = HeaderValue::from_static("application/grpc");
/// `application/grpc+proto`.
pub const APPLICATION_GRPC_PROTO: HeaderValue = HeaderValue::from_static("application/grpc+proto");
/// `trailers`, the only value of `te` gRPC uses.
pub const TE_TRAILERS: HeaderValue = HeaderValue::from_static("trailers");

/// Whether a `content-type` value names a gRPC body: `application/grpc`,
/// optionally followed by `+subtype` or `;params`.
pub fn is_grpc_content_type(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    let prefix = b"application/grpc";
    if bytes.len() < prefix.len() || !bytes[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return false;
    }
    matches!(bytes.get(prefix.len()), None | Some(b'+') | Some(b';'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types_are_recognised() {
        for ok in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc;charset=x",
            "Application/GRPC",
        ] {
            assert!(is_grpc_content_type(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "application/json",
            "application/grpcx",
            "application/grp",
            "text/plain",
            "application/grpc-web",
        ] {
            assert!(
                !is_grpc_content_type(&HeaderValue::from_static(bad)),
                "{bad}"
            );
        }
    }
}
