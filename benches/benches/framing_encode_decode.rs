//! Framing: encoding a message with its 5-byte prefix, and reading whole
//! messages back with the `Deframer`, each beside a baseline.
//!
//! - `encode/*`: `encode_message` (prefix + prost encode into one buffer)
//!   against a bare `prost::Message::encode_to_vec` (baseline), for the
//!   complex_proto reply and for a 64 KiB bytes message.
//! - `deframe/*`: 1,000 messages read through the `Deframer` from a body
//!   whose chunks are one message each (aligned, the common case), one big
//!   chunk, or 16 KiB chunks that split messages (HTTP/2's default frame
//!   size); the baseline walks the same bytes by their prefixes with no
//!   body at all.
//!
//! Throughput is in message bytes per second. Run with
//! `cargo bench -p benches --bench framing_encode_decode`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::pin::Pin;

use benches::args::Payload;
use benches::ours::helloworld::HelloReply;
use benches::payload;
use bytes::{Buf, Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::task::noop_waker_ref;
use grpc_core::codec::framing::{encode_message, encode_raw, Deframer, HEADER_LEN};
use grpc_core::codec::{BytesCodec, ProstCodec};
use grpc_core::test_util::ScriptedBody;
use prost::Message;

const MESSAGES: usize = 1000;

fn encode(c: &mut Criterion) {
    let reply = payload::reply(Payload::Complex);
    let len = reply.encoded_len() as u64;
    let mut group = c.benchmark_group("encode/complex");
    group.throughput(Throughput::Bytes(len));
    group.bench_function("baseline_prost_encode_to_vec", |b| {
        b.iter(|| black_box(black_box(&reply).encode_to_vec()))
    });
    group.bench_function("encode_message", |b| {
        let mut codec = ProstCodec::<HelloReply, HelloReply>::new();
        b.iter(|| encode_message(&mut codec, black_box(reply.clone()), usize::MAX).unwrap())
    });
    group.bench_function("baseline_clone_only", |b| {
        b.iter(|| black_box(black_box(&reply).clone()))
    });
    group.finish();

    let big = Bytes::from(vec![7u8; 64 * 1024]);
    let mut group = c.benchmark_group("encode/64KiB");
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("baseline_memcpy", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(HEADER_LEN + big.len());
            buf.extend_from_slice(&[0; HEADER_LEN]);
            buf.extend_from_slice(black_box(&big));
            buf.freeze()
        })
    });
    group.bench_function("encode_message", |b| {
        b.iter(|| encode_message(&mut BytesCodec, black_box(big.clone()), usize::MAX).unwrap())
    });
    group.finish();
}

/// Reads every message of `body` and returns the payload bytes seen.
fn deframe_all(body: ScriptedBody) -> usize {
    let mut deframer = Deframer::new(body, usize::MAX);
    let mut cx = std::task::Context::from_waker(noop_waker_ref());
    let mut total = 0;
    loop {
        match Pin::new(&mut deframer).poll_message(&mut cx) {
            std::task::Poll::Ready(Some(Ok(frame))) => total += frame.len(),
            std::task::Poll::Ready(None) => return total,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The baseline: walk the same bytes by their prefixes, no body, no checks.
fn walk_prefixes(mut wire: Bytes) -> usize {
    let mut total = 0;
    while wire.len() >= HEADER_LEN {
        let len = u32::from_be_bytes([wire[1], wire[2], wire[3], wire[4]]) as usize;
        wire.advance(HEADER_LEN);
        total += black_box(wire.split_to(len)).len();
    }
    total
}

fn chunked(wire: &Bytes, size: usize) -> Vec<Bytes> {
    (0..wire.len())
        .step_by(size)
        .map(|start| wire.slice(start..(start + size).min(wire.len())))
        .collect()
}

fn deframe(c: &mut Criterion) {
    for (name, message_len) in [("1KiB", 1024usize), ("64KiB", 64 * 1024)] {
        let messages: Vec<Bytes> = (0..MESSAGES)
            .map(|i| encode_raw(&vec![i as u8; message_len], false))
            .collect();
        let wire = Bytes::from(messages.concat());
        let split = chunked(&wire, 16 * 1024 + 3);
        let mut group = c.benchmark_group(format!("deframe/{name}"));
        group.throughput(Throughput::Bytes((MESSAGES * message_len) as u64));
        group.sample_size(if message_len > 1024 { 20 } else { 50 });
        group.bench_function("baseline_walk_prefixes", |b| {
            b.iter(|| assert_eq!(walk_prefixes(wire.clone()), MESSAGES * message_len))
        });
        group.bench_function("aligned_one_message_per_chunk", |b| {
            b.iter_batched(
                || ScriptedBody::new(messages.iter().cloned()),
                |body| assert_eq!(deframe_all(body), MESSAGES * message_len),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("one_big_chunk", |b| {
            b.iter_batched(
                || ScriptedBody::new([wire.clone()]),
                |body| assert_eq!(deframe_all(body), MESSAGES * message_len),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("split_16KiB_chunks", |b| {
            b.iter_batched(
                || ScriptedBody::new(split.iter().cloned()),
                |body| assert_eq!(deframe_all(body), MESSAGES * message_len),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, encode, deframe);
criterion_main!(benches);
