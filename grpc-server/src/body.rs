//! The request body as the stack sees it: hyper's body with its errors
//! turned into [`Status`].
//!
//! The codes are the stack's one table ([`grpc_core::status::mapping`]),
//! read through `grpc-layers`' [`DefaultMapper`] set to the server's side of
//! the connection: a stream the client reset with `CANCEL` reads as
//! `CANCELLED`, another reset by its row of the table (`REFUSED_STREAM` →
//! `UNAVAILABLE`, `ENHANCE_YOUR_CALM` → `RESOURCE_EXHAUSTED`, …), and a
//! connection that broke under the call as `CANCELLED`, as
//! `PROTOCOL-HTTP2.md` says of a server's open calls.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::status::mapping::Side;
use grpc_core::Status;
use grpc_layers::status::{DefaultMapper, MapError};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

/// The mapper of request body errors: the default table, server side.
static MAPPER: LazyLock<DefaultMapper> = LazyLock::new(|| DefaultMapper::new().side(Side::Server));

pin_project! {
    /// A hyper request body whose errors are [`Status`]; see the
    /// [module docs](self).
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
fn status_from_hyper(err: hyper::Error) -> Status {
    MAPPER.map_error(Box::new(err))
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
