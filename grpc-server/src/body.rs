//! The request body as the stack sees it: hyper's body with its errors
//! turned into [`Status`].

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::status::find_in_chain;
use grpc_core::Status;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

pin_project! {
    /// A hyper request body whose errors are [`Status`]: a stream the client
    /// reset with CANCEL reads as CANCELLED.
    #[derive(Debug)]
    pub struct RequestBody {
        #[pin]
        inner: Incoming,
    }
}

impl RequestBody {
    /// Wraps a hyper body.
    pub fn new(inner: Incoming) -> Self {
        RequestBody { inner }
    }
}

/// How a transport error reading a request body is reported to the handler.
pub(crate) fn status_from_hyper(err: hyper::Error) -> Status {
    let status = match find_in_chain::<h2::Error>(&err) {
        Some(h2) if h2.reason() == Some(h2::Reason::CANCEL) => {
            Status::cancelled("the client cancelled the call")
        }
        Some(h2) if h2.is_io() => Status::unavailable(format!("connection error: {h2}")),
        Some(h2) => Status::internal(format!("HTTP/2 error: {h2}")),
        None => Status::unavailable(format!("transport error: {err}")),
    };
    status.with_source(err)
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.project()
            .inner
            .poll_frame(cx)
            .map(|frame| frame.map(|r| r.map_err(status_from_hyper)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
