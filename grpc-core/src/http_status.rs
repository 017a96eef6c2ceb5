//! HTTP status → gRPC code, for responses that are not gRPC responses
//! (a proxy's 503, a load balancer's 404), per gRPC's
//! `http-grpc-status-mapping.md`.

use http::StatusCode;

use crate::Code;

/// The gRPC code a client reports for a non-200 HTTP response without
/// `grpc-status`.
///
/// ```
/// use grpc_core::{http_status::code_from_http_status, Code};
/// assert_eq!(code_from_http_status(http::StatusCode::SERVICE_UNAVAILABLE), Code::Unavailable);
/// ```
pub fn code_from_http_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_spec() {
        let table = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (500, Code::Unknown),
            (302, Code::Unknown),
        ];
        for (http, code) in table {
            assert_eq!(
                code_from_http_status(StatusCode::from_u16(http).unwrap()),
                code
            );
        }
    }
}
