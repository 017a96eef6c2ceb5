//! [`ServerAuth`] and [`ClientAuth`]: the services.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use grpc_core::body::OrEmpty;
use tower_service::Service;

use super::attach::attach;
use super::future::{ClientResponseFuture, ServerResponseFuture};
use super::layer::{ClientConfig, Credentials};
use super::rules::{Kind, Rules};
use super::{AuthRequest, Authorize, ServerAuthLayer};

/// `get_ref`, `get_mut` and `into_inner`, as `middleware_accessors!` has
/// them (whose `new` needs a layer with defaults; these have none).
macro_rules! inner_accessors {
    ($name:ident<S $(, $param:ident)*>) => {
        impl<S $(, $param)*> $name<S $(, $param)*> {
            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// The inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}

/// The server side: authorizes each call before the inner service sees
/// it; see the [module docs](super).
pub struct ServerAuth<S, A> {
    inner: S,
    authorizer: Arc<A>,
    rules: Arc<Rules>,
}

inner_accessors!(ServerAuth<S, A>);

impl<S, A> ServerAuth<S, A> {
    /// Wraps `inner`, every call needing `authorizer`'s approval.
    pub fn new(inner: S, authorizer: A) -> Self {
        tower_layer::Layer::layer(&ServerAuthLayer::new(authorizer), inner)
    }

    /// The layer, to configure rules with.
    pub fn layer(authorizer: A) -> ServerAuthLayer<A> {
        ServerAuthLayer::new(authorizer)
    }

    pub(crate) fn from_layer(inner: S, authorizer: Arc<A>, rules: Arc<Rules>) -> Self {
        ServerAuth {
            inner,
            authorizer,
            rules,
        }
    }
}

impl<S: Clone, A> Clone for ServerAuth<S, A> {
    fn clone(&self) -> Self {
        ServerAuth {
            inner: self.inner.clone(),
            authorizer: self.authorizer.clone(),
            rules: self.rules.clone(),
        }
    }
}

impl<S: fmt::Debug, A: fmt::Debug> fmt::Debug for ServerAuth<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAuth")
            .field("inner", &self.inner)
            .field("authorizer", &self.authorizer)
            .field("rules", &self.rules)
            .finish()
    }
}

impl<S, A, ReqBody, ResBody> Service<http::Request<ReqBody>> for ServerAuth<S, A>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone,
    A: Authorize,
{
    type Response = http::Response<OrEmpty<ResBody>>;
    type Error = S::Error;
    type Future = ServerResponseFuture<S, ReqBody, A::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let check = match self.rules.access(request.uri().path()).kind() {
            Kind::Open => return ServerResponseFuture::passthrough(self.inner.call(request)),
            Kind::Authenticated => None,
            Kind::Only(check) => Some(check.clone()),
        };
        let (parts, body) = request.into_parts();
        let authorize = self.authorizer.authorize(AuthRequest::new(parts));
        // The inner service is called once the authorizer has decided, from
        // the future: take the service that was made ready, and leave a
        // clone (which must be made ready again) in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ServerResponseFuture::authorizing(authorize, body, inner, check)
    }
}

/// The client side: attaches credentials to each call; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct ClientAuth<S> {
    inner: S,
    config: ClientConfig,
}

inner_accessors!(ClientAuth<S>);

impl<S> ClientAuth<S> {
    pub(crate) fn from_layer(inner: S, config: ClientConfig) -> Self {
        ClientAuth { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ClientAuth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone,
{
    type Response = http::Response<OrEmpty<ResBody>>;
    type Error = S::Error;
    type Future = ClientResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let allow_insecure = self.config.allow_insecure;
        let attached = match &self.config.credentials {
            Credentials::Static { name, value } => {
                attach(&mut request, name.clone(), value.clone(), allow_insecure)
            }
            Credentials::Source(cache) => match cache.current(self.config.refresh_margin) {
                Ok(token) => attach(&mut request, token.name, token.value, allow_insecure),
                Err(seen) => {
                    // The slow path (once per token lifetime): wait for the
                    // refresh from the future, then call the service that
                    // was made ready, leaving a clone in its place.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    return ClientResponseFuture::refreshing(
                        cache.clone(),
                        seen,
                        request,
                        inner,
                        allow_insecure,
                    );
                }
            },
        };
        match attached {
            Ok(()) => ClientResponseFuture::passthrough(self.inner.call(request)),
            Err(status) => ClientResponseFuture::answer(status),
        }
    }
}
