//! What the server stack costs per unary call, in process (no network):
//! the same request through
//!
//! - `baseline_service_fn`: a bare `tower::service_fn` that answers a fixed,
//!   already framed reply (no routing, no decoding, no encoding);
//! - `router_bytes_echo`: the router and the unary adapter with a
//!   pass-through codec (routing + framing, no protobuf);
//! - `bare`: the router with the generated Greeter (what `bench-server
//!   --stack bare` serves);
//! - `router+<layer>`: that router inside one layer of the default stack
//!   (status, deadline, limits, compression), to see what each costs alone;
//! - `default`: our default server stack around that router
//!   (`bench-server --stack default`).
//!
//! Each case builds the request, calls the service and reads the response
//! body to its trailers.
//!
//! Run with `cargo bench -p benches --bench stack_overhead`.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::convert::Infallible;

use benches::args::Payload;
use benches::ours::helloworld::greeter_server::{Greeter, GreeterServer};
use benches::ours::helloworld::{HelloReply, HelloRequest};
use benches::payload;
use benches::stack::default_stack;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt;
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::{GrpcBody, GrpcMethod, Request, Response, Status};
use grpc_layers::compression::ServerCompressionLayer;
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::status::ServerStatusLayer;
use grpc_server::{handler, Router};
use http::HeaderValue;
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};
use tower_service::Service;

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

fn request(framed: &Bytes) -> http::Request<GrpcBody> {
    let mut request = http::Request::new(GrpcBody::once(framed.clone(), None));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/helloworld.Greeter/SayHello");
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    request
}

/// One call, answered without waiting; returns the response bytes read.
fn call<S, B>(service: &S, framed: &Bytes) -> usize
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>, Error = Infallible> + Clone,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<grpc_core::BoxError>,
{
    let response = service
        .clone()
        .oneshot(request(framed))
        .now_or_never()
        .expect("answers without waiting")
        .unwrap();
    let collected = response
        .into_body()
        .collect()
        .now_or_never()
        .expect("body is ready")
        .map_err(Into::into)
        .expect("body has no error");
    assert_eq!(collected.trailers().expect("trailers")["grpc-status"], "0");
    collected.to_bytes().len()
}

fn stack_overhead(c: &mut Criterion) {
    let framed = encode_raw(&payload::encoded_request(Payload::Complex), false);
    let reply = encode_raw(
        &prost::Message::encode_to_vec(&payload::reply(Payload::Complex)),
        false,
    );
    let ok = grpc_core::Status::ok().to_headers();

    let mut group = c.benchmark_group("stack_overhead/unary_complex");
    let baseline = tower::service_fn(move |_req: http::Request<GrpcBody>| {
        let mut response = http::Response::new(GrpcBody::once(reply.clone(), Some(ok.clone())));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/grpc"));
        std::future::ready(Ok::<_, Infallible>(response))
    });
    group.bench_function("baseline_service_fn", |b| {
        b.iter(|| call(&baseline, &framed))
    });

    let bytes_echo = Router::new().route(
        GrpcMethod::new("helloworld.Greeter", "SayHello"),
        handler::unary(BytesCodec, |req: Request<Bytes>| async move {
            Ok::<_, Status>(Response::new(req.into_inner()))
        }),
    );
    group.bench_function("router_bytes_echo", |b| {
        b.iter(|| call(&bytes_echo, &framed))
    });

    let bare = Router::new().add_service(GreeterServer::new(Echo));
    group.bench_function("bare", |b| b.iter(|| call(&bare, &framed)));

    let router = || Router::new().add_service(GreeterServer::new(Echo));
    let status = ServerStatusLayer::new().layer(router());
    group.bench_function("router+status", |b| b.iter(|| call(&status, &framed)));
    let deadline = ServerDeadlineLayer::new().layer(router());
    group.bench_function("router+deadline", |b| b.iter(|| call(&deadline, &framed)));
    let limits = ServerLimitsLayer::new().layer(router());
    group.bench_function("router+limits", |b| b.iter(|| call(&limits, &framed)));
    let compression = ServerCompressionLayer::new().layer(router());
    group.bench_function("router+compression", |b| {
        b.iter(|| call(&compression, &framed))
    });

    let default = default_stack(router());
    group.bench_function("default", |b| b.iter(|| call(&default, &framed)));
    group.finish();
}

criterion_group!(benches, stack_overhead);
criterion_main!(benches);
