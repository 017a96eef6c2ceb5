//! `tonic-bench-loadgen`: the same load generator on tonic 0.14's client.
//!
//! ```text
//! bench-loadgen --addr 127.0.0.1:PORT --mode unary|stream --concurrency C
//!     --connections K --duration S --warmup S [--requests N]
//!     --payload complex|BYTES --stream-msgs N
//! ```
//!
//! `--runtime grpc|tokio` picks the tokio settings (default `tokio`;
//! see [`benches::runtime::Flavor`]).
//!
//! Prints one JSON line (see `benches::load`). Each of the K connections is a tonic
//! its own `Channel`; the C workers share them round-robin.

use benches::args::{LoadArgs, Mode};
use benches::load::{self, CallResult};
use benches::tonic_gen::benchstream::streamer_client::StreamerClient;
use benches::tonic_gen::benchstream::DownloadRequest;
use benches::tonic_gen::helloworld::greeter_client::GreeterClient;
use benches::tonic_gen::helloworld::HelloRequest;
use benches::{payload, runtime};
use futures_util::StreamExt;
use tonic::transport::{Channel, Endpoint};

fn main() -> std::io::Result<()> {
    let args = LoadArgs::from_env();
    let report =
        runtime::build(args.runtime.unwrap_or(runtime::Flavor::Tokio))?.block_on(async {
            let endpoint = Endpoint::from_shared(format!("http://{}", args.addr))
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .tcp_nodelay(true);
            let mut channels = Vec::with_capacity(args.connections);
            for _ in 0..args.connections {
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|e| std::io::Error::other(format!("connect {}: {e}", args.addr)))?;
                channels.push(channel);
            }
            Ok::<_, std::io::Error>(match args.mode {
                Mode::Unary => unary(&args, channels).await,
                Mode::Stream => stream(&args, channels).await,
            })
        })?;
    println!("{}", report.to_json());
    Ok(())
}

async fn unary(args: &LoadArgs, channels: Vec<Channel>) -> load::Report {
    // The same bytes as our load generator sends, in tonic's generated type.
    let encoded = payload::encoded_request(args.payload);
    let request = <HelloRequest as prost::Message>::decode(&encoded[..]).expect("valid request");
    let reply_len = prost::Message::encoded_len(&payload::reply(args.payload)) as u64;
    let clients = channels
        .into_iter()
        .map(|channel| {
            let client = GreeterClient::new(channel);
            let request = request.clone();
            move || {
                let mut client = client.clone();
                let request = request.clone();
                async move {
                    let reply = client.say_hello(request).await.map_err(|s| s.to_string())?;
                    match reply.into_inner().response {
                        Some(_) => Ok(reply_len),
                        None => Err("empty reply".to_string()),
                    }
                }
            }
        })
        .collect();
    load::run("tonic", args, clients).await
}

async fn stream(args: &LoadArgs, channels: Vec<Channel>) -> load::Report {
    let request = DownloadRequest {
        count: args.stream_msgs,
        size: args.chunk_size(),
    };
    let (count, size) = (u64::from(request.count), u64::from(request.size));
    let clients = channels
        .into_iter()
        .map(|channel| {
            let client = StreamerClient::new(channel);
            // prost derives `Copy` for this all-scalar message.
            move || {
                let mut client = client.clone();
                async move { download(&mut client, request, count * size).await }
            }
        })
        .collect();
    load::run("tonic", args, clients).await
}

async fn download(
    client: &mut StreamerClient<Channel>,
    request: DownloadRequest,
    expected: u64,
) -> CallResult {
    let mut chunks = client
        .download(request)
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    let mut received = 0u64;
    while let Some(chunk) = chunks.next().await {
        received += chunk.map_err(|s| s.to_string())?.data.len() as u64;
    }
    if received != expected {
        return Err(format!("received {received} bytes, expected {expected}"));
    }
    Ok(received)
}
