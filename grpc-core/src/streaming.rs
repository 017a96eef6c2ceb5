//! [`Streaming`]: a stream of typed messages read from a gRPC body.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use crate::body::GrpcBody;
use crate::codec::{decode_message, Codec, Deframer, Frame};
use crate::headers::GRPC_STATUS;
use crate::metadata::MetadataMap;
use crate::{Code, Status};

type DecodeFn<T> = Box<dyn FnMut(Frame) -> Result<T, Status> + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A request body read by a server: it just ends.
    Request,
    /// A response body read by a client: it ends with `grpc-status` trailers.
    Response,
}

/// A stream of decoded messages from a request body (on the server) or a
/// response body (on the client).
///
/// On the client, the end of the stream reads the trailers: a non-OK
/// `grpc-status` is returned as the last item, and trailing metadata is
/// available from [`Streaming::trailers`].
pub struct Streaming<T> {
    deframer: Deframer<GrpcBody>,
    decode: DecodeFn<T>,
    role: Role,
    trailers: Option<MetadataMap>,
    done: bool,
}

impl<T> Streaming<T> {
    /// Reads a request body (server side).
    pub fn new_request<C>(body: GrpcBody, codec: C, max_message_size: usize) -> Self
    where
        C: Codec<Decode = T>,
    {
        Self::new(body, codec, max_message_size, Role::Request)
    }

    /// Reads a response body (client side); the trailers carry the status.
    pub fn new_response<C>(body: GrpcBody, codec: C, max_message_size: usize) -> Self
    where
        C: Codec<Decode = T>,
    {
        Self::new(body, codec, max_message_size, Role::Response)
    }

    fn new<C>(body: GrpcBody, mut codec: C, max: usize, role: Role) -> Self
    where
        C: Codec<Decode = T>,
    {
        Streaming {
            deframer: Deframer::new(body, max),
            decode: Box::new(move |frame| decode_message(&mut codec, frame)),
            role,
            trailers: None,
            done: false,
        }
    }

    /// The next message; `Ok(None)` at the end of the stream.
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        std::future::poll_fn(|cx| self.poll_message(cx)).await
    }

    /// Trailing metadata, once the end of a response stream was reached.
    pub fn trailers(&self) -> Option<&MetadataMap> {
        self.trailers.as_ref()
    }

    /// Takes the trailing metadata, once the end of a response stream was reached.
    pub fn take_trailers(&mut self) -> Option<MetadataMap> {
        self.trailers.take()
    }

    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Status>> {
        if self.done {
            return Poll::Ready(Ok(None));
        }
        match ready!(Pin::new(&mut self.deframer).poll_message(cx)) {
            Some(Ok(frame)) => match (self.decode)(frame) {
                Ok(item) => Poll::Ready(Ok(Some(item))),
                Err(status) => {
                    self.done = true;
                    Poll::Ready(Err(status))
                }
            },
            Some(Err(status)) => {
                self.done = true;
                Poll::Ready(Err(status))
            }
            None => {
                self.done = true;
                if self.role == Role::Request {
                    return Poll::Ready(Ok(None));
                }
                let Some(trailers) = self.deframer.take_trailers() else {
                    return Poll::Ready(Err(Status::new(
                        Code::Internal,
                        "response stream ended without trailers",
                    )));
                };
                let ok = match trailers.get(GRPC_STATUS) {
                    None => {
                        return Poll::Ready(Err(Status::internal(
                            "response trailers have no grpc-status",
                        )))
                    }
                    // The common case, read without building a `Status`.
                    Some(code) => Code::from_bytes(code.as_bytes()) == Some(Code::Ok),
                };
                let outcome = if ok {
                    Ok(None)
                } else {
                    Err(Status::from_headers(&trailers).expect("grpc-status is present"))
                };
                self.trailers = Some(MetadataMap::from_headers(trailers));
                Poll::Ready(outcome)
            }
        }
    }
}

impl<T> Stream for Streaming<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match ready!(this.poll_message(cx)) {
            Ok(Some(item)) => Poll::Ready(Some(Ok(item))),
            Ok(None) => Poll::Ready(None),
            Err(status) => Poll::Ready(Some(Err(status))),
        }
    }
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("role", &self.role)
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BytesCodec;
    use crate::test_util::ScriptedBody;
    use futures_util::FutureExt;

    fn body(b: ScriptedBody) -> GrpcBody {
        GrpcBody::new(b)
    }

    #[test]
    fn a_response_stream_ends_with_the_trailer_status() {
        let mut status = Status::aborted("stop");
        status.metadata_mut().insert("x-why", "because").unwrap();
        let b = ScriptedBody::messages([b"a"]).with_status(&status);
        let mut s = Streaming::new_response(body(b), BytesCodec, 100);
        assert_eq!(s.message().now_or_never().unwrap().unwrap().unwrap(), "a");
        let err = s.message().now_or_never().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Aborted);
        assert_eq!(s.trailers().unwrap().get("x-why"), Some("because"));
        assert!(s.message().now_or_never().unwrap().unwrap().is_none());
    }

    #[test]
    fn an_ok_response_stream_keeps_its_trailing_metadata() {
        let mut ok = Status::ok();
        ok.metadata_mut().insert("x-t", "1").unwrap();
        let b = ScriptedBody::messages([b"a"]).with_status(&ok);
        let mut s = Streaming::new_response(body(b), BytesCodec, 100);
        assert_eq!(s.message().now_or_never().unwrap().unwrap().unwrap(), "a");
        assert!(s.message().now_or_never().unwrap().unwrap().is_none());
        let trailers = s.trailers().unwrap();
        assert_eq!(trailers.get("x-t"), Some("1"));
        assert!(
            trailers.get("grpc-status").is_none(),
            "reserved headers are not metadata"
        );
    }

    #[test]
    fn an_unparsable_trailer_status_is_unknown() {
        let mut t = http::HeaderMap::new();
        t.insert("grpc-status", http::HeaderValue::from_static("x"));
        let b = ScriptedBody::messages([b"a"]).with_trailers(t);
        let mut s = Streaming::new_response(body(b), BytesCodec, 100);
        s.message().now_or_never().unwrap().unwrap();
        let err = s.message().now_or_never().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Unknown);
    }

    #[test]
    fn a_response_stream_without_trailers_is_internal() {
        let mut s = Streaming::new_response(body(ScriptedBody::messages([b"a"])), BytesCodec, 100);
        s.message().now_or_never().unwrap().unwrap();
        assert_eq!(
            s.message().now_or_never().unwrap().unwrap_err().code(),
            Code::Internal
        );
    }

    #[test]
    fn a_request_stream_just_ends() {
        let mut s = Streaming::new_request(body(ScriptedBody::messages([b"a"])), BytesCodec, 100);
        s.message().now_or_never().unwrap().unwrap();
        assert!(s.message().now_or_never().unwrap().unwrap().is_none());
    }

    #[test]
    fn a_compressed_message_without_a_decompressor_is_internal() {
        let b = ScriptedBody::new([crate::codec::framing::encode_raw(b"z", true)]);
        let mut s = Streaming::new_request(body(b), BytesCodec, 100);
        assert_eq!(
            s.message().now_or_never().unwrap().unwrap_err().code(),
            Code::Internal
        );
    }
}
