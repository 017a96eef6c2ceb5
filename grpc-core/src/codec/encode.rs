//! [`EncodeBody`]: a stream of typed messages written as a gRPC body.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::framing::encode_message_into;
use super::Codec;
use crate::metadata::MetadataMap;
use crate::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}

#[derive(Debug)]
enum State {
    Streaming,
    /// The last data chunk went out; the end (trailers, or the client's
    /// end or error) follows.
    Ending(Option<Result<(), Status>>),
    Done,
}

/// Messages that are ready together are written into one data chunk until
/// it holds this many bytes: small messages then cost one HTTP/2 DATA frame
/// per batch instead of one each.
pub const BATCH_BYTES: usize = 32 * 1024;

pin_project! {
    /// Encodes a stream of messages as a gRPC body.
    ///
    /// Messages that the stream has ready at once are framed back to back
    /// into one data chunk of up to [`BATCH_BYTES`] (a larger message is a
    /// chunk of its own); a message that is not ready yet never delays the
    /// ones already encoded.
    ///
    /// - As a **server** response body ([`EncodeBody::server`]) it ends with
    ///   trailers: `grpc-status: 0` plus the trailing metadata when the stream
    ///   ends, or the status of the first `Err` the stream yields (nothing is
    ///   read after it; the messages before it are sent first).
    /// - As a **client** request body ([`EncodeBody::client`]) it simply ends
    ///   when the stream ends; an `Err` from the stream, or a message over the
    ///   send limit, is returned as a body error, which resets the stream.
    #[derive(Debug)]
    pub struct EncodeBody<S, C> {
        #[pin]
        stream: S,
        codec: C,
        max_size: usize,
        role: Role,
        state: State,
        trailers: Option<MetadataMap>,
    }
}

impl<S, C> EncodeBody<S, C>
where
    C: Codec,
    S: Stream<Item = Result<C::Encode, Status>>,
{
    /// A response body: messages, then trailers with the status and
    /// `trailers` as trailing metadata.
    pub fn server(stream: S, codec: C, max_size: usize, trailers: MetadataMap) -> Self {
        EncodeBody {
            stream,
            codec,
            max_size,
            role: Role::Server,
            state: State::Streaming,
            trailers: Some(trailers),
        }
    }

    /// A request body: messages, then the end of the stream.
    pub fn client(stream: S, codec: C, max_size: usize) -> Self {
        EncodeBody {
            stream,
            codec,
            max_size,
            role: Role::Client,
            state: State::Streaming,
            trailers: None,
        }
    }
}

fn trailers_for(status: &Status, metadata: Option<MetadataMap>) -> HeaderMap {
    let mut headers = metadata.map(MetadataMap::into_headers).unwrap_or_default();
    status.add_to_headers(&mut headers);
    headers
}

fn data(buf: BytesMut) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
    Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
}

