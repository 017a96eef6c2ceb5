//! What the channel adds to each request before it goes on the wire: the
//! full URI and the headers every gRPC request needs.

use http::header::{CONTENT_TYPE, USER_AGENT};
use http::uri::{Parts, PathAndQuery};
use http::{HeaderMap, Request, Uri};

use grpc_core::headers::{APPLICATION_GRPC, TE, TE_TRAILERS};

use crate::endpoint::Endpoint;
use crate::error::{Error, Kind};

/// Sets the URI's scheme and authority to the endpoint's (keeping the
/// request's path), and adds `content-type: application/grpc`,
/// `te: trailers` and the endpoint's `user-agent` when missing.
///
/// All header values are constants or shared bytes: nothing is allocated.
pub(crate) fn prepare<B>(endpoint: &Endpoint, request: &mut Request<B>) -> Result<(), Error> {
    let uri = request.uri_mut();
    let already_there =
        uri.scheme() == Some(endpoint.scheme()) && uri.authority() == Some(endpoint.authority());
    if !already_there {
        let mut parts: Parts = std::mem::take(uri).into_parts();
        parts.scheme = Some(endpoint.scheme().clone());
        parts.authority = Some(endpoint.authority().clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        *uri = Uri::from_parts(parts).map_err(|e| Error::with(Kind::InvalidRequest, e))?;
    }
    add_required_headers(request.headers_mut(), endpoint);
    Ok(())
}

fn add_required_headers(headers: &mut HeaderMap, endpoint: &Endpoint) {
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, APPLICATION_GRPC);
    }
    if !headers.contains_key(TE) {
        headers.insert(TE, TE_TRAILERS);
    }
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, endpoint.user_agent().clone());
    }
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
    fn required_headers_are_added_when_missing() {
        let mut req = Request::new(());
        prepare(&endpoint(), &mut req).unwrap();
        let h = req.headers();
        assert_eq!(h["content-type"], "application/grpc");
        assert_eq!(h["te"], "trailers");
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
        let endpoint = endpoint().with_user_agent(HeaderValue::from_static("unused/2"));
        prepare(&endpoint, &mut req).unwrap();
        assert_eq!(req.headers()["content-type"], "application/grpc+proto");
        assert_eq!(req.headers()["user-agent"], "mine/1");
        assert_eq!(req.headers().len(), 3);
    }

    #[test]
    fn the_configured_user_agent_is_sent() {
        let mut req = Request::new(());
        let endpoint = endpoint().with_user_agent(HeaderValue::from_static("custom/9"));
        prepare(&endpoint, &mut req).unwrap();
        assert_eq!(req.headers()["user-agent"], "custom/9");
    }
}
