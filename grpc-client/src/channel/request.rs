//! What the channel adds to each request before it goes on the wire: what
//! belongs to the connection, the URI's scheme and authority and the
//! endpoint's `user-agent`. What belongs to a gRPC call (`content-type`,
//! `te`, the path, the metadata) is the call head's, built once in
//! [`call::head`](crate::call); a request that reaches a channel without it
//! is sent as it is.
//!
//! It also releases credentials an auth layer held back
//! ([`HeldCredentials`] in the extensions) into the headers when the
//! endpoint is TLS, and refuses the request, before anything is sent, when
//! it is not.

use grpc_core::security::HeldCredentials;
use http::header::USER_AGENT;
use http::uri::Scheme;
use http::uri::{Parts, PathAndQuery};
use http::{Request, Uri};

use crate::endpoint::Endpoint;
use crate::error::{Error, Kind};

/// Sets the URI's scheme and authority to the endpoint's (keeping the
/// request's path), and adds the endpoint's `user-agent` when missing.
///
/// The header value is shared bytes: nothing is allocated.
///
/// Sets [`HeldCredentials`] into the headers if the endpoint is TLS
/// (`https`, which is what [`Endpoint::tls`] sets), and refuses the
/// request otherwise.
pub(crate) fn prepare<B>(endpoint: &Endpoint, request: &mut Request<B>) -> Result<(), Error> {
    if let Some(held) = request.extensions_mut().remove::<HeldCredentials>() {
        if endpoint.scheme != Scheme::HTTPS {
            return Err(Error::with(
                Kind::InsecureTransport,
                format!(
                    "the call carries credentials (an auth layer held them back for a TLS \
                     connection) and the endpoint {} is not TLS; use an https:// endpoint or \
                     Endpoint::tls, or let the auth layer allow insecure transport",
                    endpoint.uri()
                ),
            ));
        }
        held.release_into(request.headers_mut());
    }
    let uri = request.uri_mut();
    let already_there =
        uri.scheme() == Some(&endpoint.scheme) && uri.authority() == Some(&endpoint.authority);
    if !already_there {
        let mut parts: Parts = std::mem::take(uri).into_parts();
        parts.scheme = Some(endpoint.scheme.clone());
        parts.authority = Some(endpoint.authority.clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        *uri = Uri::from_parts(parts).map_err(|e| Error::with(Kind::InvalidRequest, e))?;
    }
    let headers = request.headers_mut();
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, endpoint.user_agent.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn endpoint() -> Endpoint {
        Endpoint::from_static("http://127.0.0.1:50051")
    }

    #[test]
    fn a_path_only_request_gets_the_endpoint_scheme_and_authority() {
        let mut req = Request::new(());
        *req.uri_mut() = Uri::from_static("/pkg.Svc/Method");
        prepare(&endpoint(), &mut req).unwrap();
        assert_eq!(req.uri(), "http://127.0.0.1:50051/pkg.Svc/Method");
    }

    #[test]
    fn an_absolute_request_uri_keeps_its_path_but_goes_to_the_endpoint() {
        let mut req = Request::new(());
        *req.uri_mut() = Uri::from_static("http://elsewhere:1/pkg.Svc/M?x=1");
        prepare(&endpoint(), &mut req).unwrap();
        assert_eq!(req.uri(), "http://127.0.0.1:50051/pkg.Svc/M?x=1");
    }

    #[test]
    fn the_user_agent_is_added_when_missing_and_nothing_else() {
        let mut req = Request::new(());
        prepare(&endpoint(), &mut req).unwrap();
        let h = req.headers();
        assert_eq!(h.len(), 1, "content-type and te are the call head's");
        assert!(h["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("grpc-rust-stack/"));
        assert_eq!(req.uri(), "http://127.0.0.1:50051/");
    }

    #[test]
    fn headers_already_set_are_kept() {
        let mut req = Request::new(());
        let h = req.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/grpc+proto"),
        );
        h.insert("user-agent", HeaderValue::from_static("mine/1"));
        let endpoint = endpoint().user_agent(HeaderValue::from_static("unused/2"));
        prepare(&endpoint, &mut req).unwrap();
        assert_eq!(req.headers()["content-type"], "application/grpc+proto");
        assert_eq!(req.headers()["user-agent"], "mine/1");
        assert_eq!(req.headers().len(), 2);
    }

    #[test]
    fn a_request_carrying_credentials_is_refused_over_plaintext() {
        let mut req = Request::new(());
        *req.uri_mut() = Uri::from_static("/pkg.Svc/Method");
        hold_token(&mut req);
        let err = prepare(&endpoint(), &mut req).unwrap_err();
        assert!(req.headers().get("authorization").is_none());
        assert!(err.is_insecure_transport(), "{err:?}");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("http://127.0.0.1:50051"), "{cause}");
        assert!(cause.contains("not TLS"), "{cause}");
        let status = crate::status::status_from_error(err.into());
        assert_eq!(status.code(), grpc_core::Code::Unauthenticated);
        assert!(
            status.message().contains("plaintext"),
            "{}",
            status.message()
        );
        // Without the marker, the same request goes out.
        let mut req = Request::new(());
        prepare(&endpoint(), &mut req).unwrap();
    }

    fn hold_token(req: &mut Request<()>) {
        HeldCredentials::hold(
            req.extensions_mut(),
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer t"),
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn held_credentials_are_sent_to_a_tls_endpoint() {
        let mut req = Request::new(());
        *req.uri_mut() = Uri::from_static("/pkg.Svc/Method");
        hold_token(&mut req);
        prepare(&Endpoint::from_static("https://127.0.0.1:50051"), &mut req).unwrap();
        assert_eq!(req.uri(), "https://127.0.0.1:50051/pkg.Svc/Method");
        assert_eq!(req.headers()["authorization"], "Bearer t");
        assert!(req.extensions().get::<HeldCredentials>().is_none());
    }

    #[test]
    fn the_configured_user_agent_is_sent() {
        let mut req = Request::new(());
        let endpoint = endpoint().user_agent(HeaderValue::from_static("custom/9"));
        prepare(&endpoint, &mut req).unwrap();
        assert_eq!(req.headers()["user-agent"], "custom/9");
    }
}
