//! tonic as the peer: a service written against tonic alone (no codegen,
//! `google.protobuf.StringValue` messages), a tonic server with a layer of
//! ours in its stack, and tonic clients over a tonic `Channel`.
//!
//! What the echo service does is chosen by the request message:
//!
//! | message | answer |
//! |---|---|
//! | `sleep:<ms>` | waits, then echoes |
//! | `size:<n>` | `n` bytes of `x` |
//! | `code:<n>` | the status with that code |
//! | `panic` | panics |
//! | anything else | the message, with ` from <name>` when an `Identity<String>` is in the extensions |
//!
//! `/test.Echo/Ticks` streams `tick 0`, `tick 1`, … every 20 ms, 500 of them.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use grpc_core::BoxError;
use grpc_layers::auth::Identity;
use http::uri::PathAndQuery;
use http_body::Body;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic_prost::ProstCodec;
use tower::Service;

use super::{listen, TestServer};

/// The unary method.
pub const UNARY: &str = "/test.Echo/Unary";
/// The server-streaming method.
pub const TICKS: &str = "/test.Echo/Ticks";

/// Messages are `google.protobuf.StringValue`s, which prost reads and
/// writes as a plain `String`.
type StringValue = String;

type Codec = ProstCodec<StringValue, StringValue>;

/// The codec of the echo service.
pub fn codec() -> Codec {
    Codec::default()
}

/// The echo service, as a tonic server serves it; with tonic's own gzip
/// (accepted and sent) unless made [`without_compression`](Self::without_compression).
#[derive(Clone, Copy, Debug)]
pub struct TonicEcho {
    gzip: bool,
}

impl Default for TonicEcho {
    fn default() -> Self {
        TonicEcho { gzip: true }
    }
}

impl TonicEcho {
    /// tonic neither inflates nor compresses: a layer in front must.
    pub fn without_compression() -> Self {
        TonicEcho { gzip: false }
    }
}

impl NamedService for TonicEcho {
    const NAME: &'static str = "test.Echo";
}

async fn unary(
    request: tonic::Request<StringValue>,
) -> Result<tonic::Response<StringValue>, tonic::Status> {
    let caller = request
        .extensions()
        .get::<Identity<String>>()
        .map(|Identity(name)| name.clone());
    let message = request.into_inner();
    let reply = if let Some(ms) = message.strip_prefix("sleep:") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        message
    } else if let Some(n) = message.strip_prefix("size:") {
        "x".repeat(n.parse().unwrap())
    } else if let Some(code) = message.strip_prefix("code:") {
        let code = tonic::Code::from_i32(code.parse().unwrap());
        return Err(tonic::Status::new(code, "as asked"));
    } else if message == "panic" {
        panic!("the handler panicked, as asked");
    } else {
        match caller {
            Some(name) => format!("{message} from {name}"),
            None => message,
        }
    };
    Ok(tonic::Response::new(reply))
}

type Ticks = Pin<Box<dyn futures_util::Stream<Item = Result<StringValue, tonic::Status>> + Send>>;

async fn ticks(_: tonic::Request<StringValue>) -> Result<tonic::Response<Ticks>, tonic::Status> {
    let stream = futures_util::stream::unfold(0u32, |n| async move {
        if n == 500 {
            return None;
        }
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some((Ok(format!("tick {n}")), n + 1))
    });
    Ok(tonic::Response::new(Box::pin(stream) as Ticks))
}

impl<B> Service<http::Request<B>> for TonicEcho
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let gzip = self.gzip;
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(Codec::default());
            if gzip {
                grpc = grpc
                    .accept_compressed(CompressionEncoding::Gzip)
                    .send_compressed(CompressionEncoding::Gzip);
            }
            Ok(match request.uri().path() {
                UNARY => grpc.unary(tower::service_fn(unary), request).await,
                TICKS => {
                    grpc.server_streaming(tower::service_fn(ticks), request)
                        .await
                }
                _ => tonic::Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

/// Serves [`TonicEcho`] with tonic's server, `layer` in its stack.
pub async fn serve_tonic<L, ResBody>(layer: L) -> TestServer
where
    L: tower::Layer<tonic::service::Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
    <L::Service as Service<http::Request<tonic::body::Body>>>::Error: Into<BoxError> + Send,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    serve_tonic_echo(layer, TonicEcho::default()).await
}

/// Serves `echo` with tonic's server, `layer` in its stack.
pub async fn serve_tonic_echo<L, ResBody>(layer: L, echo: TonicEcho) -> TestServer
where
    L: tower::Layer<tonic::service::Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
    <L::Service as Service<http::Request<tonic::body::Body>>>::Error: Into<BoxError> + Send,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let (listener, server, stopped) = listen().await;
    let incoming = TcpIncoming::from(listener);
    let router = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(echo);
    tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    server
}

/// A tonic `Channel` to `server` (h2c), connected lazily.
pub fn tonic_channel(server: &TestServer) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(server.uri())
        .unwrap()
        .connect_lazy()
}

/// A unary call with tonic's client over `service`: the reply's text, or
/// the status tonic read.
pub async fn tonic_unary<S>(service: S, message: &str) -> Result<String, tonic::Status>
where
    S: tonic::client::GrpcService<tonic::body::Body>,
    S::Error: Into<BoxError>,
    S::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <S::ResponseBody as Body>::Error: Into<BoxError> + Send,
{
    tonic_unary_request(service, tonic::Request::new(text(message))).await
}

/// [`tonic_unary`] with a request of the caller's (metadata, extensions).
pub async fn tonic_unary_request<S>(
    service: S,
    request: tonic::Request<StringValue>,
) -> Result<String, tonic::Status>
where
    S: tonic::client::GrpcService<tonic::body::Body>,
    S::Error: Into<BoxError>,
    S::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <S::ResponseBody as Body>::Error: Into<BoxError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(service);
    grpc.ready()
        .await
        .map_err(|err| tonic::Status::unavailable(err.into().to_string()))?;
    let response = grpc
        .unary(request, PathAndQuery::from_static(UNARY), Codec::default())
        .await?;
    Ok(response.into_inner())
}

/// A server-streaming call of `/test.Echo/Ticks` with tonic's client:
/// the messages read, and the status that ended the stream.
pub async fn tonic_ticks<S>(service: S) -> (Vec<String>, tonic::Status)
where
    S: tonic::client::GrpcService<tonic::body::Body>,
    S::Error: Into<BoxError>,
    S::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <S::ResponseBody as Body>::Error: Into<BoxError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(service);
    if let Err(err) = grpc.ready().await {
        return (
            Vec::new(),
            tonic::Status::unavailable(err.into().to_string()),
        );
    }
    let response = grpc
        .server_streaming(
            tonic::Request::new(text("")),
            PathAndQuery::from_static(TICKS),
            Codec::default(),
        )
        .await;
    let mut stream = match response {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), status),
    };
    let mut seen = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => seen.push(message),
            Ok(None) => return (seen, tonic::Status::ok("")),
            Err(status) => return (seen, status),
        }
    }
}

/// A `StringValue`.
pub fn text(value: &str) -> StringValue {
    value.to_owned()
}
