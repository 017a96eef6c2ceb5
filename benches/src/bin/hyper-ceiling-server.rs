//! `hyper-ceiling-server`: the ceiling. A bare hyper HTTP/2 server that
//! answers every request with one fixed, correct gRPC response: the
//! `HelloReply` an echo server sends for the `complex` payload, framed, then
//! `grpc-status: 0` trailers. It reads the request body to its end but does
//! no gRPC work at all (no routing, no decoding, no encoding).
//!
//! ```text
//! hyper-ceiling-server --addr 127.0.0.1:PORT [--runtime grpc|tokio]
//! ```
//!
//! `--runtime` picks the tokio settings (default `tokio`; see
//! [`benches::runtime::Flavor`]).
//!
//! Same HTTP/2 settings as our server's defaults, one tokio worker per CPU
//! it may run on, exits on SIGTERM or Ctrl-C.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use benches::args::{Payload, DEFAULT_ADDR};
use benches::runtime::Flavor;
use benches::{payload, runtime};
use bytes::Bytes;
use clap::Parser;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// The command line of `hyper-ceiling-server`.
#[derive(Debug, Parser)]
#[command(
    about = "A bare hyper HTTP/2 server answering every request with one fixed gRPC response.",
    args_override_self = true
)]
struct Args {
    /// Where to listen.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// The tokio runtime settings.
    #[arg(long, value_name = "grpc|tokio", default_value = "tokio")]
    runtime: Flavor,
}

/// One data chunk, then trailers.
struct Fixed {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body for Fixed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

fn main() -> std::io::Result<()> {
    let Args {
        addr,
        runtime: flavor,
    } = Args::parse();

    let message = prost::Message::encode_to_vec(&payload::reply(Payload::Complex));
    let mut framed = Vec::with_capacity(5 + message.len());
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let framed = Bytes::from(framed);

    runtime::build(flavor)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        runtime::announce("hyper-ceiling-server", listener.local_addr()?);
        let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        http2.auto_date_header(false);
        let shutdown = runtime::shutdown_signal()?;
        tokio::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => accepted?,
            };
            stream.set_nodelay(true)?;
            let framed = framed.clone();
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let framed = framed.clone();
                async move {
                    // Read the request to its end, as any server must.
                    let _ = request.into_body().collect().await;
                    let mut trailers = HeaderMap::with_capacity(1);
                    trailers.insert("grpc-status", HeaderValue::from_static("0"));
                    let mut response = http::Response::new(Fixed {
                        data: Some(framed),
                        trailers: Some(trailers),
                    });
                    response
                        .headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/grpc"));
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = http2.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_flags_parse() {
        Args::command().debug_assert();
        let args = Args::try_parse_from(["hyper-ceiling-server", "--addr=127.0.0.1:0"]).unwrap();
        assert_eq!(args.addr.port(), 0);
        assert_eq!(args.runtime, Flavor::Tokio);
    }
}
