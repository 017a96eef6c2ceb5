//! Compression codecs, each beside a baseline.
//!
//! `grpc-layers` does not ship a compression codec yet (its `compression`
//! module is still empty), so only the baseline runs: framing a 64 KiB
//! message with no compression, the cost every codec adds to. When the
//! codecs land, each gets a `compress/<name>` and `decompress/<name>` case
//! here, with bytes/s throughput on the same message.
//!
//! Run with `cargo bench -p benches --bench compression`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use grpc_core::codec::framing::encode_raw;

fn compression(c: &mut Criterion) {
    eprintln!(
        "compression: grpc-layers has no compression codec yet; only the identity baseline runs"
    );
    // Half repetitive, half varied: a payload a codec can shrink somewhat.
    let message: Vec<u8> = (0..64 * 1024u32)
        .map(|i| {
            if i % 2 == 0 {
                b'a'
            } else {
                (i * 31 % 251) as u8
            }
        })
        .collect();
    let message = Bytes::from(message);
    let mut group = c.benchmark_group("compression/64KiB");
    group.throughput(Throughput::Bytes(message.len() as u64));
    group.bench_function("baseline_identity_frame", |b| {
        b.iter(|| encode_raw(black_box(&message), false))
    });
    group.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
