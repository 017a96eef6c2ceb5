//! [`AuthRequest`]: the head of a call, handed to an authorizer and back;
//! [`Identity`]: who the caller is, for the handler.

use std::net::SocketAddr;

use grpc_core::method::MethodPath;
use grpc_transport::peer::{PeerAddr, TlsInfo};
use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap};

/// The head of a call being authorized: its path, headers (the metadata)
/// and extensions (the peer, TLS), without the body.
///
/// An [`Authorize`](super::Authorize) implementation takes it by value and
/// hands it back when the call may go on, so nothing is copied per call:
/// it owns the request's [`http::request::Parts`], which become the
/// request's head again, with whatever the authorizer put in its
/// extensions (usually an [`Identity`]).
#[derive(Debug)]
pub struct AuthRequest {
    parts: http::request::Parts,
}

impl AuthRequest {
    /// The head of a request, to authorize.
    pub fn new(parts: http::request::Parts) -> AuthRequest {
        AuthRequest { parts }
    }

    /// The request path: `/pkg.Service/Method` for a gRPC call.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The fully qualified service of a gRPC call (`pkg.Service`), read
    /// from the path; `None` when the path is not `/service/method`.
    pub fn service(&self) -> Option<&str> {
        MethodPath::parse(self.path())
            .ok()
            .map(|path| path.service())
    }

    /// The method name of a gRPC call (`Method`), read from the path;
    /// `None` when the path is not `/service/method`.
    pub fn method(&self) -> Option<&str> {
        MethodPath::parse(self.path())
            .ok()
            .map(|path| path.method())
    }

    /// The request headers: the call's metadata and the HTTP/2 headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The value of an ASCII metadata entry (the first, when sent more
    /// than once); `None` when missing or not visible ASCII.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.parts.headers.get(key)?.to_str().ok()
    }

    /// The token of an `authorization: Bearer <token>` header (the scheme
    /// is case-insensitive, as HTTP says); `None` when there is no such
    /// header, it is another scheme, or the token is empty.
    pub fn bearer_token(&self) -> Option<&str> {
        bearer_token(&self.parts.headers)
    }

    /// The peer's address, when the server put a
    /// [`PeerAddr`] over TCP in the extensions (`grpc-server` does).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.parts.extensions.get::<PeerAddr>().map(|peer| peer.0)
    }

    /// What is known of the call's TLS connection, the client's verified
    /// certificate chain with mTLS included; `None` without TLS.
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.parts.extensions.get::<TlsInfo>()
    }

    /// The request extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.parts.extensions
    }

    /// The request extensions, mutably: what is put here reaches the
    /// layers inside and the handler.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.parts.extensions
    }

    /// Attaches who the caller is, for the handler: an [`Identity`] in
    /// the request extensions, read with
    /// `request.extensions().get::<Identity<T>>()`.
    pub fn set_identity<T: Clone + Send + Sync + 'static>(&mut self, identity: T) {
        self.parts.extensions.insert(Identity(identity));
    }

    /// The identity attached with [`set_identity`](Self::set_identity),
    /// if one of type `T` was.
    pub fn identity<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.parts
            .extensions
            .get::<Identity<T>>()
            .map(|identity| &identity.0)
    }

    /// The request head.
    pub fn parts(&self) -> &http::request::Parts {
        &self.parts
    }

    /// The request head, mutably.
    pub fn parts_mut(&mut self) -> &mut http::request::Parts {
        &mut self.parts
    }

    /// The request head, to rebuild the request with.
    pub fn into_parts(self) -> http::request::Parts {
        self.parts
    }
}

/// Who the caller of a call is, as an authorizer found out: in the request
/// extensions for the layers inside and the handler.
///
/// The ready-made authorizers attach the identity their tokens map to
/// ([`BearerTokens`](super::BearerTokens), [`ApiKeys`](super::ApiKeys)) or
/// a JWT's claims (`JwtAuthorizer`).
///
/// ```
/// use grpc_layers::auth::Identity;
///
/// fn caller(request: &grpc_core::Request<()>) -> Option<&str> {
///     let Identity(name) = request.extensions().get::<Identity<String>>()?;
///     Some(name)
/// }
/// # assert_eq!(caller(&grpc_core::Request::new(())), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Identity<T>(pub T);

/// The token of `authorization: Bearer <token>`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_matches(' ');
    (!token.is_empty()).then_some(token)
}
