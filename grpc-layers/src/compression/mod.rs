//! Message compression: gzip, deflate and zstd, negotiated per call,
//! decompressed within the receive limit.
//!
//! [`ServerCompressionLayer`] decompresses requests by their
//! `grpc-encoding` and compresses responses in an encoding the client lists
//! in `grpc-accept-encoding`; [`ClientCompressionLayer`] is the mirror. Each
//! message is compressed on its own and flagged in its 5-byte prefix, so
//! compressed and uncompressed messages can share a stream.
//!
//! ```
//! use bytes::Bytes;
//! use grpc_core::codec::framing::encode_raw;
//! use grpc_core::{BoxError, GrpcBody};
//! use grpc_layers::compression::{Encoding, EncodingSet, ServerCompressionLayer};
//! use http_body_util::BodyExt;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! // A handler that answers one 1 KiB message.
//! let handler = service_fn(|_request: http::Request<GrpcBody>| async {
//!     let mut trailers = http::HeaderMap::new();
//!     trailers.insert("grpc-status", "0".parse()?);
//!     let message = encode_raw(&[b'a'; 1024], false);
//!     let mut response = http::Response::new(GrpcBody::once(message, Some(trailers)));
//!     response.headers_mut().insert("content-type", "application/grpc".parse()?);
//!     Ok::<_, BoxError>(response)
//! });
//! let mut server = ServiceBuilder::new()
//!     .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip))
//!     .service(handler);
//! // The layer takes any request body, so name the one used here.
//! type Req = http::Request<GrpcBody>;
//!
//! // A client that accepts gzip gets its messages gzipped...
//! let request = http::Request::builder()
//!     .header("grpc-accept-encoding", "identity,gzip")
//!     .body(GrpcBody::empty())?;
//! let response = ServiceExt::<Req>::ready(&mut server).await?.call(request).await?;
//! # if Encoding::Gzip.is_enabled() {
//! assert_eq!(response.headers()["grpc-encoding"], "gzip");
//! let wire = response.into_body().collect().await?.to_bytes();
//! assert_eq!(wire[0], 1, "the compressed flag");
//! assert!(wire.len() < 100);
//! # }
//!
//! // ...and a request in an encoding the server lacks is refused, with the
//! // list of those it has.
//! let request = http::Request::builder()
//!     .header("grpc-encoding", "snappy")
//!     .body(GrpcBody::empty())?;
//! let response = ServiceExt::<Req>::ready(&mut server).await?.call(request).await?;
//! assert_eq!(response.headers()["grpc-status"], "12"); // UNIMPLEMENTED
//! assert_eq!(
//!     response.headers()["grpc-accept-encoding"],
//!     EncodingSet::enabled().header_value(), // "identity,gzip,deflate,zstd"
//! );
//! # Ok(()) }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack` and
//! `grpc_client::stack`. What it asks of this layer:
//!
//! - Compression works on whole messages of the wire body, so whatever
//!   reads or writes the messages themselves (a server's handler adapters,
//!   a client's typed calls) goes on the far side of it from the wire, and
//!   sees them uncompressed.
//! - It reads the call's receive limit from the
//!   [`MessageLimits`](grpc_core::limits::MessageLimits) request
//!   extension (set by a limits layer, or by `Grpc` on the client), so put
//!   limits **outside** it.
//! - The inner service gets `http::Request<GrpcBody>`: the body as it came
//!   when nothing needs doing (no second box for a `GrpcBody`), otherwise the
//!   decompressing or compressing body, erased once.
//!
//! # Client vs server
//!
//! | | server ([`ServerCompressionLayer`]) | client ([`ClientCompressionLayer`]) |
//! |---|---|---|
//! | received messages | requests, by their `grpc-encoding` | responses, by their `grpc-encoding` |
//! | sent messages | the first of [`send_compressed`](ServerCompressionLayer::send_compressed) the client accepts | the first of [`send_compressed`](ClientCompressionLayer::send_compressed) |
//! | `grpc-accept-encoding` | on every gRPC response | on every request |
//! | per-call choice | [`SendCompression`] in the handler's response extensions | [`SendCompression`] in the request extensions |
//! | per-message choice | [`MessageCompression`] in the response extensions | [`MessageCompression`] in the request extensions |
//!
//! **By default nothing is compressed on the way out**: a server answers
//! uncompressed unless its
//! [`send_compressed`](ServerCompressionLayer::send_compressed) names
//! encodings (it then answers in the first one the client accepts, whatever
//! the request was compressed with), and a client sends uncompressed unless
//! its [`send_compressed`](ClientCompressionLayer::send_compressed) names
//! one. Every algorithm of the build is accepted on the way in. Messages
//! shorter than `min_size` (32 bytes by default, [`ServerCompressionLayer::DEFAULT_MIN_SIZE`]) are
//! always sent uncompressed, flagged 0 in the same stream.
//!
//! A request with no `grpc-encoding` (or `identity`) passes through
//! untouched. Its messages are not inspected: a message flagged compressed in
//! such a stream is refused as `INTERNAL` by whatever reads the messages
//! (grpc-core's `Streaming` and grpc-server's handler adapters do), which
//! spares the common uncompressed path a wrapper.
//!
//! # Decompression within the receive limit
//!
//! A compressed message is inflated into a buffer that grows only as output
//! is produced and never past the limit; the moment there would be one byte
//! more, the call fails with `RESOURCE_EXHAUSTED`. A few kilobytes that
//! would inflate to gigabytes cost at most about the limit in memory
//! (`tests/compression_bomb.rs` measures it). zstd frames that ask for a
//! window larger than about twice the limit are refused.
//!
//! # Errors
//!
//! | case | side | status |
//! |---|---|---|
//! | request `grpc-encoding` unknown or not accepted | server | trailers-only `UNIMPLEMENTED`, with `grpc-accept-encoding` listing what is; the inner service is not called |
//! | a request message inflates past the receive limit | server | `RESOURCE_EXHAUSTED` (a request body error) |
//! | a response message inflates past the receive limit | client | `RESOURCE_EXHAUSTED` trailers end the response body |
//! | a message does not decompress (corrupt, cut short, trailing data) | server: request; client: response | `INTERNAL`: a request body error; trailers ending the response body |
//! | a compressed response message in an encoding the client does not accept | client | `INTERNAL` trailers end the response body |
//! | a response message already compressed further in | server | `INTERNAL` trailers end the response body |
//!
//! A refusal in a response body is trailers, so any gRPC reader above the
//! layer (ours, tonic's) reads its code. A request body's errors are
//! [`Status`](grpc_core::Status) values, which a server's handler adapters
//! answer with. The inner service's error type passes through unchanged.
//!
//! # In other libraries' stacks
//!
//! Both layers work in any tower stack. The client layer's request body is its own, so over a tonic `Channel` a `map_request` goes under it. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
//!     // tonic's Channel takes its own body type: the layer's goes in it.
//!     .map_request(|r: http::Request<grpc_core::GrpcBody>| r.map(tonic::body::Body::new))
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerCompressionLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! The module is behind `compression`; each algorithm has its own feature:
//! `compression-gzip`, `compression-deflate` (both through `flate2` on the
//! pure-Rust zlib-rs) and `compression-zstd` (the `zstd` crate, which builds
//! the C library). `compression-full` turns on all three. Every
//! [`Encoding`] variant and builder method exists whatever the features; an
//! algorithm whose feature is off is simply not offered.

mod algorithm;
mod body;
mod control;
mod encoding;
pub mod future;
mod layer;
mod service;

pub use algorithm::CompressionLevel;
pub use body::CompressionBody;
pub use control::{MessageCompression, SendCompression};
pub use encoding::{Encoding, EncodingSet};
#[allow(deprecated)]
pub use layer::DEFAULT_MIN_SIZE;
pub use layer::{ClientCompressionLayer, ServerCompressionLayer};
pub use service::{ClientCompression, ServerCompression};

#[cfg(test)]
mod tests;
