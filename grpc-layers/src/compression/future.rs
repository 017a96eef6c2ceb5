//! [`ResponseFuture`]: the inner call, then the response body set up to
//! compress (server) or decompress (client).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use grpc_core::headers::{is_grpc_content_type, GRPC_ACCEPT_ENCODING, GRPC_ENCODING};
use grpc_core::status::outcome::classify_head;
use grpc_core::BoxError;
use http::header::CONTENT_TYPE;
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::CompressionBody;
use super::control::{MessageCompression, SendCompression};
use super::layer::Config;
use super::{Encoding, EncodingSet};

pin_project! {
    /// The response future of [`ServerCompression`](super::ServerCompression)
    /// and [`ClientCompression`](super::ClientCompression).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called { #[pin] future: F, then: Then },
        Rejected { response: Option<http::Response<()>> },
    }
}

/// What to do with the response once the inner service gave it.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Compress it for a client that accepts `peer`.
    Server { peer: EncodingSet, config: Config },
    /// Decompress it, each message to at most `limit` bytes.
    Client { limit: usize, config: Config },
}

impl<F> ResponseFuture<F> {
    pub(crate) fn server(future: F, peer: EncodingSet, config: Config) -> Self {
        ResponseFuture {
            kind: Kind::Called {
                future,
                then: Then::Server { peer, config },
            },
        }
    }

    pub(crate) fn client(future: F, limit: usize, config: Config) -> Self {
        ResponseFuture {
            kind: Kind::Called {
                future,
                then: Then::Client { limit, config },
            },
        }
    }

    /// A trailers-only answer given without calling the inner service.
    pub(crate) fn rejected(response: http::Response<()>) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<http::Response<CompressionBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future, then } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(match *then {
                    Then::Server { peer, config } => server_response(response, peer, &config),
                    Then::Client { limit, config } => client_response(response, limit, &config),
                }))
            }
            KindProj::Rejected { response } => {
                let response = response.take().expect("polled after completion");
                Poll::Ready(Ok(response.map(|()| CompressionBody::empty())))
            }
        }
    }
}

/// Server: advertise what we accept, and compress the messages when the
/// response carries messages and an encoding both sides have is chosen.
fn server_response<B>(
    response: http::Response<B>,
    peer: EncodingSet,
    config: &Config,
) -> http::Response<CompressionBody<B>> {
    let (mut parts, body) = response.into_parts();
    let Some(encoding) = response_encoding(&mut parts, peer, config) else {
        if let Some(switch) = parts.extensions.get::<MessageCompression>() {
            // Not compressed: its decisions will never be taken.
            switch.detach();
        }
        return http::Response::from_parts(parts, CompressionBody::plain(body));
    };
    parts.headers.insert(GRPC_ENCODING, encoding.header_value());
    let switch = parts.extensions.get::<MessageCompression>().cloned();
    let body = CompressionBody::compress(body, encoding, config.level, config.min_size, switch)
        .answering_refusals();
    http::Response::from_parts(parts, body)
}

/// The encoding to compress a response's messages with, if any; adds
/// `grpc-accept-encoding` to a gRPC response on the way.
fn response_encoding(
    parts: &mut http::response::Parts,
    peer: EncodingSet,
    config: &Config,
) -> Option<Encoding> {
    let grpc = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(is_grpc_content_type);
    if !grpc {
        return None;
    }
    if !parts.headers.contains_key(GRPC_ACCEPT_ENCODING) {
        parts
            .headers
            .insert(GRPC_ACCEPT_ENCODING, config.accept.header_value());
    }
    // A trailers-only response has no messages; one that already declares
    // an encoding was compressed further in.
    if !classify_head(parts.status, &parts.headers).is_streaming()
        || parts.headers.contains_key(GRPC_ENCODING)
    {
        return None;
    }
    let choice = match parts.extensions.get::<SendCompression>() {
        Some(choice) => choice.encoding(),
        None => config.send.pick(peer),
    };
    (choice != Encoding::Identity && choice.is_enabled() && peer.contains(choice)).then_some(choice)
}

/// Client: decompress the messages of a response that declares an
/// encoding; `grpc-encoding` is removed, since what goes on is plain.
fn client_response<B>(
    response: http::Response<B>,
    limit: usize,
    config: &Config,
) -> http::Response<CompressionBody<B>> {
    let (mut parts, body) = response.into_parts();
    let declared = parts
        .headers
        .get(GRPC_ENCODING)
        .map(|v| Encoding::from_name(v.as_bytes()));
    let body = match declared {
        None | Some(Some(Encoding::Identity)) => CompressionBody::plain(body),
        Some(Some(encoding)) if config.accepts(encoding) => {
            parts.headers.remove(GRPC_ENCODING);
            CompressionBody::decompress(body, encoding, limit).answering_refusals()
        }
        Some(_) => {
            let declared = parts
                .headers
                .remove(GRPC_ENCODING)
                .expect("checked just above");
            CompressionBody::refuse(body, declared, limit).answering_refusals()
        }
    };
    http::Response::from_parts(parts, body)
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Called { then, .. } => match then {
                Then::Server { .. } => "server call",
                Then::Client { .. } => "client call",
            },
            Kind::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
