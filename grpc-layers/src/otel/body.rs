//! [`TelemetryBody`]: a response body that ends its call's recording with
//! the call's real final status; and the request body's watch.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use grpc_core::status::mapping::Side as MappingSide;
use grpc_core::BoxError;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::call::{Call, Outcome, State, Watch};
use super::Side;
use crate::status::classify::code_of;

/// The code a body or service error stands for, on `side`.
pub(crate) fn error_outcome(call: &Call, err: &(dyn std::error::Error + 'static)) -> Outcome {
    let side = match call.side() {
        Side::Server => MappingSide::Server,
        Side::Client => MappingSide::Client,
    };
    Outcome {
        code: code_of(err, side),
        message: call.is_recording().then(|| Cow::Owned(err.to_string())),
    }
}

pin_project! {
    /// Response body of [`ServerTelemetry`](super::ServerTelemetry) and
    /// [`ClientTelemetry`](super::ClientTelemetry): the inner body as it
    /// is, frame for frame, while the call's span and metrics wait for its
    /// end.
    ///
    /// The call ends with the status of the trailers; with the status an
    /// error of the body stands for (a reset stream: by the status table
    /// of `grpc_core::status::mapping`); with `INTERNAL` at an end without
    /// `grpc-status`; and with `CANCELLED` if the body is dropped first.
    /// On the server each poll runs with the call's span context as the
    /// current OpenTelemetry context. Errors are passed on (boxed).
    pub struct TelemetryBody<B> {
        #[pin]
        inner: B,
        state: State,
    }
}

impl<B> TelemetryBody<B> {
    /// Passes `inner` on; nothing is recorded.
    pub(crate) fn passthrough(inner: B) -> Self {
        TelemetryBody {
            inner,
            state: State::Pass,
        }
    }

    /// Polls `inner` with `cx` as the current context; nothing is
    /// recorded.
    pub(crate) fn propagating(inner: B, cx: opentelemetry::Context) -> Self {
        TelemetryBody {
            inner,
            state: State::Propagate(cx),
        }
    }

    /// Records `call` until `inner` ends.
    pub(crate) fn traced(inner: B, mut call: Box<Call>) -> Self {
        call.watch_response();
        TelemetryBody {
            inner,
            state: State::Record(call),
        }
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B> Body for TelemetryBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let call = match this.state {
            State::Pass => return this.inner.poll_frame(cx).map_err(Into::into),
            State::Propagate(context) => {
                let _entered = context.clone().attach();
                return this.inner.poll_frame(cx).map_err(Into::into);
            }
            State::Record(call) => call,
        };
        // The handler's stream runs in the call's context on the server.
        let _entered = match call.side() {
            Side::Server => call.enter(),
            Side::Client => None,
        };
        let frame = ready!(this.inner.poll_frame(cx));
        match frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let Some(watch) = call.response_watch_mut() {
                        watch.observe(data);
                    }
                } else if let Some(trailers) = frame.trailers_ref() {
                    call.finish_with_status(trailers, true);
                    *this.state = State::Pass;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(err)) => {
                let err: BoxError = err.into();
                let outcome = error_outcome(call, &*err);
                call.finish(outcome);
                *this.state = State::Pass;
                Poll::Ready(Some(Err(err)))
            }
            None => {
                call.finish(Outcome {
                    code: grpc_core::Code::Internal,
                    message: Some(Cow::Borrowed(
                        "the response ended without trailers (no grpc-status)",
                    )),
                });
                *this.state = State::Pass;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> fmt::Debug for TelemetryBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBody")
            .field("recording", &matches!(self.state, State::Record(_)))
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// A request body whose messages are counted (and reported as message
    /// events), passed on as it is.
    pub(crate) struct WatchedBody<B> {
        #[pin]
        inner: B,
        watch: Watch,
    }
}

impl<B> WatchedBody<B> {
    pub(crate) fn new(inner: B, watch: Watch) -> Self {
        WatchedBody { inner, watch }
    }
}

impl<B> Body for WatchedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(Ok(frame)) = &frame {
            if let Some(data) = frame.data_ref() {
                this.watch.observe(data);
            }
        }
        Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
