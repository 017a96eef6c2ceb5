//! Auth end to end, over real HTTP/2 on 127.0.0.1: `grpc-server` behind
//! `ServerAuthLayer`, `grpc-client` with `ClientAuthLayer`, over h2c and
//! over TLS with the interop test PKI (`interop/certs`). The handler sees
//! the caller's identity; refusals reach the client as statuses; open
//! methods need nothing; credentials are refused over h2c unless allowed.
#![cfg(feature = "auth")]

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use grpc_client::tls::ClientTlsConfig;
use grpc_client::{Endpoint, Grpc, GrpcService};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcBody, GrpcMethod, Request, Response, Status};
use grpc_layers::auth::{Access, BearerTokens, ClientAuthLayer, Identity, ServerAuthLayer};
use grpc_server::tls::ServerTlsConfig;
use grpc_server::{handler, Router, Server};
use support::{bounded, LIMIT};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceBuilder;

const WHO_AM_I: GrpcMethod = GrpcMethod::new("test.Auth", "WhoAmI");
const ADMIN: GrpcMethod = GrpcMethod::new("test.Admin", "Drop");
const PING: GrpcMethod = GrpcMethod::new("test.Open", "Ping");

const CA_PEM: &str = include_str!("../../interop/certs/ca.pem");
const SERVER_CERT_PEM: &str = include_str!("../../interop/certs/server1.pem");
const SERVER_KEY_PEM: &str = include_str!("../../interop/certs/server1.key");
/// A name the interop server certificate is issued for.
const SERVER_NAME: &str = "foo.test.google.fr";

/// Every handler answers with the caller's name, as the auth layer left it
/// (`anonymous` without one), and counts its calls.
fn router(calls: &Arc<AtomicUsize>) -> Router {
    let reply = |calls: Arc<AtomicUsize>| {
        move |request: Request<Bytes>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let name = match request.extensions().get::<Identity<String>>() {
                Some(Identity(name)) => name.clone(),
                None => "anonymous".to_owned(),
            };
            async move { Ok::<_, Status>(Response::new(Bytes::from(name))) }
        }
    };
    Router::new()
        .route(WHO_AM_I, handler::unary(BytesCodec, reply(calls.clone())))
        .route(ADMIN, handler::unary(BytesCodec, reply(calls.clone())))
        .route(PING, handler::unary(BytesCodec, reply(calls.clone())))
}

fn auth_layer() -> ServerAuthLayer<BearerTokens<String>> {
    let tokens = BearerTokens::new()
        .token("alice-token", "alice".to_owned())
        .token("admin-token", "admin".to_owned());
    ServerAuthLayer::new(tokens)
        .open_service("test.Open")
        .service(
            "test.Admin",
            Access::identity(|name: &String| name == "admin"),
        )
}

/// A server on 127.0.0.1 behind the auth layer; stops when dropped.
struct TestServer {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

async fn serve(tls: bool) -> TestServer {
    let calls = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let service = ServiceBuilder::new()
        // Outside everything: every request that reached the server.
        .map_request(move |request: http::Request<GrpcBody>| {
            seen.fetch_add(1, Ordering::SeqCst);
            request
        })
        .layer(auth_layer())
        .service(router(&calls));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut server = Server::new();
    if tls {
        let config = ServerTlsConfig::from_pem(SERVER_CERT_PEM, SERVER_KEY_PEM).unwrap();
        server = server.tls(config).unwrap();
    }
    tokio::spawn(server.serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        calls,
        requests,
        _stop: stop,
    }
}

fn h2c(addr: SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(LIMIT)
}

fn tls(addr: SocketAddr) -> Endpoint {
    let config = ClientTlsConfig::new()
        .ca_pem(CA_PEM)
        .unwrap()
        .server_name(SERVER_NAME);
    h2c(addr).tls(config).unwrap()
}

async fn call<S: GrpcService>(grpc: &mut Grpc<S>, method: GrpcMethod) -> Result<String, Status> {
    let reply = bounded(grpc.unary(Request::new(Bytes::new()), method, BytesCodec)).await?;
    Ok(String::from_utf8(reply.into_inner().to_vec()).unwrap())
}

#[tokio::test]
async fn the_handler_sees_the_identity_of_the_token_sent_over_h2c_when_allowed() {
    let server = serve(false).await;
    let channel = h2c(server.addr).connect_lazy();
    let service = ServiceBuilder::new()
        .layer(
            ClientAuthLayer::bearer("alice-token")
                .unwrap()
                .allow_insecure(true),
        )
        .service(channel);
    let mut grpc = Grpc::new(service);
    assert_eq!(call(&mut grpc, WHO_AM_I).await.unwrap(), "alice");
    assert_eq!(call(&mut grpc, WHO_AM_I).await.unwrap(), "alice");
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unauthenticated_and_permission_denied_reach_our_client_as_statuses() {
    let server = serve(false).await;
    let channel = h2c(server.addr).connect_lazy();

    let mut anonymous = Grpc::new(channel.clone());
    let status = call(&mut anonymous, WHO_AM_I).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("missing credentials"),
        "{status:?}"
    );

    let wrong = ClientAuthLayer::bearer("mallory-token")
        .unwrap()
        .allow_insecure(true);
    let mut wrong = Grpc::new(ServiceBuilder::new().layer(wrong).service(channel.clone()));
    let status = call(&mut wrong, WHO_AM_I).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("invalid bearer token"),
        "{status:?}"
    );

