//! [`EncodeBody`]: a stream of typed messages written as a gRPC body.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::framing::encode_message;
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
    Done,
}

pin_project! {
    /// Encodes each message of a stream as one data frame.
    ///
    /// - As a **server** response body ([`EncodeBody::server`]) it ends with
    ///   trailers: `grpc-status: 0` plus the trailing metadata when the stream
    ///   ends, or the status of the first `Err` the stream yields (nothing is
    ///   read after it).
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
        let this = self.project();
        if let State::Done = this.state {
            return Poll::Ready(None);
        }
        let outcome = match ready!(this.stream.poll_next(cx)) {
            Some(Ok(item)) => match encode_message(this.codec, item, *this.max_size) {
                Ok(bytes) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Err(status) => Err(status),
            },
            Some(Err(status)) => Err(status),
            None => Ok(()),
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
    use futures_util::{stream, FutureExt};
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

    #[test]
    fn a_client_body_errors_on_a_stream_error() {
        let s = stream::iter([Err::<Bytes, _>(Status::cancelled("x"))]);
        let body = EncodeBody::client(s, BytesCodec, 10);
        let err = body.collect().now_or_never().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Cancelled);
    }
}
