//! Decompression bombs, measured: 1 GiB of zeros compressed to a message of
//! a few hundred kilobytes, sent to a server behind the compression layer
//! and answered to a client behind it, over real HTTP/2 on 127.0.0.1. Each
//! call must fail with `RESOURCE_EXHAUSTED`, and the peak heap growth of the
//! whole process during the call (server, client and transport together)
//! must stay within a few times the 4 MiB receive limit.
//!
//! A counting global allocator measures the heap; zstd's own allocations go
//! through it too (its `with-rust-allocator` feature, on for the tests). The
//! binary holds a single test, so no other test allocates meanwhile.
#![cfg(any(
    feature = "compression-gzip",
    feature = "compression-deflate",
    feature = "compression-zstd"
))]

use std::alloc::System;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use grpc_client::{Channel, Endpoint, Grpc};
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::limits::DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
use grpc_core::{Code, GrpcBody, GrpcMethod, Request, Response, Status};
use grpc_layers::compression::{
    ClientCompressionLayer, Encoding, EncodingSet, ServerCompressionLayer,
};
use grpc_server::{handler, Router, Server};
use http_body_util::BodyExt;
use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait, INSTRUMENTED_SYSTEM};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::{Layer, Service, ServiceExt};

#[global_allocator]
static HEAP: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

/// How much every bomb inflates to.
const INFLATED: usize = 1 << 30;
/// Bombs are built from this many zeros at a time.
const CHUNK: usize = 1 << 20;
/// The receive limit in force: the default on both sides.
const RECV_LIMIT: usize = DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
/// The bound on the peak heap growth of one call.
const BOUND: usize = 3 * RECV_LIMIT;

const UNARY: GrpcMethod = GrpcMethod::new("test.Bomb", "Unary");

async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the test waited too long")
}

/// Runs `future`; returns its output and the peak heap growth meanwhile.
async fn peak_during<F: Future>(future: F) -> (F::Output, usize) {
    HEAP.reset_peak_memory();
    let output = future.await;
    (output, HEAP.get_peak_memory())
}

/// `chunks` MiB of zeros as a gzip (`gzip`) or zlib stream. Built from the
/// compressed form of one MiB repeated: after a full flush deflate starts
/// afresh, so every further MiB compresses to the same bytes. The trailer
/// is fixed up for the whole length, so the stream is valid.
#[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
fn flate_bomb(gzip: bool, chunks: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress, Status as Flate};

    let zeros = vec![0u8; CHUNK];
    let mut c = if gzip {
        Compress::new_gzip(Compression::best(), 15)
    } else {
        Compress::new(Compression::best(), true)
    };
    let mut run = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(input.len() + 1024);
        let before = c.total_in();
        loop {
            let status = c.compress_vec(input, &mut out, flush).unwrap();
            if c.total_in() - before == input.len() as u64
                && (flush != FlushCompress::Finish || status == Flate::StreamEnd)
            {
                return out;
            }
            out.reserve(1024);
        }
    };
    let mut bomb = run(&zeros, FlushCompress::Full);
    let again = run(&zeros, FlushCompress::Full);
    assert_eq!(
        run(&zeros, FlushCompress::Full),
        again,
        "a full flush repeats"
    );
    for _ in 1..chunks {
        bomb.extend_from_slice(&again);
    }
    bomb.extend_from_slice(&run(&[], FlushCompress::Finish));
    let total = chunks * CHUNK;
    let n = bomb.len();
    if gzip {
        let mut one = Crc::new();
        one.update(&zeros);
        let mut crc = Crc::new();
        for _ in 0..chunks {
            crc.combine(&one);
        }
        bomb[n - 8..n - 4].copy_from_slice(&crc.sum().to_le_bytes());
        bomb[n - 4..].copy_from_slice(&(total as u32).to_le_bytes());
    } else {
        // Adler-32 of zeros: a stays 1, b adds 1 per byte.
        let adler = (((total % 65521) as u32) << 16) | 1;
        bomb[n - 4..].copy_from_slice(&adler.to_be_bytes());
    }
    bomb
}