    let alice = ClientAuthLayer::bearer("alice-token")
        .unwrap()
        .allow_insecure(true);
    let mut alice = Grpc::new(ServiceBuilder::new().layer(alice).service(channel.clone()));
    let status = call(&mut alice, ADMIN).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("/test.Admin/Drop"), "{status:?}");

    let admin = ClientAuthLayer::bearer("admin-token")
        .unwrap()
        .allow_insecure(true);
    let mut admin = Grpc::new(ServiceBuilder::new().layer(admin).service(channel));
    assert_eq!(call(&mut admin, ADMIN).await.unwrap(), "admin");
    // Only the last call reached a handler.
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn an_open_method_works_without_credentials() {
    let server = serve(false).await;
    let mut grpc = Grpc::new(h2c(server.addr).connect_lazy());
    assert_eq!(call(&mut grpc, PING).await.unwrap(), "anonymous");
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn credentials_are_refused_over_h2c_before_anything_is_sent() {
    let server = serve(false).await;
    let channel = h2c(server.addr).connect_lazy();
    let service = ServiceBuilder::new()
        .layer(ClientAuthLayer::bearer("alice-token").unwrap())
        .service(channel);
    let mut grpc = Grpc::new(service);
    for method in [WHO_AM_I, PING] {
        let status = call(&mut grpc, method).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(status.message().contains("plaintext"), "{status:?}");
        assert!(status.message().contains("not TLS"), "{status:?}");
        let refused = std::error::Error::source(&status)
            .and_then(|e| e.downcast_ref::<grpc_client::Error>())
            .expect("the channel's error is the source");
        assert!(refused.is_insecure_transport());
    }
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}

#[tokio::test]
async fn credentials_are_sent_over_tls() {
    let server = serve(true).await;
    let channel = tls(server.addr).connect_lazy();
    let service = ServiceBuilder::new()
        .layer(ClientAuthLayer::bearer("admin-token").unwrap())
        .service(channel.clone());
    let mut grpc = Grpc::new(service);
    assert_eq!(call(&mut grpc, WHO_AM_I).await.unwrap(), "admin");
    assert_eq!(call(&mut grpc, ADMIN).await.unwrap(), "admin");
    // The same server refuses a call without credentials over TLS too.
    let status = call(&mut Grpc::new(channel), WHO_AM_I).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[cfg(feature = "auth-jwt")]
#[tokio::test]
async fn a_token_source_jwt_is_fetched_once_and_verified_by_the_server_over_tls() {
    use grpc_layers::auth::{JwtAuthorizer, JwtKeys, Token};
    use grpc_layers::status::ClientStatusLayer;
    use jsonwebtoken::{
        encode, get_current_timestamp, Algorithm, DecodingKey, EncodingKey, Header,
    };

    // A server verifying ES256 JWTs; the handler answers with the `sub`.
    let pair = rcgen::KeyPair::generate().unwrap();
    let signing = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    let verifying = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes()).unwrap();
    let keys = JwtKeys::single("k1", verifying);
    let authorizer = JwtAuthorizer::new(keys, [Algorithm::ES256])
        .issuer("https://issuer.test")
        .audience("test.Auth");
    let router = Router::new().route(
        WHO_AM_I,
        handler::unary(BytesCodec, |request: Request<Bytes>| async move {
            let Identity(claims) = request
                .extensions()
                .get::<Identity<serde_json::Value>>()
                .expect("the claims");
            let sub = claims["sub"].as_str().unwrap_or("?").to_owned();
            Ok::<_, Status>(Response::new(Bytes::from(sub)))
        }),
    );
    let service = ServiceBuilder::new()
        .layer(ServerAuthLayer::new(authorizer))
        .service(router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerTlsConfig::from_pem(SERVER_CERT_PEM, SERVER_KEY_PEM).unwrap();
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().tls(config).unwrap().serve_with_shutdown(
        listener,
        service,
        async {
            let _ = stopped.await;
        },
    ));

    // A client whose token source mints a JWT, counting its fetches.
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let source = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let signing = signing.clone();
        async move {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("k1".into());
            let claims = serde_json::json!({
                "sub": "svc-batch",
                "iss": "https://issuer.test",
                "aud": "test.Auth",
                "exp": get_current_timestamp() + 600,
            });
            let jwt = encode(&header, &claims, &signing)?;
            Ok::<_, grpc_core::BoxError>(
                Token::bearer(jwt)?.expires_in(std::time::Duration::from_secs(600)),
            )
        }
    };
    let service = ServiceBuilder::new()
        .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
        .layer(ClientAuthLayer::token_source(source))
        .service(tls(addr).connect_lazy());
    let mut grpc = Grpc::new(service);
    for _ in 0..3 {
        assert_eq!(call(&mut grpc, WHO_AM_I).await.unwrap(), "svc-batch");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the token was cached");
}
