use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use grpc_core::security::HeldCredentials;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use grpc_transport::peer::{PeerAddr, TlsInfo};
use http::{HeaderName, HeaderValue};
use http_body::{Body, Frame};
use tokio::time::{advance, sleep, timeout};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_test::mock;

use super::*;

type Request = http::Request<GrpcBody>;
type Response = http::Response<GrpcBody>;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(10);

fn request(path: &str, token: Option<&str>) -> Request {
    let mut request = http::Request::builder().method("POST").uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(GrpcBody::empty()).unwrap()
}

fn status(response: &http::Response<impl Sized>) -> Status {
    Status::from_headers(response.headers()).expect("a grpc-status in the head")
}

fn tokens() -> BearerTokens<String> {
    BearerTokens::new()
        .token("alice-token", "alice".to_owned())
        .token("admin-token", "admin".to_owned())
}

/// A handler that counts its calls and answers OK, with the caller's
/// identity (if any) in `x-caller`.
fn handler(
    calls: &Arc<AtomicUsize>,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone {
    let calls = calls.clone();
    service_fn(move |request: Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        let caller = request.extensions().get::<Identity<String>>().cloned();
        async move {
            let mut response = Status::ok().into_http::<GrpcBody>();
            if let Some(Identity(name)) = caller {
                response
                    .headers_mut()
                    .insert("x-caller", HeaderValue::try_from(name).unwrap());
            }
            Ok::<_, Infallible>(response)
        }
    })
}

// ---------------------------------------------------------------- server

#[tokio::test]
async fn a_call_without_credentials_is_unauthenticated_and_the_handler_never_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(tokens()).layer(handler(&calls));
    let response = service
        .oneshot(request("/pkg.Echo/Say", None))
        .await
        .unwrap();
    let status = status(&response);
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status.message().contains("missing credentials"),
        "{status:?}"
    );
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unknown_token_is_unauthenticated() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(tokens()).layer(handler(&calls));
    for token in ["alice-tokenx", "alice-toke", "", "ALICE-TOKEN"] {
        let response = service
            .clone()
            .oneshot(request("/pkg.Echo/Say", Some(token)))
            .await
            .unwrap();
        assert_eq!(status(&response).code(), Code::Unauthenticated, "{token:?}");
    }
    // Another scheme is no bearer token.
    let mut basic = request("/pkg.Echo/Say", None);
    basic.headers_mut().insert(
        "authorization",
        HeaderValue::from_static("Basic YWxpY2UtdG9rZW4="),
    );
    let response = service.clone().oneshot(basic).await.unwrap();
    assert_eq!(status(&response).code(), Code::Unauthenticated);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_identity_of_the_token_reaches_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(tokens()).layer(handler(&calls));
    for (token, caller) in [("alice-token", "alice"), ("admin-token", "admin")] {
        let response = service
            .clone()
            .oneshot(request("/pkg.Echo/Say", Some(token)))
            .await
            .unwrap();
        assert_eq!(status(&response).code(), Code::Ok);
        assert_eq!(response.headers()["x-caller"], caller);
    }
    // The scheme is case-insensitive.
    let mut lower = request("/pkg.Echo/Say", None);
    lower.headers_mut().insert(
        "authorization",
        HeaderValue::from_static("bearer alice-token"),
    );
    let response = service.clone().oneshot(lower).await.unwrap();
    assert_eq!(response.headers()["x-caller"], "alice");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_known_caller_a_rule_refuses_is_permission_denied() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(tokens())
        .service(
            "pkg.Admin",
            Access::identity(|name: &String| name == "admin"),
        )
        .layer(handler(&calls));
    let response = service
        .clone()
        .oneshot(request("/pkg.Admin/Drop", Some("alice-token")))
        .await
        .unwrap();
    let denied = status(&response);
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("/pkg.Admin/Drop"), "{denied:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Without credentials the same call is UNAUTHENTICATED, not denied.
    let response = service
        .clone()
        .oneshot(request("/pkg.Admin/Drop", None))
        .await
        .unwrap();
    assert_eq!(status(&response).code(), Code::Unauthenticated);
    // The admin gets in.
    let response = service
        .clone()
        .oneshot(request("/pkg.Admin/Drop", Some("admin-token")))
        .await
        .unwrap();
    assert_eq!(status(&response).code(), Code::Ok);
    assert_eq!(response.headers()["x-caller"], "admin");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_method_rule_beats_a_service_rule_which_beats_the_default() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(tokens())
        .default_access(Access::deny())
        .service("pkg.Echo", Access::authenticated())
        .method(
            "/pkg.Echo/Admin",
            Access::identity(|n: &String| n == "admin"),
        )
        // Without the leading slash, as the docs allow.
        .method("pkg.Echo/Ping", Access::open())
        .open_service("grpc.health.v1.Health")
        .layer(handler(&calls));
    let code = |path: &'static str, token: Option<&'static str>| {
        let service = service.clone();
        async move { status(&service.oneshot(request(path, token)).await.unwrap()).code() }
    };
    // Default: deny, for authenticated callers too.
    assert_eq!(
        code("/pkg.Other/M", Some("admin-token")).await,
        Code::PermissionDenied
    );
    assert_eq!(code("/pkg.Other/M", None).await, Code::Unauthenticated);
    // A path that is no gRPC method gets the default.
    assert_eq!(code("/", Some("admin-token")).await, Code::PermissionDenied);
    // Service rule: any authenticated caller.
    assert_eq!(code("/pkg.Echo/Say", Some("alice-token")).await, Code::Ok);
    assert_eq!(code("/pkg.Echo/Say", None).await, Code::Unauthenticated);
    // Method rules beat the service rule, both ways.
    assert_eq!(
        code("/pkg.Echo/Admin", Some("alice-token")).await,
        Code::PermissionDenied
    );
    assert_eq!(code("/pkg.Echo/Admin", Some("admin-token")).await, Code::Ok);
    assert_eq!(code("/pkg.Echo/Ping", None).await, Code::Ok);
    // An open service beats the default.
    assert_eq!(code("/grpc.health.v1.Health/Check", None).await, Code::Ok);
    assert_eq!(code("/grpc.health.v1.Health/Watch", None).await, Code::Ok);
    // A service's rule is not its prefix's.
    assert_eq!(
        code("/pkg.EchoX/Say", Some("alice-token")).await,
        Code::PermissionDenied
    );
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn an_open_method_does_not_ask_the_authorizer_and_carries_no_identity() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let authorizer = move |mut request: AuthRequest| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            request.set_identity("someone".to_owned());
            Ok(request)
        }
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(authorizer)
        .open_service("grpc.health.v1.Health")
        .layer(handler(&calls));
    let response = service
        .clone()
        .oneshot(request("/grpc.health.v1.Health/Check", Some("anything")))
        .await
        .unwrap();
    assert_eq!(status(&response).code(), Code::Ok);
    assert!(response.headers().get("x-caller").is_none());
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    let response = service
        .oneshot(request("/pkg.Echo/Say", None))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-caller"], "someone");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A request body that records whether anyone read or dropped it.
