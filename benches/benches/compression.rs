//! Compression codecs through `grpc-layers`' `ServerCompressionLayer`, each
//! beside the identity baseline, on one 64 KiB message (runs of one letter
//! between runs of random bytes, so a codec can shrink it by about half):
//!
//! - `compress/<encoding>`: a handler answers the message; the layer
//!   compresses it for a client that accepts the encoding;
//! - `decompress/<encoding>`: a request carries the message compressed; the
//!   layer inflates it and the handler reads it;
//! - `*/identity`: the same call through the layer with no compression (the
//!   baseline: framing and the layer's own bookkeeping).
//!
//! Throughput is in uncompressed message bytes per second. Run with
//! `cargo bench -p benches --bench compression`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::convert::Infallible;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::FutureExt;
use grpc_core::codec::framing::encode_raw;
use grpc_core::{GrpcBody, Status};
use grpc_layers::compression::{Encoding, ServerCompressionLayer};
use http::HeaderValue;
use http_body_util::BodyExt;
use tower::{service_fn, Layer, Service, ServiceExt};

const ENCODINGS: [Encoding; 4] = [
    Encoding::Identity,
    Encoding::Gzip,
    Encoding::Deflate,
    Encoding::Zstd,
];

/// Runs of a repeated letter between runs of pseudo-random bytes (a fixed
/// xorshift sequence), so a codec can shrink it by about half.
fn message() -> Bytes {
    let mut state = 0x2545_f491_u32;
    (0..64 * 1024u32)
        .map(|i| {
            if (i / 16) % 2 == 0 {
                b'a'
            } else {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            }
        })
        .collect::<Vec<u8>>()
        .into()
}

fn grpc_response(body: Bytes) -> http::Response<GrpcBody> {
    let mut response = http::Response::new(GrpcBody::once(body, Some(Status::ok().to_headers())));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    response
}

/// One call through `service`, answered without waiting; the response bytes.
fn call<S, B>(service: &S, request: http::Request<GrpcBody>) -> Bytes
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service
        .clone()
        .oneshot(request)
        .now_or_never()
        .expect("answers without waiting")
        .unwrap();
    let collected = response
        .into_body()
        .collect()
        .now_or_never()
        .expect("body is ready")
        .unwrap();
    collected.to_bytes()
}

fn request(headers: &[(&'static str, &'static str)], body: Bytes) -> http::Request<GrpcBody> {
    let mut request = http::Request::new(GrpcBody::once(body, None));
    *request.method_mut() = http::Method::POST;
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    request
}

fn compression(c: &mut Criterion) {
    let message = message();
    let framed = encode_raw(&message, false);

    // Answers the message.
    let answer = {
        service_fn(move |_request: http::Request<GrpcBody>| {
            std::future::ready(Ok::<_, Infallible>(grpc_response(framed.clone())))
        })
    };
    // Reads the (decompressed) request to its end, answers nothing.
    let drain = service_fn(|request: http::Request<GrpcBody>| async move {
        let read = request.into_body().collect().await.unwrap().to_bytes();
        assert!(
            read.len() > 64 * 1024,
            "the whole message arrived: {}",
            read.len()
        );
        Ok::<_, Infallible>(grpc_response(Bytes::new()))
    });

    let mut group = c.benchmark_group("compression/64KiB");
    group.throughput(Throughput::Bytes(message.len() as u64));
    for encoding in ENCODINGS {
        if !encoding.is_enabled() {
            eprintln!(
                "compression: {} is not enabled in this build; skipped",
                encoding.name()
            );
            continue;
        }
        let name = encoding.name();
        let server = ServerCompressionLayer::new().send_compressed(encoding);
        let compressing = server.layer(answer.clone());
        let accept = [("grpc-accept-encoding", name)];
        let wire = call(&compressing, request(&accept, Bytes::new()));
        if encoding != Encoding::Identity {
            assert_eq!(wire[0], 1, "{name}: the compressed flag is set");
        }
        eprintln!(
            "compression: {name}: 65,536 bytes -> {} on the wire",
            wire.len() - 5
        );
        group.bench_function(format!("compress/{name}"), |b| {
            b.iter(|| call(&compressing, request(&accept, Bytes::new())))
        });

        let inflating = ServerCompressionLayer::new().layer(drain);
        let encoded = [("grpc-encoding", name)];
        group.bench_function(format!("decompress/{name}"), |b| {
            b.iter(|| call(&inflating, request(&encoded, wire.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
