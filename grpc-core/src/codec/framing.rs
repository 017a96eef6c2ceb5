//! The gRPC length-prefixed message framing.
//!
//! Every message on the wire is a 5-byte prefix — a compressed flag (0 or 1)
//! and a big-endian `u32` length — followed by that many payload bytes.
//!
//! - [`encode_message`] writes prefix and payload with one allocation;
//!   [`encode_message_into`] appends them to a buffer that may already hold
//!   other messages.
//! - [`Deframer`] reads any `http_body::Body<Data = Bytes>` and yields whole
//!   messages. It is itself a `Body` whose data frames are exactly one whole,
//!   prefixed message each, so a layer can read messages and still pass on a
//!   valid gRPC wire body. A message that lies inside one chunk is sliced out
//!   without copying, so an already aligned body costs one pointer bump per
//!   message.
//!
//! ```
//! # use bytes::Bytes;
//! # use http_body_util::{BodyExt, Full};
//! use grpc_core::codec::framing::{encode_raw, Deframer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let wire = [encode_raw(b"hello", false), encode_raw(b"world", false)].concat();
//! let mut deframer = Deframer::new(Full::new(Bytes::from(wire)), 1024);
//! let first = deframer.message().await.unwrap().unwrap();
//! assert_eq!(first.payload(), "hello");
//! assert!(!first.is_compressed());
//! assert_eq!(deframer.message().await.unwrap().unwrap().payload(), "world");
//! assert!(deframer.message().await.is_none());
//! # }
//! ```

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame as BodyFrame, SizeHint};
use pin_project_lite::pin_project;

use super::Codec;
use crate::error::BoxError;
use crate::{Code, Status};

/// Length of the message prefix: one flag byte and a 4-byte length.
pub const HEADER_LEN: usize = 5;

/// Largest buffer reserved up front for a message split across chunks; a
/// larger one grows as its bytes actually arrive, so a peer that only
/// announces a large message cannot make us allocate for it.
const MAX_UPFRONT_RESERVE: usize = 64 * 1024;

/// One whole message as it is on the wire: prefix and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    encoded: Bytes,
}

impl Frame {
    /// Frames a payload (copies it once).
    pub fn new(payload: &[u8], compressed: bool) -> Frame {
        Frame {
            encoded: encode_raw(payload, compressed),
        }
    }

    /// Wraps bytes that already hold exactly one valid frame.
    ///
    /// Returns `None` when the prefix does not match the length.
    pub fn from_encoded(encoded: Bytes) -> Option<Frame> {
        if encoded.len() < HEADER_LEN || encoded[0] > 1 {
            return None;
        }
        let len = u32::from_be_bytes([encoded[1], encoded[2], encoded[3], encoded[4]]) as usize;
        (encoded.len() == HEADER_LEN + len).then_some(Frame { encoded })
    }

    /// Whether the compressed flag is set.
    pub fn is_compressed(&self) -> bool {
        self.encoded[0] == 1
    }