struct Watched {
    polled: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
}

impl Body for Watched {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polled.store(true, Ordering::SeqCst);
        Poll::Ready(None)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_refused_call_is_answered_without_reading_its_body() {
    let (polled, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let inner = service_fn(|_: http::Request<Watched>| async {
        panic!("the handler of a refused call ran");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(Response::default())
    });
    let service = ServerAuthLayer::new(tokens()).layer(inner);
    let body = Watched {
        polled: polled.clone(),
        dropped: dropped.clone(),
    };
    let request = http::Request::builder()
        .uri("/pkg.Echo/Say")
        .header("authorization", "Bearer wrong")
        .body(body)
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(status(&response).code(), Code::Unauthenticated);
    assert!(!polled.load(Ordering::SeqCst), "the body was read");
    assert!(dropped.load(Ordering::SeqCst), "the body was not released");
}

#[tokio::test]
async fn the_authorizer_sees_the_head_the_peer_and_the_tls_certificates() {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let authorizer = move |request: AuthRequest| {
        let certificates = request
            .tls_info()
            .and_then(TlsInfo::peer_certificates)
            .map(|chain| chain.len());
        *record.lock().unwrap() = Some((
            request.path().to_owned(),
            request.service().map(str::to_owned),
            request.method().map(str::to_owned),
            request.metadata("x-tenant").map(str::to_owned),
            request.peer_addr(),
            certificates,
        ));
        async move {
            if certificates.is_some() {
                Ok(request)
            } else {
                Err(Status::unauthenticated("a client certificate is required"))
            }
        }
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(authorizer).layer(handler(&calls));
    let peer: std::net::SocketAddr = "127.0.0.1:4242".parse().unwrap();
    let mut call = request("/pkg.Echo/Say", None);
    call.headers_mut()
        .insert("x-tenant", HeaderValue::from_static("acme"));
    call.extensions_mut().insert(PeerAddr(peer));
    call.extensions_mut().insert(TlsInfo::new(
        Some(vec![vec![1u8, 2, 3].into()]),
        Some(b"h2".to_vec()),
        None,
    ));
    let response = service.clone().oneshot(call).await.unwrap();
    assert_eq!(status(&response).code(), Code::Ok);
    let expected = (
        "/pkg.Echo/Say".to_owned(),
        Some("pkg.Echo".to_owned()),
        Some("Say".to_owned()),
        Some("acme".to_owned()),
        Some(peer),
        Some(1),
    );
    assert_eq!(seen.lock().unwrap().take(), Some(expected));
    // Without TLS, this authorizer refuses.
    let response = service
        .oneshot(request("/pkg.Echo/Say", None))
        .await
        .unwrap();
    assert_eq!(status(&response).code(), Code::Unauthenticated);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_authorizer_status_is_answered_as_it_is_and_an_ok_one_fails_closed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let authorizer = |request: AuthRequest| async move {
        match request.metadata("x-case") {
            Some("busy") => Err(Status::unavailable("the identity provider is down")),
            Some("ok") => Err(Status::ok()),
            _ => Ok(request),
        }
    };
    let service = ServerAuthLayer::new(authorizer).layer(handler(&calls));
    let with_case = |case: &'static str| {
        let mut call = request("/pkg.Echo/Say", None);
        call.headers_mut()
            .insert("x-case", HeaderValue::from_static(case));
        call
    };
    let busy = status(&service.clone().oneshot(with_case("busy")).await.unwrap());
    assert_eq!(busy.code(), Code::Unavailable);
    assert_eq!(busy.message(), "the identity provider is down");
    let ok = status(&service.clone().oneshot(with_case("ok")).await.unwrap());
    assert_eq!(ok.code(), Code::Unauthenticated);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unit_lets_every_call_through_so_rules_alone_decide() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServerAuthLayer::new(())
        .service(
            "pkg.Admin",
            Access::only(|request| request.peer_addr().is_some()),
        )
        .layer(handler(&calls));
    let open = service.clone().oneshot(request("/pkg.Echo/Say", None));
    assert_eq!(status(&open.await.unwrap()).code(), Code::Ok);
    let denied = service.clone().oneshot(request("/pkg.Admin/Drop", None));
    assert_eq!(
        status(&denied.await.unwrap()).code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn api_keys_are_read_from_their_header() {
    let calls = Arc::new(AtomicUsize::new(0));
    let keys = ApiKeys::new(HeaderName::from_static("x-api-key"))
        .key("k-1", "billing".to_owned())
        .key(b"k-2", "reports".to_owned());
    let service = ServerAuthLayer::new(keys).layer(handler(&calls));
    let with_key = |key: Option<&'static str>| {
        let mut call = request("/pkg.Echo/Say", Some("k-1")); // a bearer token is not a key
        if let Some(key) = key {
            call.headers_mut()
                .insert("x-api-key", HeaderValue::from_static(key));
        }
        call
    };
    let response = service
        .clone()
        .oneshot(with_key(Some("k-2")))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-caller"], "reports");
    let missing = status(&service.clone().oneshot(with_key(None)).await.unwrap());
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(missing.message().contains("x-api-key"), "{missing:?}");
    let wrong = status(
        &service
            .clone()
            .oneshot(with_key(Some("k-3")))
            .await
            .unwrap(),
    );
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn constant_time_lookups_find_exactly_the_configured_tokens() {
    let mut tokens = BearerTokens::new();
    let secrets: Vec<String> = (0..50)
        .map(|i| format!("token-{i:03}-{}", i * 7919))
        .collect();
    for (i, secret) in secrets.iter().enumerate() {
        tokens = tokens.token(secret, i);
    }
    for (i, secret) in secrets.iter().enumerate() {
        assert_eq!(tokens.identity_of(secret), Some(&i), "{secret}");
        // Near misses: a prefix, an extension, one byte changed.
        assert_eq!(tokens.identity_of(&secret[..secret.len() - 1]), None);
        assert_eq!(tokens.identity_of(&format!("{secret}0")), None);
        let mut changed = secret.clone().into_bytes();
        changed[0] ^= 1;
        assert_eq!(
            tokens.identity_of(std::str::from_utf8(&changed).unwrap()),
            None
        );
    }
    assert_eq!(tokens.identity_of(""), None);
    // The first and the last entries are found too (index 0 is no "none").
    let two = BearerTokens::new().token("a", 'a').token("b", 'b');
    assert_eq!(two.identity_of("a"), Some(&'a'));
    assert_eq!(two.identity_of("b"), Some(&'b'));
    assert_eq!(BearerTokens::<u8>::new().identity_of("a"), None);
    let keys = ApiKeys::new(HeaderName::from_static("x-key")).key([0u8, 255, 7], 1);
    assert_eq!(keys.identity_of(&[0, 255, 7]), Some(&1));
    assert_eq!(keys.identity_of(&[0, 255]), None);
}

#[test]
#[should_panic(expected = "an empty token")]
fn an_empty_token_is_refused_when_configured() {
    let _ = BearerTokens::new().token("", ());
}

#[test]
#[should_panic(expected = "/pkg.Service/Method")]
fn a_method_rule_needs_a_full_method() {
    let _ = ServerAuthLayer::new(()).method("pkg.Service", Access::open());
}

#[test]
#[should_panic(expected = "pkg.Service")]
fn a_service_rule_needs_a_service_name() {
    let _ = ServerAuthLayer::new(()).service("pkg.Service/Method", Access::open());
}

#[tokio::test]
async fn the_server_side_forwards_readiness_and_calls_the_service_it_made_ready() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerAuthLayer::new(tokens()));
    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.allow(1);
    assert!(service.is_woken());
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let call = service.call(request("/pkg.Echo/Say", Some("alice-token")));
    let answer = async {
        let (request, send) = handle
            .next_request()
            .await
            .expect("the call reaches the inner service");
        assert_eq!(
            request.extensions().get::<Identity<String>>(),
            Some(&Identity("alice".to_owned()))
        );
        send.send_response(Status::ok().into_http());
    };
    let (response, ()) = tokio::join!(call, answer);
    assert_eq!(status(&response.unwrap()).code(), Code::Ok);

    // An inner error passes through unchanged.
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let call = service.call(request("/pkg.Echo/Say", Some("alice-token")));
    let fail = async {
        let (_, send) = handle.next_request().await.unwrap();
        send.send_error("connection reset");
    };
    let (response, ()) = tokio::join!(call, fail);
    assert_eq!(response.unwrap_err().to_string(), "connection reset");
}

#[tokio::test]
async fn a_clone_of_a_ready_service_is_not_ready() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerAuthLayer::new(tokens()));
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(clone.poll_ready().is_pending(), "readiness is not cloned");
    assert!(
        matches!(service.poll_ready(), Poll::Ready(Ok(()))),
        "still ready"
    );

    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientAuthLayer::bearer("t").unwrap());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(clone.poll_ready().is_pending(), "readiness is not cloned");
    assert!(
        matches!(service.poll_ready(), Poll::Ready(Ok(()))),
        "still ready"
    );
}