/// `chunks` MiB of zeros as a zstd stream that does not declare its size,
/// so the decoder cannot refuse it up front and must stop while inflating.
#[cfg(feature = "compression-zstd")]
fn zstd_bomb(chunks: usize) -> Vec<u8> {
    use std::io::Write;
    let zeros = vec![0u8; CHUNK];
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    for _ in 0..chunks {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap()
}

fn bomb(encoding: Encoding, chunks: usize) -> Vec<u8> {
    let _ = chunks;
    match encoding {
        #[cfg(feature = "compression-gzip")]
        Encoding::Gzip => flate_bomb(true, chunks),
        #[cfg(feature = "compression-deflate")]
        Encoding::Deflate => flate_bomb(false, chunks),
        #[cfg(feature = "compression-zstd")]
        Encoding::Zstd => zstd_bomb(chunks),
        other => unreachable!("{other} is not enabled"),
    }
}

/// Checks that a small bomb of the same making is a valid stream of zeros.
fn check_honest(encoding: Encoding) {
    use std::io::Read;
    let small = bomb(encoding, 3);
    let mut out = Vec::new();
    let read = match encoding {
        #[cfg(feature = "compression-gzip")]
        Encoding::Gzip => flate2::read::GzDecoder::new(&small[..]).read_to_end(&mut out),
        #[cfg(feature = "compression-deflate")]
        Encoding::Deflate => flate2::read::ZlibDecoder::new(&small[..]).read_to_end(&mut out),
        #[cfg(feature = "compression-zstd")]
        Encoding::Zstd => zstd::stream::read::Decoder::new(&small[..])
            .unwrap()
            .read_to_end(&mut out),
        other => unreachable!("{other} is not enabled"),
    };
    read.unwrap_or_else(|e| panic!("the {encoding} bomb is not a valid stream: {e}"));
    assert_eq!(out.len(), 3 * CHUNK);
    assert!(out.iter().all(|b| *b == 0));
}

fn channel(addr: SocketAddr) -> Channel {
    Endpoint::new(format!("http://{addr}").parse().unwrap())
        .unwrap()
        .connect_lazy()
}

/// Serves `service` on 127.0.0.1 until the returned sender is dropped.
async fn serve<S, B>(service: S) -> (SocketAddr, oneshot::Sender<()>)
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<grpc_core::BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<grpc_core::BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// A unary request as the wire has it, with one message `frame`.
fn raw_request(frame: Bytes, encoding: Option<Encoding>) -> http::Request<GrpcBody> {
    let mut request = http::Request::new(GrpcBody::once(frame, None));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = "/test.Bomb/Unary".parse().unwrap();
    let headers = request.headers_mut();
    headers.insert("content-type", "application/grpc".parse().unwrap());
    headers.insert("te", "trailers".parse().unwrap());
    if let Some(encoding) = encoding {
        headers.insert("grpc-encoding", encoding.header_value());
    }
    request
}

/// The status of a raw response: in its head, or in its trailers.
async fn status_of(response: http::Response<GrpcBody>) -> Status {
    if let Some(status) = Status::from_headers(response.headers()) {
        return status;
    }
    let collected = response.into_body().collect().await.unwrap();
    Status::from_headers(collected.trailers().expect("trailers")).expect("a status")
}

/// A server that answers every call with one message `frame`, declared as
/// `encoding`: the bomb's sender.
fn answering(
    frame: Bytes,
    encoding: Encoding,
) -> impl Service<
    http::Request<GrpcBody>,
    Response = http::Response<GrpcBody>,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<http::Response<GrpcBody>, std::convert::Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |_request: http::Request<GrpcBody>| {
        let mut response = http::Response::new(GrpcBody::once(
            frame.clone(),
            Some(Status::ok().to_headers()),
        ));
        let headers = response.headers_mut();
        headers.insert("content-type", "application/grpc".parse().unwrap());
        headers.insert("grpc-encoding", encoding.header_value());
        std::future::ready(Ok(response))
    })
}

#[test]
fn bombs_are_refused_both_ways_within_a_few_times_the_receive_limit() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let echo = Router::new().route(
            UNARY,
            handler::unary(BytesCodec, |request: Request<Bytes>| async move {
                Ok::<_, Status>(Response::new(request.into_inner()))
            }),
        );
        let (server_addr, _stop_server) =
            serve(ServerCompressionLayer::new().layer(echo)).await;

        for encoding in EncodingSet::enabled().iter() {
            check_honest(encoding);
            let compressed = bomb(encoding, INFLATED / CHUNK);
            let frame = encode_raw(&compressed, true);
            println!(
                "{encoding}: {} bytes on the wire inflate to {INFLATED} bytes",
                frame.len()
            );
            assert!(frame.len() < RECV_LIMIT, "the bomb itself is within the limit");

            // To the server: a bare channel sends the bomb as it is.
            let mut to_server = channel(server_addr);
            let warm_up = raw_request(encode_raw(b"hello", false), None);
            to_server.ready().await.unwrap();
            let status = status_of(bounded(to_server.call(warm_up)).await.unwrap()).await;
            assert_eq!(status.code(), Code::Ok, "{status}");
            let request = raw_request(frame.clone(), Some(encoding));
            to_server.ready().await.unwrap();
            let (status, peak) = peak_during(async {
                status_of(bounded(to_server.call(request)).await.unwrap()).await
            })
            .await;
            println!("{encoding}: request bomb -> {status}; peak heap growth {peak} bytes");
            assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
            assert!(peak < BOUND, "{encoding}: peak {peak} bytes, bound {BOUND}");

            // To a client: a server answers the bomb.
            let (bomber, _stop_bomber) = serve(answering(frame.clone(), encoding)).await;
            let mut grpc = Grpc::new(ClientCompressionLayer::new().layer(channel(bomber)));
            let warm_up = grpc
                .unary(Request::new(Bytes::new()), UNARY, BytesCodec)
                .await;
            assert_eq!(warm_up.unwrap_err().code(), Code::ResourceExhausted);
            let (result, peak) = peak_during(bounded(grpc.unary(
                Request::new(Bytes::from_static(b"hi")),
                UNARY,
                BytesCodec,
            )))
            .await;
            let status = result.unwrap_err();
            println!("{encoding}: response bomb -> {status}; peak heap growth {peak} bytes");
            assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
            assert!(peak < BOUND, "{encoding}: peak {peak} bytes, bound {BOUND}");
        }

        // For scale: a legitimate message of 3 MiB (within the limit),
        // compressed, costs about as much.
        if let Some(encoding) = EncodingSet::enabled().iter().next() {
            let mut grpc = Grpc::new(
                ClientCompressionLayer::new()
                    .send_compressed(encoding)
                    .layer(channel(server_addr)),
            );
            grpc.unary(Request::new(Bytes::from_static(b"warm")), UNARY, BytesCodec)
                .await
                .unwrap();
            let message = Bytes::from(vec![0u8; 3 << 20]);
            let (reply, peak) = peak_during(bounded(grpc.unary(
                Request::new(message.clone()),
                UNARY,
                BytesCodec,
            )))
            .await;
            assert_eq!(reply.unwrap().into_inner().len(), message.len());
            println!("{encoding}: a legitimate 3 MiB echo, compressed one way: peak heap growth {peak} bytes");
        }
    });
}