    /// The payload length.
    pub fn len(&self) -> usize {
        self.encoded.len() - HEADER_LEN
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload, without copying.
    pub fn payload(&self) -> Bytes {
        self.encoded.slice(HEADER_LEN..)
    }

    /// The payload, without copying.
    pub fn into_payload(self) -> Bytes {
        let mut b = self.encoded;
        b.advance(HEADER_LEN);
        b
    }

    /// Prefix and payload as they go on the wire.
    pub fn encoded(&self) -> &Bytes {
        &self.encoded
    }

    /// Prefix and payload as they go on the wire.
    pub fn into_encoded(self) -> Bytes {
        self.encoded
    }
}

/// Writes a 5-byte prefix for a payload of `len` bytes.
pub fn write_header(dst: &mut [u8], compressed: bool, len: u32) {
    dst[0] = u8::from(compressed);
    dst[1..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
}

/// Frames a payload by copying it after a prefix (one allocation).
pub fn encode_raw(payload: &[u8], compressed: bool) -> Bytes {
    let mut buf = BytesMut::with_capacity(HEADER_LEN + payload.len());
    buf.put_u8(u8::from(compressed));
    buf.put_u32(payload.len() as u32);
    buf.extend_from_slice(payload);
    buf.freeze()
}

/// Encodes one message and its prefix into one buffer, allocated once when
/// the codec knows the encoded length.
///
/// A message longer than `max_size` (or than the 32-bit prefix can say) is
/// [`Code::ResourceExhausted`].
pub fn encode_message<C: Codec>(
    codec: &mut C,
    item: C::Encode,
    max_size: usize,
) -> Result<Bytes, Status> {
    // Sized up front when the codec knows the length: one allocation, no
    // growth while encoding.
    let hint = len_hint(codec, &item, max_size)?;
    let mut buf = BytesMut::with_capacity(HEADER_LEN + hint);
    encode_sized(codec, item, max_size, &mut buf)?;
    Ok(buf.freeze())
}

/// Appends one encoded message and its prefix to `dst`, reserving room once
/// when the codec knows the encoded length. Several messages appended to one
/// buffer make one data chunk of back-to-back frames, which is how a
/// streaming body batches small messages into fewer HTTP/2 DATA frames.
///
/// On error `dst` is left as it was. A message longer than `max_size` (or
/// than the 32-bit prefix can say) is [`Code::ResourceExhausted`].
pub fn encode_message_into<C: Codec>(
    codec: &mut C,
    item: C::Encode,
    max_size: usize,
    dst: &mut BytesMut,
) -> Result<(), Status> {
    let hint = len_hint(codec, &item, max_size)?;
    dst.reserve(HEADER_LEN + hint);
    encode_sized(codec, item, max_size, dst)
}

/// The codec's length estimate (0 when it has none), refused up front when
/// it is already over `max_size`.
fn len_hint<C: Codec>(codec: &C, item: &C::Encode, max_size: usize) -> Result<usize, Status> {
    let hint = codec.encoded_len(item).unwrap_or(0);
    if hint > max_size {
        return Err(too_large_to_send(hint, max_size));
    }
    Ok(hint)
}

/// [`encode_message_into`] once `dst` has room: the prefix, the message, and
/// the length written into the prefix.
fn encode_sized<C: Codec>(
    codec: &mut C,
    item: C::Encode,
    max_size: usize,
    dst: &mut BytesMut,
) -> Result<(), Status> {
    let start = dst.len();
    dst.put_bytes(0, HEADER_LEN);
    if let Err(status) = codec.encode(item, dst) {
        dst.truncate(start);
        return Err(status);
    }
    let len = dst.len() - start - HEADER_LEN;
    if len > max_size || len > u32::MAX as usize {
        dst.truncate(start);
        return Err(too_large_to_send(len, max_size));
    }
    write_header(&mut dst[start..start + HEADER_LEN], false, len as u32);
    Ok(())
}

fn too_large_to_send(len: usize, max: usize) -> Status {
    Status::resource_exhausted(format!(
        "message to send is larger than the limit ({len} vs. {max} bytes)"
    ))
}

/// The status for a received message over the limit.
pub fn too_large_to_receive(len: usize, max: usize) -> Status {
    Status::resource_exhausted(format!(
        "received message is larger than the limit ({len} vs. {max} bytes)"
    ))
}

#[derive(Debug)]
enum State {
    /// Reading a prefix; `filled` bytes of it are in `buf`.
    Header { buf: [u8; HEADER_LEN], filled: u8 },
    /// Reading a payload that spans chunks into `buf` (prefix included).
    Payload { buf: BytesMut, total: usize },
    /// A framing error was returned; nothing more is read.
    Failed,
}

pin_project! {
    /// Reads whole gRPC messages from a body; see the [module docs](self).
    ///
    /// Errors are [`Status`]: an oversized message is
    /// [`Code::ResourceExhausted`], a message cut off by the end of the body
    /// or a flag byte other than 0 or 1 is [`Code::Internal`], and a body
    /// error is turned into a status with [`Status::from_error`].
    #[derive(Debug)]
    pub struct Deframer<B> {
        #[pin]
        body: B,
        chunk: Bytes,
        state: State,
        max_size: usize,
        trailers: Option<HeaderMap>,
        body_done: bool,
        trailers_returned: bool,
    }
}

impl<B> Deframer<B> {
    /// Reads messages from `body`, refusing any longer than `max_size`.
    pub fn new(body: B, max_size: usize) -> Self {
        Deframer {
            body,
            chunk: Bytes::new(),
            state: State::Header {
                buf: [0; HEADER_LEN],
                filled: 0,
            },
            max_size,
            trailers: None,
            body_done: false,
            trailers_returned: false,
        }
    }

    /// The message size limit.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Trailers received at the end of the body, once reached.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Takes the trailers received at the end of the body.
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    /// Whether the end of the body was reached.
    pub fn is_done(&self) -> bool {
        self.body_done && self.chunk.is_empty()
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.body
    }

    /// The inner body, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.body
    }

    /// The inner body; buffered bytes not yet returned are lost.
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B> Deframer<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    /// The next whole message; `None` at the end of the body.
    pub async fn message(&mut self) -> Option<Result<Frame, Status>>
    where
        B: Unpin,
    {
        poll_fn(|cx| Pin::new(&mut *self).poll_message(cx)).await
    }

    /// Polls for the next whole message; `Ready(None)` at the end of the body.
    pub fn poll_message(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame, Status>>> {
        let mut this = self.project();
        loop {
            match parse(this.chunk, this.state, *this.max_size) {
                Parsed::Frame(frame) => return Poll::Ready(Some(Ok(frame))),
                Parsed::Error(status) => {
                    *this.state = State::Failed;
                    return Poll::Ready(Some(Err(status)));
                }
                Parsed::Failed => return Poll::Ready(None),
                Parsed::NeedMore => {}
            }
            if *this.body_done {
                let truncated = match this.state {
                    State::Header { filled, .. } => *filled > 0,
                    State::Payload { .. } => true,
                    State::Failed => false,
                };
                if truncated {
                    *this.state = State::Failed;
                    return Poll::Ready(Some(Err(Status::internal(
                        "body ended in the middle of a message",
                    ))));
                }
                return Poll::Ready(None);
            }
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => *this.chunk = data,
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            match this.trailers {
                                Some(existing) => existing.extend(trailers),
                                None => *this.trailers = Some(trailers),
                            }
                        }
                    }
                },
                Some(Err(err)) => {
                    *this.state = State::Failed;
                    *this.body_done = true;
                    return Poll::Ready(Some(Err(Status::from_error(err.into()))));
                }
                None => *this.body_done = true,
            }
        }
    }
}