// ---------------------------------------------------------------- client

/// A client's inner service: answers OK and records the `authorization`
/// header and whether the call was marked for TLS only.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// The `authorization` a call would go out with over TLS (a held one
/// replaces a header set on the call, as a transport releases it), and
/// whether it was held back for the transport.
type Seen = (Option<HeaderValue>, bool);

impl Recorder {
    fn service(
        &self,
    ) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send
    {
        let seen = self.seen.clone();
        service_fn(move |request: Request| {
            let held = request.extensions().get::<HeldCredentials>().map(|held| {
                let (name, value) = held.headers().next().unwrap();
                assert_eq!(name, "authorization");
                value.clone()
            });
            let marked = held.is_some();
            let header = held.or_else(|| request.headers().get("authorization").cloned());
            seen.lock().unwrap().push((header, marked));
            async { Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>()) }
        })
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

#[tokio::test]
async fn static_credentials_go_on_every_call_held_for_tls_unless_insecure_is_allowed() {
    let recorder = Recorder::default();
    let service = ClientAuthLayer::bearer("abc")
        .unwrap()
        .layer(recorder.service());
    service
        .clone()
        .oneshot(request("/p.S/M", None))
        .await
        .unwrap();
    // The layer's credentials replace a header set on the call.
    service
        .oneshot(request("/p.S/M", Some("other")))
        .await
        .unwrap();
    let seen = recorder.take();
    assert_eq!(seen.len(), 2);
    for (header, marked) in seen {
        let header = header.unwrap();
        assert_eq!(header, "Bearer abc");
        assert!(header.is_sensitive());
        assert!(marked);
    }

    let service = ClientAuthLayer::header(
        HeaderName::from_static("authorization"),
        HeaderValue::from_static("Custom xyz"),
    )
    .allow_insecure(true)
    .layer(recorder.service());
    service.oneshot(request("/p.S/M", None)).await.unwrap();
    let seen = recorder.take();
    assert_eq!(seen[0].0.as_ref().unwrap(), "Custom xyz");
    assert!(!seen[0].1, "allow_insecure sets the header at once");

    assert!(ClientAuthLayer::bearer("bad\ntoken").is_err());
    let debug = format!("{:?}", ClientAuthLayer::bearer("hunter2").unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[tokio::test]
async fn credentials_never_go_out_over_a_plaintext_uri_under_any_inner_service() {
    let recorder = Recorder::default();
    let service = ClientAuthLayer::bearer("abc")
        .unwrap()
        .layer(recorder.service());
    let call = |uri: &str| http::Request::builder().uri(uri).body(GrpcBody::empty());
    let refused = service
        .clone()
        .oneshot(call("http://127.0.0.1:1/p.S/M").unwrap())
        .await
        .unwrap();
    assert_eq!(status(&refused).code(), Code::Unauthenticated);
    assert!(refused.body().is_end_stream());
    assert!(
        recorder.take().is_empty(),
        "nothing reached the inner service"
    );

    service
        .oneshot(call("https://api.example.com/p.S/M").unwrap())
        .await
        .unwrap();
    let seen = recorder.take();
    assert_eq!(seen[0].0.as_ref().unwrap(), "Bearer abc");
    assert!(!seen[0].1, "an https request gets the header itself");

    let insecure = ClientAuthLayer::bearer("abc")
        .unwrap()
        .allow_insecure(true)
        .layer(recorder.service());
    insecure
        .oneshot(call("http://127.0.0.1:1/p.S/M").unwrap())
        .await
        .unwrap();
    assert_eq!(recorder.take()[0].0.as_ref().unwrap(), "Bearer abc");
}

#[tokio::test(start_paused = true)]
async fn a_refreshed_token_follows_the_same_plaintext_rule() {
    let source = Counted::new(Duration::from_millis(10), Duration::from_secs(60));
    let recorder = Recorder::default();
    let service = ClientAuthLayer::token_source(source).layer(recorder.service());
    let request = http::Request::builder()
        .uri("http://127.0.0.1:1/p.S/M")
        .body(GrpcBody::empty())
        .unwrap();
    let refused = service.oneshot(request).await.unwrap();
    assert_eq!(status(&refused).code(), Code::Unauthenticated);
    assert!(recorder.take().is_empty());
}

/// A token source counting its fetches: fetch `n` answers `t<n>` after
/// `delay`, valid for `lifetime`, or fails when `fail(n)`.
#[derive(Clone)]
struct Counted {
    fetches: Arc<AtomicUsize>,
    delay: Duration,
    lifetime: Duration,
    fail: fn(usize) -> bool,
}

impl Counted {
    fn new(delay: Duration, lifetime: Duration) -> Counted {
        Counted {
            fetches: Arc::new(AtomicUsize::new(0)),
            delay,
            lifetime,
            fail: |_| false,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl TokenSource for Counted {
    type Error = BoxError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Token, BoxError>> + Send>>;

    fn fetch(&self) -> Self::Future {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        let (delay, lifetime, fail) = (self.delay, self.lifetime, self.fail);
        Box::pin(async move {
            sleep(delay).await;
            if fail(n) {
                return Err(format!("identity provider refused fetch {n}").into());
            }
            Ok(Token::bearer(format!("t{n}"))?.expires_in(lifetime))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_is_fetched_once_and_reused_until_the_refresh_margin() {
    let source = Counted::new(Duration::from_millis(5), Duration::from_secs(60));
    let recorder = Recorder::default();
    let layer =
        ClientAuthLayer::token_source(source.clone()).refresh_margin(Duration::from_secs(10));
    // Two services from the layer share its cache.
    let (a, b) = (
        layer.layer(recorder.service()),
        layer.layer(recorder.service()),
    );
    a.clone().oneshot(request("/p.S/M", None)).await.unwrap();
    b.clone().oneshot(request("/p.S/M", None)).await.unwrap();
    assert_eq!(source.fetches(), 1);
    advance(Duration::from_secs(45)).await; // 15 s left: still fresh
    a.clone().oneshot(request("/p.S/M", None)).await.unwrap();
    assert_eq!(source.fetches(), 1);
    advance(Duration::from_secs(6)).await; // 9 s left: within the margin
    b.clone().oneshot(request("/p.S/M", None)).await.unwrap();
    assert_eq!(source.fetches(), 2);
    let headers: Vec<_> = recorder
        .take()
        .into_iter()
        .map(|(h, _)| h.unwrap())
        .collect();
    assert_eq!(
        headers,
        ["Bearer t1", "Bearer t1", "Bearer t1", "Bearer t2"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_hundred_calls_during_an_expiry_cause_exactly_one_refresh() {
    let source = Counted::new(Duration::from_millis(200), Duration::from_secs(60));
    let recorder = Recorder::default();
    let service = ClientAuthLayer::token_source(source.clone()).layer(recorder.service());
    service
        .clone()
        .oneshot(request("/p.S/M", None))
        .await
        .unwrap();
    assert_eq!(source.fetches(), 1);
    advance(Duration::from_secs(61)).await; // expired
    recorder.take();
    let calls = (0..100).map(|_| service.clone().oneshot(request("/p.S/M", None)));
    let results = timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .expect("the calls finish");
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(source.fetches(), 2, "one refresh for all 100 calls");
    let seen = recorder.take();
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|(h, _)| h.as_ref().unwrap() == "Bearer t2"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_fails_every_waiting_call_with_its_cause_and_the_next_call_retries() {
    let mut source = Counted::new(Duration::from_millis(200), Duration::from_secs(60));
    source.fail = |n| n == 2;
    let recorder = Recorder::default();
    let service = ClientAuthLayer::token_source(source.clone()).layer(recorder.service());
    service
        .clone()
        .oneshot(request("/p.S/M", None))
        .await
        .unwrap();
    advance(Duration::from_secs(61)).await;
    let calls = (0..100).map(|_| service.clone().oneshot(request("/p.S/M", None)));
    let results = timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .expect("the calls finish");
    assert_eq!(source.fetches(), 2, "the failed refresh was tried once");
    for result in results {
        // A trailers-only answer any gRPC client reads, not an error.
        let response = result.expect("no token, no call: an answer");
        assert!(response.body().is_end_stream());
        let status = status(&response);
        assert_eq!(status.code(), Code::Unauthenticated);
        assert!(
            status
                .message()
                .contains("the token source failed: identity provider refused fetch 2"),
            "{status:?}"
        );
    }
    assert_eq!(recorder.take().len(), 1, "only the first call went out");
    // The next call tries again, and gets through.
    service
        .clone()
        .oneshot(request("/p.S/M", None))
        .await
        .unwrap();
    assert_eq!(source.fetches(), 3);
    assert_eq!(recorder.take()[0].0.as_ref().unwrap(), "Bearer t3");
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_refreshing_call_hands_the_refresh_to_a_waiting_one() {
    let source = Counted::new(Duration::from_secs(5), Duration::from_secs(60));
    let recorder = Recorder::default();
    let service = ClientAuthLayer::token_source(source.clone()).layer(recorder.service());
    // The first call starts the first fetch, then is dropped in the middle.
    let first = tokio::spawn(service.clone().oneshot(request("/p.S/M", None)));
    sleep(Duration::from_millis(10)).await;
    assert_eq!(source.fetches(), 1);
    let waiting: Vec<_> = (0..10)
        .map(|_| tokio::spawn(service.clone().oneshot(request("/p.S/M", None))))
        .collect();
    sleep(Duration::from_millis(10)).await;
    first.abort();
    for call in waiting {
        timeout(LIMIT, call)
            .await
            .expect("a waiting call is not wedged")
            .unwrap()
            .unwrap();
    }
    assert_eq!(source.fetches(), 2, "one waiter took the refresh over");
    let seen = recorder.take();
    assert_eq!(seen.len(), 10);
    assert!(seen.iter().all(|(h, _)| h.as_ref().unwrap() == "Bearer t2"));
}

#[tokio::test]
async fn a_closure_is_a_token_source() {
    let recorder = Recorder::default();
    let layer = ClientAuthLayer::token_source(|| async {
        Ok::<_, BoxError>(Token::new(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer from-closure"),
        ))
    })
    .allow_insecure(true);
    let service = layer.layer(recorder.service());
    service.oneshot(request("/p.S/M", None)).await.unwrap();
    let seen = recorder.take();
    assert_eq!(seen[0].0.as_ref().unwrap(), "Bearer from-closure");
    assert!(seen[0].0.as_ref().unwrap().is_sensitive());
    assert!(!seen[0].1);
    let token = Token::bearer("secret-value").unwrap();
    assert!(!format!("{token:?}").contains("secret-value"));
    assert!(token.expiry().is_none());
}

// ---------------------------------------------------------------- JWT

#[cfg(feature = "auth-jwt")]
mod jwt {
    use jsonwebtoken::{
        encode, get_current_timestamp, Algorithm, DecodingKey, EncodingKey, Header,
    };
    use serde_json::{json, Value};

    use super::*;

    const ISSUER: &str = "https://issuer.test";
    const AUDIENCE: &str = "grpc-tests";

    fn hs(kid: Option<&str>, secret: &[u8], claims: &Value) -> String {
        hs_with(Algorithm::HS256, kid, secret, claims)
    }

    fn hs_with(alg: Algorithm, kid: Option<&str>, secret: &[u8], claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn claims(sub: &str, exp_offset: i64) -> Value {
        let exp = get_current_timestamp() as i64 + exp_offset;
        json!({ "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": exp })
    }

    fn authorizer(keys: JwtKeys) -> JwtAuthorizer {
        JwtAuthorizer::new(keys, [Algorithm::HS256, Algorithm::ES256])
            .issuer(ISSUER)
            .audience(AUDIENCE)
    }

    /// Runs the authorizer on a call with `token`: the claims it attached,
    /// or its refusal.
    async fn check(auth: &JwtAuthorizer, token: &str) -> Result<Value, Status> {
        let (parts, ()) = request("/pkg.Echo/Say", Some(token))
            .map(|_| ())
            .into_parts();
        let request = auth.authorize(AuthRequest::new(parts)).await?;
        Ok(request
            .identity::<Value>()
            .cloned()
            .expect("claims attached"))
    }

    async fn refusal(auth: &JwtAuthorizer, token: &str) -> Status {
        let status = check(auth, token).await.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        status
    }

    #[tokio::test]
    async fn a_good_token_is_accepted_and_its_claims_reach_the_handler() {
        let keys = JwtKeys::single("k1", DecodingKey::from_secret(b"s1"));
        let auth = authorizer(keys);
        let seen = check(&auth, &hs(Some("k1"), b"s1", &claims("alice", 600)))
            .await
            .unwrap();
        assert_eq!(seen["sub"], "alice");

        // Through the layer, into a handler, as a typed claims struct.
        #[derive(Clone, serde::Deserialize)]
        struct Claims {
            sub: String,
        }
        let inner = service_fn(|request: Request| async move {
            let Identity(claims) = request.extensions().get::<Identity<Claims>>().unwrap();
            let mut response = Status::ok().into_http::<GrpcBody>();
            response
                .headers_mut()
                .insert("x-sub", HeaderValue::try_from(claims.sub.clone()).unwrap());
            Ok::<_, Infallible>(response)
        });
        let service = ServerAuthLayer::new(auth.claims::<Claims>()).layer(inner);
        let token = hs(Some("k1"), b"s1", &claims("bob", 600));
        let response = service
            .clone()
            .oneshot(request("/pkg.Echo/Say", Some(&token)))
            .await
            .unwrap();
        assert_eq!(response.headers()["x-sub"], "bob");
        let response = service
            .oneshot(request("/pkg.Echo/Say", None))
            .await
            .unwrap();
        assert_eq!(status(&response).code(), Code::Unauthenticated);
    }

    #[tokio::test]
    async fn an_es256_token_from_a_generated_key_is_verified() {
        let pair = rcgen::KeyPair::generate().unwrap(); // P-256
        let encoding = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let decoding = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes()).unwrap();
        let auth = authorizer(JwtKeys::single("ec", decoding));
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec".into());
        let token = encode(&header, &claims("carol", 600), &encoding).unwrap();
        assert_eq!(check(&auth, &token).await.unwrap()["sub"], "carol");
        // Signed by another key: a bad signature.
        let other = rcgen::KeyPair::generate().unwrap();
        let other = EncodingKey::from_ec_pem(other.serialize_pem().as_bytes()).unwrap();
        let forged = encode(&header, &claims("carol", 600), &other).unwrap();
        assert!(refusal(&auth, &forged)
            .await
            .message()
            .contains("signature"));
        // An HS256 token naming the EC key: the algorithm does not match it.
        let confused = hs(Some("ec"), b"guess", &claims("carol", 600));
        assert!(refusal(&auth, &confused)
            .await
            .message()
            .contains("does not match"));
    }

    #[tokio::test]
    async fn expiry_is_checked_with_a_leeway() {
        let keys = JwtKeys::single("k1", DecodingKey::from_secret(b"s1"));
        let auth = authorizer(keys.clone());
        // 30 s past expiry: within the default 60 s leeway.
        let recent = hs(Some("k1"), b"s1", &claims("alice", -30));
        assert!(check(&auth, &recent).await.is_ok());
        // 120 s past: beyond it.
        let old = hs(Some("k1"), b"s1", &claims("alice", -120));
        let status = refusal(&auth, &old).await;
        assert!(status.message().contains("expired"), "{status:?}");
        assert!(
            std::error::Error::source(&status).is_some(),
            "the jsonwebtoken error"
        );
        // A smaller leeway refuses the recent one too; a larger accepts the old.
        let strict = authorizer(keys.clone()).leeway(Duration::from_secs(5));
        assert!(refusal(&strict, &recent)
            .await
            .message()
            .contains("expired"));
        let lax = authorizer(keys).leeway(Duration::from_secs(300));
        assert!(check(&lax, &old).await.is_ok());
        // No exp at all: required.
        let no_exp = json!({ "sub": "a", "iss": ISSUER, "aud": AUDIENCE });
        let status = refusal(&auth, &hs(Some("k1"), b"s1", &no_exp)).await;
        assert!(status.message().contains("exp"), "{status:?}");
    }

    #[tokio::test]
    async fn the_issuer_and_the_audience_must_match() {
        let auth = authorizer(JwtKeys::single("k1", DecodingKey::from_secret(b"s1")));
        let mut wrong_iss = claims("alice", 600);
        wrong_iss["iss"] = json!("https://evil.test");
        let status = refusal(&auth, &hs(Some("k1"), b"s1", &wrong_iss)).await;
        assert!(status.message().contains("issuer"), "{status:?}");
        let mut wrong_aud = claims("alice", 600);
        wrong_aud["aud"] = json!(["other-api"]);
        let status = refusal(&auth, &hs(Some("k1"), b"s1", &wrong_aud)).await;
        assert!(status.message().contains("audience"), "{status:?}");
        let mut no_aud = claims("alice", 600);
        no_aud.as_object_mut().unwrap().remove("aud");
        let status = refusal(&auth, &hs(Some("k1"), b"s1", &no_aud)).await;
        assert!(status.message().contains("aud"), "{status:?}");
        // A list containing our audience is accepted.
        let mut listed = claims("alice", 600);
        listed["aud"] = json!(["other-api", AUDIENCE]);
        assert!(check(&auth, &hs(Some("k1"), b"s1", &listed)).await.is_ok());
    }

    #[tokio::test]
    async fn an_algorithm_outside_the_allow_list_is_refused() {
        let auth = authorizer(JwtKeys::single("k1", DecodingKey::from_secret(b"s1")));
        let token = hs_with(Algorithm::HS384, Some("k1"), b"s1", &claims("alice", 600));
        let status = refusal(&auth, &token).await;
        assert!(status.message().contains("HS384"), "{status:?}");
        assert!(status.message().contains("not allowed"), "{status:?}");
        // The same token is fine where HS384 is allowed.
        let keys = JwtKeys::single("k1", DecodingKey::from_secret(b"s1"));
        let allowing = JwtAuthorizer::new(keys, [Algorithm::HS384])
            .issuer(ISSUER)
            .audience(AUDIENCE);
        assert!(check(&allowing, &token).await.is_ok());
        // Garbage is no JWT.
        let status = refusal(&auth, "not.a.jwt").await;
        assert!(status.message().contains("well-formed"), "{status:?}");
    }

    #[tokio::test]
    async fn keys_are_picked_by_kid() {
        let keys = JwtKeys::new();
        keys.insert("k1", DecodingKey::from_secret(b"s1"));
        keys.insert("k2", DecodingKey::from_secret(b"s2"));
        let auth = authorizer(keys.clone());
        assert!(check(&auth, &hs(Some("k2"), b"s2", &claims("a", 600)))
            .await
            .is_ok());
        // The right kid with the other key's signature.
        let status = refusal(&auth, &hs(Some("k1"), b"s2", &claims("a", 600))).await;
        assert!(status.message().contains("signature"), "{status:?}");
        let status = refusal(&auth, &hs(Some("k9"), b"s1", &claims("a", 600))).await;
        assert!(status.message().contains("unknown key id"), "{status:?}");
        assert!(status.message().contains("k9"), "{status:?}");
        // No kid with two keys: refused, saying why.
        let status = refusal(&auth, &hs(None, b"s1", &claims("a", 600))).await;
        assert!(status.message().contains("no key id"), "{status:?}");
        assert!(status.message().contains("2 keys"), "{status:?}");
        // No kid with one key: that key.
        keys.remove("k2");
        assert!(check(&auth, &hs(None, b"s1", &claims("a", 600)))
            .await
            .is_ok());
        keys.remove("k1");
        let status = refusal(&auth, &hs(None, b"s1", &claims("a", 600))).await;
        assert!(status.message().contains("no JWT key"), "{status:?}");
    }

    #[tokio::test]
    async fn keys_rotate_while_serving() {
        let keys = JwtKeys::single("old", DecodingKey::from_secret(b"old secret"));
        let calls = Arc::new(AtomicUsize::new(0));
        let service = ServerAuthLayer::new(authorizer(keys.clone())).layer(handler(&calls));
        let code = |token: String| {
            let service = service.clone();
            async move {
                let response = service
                    .oneshot(request("/pkg.Echo/Say", Some(&token)))
                    .await
                    .unwrap();
                status(&response).code()
            }
        };
        let old = hs(Some("old"), b"old secret", &claims("a", 600));
        let new = hs(Some("new"), b"new secret", &claims("a", 600));
        assert_eq!(code(old.clone()).await, Code::Ok);
        assert_eq!(code(new.clone()).await, Code::Unauthenticated);
        // Rotation: add the new key, then retire the old one.
        keys.insert("new", DecodingKey::from_secret(b"new secret"));
        assert_eq!(code(old.clone()).await, Code::Ok);
        assert_eq!(code(new.clone()).await, Code::Ok);
        assert!(keys.remove("old"));
        assert_eq!(code(old.clone()).await, Code::Unauthenticated);
        assert_eq!(code(new.clone()).await, Code::Ok);
        // Replacing the whole set.
        keys.replace([("newer", DecodingKey::from_secret(b"newer secret"))]);
        assert_eq!(keys.kids(), ["newer"]);
        assert_eq!(code(new).await, Code::Unauthenticated);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    #[should_panic(expected = "at least one allowed algorithm")]
    fn an_empty_allow_list_is_refused() {
        let _ = JwtAuthorizer::new(JwtKeys::new(), []);
    }
}

#[tokio::test]
async fn an_async_closure_is_an_authorizer() {
    let calls = Arc::new(AtomicUsize::new(0));
    let authorizer = async |mut request: AuthRequest| {
        if request.bearer_token() != Some("letmein") {
            return Err(Status::unauthenticated("no"));
        }
        request.set_identity("closure".to_owned());
        Ok(request)
    };
    let service = ServerAuthLayer::new(authorizer).layer(handler(&calls));
    let response = service
        .clone()
        .oneshot(request("/p.S/M", Some("letmein")))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-caller"], "closure");
    let response = service.oneshot(request("/p.S/M", None)).await.unwrap();
    assert_eq!(status(&response).code(), Code::Unauthenticated);
}
