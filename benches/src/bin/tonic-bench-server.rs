//! `tonic-bench-server`: the benchmark services on tonic 0.14's server.
//!
//! ```text
//! tonic-bench-server --addr 127.0.0.1:PORT [--runtime grpc|tokio]
//! ```
//!
//! `--runtime` picks the tokio settings (default `tokio`; see
//! [`benches::runtime::Flavor`]).
//!
//! The same services as `bench-server` (echo unary, `count` chunks of
//! `size` bytes), with tonic's default server settings plus `TCP_NODELAY`,
//! on a tokio runtime with one worker per CPU it may run on, until SIGTERM
//! or Ctrl-C.

use std::net::SocketAddr;

use benches::args::DEFAULT_ADDR;
use benches::runtime::Flavor;
use benches::tonic_gen::benchstream::streamer_server::{Streamer, StreamerServer};
use benches::tonic_gen::benchstream::{Chunk, DownloadRequest};
use benches::tonic_gen::helloworld::greeter_server::{Greeter, GreeterServer};
use benches::tonic_gen::helloworld::{HelloReply, HelloRequest};
use benches::{chunks, runtime};
use clap::Parser;
use tonic::{Request, Response, Status};

/// The command line of `tonic-bench-server`.
#[derive(Debug, Parser)]
#[command(
    about = "The benchmark services on tonic's server, over h2c.",
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

#[derive(Debug)]
struct Echo;

#[tonic::async_trait]
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

#[tonic::async_trait]
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args {
        addr,
        runtime: flavor,
    } = Args::parse();

    runtime::build(flavor)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        runtime::announce("tonic-bench-server", listener.local_addr()?);
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(Echo))
            .add_service(StreamerServer::new(Download))
            .serve_with_incoming_shutdown(incoming, runtime::shutdown_signal()?)
            .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_flags_parse() {
        Args::command().debug_assert();
        let args = Args::try_parse_from(["tonic-bench-server", "--addr=127.0.0.1:0"]).unwrap();
        assert_eq!(args.addr.port(), 0);
        assert_eq!(args.runtime, Flavor::Tokio);
    }
}
