//! [`Router`]: dispatches calls to services by path.
//!
//! A gRPC call is `POST /package.Service/Method`. The router looks the path
//! up among its routes and calls the matching service. What it answers
//! itself:
//!
//! - an unknown service or method: UNIMPLEMENTED (trailers-only), marked
//!   with [`UnknownMethod`] in the response extensions so that layers
//!   outside (telemetry) can tell it from a handler's UNIMPLEMENTED;
//! - a method other than `POST`: HTTP 405 with `allow: POST`;
//! - a `content-type` that is not `application/grpc…`: HTTP 415, so that
//!   a non-gRPC client does not take a gRPC error (status 200) for success.
//!
//! ```
//! use grpc_core::codec::BytesCodec;
//! use grpc_core::{GrpcMethod, Request, Response, Status};
//! use grpc_server::{handler, Router};
//!
//! let router = Router::new().route(
//!     GrpcMethod::new("echo.Echo", "Unary"),
//!     handler::unary(BytesCodec, |req: Request<bytes::Bytes>| async move {
//!         Ok::<_, Status>(Response::new(req.into_inner()))
//!     }),
//! );
//! assert!(router.has_route("/echo.Echo/Unary"));
//! ```
//!
//! The router boxes each route's response future once (route erasure); the
//! route service itself is cloned per call, so it should be cheap to clone.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::error::BoxError;
use grpc_core::headers::is_grpc_content_type;
use grpc_core::method::{MethodPath, UnknownMethod};
use grpc_core::{GrpcBody, GrpcMethod, Status};
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use http_body::Body;
use tower::ServiceExt;
use tower_service::Service;

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<GrpcBody>, Infallible>> + Send>>;

/// A service that can be stored in the router: called by shared reference,
/// by calling a clone of itself.
trait ErasedRoute: Send + Sync {
    fn call_route(&self, request: http::Request<GrpcBody>) -> ResponseFuture;
}

impl<S> ErasedRoute for S
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn call_route(&self, request: http::Request<GrpcBody>) -> ResponseFuture {
        Box::pin(self.clone().oneshot(request))
    }
}

struct Route {
    method: GrpcMethod,
    service: Arc<dyn ErasedRoute>,
}

impl Clone for Route {
    fn clone(&self) -> Self {
        Route {
            method: self.method,
            service: self.service.clone(),
        }
    }
}

/// FNV-1a: the route table is looked up once per call with a short path,
/// and SipHash's protection buys nothing here: the table is fixed when the
/// server starts, so a caller's path can only miss or hit, never grow a
/// collision chain. (What it saves is in benches/RESULTS.md.)
struct PathHasher(u64);

impl Default for PathHasher {
    fn default() -> Self {
        PathHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for PathHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

#[derive(Clone, Default)]
struct Inner {
    routes: HashMap<Box<str>, Route, BuildHasherDefault<PathHasher>>,
    services: HashSet<&'static str>,
}

/// Routes calls by path to services; see the [module docs](self).
///
/// Cloning a router is cheap (one reference count).
#[derive(Clone, Default)]
pub struct Router {
    inner: Arc<Inner>,
}

/// Implemented by generated server types: the fully qualified service name.
pub trait NamedService {
    /// The fully qualified service name, e.g. `helloworld.Greeter`.
    const NAME: &'static str;
}

/// Implemented by generated server types: adds one route per method.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be added to a `Router`",
    note = "generated servers implement `RegisterService`: wrap your implementation, e.g. `GreeterServer::new(my_impl)`"
)]
pub trait RegisterService {
    /// Adds this service's routes to the router.
    fn register(self, router: Router) -> Router;
}

impl Router {
    /// An empty router: every call is UNIMPLEMENTED.
    pub fn new() -> Self {
        Router::default()
    }

    /// Routes `/{service}/{method}` to `service`. A later route for the
    /// same path replaces the earlier one.
    pub fn route<S>(mut self, method: GrpcMethod, service: S) -> Self
    where
        S: Service<
                http::Request<GrpcBody>,
                Response = http::Response<GrpcBody>,
                Error = Infallible,
            > + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let path = format!("/{}/{}", method.service(), method.method());
        let inner = Arc::make_mut(&mut self.inner);
        inner.services.insert(method.service());
        inner.routes.insert(
            path.into_boxed_str(),
            Route {
                method,
                service: Arc::new(service),
            },
        );
        self
    }

    /// Adds every method of a generated service.
    pub fn add_service<S: RegisterService>(self, service: S) -> Self {
        service.register(self)
    }

    /// Whether a path (`/package.Service/Method`) has a route.
    pub fn has_route(&self, path: &str) -> bool {
        self.inner.routes.contains_key(path)
    }

    /// Every method with a route, in no particular order: what a
    /// telemetry layer in front is told the server serves
    /// (`ServerTelemetryLayer::known_methods`).
    pub fn methods(&self) -> impl Iterator<Item = GrpcMethod> + '_ {
        self.inner.routes.values().map(|route| route.method)
    }

    /// The names of the services with at least one route.
    pub fn services(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.services.iter().copied()
    }

    fn unimplemented(&self, path: &str) -> http::Response<GrpcBody> {
        let message = match MethodPath::parse(path) {
            Ok(path) if self.inner.services.contains(path.service()) => {
                format!(
                    "unknown method {} for service {}",
                    path.method(),
                    path.service()
                )
            }
            Ok(path) => format!("unknown service {}", path.service()),
            Err(_) => format!("malformed method path {path:?}"),
        };
        let mut response = Status::unimplemented(message).into_http::<GrpcBody>();
        // Layers outside see only the path: this tells them it is not a method.
        response.extensions_mut().insert(UnknownMethod);
        response
    }
}

