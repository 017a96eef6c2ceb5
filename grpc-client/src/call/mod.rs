//! Making calls: [`Grpc`], typed calls of the four kinds, and [`Call`], one
//! call driven step by step. Both run over any
//! [`GrpcService`](crate::GrpcService) (a [`Channel`](crate::Channel), or a
//! channel inside a stack of layers); generated clients are built on
//! [`Grpc`].
//!
//! The files, one job each:
//!
//! - `head.rs`: the request head every call sends (`POST
//!   /{service}/{method}`, `content-type`, `te`, the metadata, the
//!   [`GrpcMethod`](grpc_core::GrpcMethod) extension), and how the response
//!   head and a service stack's errors are read (a trailers-only status, a
//!   non-gRPC HTTP answer, the body erased with its errors as statuses);
//! - `typed.rs`: [`Grpc`], and the rule that a unary response carries
//!   exactly one message;
//! - `raw.rs`: [`Call`];
//! - `cancel.rs`: how dropping the response side of a streaming call resets
//!   the stream.
//!
//! # How a response is read
//!
//! - a `grpc-status` in the response headers is a trailers-only response:
//!   its status is the call's outcome;
//! - an HTTP status other than 200 without `grpc-status` (a proxy's 503)
//!   maps through gRPC's HTTP-to-gRPC table
//!   ([`grpc_core::status::mapping::code_from_http_status`]: 503 →
//!   `UNAVAILABLE`, 404 → `UNIMPLEMENTED`, …);
//! - a 200 without a gRPC `content-type` is `UNKNOWN`;
//! - otherwise the response headers are the initial metadata, then come the
//!   messages, then trailers with `grpc-status` (missing: `INTERNAL`) and
//!   the trailing metadata. A unary response must have exactly one message
//!   (otherwise `INTERNAL`).
//!
//! A service stack's errors (its readiness, its response future, its
//! response body) become statuses through
//! [`status_from_error`](crate::status::status_from_error); a channel's
//! already are.

mod cancel;
mod head;
mod raw;
mod typed;

pub use raw::Call;
pub use typed::Grpc;
