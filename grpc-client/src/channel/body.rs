//! [`ResponseBody`]: hyper's response body with errors already turned into
//! a [`Status`].
//!
//! A stream reset or a broken connection while reading the response is a
//! body error; mapping it here, through
//! [`status_from_error`](crate::status::status_from_error), means a
//! `RST_STREAM(CANCEL)` reads as `CANCELLED` and a reset connection as
//! `UNAVAILABLE` wherever the body ends up, instead of `UNKNOWN`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::Status;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use crate::status::status_from_error;

pin_project! {
    /// hyper's response body, with [`Status`] errors.
    #[derive(Debug)]
    pub(crate) struct ResponseBody {
        #[pin]
        inner: Incoming,
    }
}

impl ResponseBody {
    pub(crate) fn new(inner: Incoming) -> ResponseBody {
        ResponseBody { inner }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.project()
            .inner
            .poll_frame(cx)
            .map_err(|e| status_from_error(Box::new(e)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
