//! Authentication and authorization: the server decides per call, before
//! the handler runs, whether the caller may make it and who the caller is;
//! the client attaches credentials to each call, static or from a token
//! source it refreshes, and refuses to send them over plaintext.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use grpc_core::security::HeldCredentials;
//! use grpc_core::{GrpcBody, Status};
//! use grpc_layers::auth::{Access, AuthRequest, ClientAuthLayer, Identity, ServerAuthLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Server side: an authorizer written as an async closure, which maps a
//! // bearer token to a caller's name; the health service stays open, and
//! // only "admin" may call pkg.Admin.
//! let authorizer = |mut request: AuthRequest| async move {
//!     let name = match request.bearer_token() {
//!         Some("alice-token") => "alice",
//!         Some("root-token") => "admin",
//!         Some(_) => return Err(Status::unauthenticated("unknown token")),
//!         None => return Err(Status::unauthenticated("no credentials")),
//!     };
//!     request.set_identity(name.to_owned());
//!     Ok(request)
//! };
//! let server = ServiceBuilder::new()
//!     .layer(
//!         ServerAuthLayer::new(authorizer)
//!             .open_service("grpc.health.v1.Health")
//!             .service("pkg.Admin", Access::identity(|name: &String| name == "admin")),
//!     )
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         // The handler sees who called (`request.extensions()` in a typed handler too).
//!         let caller = request.extensions().get::<Identity<String>>().cloned();
//!         let mut response = Status::ok().into_http::<GrpcBody>();
//!         if let Some(Identity(name)) = caller {
//!             response.headers_mut().insert("x-caller", name.parse().unwrap());
//!         }
//!         Ok::<_, Infallible>(response)
//!     });
//!
//! let call = |path: &str, token: Option<&str>| {
//!     let mut request = http::Request::builder().uri(path);
//!     if let Some(token) = token {
//!         request = request.header("authorization", format!("Bearer {token}"));
//!     }
//!     request.body(GrpcBody::empty()).unwrap()
//! };
//! let ok = server.clone().oneshot(call("/pkg.Echo/Say", Some("alice-token"))).await?;
//! assert_eq!(ok.headers()["grpc-status"], "0");
//! assert_eq!(ok.headers()["x-caller"], "alice");
//! let anonymous = server.clone().oneshot(call("/pkg.Echo/Say", None)).await?;
//! assert_eq!(anonymous.headers()["grpc-status"], "16"); // UNAUTHENTICATED
//! let not_admin = server.clone().oneshot(call("/pkg.Admin/Drop", Some("alice-token"))).await?;
//! assert_eq!(not_admin.headers()["grpc-status"], "7"); // PERMISSION_DENIED
//! let health = server.clone().oneshot(call("/grpc.health.v1.Health/Check", None)).await?;
//! assert_eq!(health.headers()["grpc-status"], "0");
//!
//! // Client side: every call carries the token, but never over plaintext.
//! let client = ServiceBuilder::new()
//!     .layer(ClientAuthLayer::bearer("alice-token")?)
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         if request.uri().scheme_str() == Some("https") {
//!             assert_eq!(request.headers()["authorization"], "Bearer alice-token");
//!         } else {
//!             // A path only: held back for a transport that knows it is TLS.
//!             assert!(request.headers().get("authorization").is_none());
//!             assert!(request.extensions().get::<HeldCredentials>().is_some());
//!         }
//!         Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
//!     });
//! let call = |uri: &str| http::Request::builder().uri(uri).body(GrpcBody::empty()).unwrap();
//! let secure = client.clone().oneshot(call("https://api.example.com/pkg.Echo/Say")).await?;
//! assert_eq!(secure.headers()["grpc-status"], "0");
//! let path_only = client.clone().oneshot(call("/pkg.Echo/Say")).await?;
//! assert_eq!(path_only.headers()["grpc-status"], "0");
//! // Over plaintext the layer answers UNAUTHENTICATED itself; nothing is sent.
//! let plaintext = client.oneshot(call("http://api.example.com/pkg.Echo/Say")).await?;
//! assert_eq!(plaintext.headers()["grpc-status"], "16");
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack` and
//! `grpc_client::stack`. On the server this layer goes inside the status
//! and deadline layers (its refusals are ordinary responses to them, and a
//! slow authorizer counts against the call's deadline) and outside the
//! limits and compression layers and the router, so a refused call costs
//! no more than its head; a telemetry layer, outermost, records its
//! refusals like any other status. On the client it goes inside the
//! deadline layer (which bounds a wait for a token refresh), and inside any
//! retry layer, so each attempt gets a token that is fresh then.
//!
//! # Client vs server
//!
//! - **[`ServerAuthLayer`]** hands each call's head, as an [`AuthRequest`]
//!   (path, headers, [`PeerAddr`](grpc_transport::peer::PeerAddr),
//!   [`TlsInfo`](grpc_transport::peer::TlsInfo) with the client's
//!   certificates), to an [`Authorize`] implementation, which gives it
//!   back with an [`Identity`] for the handler or refuses the call. The
//!   head moves, it is not copied; the body is held unread until the
//!   decision, and dropped unread on a refusal, and the inner service is
//!   only called for calls let through. Ready-made authorizers:
//!   [`BearerTokens`] and [`ApiKeys`] (static secrets compared in constant
//!   time, each mapped to an identity) and, with the `auth-jwt` feature,
//!   `JwtAuthorizer` (signature by `kid` from a rotatable `JwtKeys` set,
//!   algorithm allow-list, issuer, audience, `exp`/`nbf` with a leeway).
//!   An async closure is one too (above).
//! - **Per-method rules** give each call an [`Access`]: open (the
//!   authorizer is not asked), authenticated (the default), or
//!   authenticated and passing a check (else `PERMISSION_DENIED`). A rule
//!   for the full method beats one for its service, which beats the
//!   default; see [`ServerAuthLayer`].
//! - **[`ClientAuthLayer`]** sets a header on each call: static
//!   ([`bearer`](ClientAuthLayer::bearer),
//!   [`header`](ClientAuthLayer::header)) or the token of a
//!   [`TokenSource`] ([`token_source`](ClientAuthLayer::token_source)),
//!   cached, shared by every clone, and refreshed before it expires by
//!   one call at a time while the others wait (a waiter takes over if the
//!   refreshing call is dropped).
//!
//! # Credentials and plaintext
//!
//! A bearer token must not go out over plaintext unless the user opted in,
//! whatever the inner service is. The client layer decides from what the
//! request itself says, its URI:
//!
//! | the request's URI | the layer |
//! |---|---|
//! | `https://…` | sets the header |
//! | any other scheme (`http://…`) | answers trailers-only `UNAUTHENTICATED`; nothing is sent |
//! | a path only, as typed calls build it | holds the credentials back in a [`HeldCredentials`](grpc_core::security::HeldCredentials) extension |
//!
//! A transport that fills in the scheme itself and knows whether its
//! connection is TLS releases held credentials into the headers over TLS
//! only: `grpc-client`'s `Channel` does, and answers such a call over
//! plaintext with `UNAUTHENTICATED` before anything is sent. A transport
//! that does not know the extension (tonic's `Channel`) never sends them,
//! so the server's `UNAUTHENTICATED` says what is missing; give its calls
//! an absolute `https` URI (tonic: `Grpc::with_origin`) and the layer sets
//! the header itself. [`allow_insecure(true)`](ClientAuthLayer::allow_insecure)
//! sets the header on every call: for loopback tests, or a sidecar
//! terminating TLS.
//!
//! # Errors
//!
//! | what | side | answer |
//! |---|---|---|
//! | no credentials, or bad ones (the authorizer's `Err`) | server | trailers-only `UNAUTHENTICATED` (the authorizer's status), handler not called, body not read |
//! | a caller a rule's check refuses | server | trailers-only `PERMISSION_DENIED` ("the caller may not call /pkg.Service/Method") |
//! | an authorizer's `Err` with another code | server | that status, trailers-only (`Status::ok()` there is answered `UNAUTHENTICATED`) |
//! | the token source failed | client | trailers-only `UNAUTHENTICATED` for every call that waited for that refresh, saying why; the next call tries again |
//! | credentials over a plaintext URI | client | trailers-only `UNAUTHENTICATED`, nothing sent |
//! | held credentials over a plaintext connection | client (`grpc-client`'s channel) | `UNAUTHENTICATED`, nothing sent |
//!
//! Both sides keep the inner service's error type and answer through one
//! body, [`OrEmpty`](grpc_core::body::OrEmpty): the inner body, or the
//! empty one of a refusal, so any response body type works.
//!
//! # In other libraries' stacks
//!
//! Both layers work in any tower stack; the identity an authorizer attaches reaches a tonic handler in `request.extensions()`. Over a tonic `Channel`, mind the plaintext rule above: tonic never sends held credentials. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::auth::{BearerTokens, ClientAuthLayer, ServerAuthLayer};
//! let tokens = || BearerTokens::new().token("t", "ada".to_owned());
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerAuthLayer::new(tokens()))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientAuthLayer::bearer("t")?.allow_insecure(true))
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerAuthLayer::new(tokens()));
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! This module is behind the `auth` feature of `grpc-layers`; JWT
//! verification (`JwtAuthorizer`, `JwtKeys`) is behind `auth-jwt`.

mod attach;
mod authorize;
mod error;
pub mod future;
#[cfg(feature = "auth-jwt")]
mod jwt;
mod layer;
mod request;
mod rules;
mod service;
mod source;
#[cfg(test)]
mod tests;
mod tokens;

pub use authorize::Authorize;
#[cfg(feature = "auth-jwt")]
#[allow(deprecated)]
pub use jwt::DEFAULT_LEEWAY;
#[cfg(feature = "auth-jwt")]
pub use jwt::{JwtAuthorizer, JwtKeys};
#[allow(deprecated)]
pub use layer::DEFAULT_REFRESH_MARGIN;
pub use layer::{ClientAuthLayer, ServerAuthLayer};
pub use request::{AuthRequest, Identity};
pub use rules::Access;
pub use service::{ClientAuth, ServerAuth};
pub use source::{Token, TokenSource};
pub use tokens::{ApiKeys, BearerTokens};
