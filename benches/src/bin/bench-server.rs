//! `bench-server`: the benchmark services on our server.
//!
//! ```text
//! bench-server --addr 127.0.0.1:PORT [--stack default|bare] [--runtime grpc|tokio] [--with LAYER]
//! ```
//!
//! `--runtime` picks the tokio settings (default `grpc`; see
//! [`benches::runtime::Flavor`]). `--with` adds one layer to the stack,
//! to measure its cost (see [`benches::extra`]).
//!
//! Serves `helloworld.Greeter/SayHello` (echo: `response = request.request`)
//! and `benchstream.Streamer/Download` (exactly `count` chunks of `size`
//! bytes, then OK) over h2c, on a tokio runtime with one worker per CPU it
//! may run on, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use benches::args::DEFAULT_ADDR;
use benches::extra::{auth_layer, load_shed_layer, telemetry_layer, Extra};
use benches::ours::benchstream::streamer_server::{Streamer, StreamerServer};
use benches::ours::benchstream::{Chunk, DownloadRequest};
use benches::ours::helloworld::greeter_server::{Greeter, GreeterServer};
use benches::ours::helloworld::{HelloReply, HelloRequest};
use benches::runtime::Flavor;
use benches::stack::{default_stack, Stack};
use benches::{chunks, runtime};
use clap::Parser;
use grpc_core::{Request, Response, Status};
use grpc_layers::compression::ServerCompressionLayer;
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::status::ServerStatusLayer;
use grpc_server::{Router, Server};
use tower::{Layer, ServiceBuilder};

/// The command line of `bench-server`.
#[derive(Debug, Parser)]
#[command(
    about = "The benchmark services on our server, over h2c.",
    args_override_self = true
)]
struct Args {
    /// Where to listen.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// The server stack: our default layers around the router, or the router alone.
    #[arg(long, value_name = "default|bare", default_value = "default")]
    stack: Stack,
    /// The tokio runtime settings.
    #[arg(long, value_name = "grpc|tokio", default_value = "grpc")]
    runtime: Flavor,
    /// A layer to add to the stack (telemetry outermost, auth and load
    /// shedding where `grpc_server::stack` places them).
    #[arg(
        long,
        value_name = "otel|otel-sampled-out|otel-on|auth-open|auth|load-shed|load-shed-all"
    )]
    with: Option<Extra>,
}

#[derive(Debug)]
struct Echo;

impl Greeter for Echo {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        Ok(Response::new(HelloReply {
            response: request.into_inner().request,
        }))
    }
}

#[derive(Debug)]
struct Download;

impl Streamer for Download {
    type DownloadStream = chunks::Chunks<Chunk, Status>;

    async fn download(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<Self::DownloadStream>, Status> {
        let DownloadRequest { count, size } = request.into_inner();
        Ok(Response::new(chunks::Chunks::new(count, size, |data| {
            Chunk { data }
        })))
    }
}

fn main() -> std::io::Result<()> {
    let Args {
        addr,
        stack,
        runtime: flavor,
        with,
    } = Args::parse();
    runtime::build(flavor)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        runtime::announce("bench-server", listener.local_addr()?);
        let router = Router::new()
            .add_service(GreeterServer::new(Echo))
            .add_service(StreamerServer::new(Download));
        let shutdown = runtime::shutdown_signal()?;
        let server = Server::new().graceful_shutdown_timeout(std::time::Duration::from_secs(2));
        // One arm per extra layer: each gives the server another type. The
        // telemetry layers go outside the stack, auth and load shedding
        // where `grpc_server::stack` places them inside it.
        let status = ServerStatusLayer::new;
        let deadline = ServerDeadlineLayer::new;
        // The default stack written out (`grpc_server::stack::default_layers`
        // is one chain, with no place to insert a layer between its parts).
        let inside = || {
            ServiceBuilder::new()
                .layer(ServerLimitsLayer::new())
                .layer(ServerCompressionLayer::new())
        };
        match (stack, with) {
            (Stack::Bare, None) => server.serve_with_shutdown(listener, router, shutdown).await,
            (Stack::Default, None) => {
                let service = default_stack(router);
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Bare, Some(Extra::Auth { open })) => {
                let service = auth_layer(open).layer(router);
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Default, Some(Extra::Auth { open })) => {
                let service = ServiceBuilder::new()
                    .layer(status())
                    .layer(deadline())
                    .layer(auth_layer(open))
                    .service(inside().service(router));
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Bare, Some(Extra::LoadShed { refuse_all })) => {
                let service = load_shed_layer(refuse_all).layer(router);
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Default, Some(Extra::LoadShed { refuse_all })) => {
                let service = ServiceBuilder::new()
                    .layer(status())
                    .layer(load_shed_layer(refuse_all))
                    .layer(deadline())
                    .service(inside().service(router));
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Bare, Some(Extra::Otel(otel))) => {
                let (layer, _tracer, _meter) = telemetry_layer(otel);
                let service = layer.layer(router);
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
            (Stack::Default, Some(Extra::Otel(otel))) => {
                let (layer, _tracer, _meter) = telemetry_layer(otel);
                let service = layer.layer(default_stack(router));
                server
                    .serve_with_shutdown(listener, service, shutdown)
                    .await
            }
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
        let args =
            Args::try_parse_from(["bench-server", "--stack", "bare", "--addr", "127.0.0.1:0"])
                .unwrap();
        assert_eq!(args.addr.port(), 0);
        assert_eq!(args.stack, Stack::Bare);
        assert_eq!(args.runtime, Flavor::Grpc);
    }
}
