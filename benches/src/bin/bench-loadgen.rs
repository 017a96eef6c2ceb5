//! `bench-loadgen`: the closed-loop load generator on our client.
//!
//! ```text
//! bench-loadgen --addr 127.0.0.1:PORT --mode unary|stream --concurrency C
//!     --connections K --duration S --warmup S [--requests N]
//!     --payload complex|BYTES --stream-msgs N
//! ```
//!
//! `--bearer TOKEN` sends `authorization: Bearer TOKEN` with every call
//! (for `bench-server --with auth`).
//!
//! `--runtime grpc|tokio` picks the tokio settings (default `grpc`;
//! see [`benches::runtime::Flavor`]).
//!
//! With `--dump-request PATH` it writes the framed request it would send
//! (a gRPC body for `h2load -d`) and exits.
//!
//! Prints one JSON line (see `benches::load`). Each of the K connections is
//! its own `Channel`; the C workers share them round-robin.

use benches::args::{LoadArgs, Mode};
use benches::load::{self, CallResult};
use benches::ours::benchstream::streamer_client::StreamerClient;
use benches::ours::benchstream::DownloadRequest;
use benches::ours::helloworld::greeter_client::GreeterClient;
use benches::{payload, runtime};
use futures_util::StreamExt;
use grpc_client::{Channel, Endpoint};

fn main() -> std::io::Result<()> {
    let args = LoadArgs::from_env();
    if let Some(path) = &args.dump_request {
        let message = match args.mode {
            Mode::Unary => payload::encoded_request(args.payload),
            Mode::Stream => prost::Message::encode_to_vec(&DownloadRequest {
                count: args.stream_msgs,
                size: args.chunk_size(),
            }),
        };
        let framed = grpc_core::codec::framing::encode_raw(&message, false);
        return std::fs::write(path, framed);
    }
    let report =
        runtime::build(args.runtime.unwrap_or(runtime::Flavor::Grpc))?.block_on(async {
            let endpoint = Endpoint::from_shared(format!("http://{}", args.addr))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
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
    let request = payload::request(args.payload);
    let reply_len = prost::Message::encoded_len(&payload::reply(args.payload)) as u64;
    let clients = channels
        .into_iter()
        .map(|channel| {
            let client = GreeterClient::new(channel);
            let request = request.clone();
            let bearer = args.bearer.as_ref().map(|t| format!("Bearer {t}"));
            move || {
                let mut client = client.clone();
                let request = with_bearer(request.clone(), bearer.as_deref());
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
    load::run("ours", args, clients).await
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
            let bearer = args.bearer.as_ref().map(|t| format!("Bearer {t}"));
            // prost derives `Copy` for this all-scalar message.
            move || {
                let mut client = client.clone();
                let request = with_bearer(request, bearer.as_deref());
                async move { download(&mut client, request, count * size).await }
            }
        })
        .collect();
    load::run("ours", args, clients).await
}

/// `message` as a request, with `authorization: BEARER` if given.
fn with_bearer<T>(message: T, bearer: Option<&str>) -> grpc_core::Request<T> {
    let mut request = grpc_core::Request::new(message);
    if let Some(bearer) = bearer {
        request
            .metadata_mut()
            .insert("authorization", bearer)
            .expect("a bearer token is a valid header value");
    }
    request
}

async fn download(
    client: &mut StreamerClient<Channel>,
    request: grpc_core::Request<DownloadRequest>,
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