fn plain_response(status: StatusCode, text: &'static str) -> http::Response<GrpcBody> {
    let mut response =
        http::Response::new(GrpcBody::once(Bytes::from_static(text.as_bytes()), None));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<&str> = self.inner.routes.keys().map(|k| &**k).collect();
        paths.sort_unstable();
        f.debug_struct("Router").field("routes", &paths).finish()
    }
}

impl<B> Service<http::Request<B>> for Router
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = RouterFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> RouterFuture {
        if request.method() != Method::POST {
            let mut response =
                plain_response(StatusCode::METHOD_NOT_ALLOWED, "gRPC calls use POST\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return RouterFuture::ready(response);
        }
        if !request
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(is_grpc_content_type)
        {
            return RouterFuture::ready(plain_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "gRPC calls use content-type application/grpc\n",
            ));
        }
        let Some(route) = self.inner.routes.get(request.uri().path()) else {
            return RouterFuture::ready(self.unimplemented(request.uri().path()));
        };
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(route.method);
        let request = http::Request::from_parts(parts, GrpcBody::new(body));
        RouterFuture {
            kind: Kind::Route(route.service.call_route(request)),
        }
    }
}

/// Response future of [`Router`].
pub struct RouterFuture {
    kind: Kind,
}

enum Kind {
    /// Answered by the router itself (cold path: boxed to keep the future small).
    Ready(Option<Box<http::Response<GrpcBody>>>),
    Route(ResponseFuture),
}

impl RouterFuture {
    fn ready(response: http::Response<GrpcBody>) -> Self {
        RouterFuture {
            kind: Kind::Ready(Some(Box::new(response))),
        }
    }
}

impl fmt::Debug for RouterFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterFuture").finish_non_exhaustive()
    }
}

impl Future for RouterFuture {
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            Kind::Ready(response) => {
                Poll::Ready(Ok(*response.take().expect("polled after completion")))
            }
            Kind::Route(fut) => fut.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler;
    use grpc_core::codec::BytesCodec;
    use grpc_core::test_util::ScriptedBody;
    use grpc_core::{Code, Request, Response};

    fn router() -> Router {
        Router::new().route(
            GrpcMethod::new("t.Echo", "Say"),
            handler::unary(BytesCodec, |req: Request<Bytes>| async move {
                let method = *req.extensions().get::<GrpcMethod>().unwrap();
                Ok::<_, Status>(Response::new(Bytes::from(method.to_string())))
            }),
        )
    }

    fn call(method: &str, path: &str, content_type: Option<&str>) -> http::Response<GrpcBody> {
        let mut builder = http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        let request = builder.body(ScriptedBody::messages([b"x"])).unwrap();
        let mut router = router();
        futures_util::FutureExt::now_or_never(Service::call(&mut router, request))
            .expect("router answers without waiting")
            .unwrap()
    }

    #[test]
    fn a_known_path_reaches_its_route_with_the_method_extension() {
        let response = call("POST", "/t.Echo/Say", Some("application/grpc"));
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("grpc-status").is_none());
    }

    #[test]
    fn an_unknown_service_is_unimplemented() {
        let response = call("POST", "/t.Other/Say", Some("application/grpc+proto"));
        let status = Status::from_headers(response.headers()).unwrap();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(status.message(), "unknown service t.Other");
    }

    #[test]
    fn an_unknown_method_of_a_known_service_is_unimplemented() {
        let response = call("POST", "/t.Echo/Shout", Some("application/grpc"));
        let status = Status::from_headers(response.headers()).unwrap();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(status.message(), "unknown method Shout for service t.Echo");
    }

    #[test]
    fn only_the_routers_own_unimplemented_answers_are_marked_unknown() {
        for path in ["/t.Echo/Shout", "/t.Other/Say", "nonsense"] {
            let response = call("POST", path, Some("application/grpc"));
            assert!(
                response.extensions().get::<UnknownMethod>().is_some(),
                "{path}"
            );
        }
        let response = call("POST", "/t.Echo/Say", Some("application/grpc"));
        assert!(response.extensions().get::<UnknownMethod>().is_none());
    }

    #[test]
    fn a_method_other_than_post_is_405() {
        let response = call("GET", "/t.Echo/Say", Some("application/grpc"));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
    }

    #[test]
    fn a_non_grpc_content_type_is_415() {
        for ct in [Some("application/json"), None] {
            let response = call("POST", "/t.Echo/Say", ct);
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{ct:?}"
            );
        }
    }

    #[test]
    fn methods_are_listed() {
        let mut methods: Vec<String> = router().methods().map(|m| m.to_string()).collect();
        methods.sort();
        assert_eq!(methods, ["/t.Echo/Say"]);
    }

    #[test]
    fn services_are_listed() {
        assert_eq!(router().services().collect::<Vec<_>>(), ["t.Echo"]);
        assert!(format!("{:?}", router()).contains("/t.Echo/Say"));
    }
}
