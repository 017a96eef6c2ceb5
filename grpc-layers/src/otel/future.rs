//! Response futures of [`ServerTelemetry`](super::ServerTelemetry) and
//! [`ClientTelemetry`](super::ClientTelemetry).
//!
//! Each holds its call's recording: dropped before the response head (the
//! peer reset the stream, the caller gave up), the call ends `CANCELLED`.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::status::mapping::{code_from_http2_error, Http2ErrorCode};
use grpc_core::{BoxError, Code};
use pin_project_lite::pin_project;

use super::body::{error_outcome, TelemetryBody};
use super::call::{Call, Outcome, State};

/// The response of a recorded call: its body carries the recording on
/// unless the head already ended the call.
fn traced<B>(mut call: Box<Call>, response: http::Response<B>) -> http::Response<TelemetryBody<B>> {
    if call.on_head(&response) {
        response.map(TelemetryBody::passthrough)
    } else {
        response.map(|body| TelemetryBody::traced(body, call))
    }
}

pin_project! {
    /// Response future of [`ServerTelemetry`](super::ServerTelemetry):
    /// polls the inner future with the call's span context as the current
    /// OpenTelemetry context.
    pub struct ServerResponseFuture<F> {
        #[pin]
        inner: F,
        state: State,
    }
}

impl<F> ServerResponseFuture<F> {
    pub(crate) fn new(inner: F, state: State) -> Self {
        ServerResponseFuture { inner, state }
    }
}

impl<F, B, E> Future for ServerResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<TelemetryBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.state.enter();
            ready!(this.inner.poll(cx))
        };
        let mut call = match std::mem::replace(this.state, State::Pass) {
            State::Pass => return Poll::Ready(result.map(|r| r.map(TelemetryBody::passthrough))),
            State::Propagate(context) => {
                return Poll::Ready(
                    result.map(|r| r.map(|body| TelemetryBody::propagating(body, context))),
                )
            }
            State::Record(call) => call,
        };
        match result {
            Ok(response) => Poll::Ready(Ok(traced(call, response))),
            Err(err) => {
                // hyper resets the stream of a failed service with
                // INTERNAL_ERROR: that is what the client sees.
                let code =
                    code_from_http2_error(Http2ErrorCode::INTERNAL_ERROR).unwrap_or(Code::Internal);
                call.finish(Outcome {
                    code,
                    message: Some(Cow::Borrowed("the service failed; the stream was reset")),
                });
                Poll::Ready(Err(err))
            }
        }
    }
}

impl<F> fmt::Debug for ServerResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerResponseFuture")
            .field("recording", &matches!(self.state, State::Record(_)))
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Response future of [`ClientTelemetry`](super::ClientTelemetry).
    pub struct ClientResponseFuture<F> {
        #[pin]
        inner: F,
        state: State,
    }
}

impl<F> ClientResponseFuture<F> {
    pub(crate) fn new(inner: F, state: State) -> Self {
        ClientResponseFuture { inner, state }
    }
}

impl<F, B, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<TelemetryBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let State::Record(mut call) = std::mem::replace(this.state, State::Pass) else {
            return Poll::Ready(
                result
                    .map(|r| r.map(TelemetryBody::passthrough))
                    .map_err(Into::into),
            );
        };
        match result {
            Ok(response) => Poll::Ready(Ok(traced(call, response))),
            Err(err) => {
                let err: BoxError = err.into();
                let outcome = error_outcome(&call, &*err);
                call.finish(outcome);
                Poll::Ready(Err(err))
            }
        }
    }
}

impl<F> fmt::Debug for ClientResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientResponseFuture")
            .field("recording", &matches!(self.state, State::Record(_)))
            .finish_non_exhaustive()
    }
}
