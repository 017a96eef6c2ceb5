//! Helpers for testing services and layers (feature `test-util`).
//!
//! [`ScriptedBody`] plays back a fixed sequence of data chunks, then trailers
//! or an error, so framing and trailer handling can be tested with exact
//! chunk boundaries.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};

use crate::codec::framing::encode_raw;
use crate::Status;

/// A body that yields the chunks it was given, then its trailers or error.
#[derive(Debug, Default, Clone)]
pub struct ScriptedBody {
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    error: Option<Status>,
}

impl ScriptedBody {
    /// A body of these chunks.
    pub fn new<I, C>(chunks: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Bytes>,
    {
        ScriptedBody {
            chunks: chunks.into_iter().map(Into::into).collect(),
            trailers: None,
            error: None,
        }
    }

    /// A body of whole, uncompressed messages, one chunk each.
    pub fn messages<I, C>(messages: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        Self::new(messages.into_iter().map(|m| encode_raw(m.as_ref(), false)))
    }

    /// Ends the body with these trailers.
    pub fn with_trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }

    /// Ends the body with this status in the trailers.
    pub fn with_status(self, status: &Status) -> Self {
        self.with_trailers(status.to_headers())
    }

    /// Ends the body with an error after the chunks.
    pub fn with_error(mut self, error: Status) -> Self {
        self.error = Some(error);
        self
    }
}

impl Body for ScriptedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.trailers.is_none() && self.error.is_none()
    }
}
