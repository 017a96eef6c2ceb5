//! Response futures of [`ServerAuth`](super::ServerAuth) and
//! [`ClientAuth`](super::ClientAuth).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use grpc_core::body::OrEmpty;
use grpc_core::Status;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::attach::attach;
use super::error::Unauthenticated;
use super::rules::Check;
use super::source::{Token, TokenCache};
use super::AuthRequest;

pin_project! {
    /// Response future of [`ServerAuth`](super::ServerAuth): the
    /// authorizer's decision, then the inner service's response, or a
    /// trailers-only refusal.
    pub struct ServerResponseFuture<S, B, F>
    where
        S: Service<http::Request<B>>,
    {
        #[pin]
        kind: ServerKind<S, B, F>,
    }
}

pin_project! {
    #[project = ServerKindProj]
    enum ServerKind<S, B, F>
    where
        S: Service<http::Request<B>>,
    {
        // An open method, or a call the authorizer let through.
        Passthrough { #[pin] inner: S::Future },
        // Waiting for the authorizer, holding the body (unread) and the
        // ready inner service.
        Authorizing {
            #[pin]
            authorize: F,
            pending: Option<(B, S)>,
            check: Option<Check>,
        },
        // Refused: the inner service was never called.
        Answer { status: Option<Status> },
    }
}

impl<S, B, F> ServerResponseFuture<S, B, F>
where
    S: Service<http::Request<B>>,
{
    pub(crate) fn passthrough(inner: S::Future) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Passthrough { inner },
        }
    }

    pub(crate) fn authorizing(authorize: F, body: B, service: S, check: Option<Check>) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Authorizing {
                authorize,
                pending: Some((body, service)),
                check,
            },
        }
    }
}

/// The status of a refusal; an OK one fails closed.
fn refusal(status: Status) -> Status {
    if status.is_ok() {
        Status::unauthenticated("the authorizer refused the call without saying why")
    } else {
        status
    }
}

impl<S, B, F, ResBody> Future for ServerResponseFuture<S, B, F>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    F: Future<Output = Result<AuthRequest, Status>>,
{
    type Output = Result<http::Response<OrEmpty<ResBody>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().kind.project() {
                ServerKindProj::Passthrough { inner } => {
                    let response = ready!(inner.poll(cx))?;
                    return Poll::Ready(Ok(response.map(OrEmpty::new)));
                }
                ServerKindProj::Authorizing {
                    authorize,
                    pending,
                    check,
                } => {
                    let decision = ready!(authorize.poll(cx));
                    let (body, mut service) = pending
                        .take()
                        .expect("ServerResponseFuture polled after completion");
                    match decision {
                        Ok(request) if check.as_ref().is_none_or(|check| check(&request)) => {
                            let request = http::Request::from_parts(request.into_parts(), body);
                            ServerKind::Passthrough {
                                inner: service.call(request),
                            }
                        }
                        Ok(request) => ServerKind::Answer {
                            status: Some(Status::permission_denied(format!(
                                "permission denied: the caller may not call {}",
                                request.path()
                            ))),
                        },
                        Err(status) => ServerKind::Answer {
                            status: Some(refusal(status)),
                        },
                    }
                }
                ServerKindProj::Answer { status } => {
                    let status = status
                        .take()
                        .expect("ServerResponseFuture polled after completion");
                    return Poll::Ready(Ok(status.into_http_with(OrEmpty::empty())));
                }
            };
            self.as_mut().project().kind.set(next);
        }
    }
}

impl<S, B, F> fmt::Debug for ServerResponseFuture<S, B, F>
where
    S: Service<http::Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            ServerKind::Passthrough { .. } => "passthrough",
            ServerKind::Authorizing { .. } => "authorizing",
            ServerKind::Answer { .. } => "answer",
        };
        f.debug_struct("ServerResponseFuture")
            .field("state", &state)
            .finish()
    }
}

/// The refresh a call waits for: boxed, as a tokio mutex's lock future
/// cannot be named; it runs once per token lifetime, not per call.
type RefreshFuture = Pin<Box<dyn Future<Output = Result<Token, Unauthenticated>> + Send>>;

pin_project! {
    /// Response future of [`ClientAuth`](super::ClientAuth): the inner
    /// service's, after waiting for a token refresh when the cached token
    /// was not fresh.
    pub struct ClientResponseFuture<S, B>
    where
        S: Service<http::Request<B>>,
    {
        #[pin]
        kind: ClientKind<S, B>,
    }
}

pin_project! {
    #[project = ClientKindProj]
    enum ClientKind<S, B>
    where
        S: Service<http::Request<B>>,
    {
        // Credentials attached: the inner call.
        Passthrough { #[pin] inner: S::Future },
        // Waiting for a token, holding the request and the ready service.
        Refreshing {
            refresh: RefreshFuture,
            pending: Option<(http::Request<B>, S)>,
            allow_insecure: bool,
        },
        // No credentials could be had, or may be sent: a trailers-only
        // answer.
        Answer { status: Option<Status> },
    }
}

impl<S, B> ClientResponseFuture<S, B>
where
    S: Service<http::Request<B>>,
{
    pub(crate) fn passthrough(inner: S::Future) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Passthrough { inner },
        }
    }

    pub(crate) fn refreshing(
        cache: Arc<TokenCache>,
        seen: u64,
        request: http::Request<B>,
        service: S,
        allow_insecure: bool,
    ) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Refreshing {
                refresh: Box::pin(async move { cache.refresh(seen).await }),
                pending: Some((request, service)),
                allow_insecure,
            },
        }
    }

    pub(crate) fn answer(status: Status) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Answer {
                status: Some(status),
            },
        }
    }
}

impl<S, B, ResBody> Future for ClientResponseFuture<S, B>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Output = Result<http::Response<OrEmpty<ResBody>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().kind.project() {
                ClientKindProj::Passthrough { inner } => {
                    let response = ready!(inner.poll(cx))?;
                    return Poll::Ready(Ok(response.map(OrEmpty::new)));
                }
                ClientKindProj::Refreshing {
                    refresh,
                    pending,
                    allow_insecure,
                } => {
                    let outcome = ready!(refresh.as_mut().poll(cx));
                    let (mut request, mut service) = pending
                        .take()
                        .expect("ClientResponseFuture polled after completion");
                    let attached = outcome.map_err(Status::from).and_then(|token| {
                        attach(&mut request, token.name, token.value, *allow_insecure)
                    });
                    match attached {
                        Ok(()) => ClientKind::Passthrough {
                            inner: service.call(request),
                        },
                        Err(status) => ClientKind::Answer {
                            status: Some(status),
                        },
                    }
                }
                ClientKindProj::Answer { status } => {
                    let status = status
                        .take()
                        .expect("ClientResponseFuture polled after completion");
                    return Poll::Ready(Ok(status.into_http_with(OrEmpty::empty())));
                }
            };
            self.as_mut().project().kind.set(next);
        }
    }
}

impl<S, B> fmt::Debug for ClientResponseFuture<S, B>
where
    S: Service<http::Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            ClientKind::Passthrough { .. } => "passthrough",
            ClientKind::Refreshing { .. } => "refreshing",
            ClientKind::Answer { .. } => "answer",
        };
        f.debug_struct("ClientResponseFuture")
            .field("state", &state)
            .finish()
    }
}
