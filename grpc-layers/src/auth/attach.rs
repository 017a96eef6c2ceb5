//! Where a client call's credentials go: the rule that keeps a token off
//! plaintext connections under any inner service.

use grpc_core::security::HeldCredentials;
use grpc_core::Status;
use http::uri::Scheme;
use http::{HeaderName, HeaderValue};

/// Attaches a credential header to `request`, by what its URI says (see
/// [`grpc_core::security`] for the table):
///
/// - `allow_insecure`, or an `https` URI: set the header;
/// - another scheme: refuse, with nothing sent;
/// - a path only: hold the credential back in a [`HeldCredentials`]
///   extension for a transport that knows whether it is TLS.
pub(crate) fn attach<B>(
    request: &mut http::Request<B>,
    name: HeaderName,
    value: HeaderValue,
    allow_insecure: bool,
) -> Result<(), Status> {
    match request.uri().scheme() {
        _ if allow_insecure => {}
        Some(scheme) if *scheme == Scheme::HTTPS => {}
        Some(scheme) => {
            return Err(Status::unauthenticated(format!(
                "refusing to send credentials over a {scheme}:// URI, which is not TLS; use \
                 https, or let the auth layer allow insecure transport"
            )))
        }
        None => {
            HeldCredentials::hold(request.extensions_mut(), name, value);
            return Ok(());
        }
    }
    request.headers_mut().insert(name, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    fn request(uri: &str) -> http::Request<()> {
        http::Request::builder().uri(uri).body(()).unwrap()
    }

    fn bearer() -> (HeaderName, HeaderValue) {
        (AUTHORIZATION, HeaderValue::from_static("Bearer t"))
    }

    #[test]
    fn an_https_uri_gets_the_header() {
        let mut req = request("https://api.example.com/p.S/M");
        let (name, value) = bearer();
        attach(&mut req, name, value, false).unwrap();
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer t");
        assert!(req.extensions().get::<HeldCredentials>().is_none());
    }

    #[test]
    fn a_plaintext_uri_is_refused_unless_allowed() {
        let mut req = request("http://api.example.com/p.S/M");
        let (name, value) = bearer();
        let status = attach(&mut req, name.clone(), value.clone(), false).unwrap_err();
        assert_eq!(status.code(), grpc_core::Code::Unauthenticated);
        assert!(status.message().contains("http://"), "{status:?}");
        assert!(req.headers().get(AUTHORIZATION).is_none());
        attach(&mut req, name, value, true).unwrap();
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer t");
    }

    #[test]
    fn a_path_only_uri_holds_the_credentials_back_for_the_transport() {
        let mut req = request("/p.S/M");
        let (name, value) = bearer();
        attach(&mut req, name, value.clone(), false).unwrap();
        attach(&mut req, HeaderName::from_static("x-api-key"), value, false).unwrap();
        assert!(req.headers().is_empty(), "nothing is sent as it is");
        let held = req.extensions().get::<HeldCredentials>().unwrap();
        let names: Vec<_> = held.headers().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["authorization", "x-api-key"]);
    }
}