enum Parsed {
    Frame(Frame),
    Error(Status),
    NeedMore,
    Failed,
}

fn check_header(header: &[u8], max: usize) -> Result<usize, Status> {
    if header[0] > 1 {
        return Err(Status::new(
            Code::Internal,
            format!("invalid compressed flag {} in message prefix", header[0]),
        ));
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > max {
        return Err(too_large_to_receive(len, max));
    }
    Ok(len)
}

fn parse(chunk: &mut Bytes, state: &mut State, max: usize) -> Parsed {
    loop {
        match state {
            State::Failed => return Parsed::Failed,
            State::Header { buf, filled } => {
                if *filled == 0 && chunk.len() >= HEADER_LEN {
                    // Fast path: the prefix is whole in this chunk.
                    let len = match check_header(&chunk[..HEADER_LEN], max) {
                        Ok(len) => len,
                        Err(status) => return Parsed::Error(status),
                    };
                    let total = HEADER_LEN + len;
                    if chunk.len() >= total {
                        return Parsed::Frame(Frame {
                            encoded: chunk.split_to(total),
                        });
                    }
                    let mut payload = BytesMut::with_capacity(total.min(MAX_UPFRONT_RESERVE));
                    payload.extend_from_slice(chunk);
                    chunk.clear();
                    *state = State::Payload {
                        buf: payload,
                        total,
                    };
                    return Parsed::NeedMore;
                }
                if chunk.is_empty() {
                    return Parsed::NeedMore;
                }
                let start = *filled as usize;
                let n = (HEADER_LEN - start).min(chunk.len());
                buf[start..start + n].copy_from_slice(&chunk[..n]);
                chunk.advance(n);
                *filled += n as u8;
                if (*filled as usize) < HEADER_LEN {
                    return Parsed::NeedMore;
                }
                let len = match check_header(buf, max) {
                    Ok(len) => len,
                    Err(status) => return Parsed::Error(status),
                };
                let total = HEADER_LEN + len;
                let mut payload = BytesMut::with_capacity(total.min(MAX_UPFRONT_RESERVE));
                payload.extend_from_slice(buf);
                *state = State::Payload {
                    buf: payload,
                    total,
                };
            }
            State::Payload { buf, total } => {
                let need = *total - buf.len();
                let n = need.min(chunk.len());
                if n > 0 {
                    buf.extend_from_slice(&chunk[..n]);
                    chunk.advance(n);
                }
                if buf.len() < *total {
                    return Parsed::NeedMore;
                }
                let encoded = std::mem::take(buf).freeze();
                *state = State::Header {
                    buf: [0; HEADER_LEN],
                    filled: 0,
                };
                return Parsed::Frame(Frame { encoded });
            }
        }
    }
}

impl<B> Body for Deframer<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Status>>> {
        match ready!(self.as_mut().poll_message(cx)) {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(BodyFrame::data(frame.into_encoded())))),
            Some(Err(status)) => Poll::Ready(Some(Err(status))),
            None => {
                let this = self.project();
                if *this.trailers_returned {
                    return Poll::Ready(None);
                }
                *this.trailers_returned = true;
                Poll::Ready(this.trailers.take().map(|t| Ok(BodyFrame::trailers(t))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        (self.body_done || self.body.is_end_stream())
            && self.chunk.is_empty()
            && matches!(self.state, State::Header { filled: 0, .. } | State::Failed)
            && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.body.size_hint();
        let buffered = self.chunk.len() as u64
            + match &self.state {
                State::Header { filled, .. } => u64::from(*filled),
                State::Payload { buf, .. } => buf.len() as u64,
                State::Failed => 0,
            };
        if buffered > 0 {
            hint.set_lower(hint.lower().saturating_add(buffered));
            if let Some(upper) = hint.upper() {
                hint.set_upper(upper.saturating_add(buffered));
            }
        }
        hint
    }
}

#[cfg(test)]
mod tests;