impl<S, C> Body for EncodeBody<S, C>
where
    C: Codec,
    S: Stream<Item = Result<C::Encode, Status>>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let mut this = self.project();
        let outcome = match this.state {
            State::Done => return Poll::Ready(None),
            State::Ending(outcome) => outcome.take().unwrap_or(Ok(())),
            State::Streaming => {
                let mut buf: Option<BytesMut> = None;
                let outcome = loop {
                    let item = match this.stream.as_mut().poll_next(cx) {
                        Poll::Pending => match buf {
                            // Send what is ready; the stream will wake us.
                            Some(buf) => return data(buf),
                            None => return Poll::Pending,
                        },
                        Poll::Ready(Some(Ok(item))) => item,
                        Poll::Ready(Some(Err(status))) => break Err(status),
                        Poll::Ready(None) => break Ok(()),
                    };
                    let buf = match &mut buf {
                        Some(buf) => {
                            // A second message ready at once: make room for
                            // a batch (the first is copied once).
                            if buf.capacity() < BATCH_BYTES {
                                buf.reserve(BATCH_BYTES - buf.len());
                            }
                            buf
                        }
                        None => buf.insert(BytesMut::new()),
                    };
                    if let Err(status) = encode_message_into(this.codec, item, *this.max_size, buf)
                    {
                        break Err(status);
                    }
                    if buf.len() >= BATCH_BYTES {
                        return data(std::mem::take(buf));
                    }
                };
                match buf {
                    Some(buf) if !buf.is_empty() => {
                        *this.state = State::Ending(Some(outcome));
                        return data(buf);
                    }
                    _ => outcome,
                }
            }
        };
        *this.state = State::Done;
        match (this.role, outcome) {
            (Role::Server, Ok(())) => Poll::Ready(Some(Ok(Frame::trailers(trailers_for(
                &Status::ok(),
                this.trailers.take(),
            ))))),
            (Role::Server, Err(status)) => Poll::Ready(Some(Ok(Frame::trailers(trailers_for(
                &status,
                this.trailers.take(),
            ))))),
            (Role::Client, Ok(())) => Poll::Ready(None),
            (Role::Client, Err(status)) => Poll::Ready(Some(Err(status))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BytesCodec;
    use crate::Code;
    use futures_util::{stream, FutureExt, StreamExt};
    use http_body_util::BodyExt;

    #[test]
    fn a_server_body_ends_with_ok_trailers_and_metadata() {
        let mut md = MetadataMap::new();
        md.insert("x-t", "1").unwrap();
        let s = stream::iter([Ok(Bytes::from_static(b"a")), Ok(Bytes::from_static(b"b"))]);
        let body = EncodeBody::server(s, BytesCodec, 100, md);
        let collected = body.collect().now_or_never().unwrap().unwrap();
        let trailers = collected.trailers().unwrap().clone();
        assert_eq!(trailers["grpc-status"], "0");
        assert_eq!(trailers["x-t"], "1");
        assert_eq!(collected.to_bytes().as_ref(), b"\0\0\0\0\x01a\0\0\0\0\x01b");
    }

    #[test]
    fn a_server_body_stops_at_the_first_error() {
        let s = stream::iter([
            Ok(Bytes::from_static(b"a")),
            Err(Status::aborted("x")),
            Ok(Bytes::from_static(b"never")),
        ]);
        let body = EncodeBody::server(s, BytesCodec, 100, MetadataMap::new());
        let collected = body.collect().now_or_never().unwrap().unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "10");
        assert_eq!(collected.to_bytes().len(), 6);
    }

    #[test]
    fn an_oversized_message_ends_a_server_body_with_resource_exhausted() {
        let s = stream::iter([Ok(Bytes::from(vec![0u8; 11]))]);
        let body = EncodeBody::server(s, BytesCodec, 10, MetadataMap::new());
        let collected = body.collect().now_or_never().unwrap().unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "8");
    }

    fn frames(
        body: EncodeBody<impl Stream<Item = Result<Bytes, Status>>, BytesCodec>,
    ) -> Vec<Frame<Bytes>> {
        let mut body = std::pin::pin!(body);
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let mut frames = Vec::new();
        loop {
            match body.as_mut().poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => frames.push(frame),
                Poll::Ready(None) => return frames,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn messages_ready_together_go_out_as_one_chunk() {
        let s = stream::iter([b"a", b"b", b"c"].map(|m| Ok(Bytes::from_static(m))));
        let frames = frames(EncodeBody::server(s, BytesCodec, 100, MetadataMap::new()));
        assert_eq!(frames.len(), 2, "one data chunk, then trailers");
        assert_eq!(
            frames[0].data_ref().unwrap().as_ref(),
            b"\0\0\0\0\x01a\0\0\0\0\x01b\0\0\0\0\x01c"
        );
        assert_eq!(frames[1].trailers_ref().unwrap()["grpc-status"], "0");
    }

    #[test]
    fn a_batch_ends_at_a_message_boundary_once_it_reaches_the_batch_size() {
        let message = Bytes::from(vec![7u8; 10_000]);
        let s = stream::iter(std::iter::repeat_n(Ok(message), 10));
        let frames = frames(EncodeBody::server(
            s,
            BytesCodec,
            usize::MAX,
            MetadataMap::new(),
        ));
        let chunks: Vec<_> = frames.iter().filter_map(|f| f.data_ref()).collect();
        assert!(chunks.len() > 1, "{} chunks", chunks.len());
        for chunk in &chunks {
            assert_eq!(chunk.len() % 10_005, 0, "whole messages only");
            assert!(chunk.len() < BATCH_BYTES + 10_005);
        }
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 10 * 10_005);
    }

    #[test]
    fn a_message_not_ready_yet_does_not_hold_back_the_ready_ones() {
        let ready = stream::iter([Ok(Bytes::from_static(b"a"))]);
        let s = ready.chain(stream::pending());
        let mut body = std::pin::pin!(EncodeBody::server(s, BytesCodec, 100, MetadataMap::new()));
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let Poll::Ready(Some(Ok(frame))) = body.as_mut().poll_frame(&mut cx) else {
            panic!("the ready message is sent at once");
        };
        assert_eq!(frame.into_data().unwrap().as_ref(), b"\0\0\0\0\x01a");
        assert!(body.as_mut().poll_frame(&mut cx).is_pending());
    }

    #[test]
    fn messages_before_an_error_are_sent_before_the_error() {
        let items = || {
            stream::iter([
                Ok(Bytes::from_static(b"a")),
                Ok(Bytes::from_static(b"b")),
                Err(Status::aborted("x")),
            ])
        };
        let server = frames(EncodeBody::server(
            items(),
            BytesCodec,
            100,
            MetadataMap::new(),
        ));
        assert_eq!(server[0].data_ref().unwrap().len(), 12);
        assert_eq!(server[1].trailers_ref().unwrap()["grpc-status"], "10");

        let mut client = std::pin::pin!(EncodeBody::client(items(), BytesCodec, 100));
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let Poll::Ready(Some(Ok(first))) = client.as_mut().poll_frame(&mut cx) else {
            panic!("data first");
        };
        assert_eq!(first.into_data().unwrap().len(), 12);
        let Poll::Ready(Some(Err(status))) = client.as_mut().poll_frame(&mut cx) else {
            panic!("then the error");
        };
        assert_eq!(status.code(), Code::Aborted);
        assert!(client.is_end_stream());
    }

    #[test]
    fn a_client_body_errors_on_a_stream_error() {
        let s = stream::iter([Err::<Bytes, _>(Status::cancelled("x"))]);
        let body = EncodeBody::client(s, BytesCodec, 10);
        let err = body.collect().now_or_never().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Cancelled);
    }
}
