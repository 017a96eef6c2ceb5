//! [`CompressionBody`]: a gRPC body whose messages are compressed or
//! decompressed one at a time as they pass through.
//!
//! Messages are read whole with grpc-core's [`Deframer`] (zero-copy when a
//! message lies in one chunk) and written back as whole frames, so the body
//! is a valid gRPC wire body in every mode; trailers pass through unchanged.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::{Frame, HEADER_LEN};
use grpc_core::codec::Deframer;
use grpc_core::{BoxError, Status};
use http::HeaderValue;
use http_body::{Body, Frame as BodyFrame, SizeHint};
use pin_project_lite::pin_project;

use super::algorithm::{CompressionLevel, Compressor, Decompressor};
use super::control::{should_compress, MessageCompression};
use super::Encoding;

pin_project! {
    /// A body passed through the compression layer: untouched, compressed
    /// message by message, or decompressed message by message.
    ///
    /// Errors are [`Status`] values (boxed): a message that inflates past
    /// the receive limit is `RESOURCE_EXHAUSTED`, undecodable data or a
    /// compressed message in an encoding that is not accepted is
    /// `INTERNAL`. Errors of the inner body pass through as they are.
    pub struct CompressionBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Plain { #[pin] body: B },
        Empty,
        Compress { #[pin] frames: Deframer<B>, state: CompressState },
        Decompress { #[pin] frames: Deframer<B>, state: DecompressState },
    }
}

struct CompressState {
    encoding: Encoding,
    level: CompressionLevel,
    min_size: usize,
    switch: Option<MessageCompression>,
    /// Created on the first message that is compressed.
    codec: Option<Compressor>,
    done: bool,
    /// A response body: a message it cannot transform ends it with the
    /// status as trailers (a request body fails for its reader instead).
    answers: bool,
}

struct DecompressState {
    accepted: Accepted,
    limit: usize,
    /// Created on the first compressed message.
    codec: Option<Decompressor>,
    done: bool,
    /// As in [`CompressState`].
    answers: bool,
}

enum Accepted {
    Yes(Encoding),
    /// The peer declared an encoding this side does not take: a message
    /// that is actually compressed is an error.
    No(HeaderValue),
}

impl<B> CompressionBody<B> {
    /// The body as it is.
    pub(crate) fn plain(body: B) -> Self {
        CompressionBody {
            kind: Kind::Plain { body },
        }
    }

    /// No data, no trailers (a trailers-only response).
    pub(crate) fn empty() -> Self {
        CompressionBody { kind: Kind::Empty }
    }

    /// Compresses the messages of `body` with `encoding`.
    pub(crate) fn compress(
        body: B,
        encoding: Encoding,
        level: CompressionLevel,
        min_size: usize,
        switch: Option<MessageCompression>,
    ) -> Self {
        if let Some(switch) = &switch {
            switch.attach();
        }
        CompressionBody {
            kind: Kind::Compress {
                // Our own messages: the send limit was checked when they
                // were encoded, so any length the prefix can say is fine.
                frames: Deframer::new(body, u32::MAX as usize),
                state: CompressState {
                    encoding,
                    level,
                    min_size,
                    switch,
                    codec: None,
                    done: false,
                    answers: false,
                },
            },
        }
    }

    /// Decompresses the messages of `body`, declared as `encoding`, each
    /// to at most `limit` bytes.
    pub(crate) fn decompress(body: B, encoding: Encoding, limit: usize) -> Self {
        Self::decoding(body, Accepted::Yes(encoding), limit)
    }

    /// Refuses any compressed message of `body`, declared in an encoding
    /// this side does not accept; uncompressed ones pass.
    pub(crate) fn refuse(body: B, declared: HeaderValue, limit: usize) -> Self {
        Self::decoding(body, Accepted::No(declared), limit)
    }

    fn decoding(body: B, accepted: Accepted, limit: usize) -> Self {
        CompressionBody {
            kind: Kind::Decompress {
                frames: Deframer::new(body, limit),
                state: DecompressState {
                    accepted,
                    limit,
                    codec: None,
                    done: false,
                    answers: false,
                },
            },
        }
    }

    /// The body is a response's: a message it cannot transform (one that
    /// inflates past the limit, in an encoding not accepted, already
    /// compressed) ends it with that status as trailers, which any gRPC
    /// reader above reads, instead of an error.
    pub(crate) fn answering_refusals(mut self) -> Self {
        match &mut self.kind {
            Kind::Compress { state, .. } => state.answers = true,
            Kind::Decompress { state, .. } => state.answers = true,
            Kind::Plain { .. } | Kind::Empty => {}
        }
        self
    }
}

impl<B> Default for CompressionBody<B> {
    fn default() -> Self {
        CompressionBody::empty()
    }
}

impl Drop for CompressState {
    fn drop(&mut self) {
        // The call is over: nobody takes the producer's decisions any more.
        if let Some(switch) = &self.switch {
            switch.detach();
        }
    }
}

impl CompressState {
    /// One whole message out of the deframer, as it goes on.
    fn message(&mut self, frame: Bytes) -> Result<Bytes, Status> {
        let frame = Frame::from_encoded(frame).expect("the deframer yields whole messages");
        if frame.is_compressed() {
            return Err(Status::internal(
                "a message was already compressed before the compression layer",
            ));
        }
        if !should_compress(frame.len(), self.min_size, self.switch.as_ref()) {
            return Ok(frame.into_encoded());
        }
        let codec = match &mut self.codec {
            Some(codec) => codec,
            slot @ None => match Compressor::new(self.encoding, self.level) {
                Some(made) => slot.insert(made?),
                None => return Ok(frame.into_encoded()),
            },
        };
        codec.compress(&frame.encoded()[HEADER_LEN..])
    }
}

impl DecompressState {
    /// One whole message out of the deframer, as it goes on.
    fn message(&mut self, frame: Bytes) -> Result<Bytes, Status> {
        let frame = Frame::from_encoded(frame).expect("the deframer yields whole messages");
        if !frame.is_compressed() {
            return Ok(frame.into_encoded());
        }
        let encoding = match &self.accepted {
            Accepted::Yes(encoding) => *encoding,
            Accepted::No(declared) => {
                return Err(Status::internal(format!(
                    "received a message compressed with {:?}, which is not accepted here",
                    String::from_utf8_lossy(declared.as_bytes())
                )))
            }
        };
        let codec = match &mut self.codec {
            Some(codec) => codec,
            slot @ None => match Decompressor::new(encoding, self.limit) {
                Some(made) => slot.insert(made?),
                None => {
                    return Err(Status::internal(
                        "received a compressed message, but its grpc-encoding is identity",
                    ))
                }
            },
        };
        codec.decompress(&frame.encoded()[HEADER_LEN..], self.limit)
    }
}

type Polled = Poll<Option<Result<BodyFrame<Bytes>, BoxError>>>;

/// Reads the next message of a deframer and transforms it; trailers pass.
fn next<B>(
    frames: Pin<&mut Deframer<B>>,
    done: &mut bool,
    answers: bool,
    cx: &mut Context<'_>,
    mut transform: impl FnMut(Bytes) -> Result<Bytes, Status>,
) -> Polled
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if *done {
        return Poll::Ready(None);
    }
    let result = match ready!(frames.poll_frame(cx)) {
        None => return Poll::Ready(None),
        Some(Ok(frame)) => match frame.into_data() {
            Ok(data) => match transform(data) {
                Ok(data) => Ok(BodyFrame::data(data)),
                // This layer's own refusal, in a response: its answer.
                Err(status) if answers => {
                    *done = true;
                    return Poll::Ready(Some(Ok(BodyFrame::trailers(status.to_headers()))));
                }
                Err(status) => Err(status),
            },
            Err(trailers) => Ok(trailers),
        },
        Some(Err(status)) => Err(status),
    };
    if result.is_err() {
        // Nothing after an error: the stream is broken.
        *done = true;
    }
    Poll::Ready(Some(result.map_err(BoxError::from)))
}

impl<B> Body for CompressionBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        match self.project().kind.project() {
            KindProj::Plain { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::Empty => Poll::Ready(None),
            KindProj::Compress { frames, state } => {
                let (mut done, answers) = (state.done, state.answers);
                let polled = next(frames, &mut done, answers, cx, |m| state.message(m));
                state.done = done;
                polled
            }
            KindProj::Decompress { frames, state } => {
                let (mut done, answers) = (state.done, state.answers);
                let polled = next(frames, &mut done, answers, cx, |m| state.message(m));
                state.done = done;
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { body } => body.is_end_stream(),
            Kind::Empty => true,
            Kind::Compress { frames, state } => state.done || frames.is_end_stream(),
            Kind::Decompress { frames, state } => state.done || frames.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { body } => body.size_hint(),
            Kind::Empty => SizeHint::with_exact(0),
            // Sizes change on the way through.
            Kind::Compress { .. } | Kind::Decompress { .. } => SizeHint::default(),
        }
    }
}

impl<B> fmt::Debug for CompressionBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CompressionBody");
        match &self.kind {
            Kind::Plain { .. } => d.field("mode", &"plain"),
            Kind::Empty => d.field("mode", &"empty"),
            Kind::Compress { state, .. } => d
                .field("mode", &"compress")
                .field("encoding", &state.encoding),
            Kind::Decompress { state, .. } => match &state.accepted {
                Accepted::Yes(encoding) => {
                    d.field("mode", &"decompress").field("encoding", encoding)
                }
                Accepted::No(declared) => d.field("mode", &"refuse").field("declared", declared),
            },
        };
        d.finish()
    }
}
