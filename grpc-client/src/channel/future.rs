//! [`ResponseFuture`]: the future of one call on a [`Channel`](super::Channel).
//!
//! It waits for the shared connection attempt when the channel is
//! connecting, then sends on hyper's multiplexed connection. hyper's send
//! future is an unnameable `impl Future`, so it is boxed: one allocation per
//! call, the only one this future makes. A request refused by a connection
//! that closed before the request left is retried once on a new connection.
//!
//! Dropping the future before the response head arrived resets the stream
//! with `CANCEL` (hyper does this when its send future is dropped).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use grpc_core::{GrpcBody, Status};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;

use grpc_transport::batch::InFlight;

use super::body::ResponseBody;
use super::connect::SharedConnect;
use super::state::{Acquired, Inner, Sender};
use crate::error::{Error, Kind};
use crate::status::status_from_error;

type Request = http::Request<GrpcBody>;
type SendFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Incoming>, TrySendError<Request>>> + Send>>;

/// The response future of [`Channel`](super::Channel).
pub struct ResponseFuture {
    state: State,
}

enum State {
    /// Waiting for the connection attempt this call shares with others.
    /// Boxed: it holds the whole request head, and it is the slow path.
    Connecting(Box<Connecting>),
    /// Sent; waiting for the response head.
    Sending {
        send: SendFuture,
        channel: Arc<Inner>,
        retried: bool,
        /// Counts the call for write batching until the head arrives.
        _in_flight: InFlight,
    },
    /// Failed before sending.
    Failed(Option<Error>),
}

struct Connecting {
    connect: SharedConnect,
    request: Option<Request>,
    channel: Arc<Inner>,
    retried: bool,
}

impl ResponseFuture {
    pub(super) fn new(channel: Arc<Inner>, request: Request) -> ResponseFuture {
        ResponseFuture {
            state: State::start(channel, request, false),
        }
    }

    pub(super) fn failed(error: Error) -> ResponseFuture {
        ResponseFuture {
            state: State::Failed(Some(error)),
        }
    }
}

impl State {
    fn start(channel: Arc<Inner>, request: Request, retried: bool) -> State {
        match channel.acquire() {
            Acquired::Ready(sender, in_flight) => {
                State::send(sender, in_flight, request, channel, retried)
            }
            Acquired::Wait(connect) => State::Connecting(Box::new(Connecting {
                connect,
                request: Some(request),
                channel,
                retried,
            })),
            Acquired::Failed(error) => State::Failed(Some(error)),
        }
    }

    fn send(
        mut sender: Sender,
        in_flight: InFlight,
        request: Request,
        channel: Arc<Inner>,
        retried: bool,
    ) -> State {
        State::Sending {
            _in_flight: in_flight,
            send: Box::pin(sender.try_send_request(request)),
            channel,
            retried,
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<http::Response<GrpcBody>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = &mut self.get_mut().state;
        loop {
            match state {
                State::Connecting(connecting) => {
                    let outcome = ready!(Pin::new(&mut connecting.connect).poll(cx));
                    let request = connecting.request.take().expect("polled after completion");
                    match outcome {
                        Ok(connected) => {
                            let (sender, in_flight) = connected.start_call();
                            *state = State::send(
                                sender,
                                in_flight,
                                request,
                                connecting.channel.clone(),
                                connecting.retried,
                            )
                        }
                        Err(error) => {
                            *state = State::Failed(None);
                            return Poll::Ready(Err(status_from_error(error.into())));
                        }
                    }
                }
                State::Sending {
                    send,
                    channel,
                    retried,
                    ..
                } => match ready!(send.as_mut().poll(cx)) {
                    Ok(response) => {
                        // Done sending: the call stops counting for write
                        // batching now, not when the future is dropped.
                        *state = State::Failed(None);
                        return Poll::Ready(Ok(
                            response.map(|body| GrpcBody::new(ResponseBody::new(body)))
                        ));
                    }
                    Err(mut refused) => match refused.take_message() {
                        // The request never left: the connection closed under
                        // it. Retry once on a fresh connection.
                        Some(request) if !*retried => {
                            channel.forget_closed();
                            *state = State::start(channel.clone(), request, true);
                        }
                        Some(_) => {
                            let error = Error::with(Kind::ConnectionClosed, refused.into_error());
                            *state = State::Failed(None);
                            return Poll::Ready(Err(status_from_error(error.into())));
                        }
                        None => {
                            let error = refused.into_error();
                            *state = State::Failed(None);
                            return Poll::Ready(Err(status_from_error(error.into())));
                        }
                    },
                },
                State::Failed(error) => {
                    let error = error.take().expect("polled after completion");
                    return Poll::Ready(Err(status_from_error(error.into())));
                }
            }
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Connecting(_) => "connecting",
            State::Sending { .. } => "sending",
            State::Failed(_) => "failed",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
