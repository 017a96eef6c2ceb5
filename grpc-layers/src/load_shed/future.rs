//! [`ResponseFuture`] of [`ServerLoadShed`](super::ServerLoadShed).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::status::outcome::classify_head;
use http::HeaderMap;
use pin_project_lite::pin_project;

use super::body::LoadShedBody;
use super::state::Permit;

pin_project! {
    /// Response future of [`ServerLoadShed`](super::ServerLoadShed): the
    /// inner future, holding the call's places, or a refusal ready at once.
    ///
    /// Dropping it before the response frees the places.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Admitted { #[pin] inner: F, permit: Option<Permit> },
        Shed { head: Option<HeaderMap> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn admitted(inner: F, permit: Permit) -> Self {
        ResponseFuture {
            kind: Kind::Admitted {
                inner,
                permit: Some(permit),
            },
        }
    }

    pub(crate) fn shed(head: HeaderMap) -> Self {
        ResponseFuture {
            kind: Kind::Shed { head: Some(head) },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<LoadShedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Admitted { inner, permit } => {
                let result = ready!(inner.poll(cx));
                let mut permit = permit
                    .take()
                    .expect("ResponseFuture polled after completion");
                // An error frees the places as the permit drops here.
                let response = result?;
                permit.responded();
                if let Some(code) = classify_head(response.status(), response.headers()).code() {
                    // Trailers-only (or not gRPC): the call ended with its head.
                    permit.finished(code);
                    drop(permit);
                    return Poll::Ready(Ok(response.map(LoadShedBody::released)));
                }
                Poll::Ready(Ok(response.map(|body| LoadShedBody::held(body, permit))))
            }
            KindProj::Shed { head } => {
                let head = head.take().expect("ResponseFuture polled after completion");
                let mut response = http::Response::new(LoadShedBody::empty());
                *response.headers_mut() = head;
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Admitted { .. } => "admitted",
            Kind::Shed { .. } => "shed",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
