//! The stable vocabulary of the gRPC stack.
//!
//! `grpc-core` holds what every other crate of the stack speaks, and nothing
//! that depends on a transport or on tower:
//!
//! - [`Code`] and [`Status`], with their lossless header form;
//! - [`metadata`]: ASCII and binary metadata over `http::HeaderMap`;
//! - [`codec`]: the [`Codec`](codec::Codec) trait, the prost codec, and the
//!   5-byte framing ([`Deframer`](codec::Deframer),
//!   [`encode_message`](codec::framing::encode_message),
//!   [`EncodeBody`](codec::EncodeBody));
//! - [`limits`]: [`MessageLimits`], a call's message size limits, and the
//!   one rule by which they combine (the narrowest wins);
//! - [`timeout`]: `grpc-timeout` parse and format;
//! - [`status::mapping`]: the one table from HTTP/2 error codes, HTTP
//!   statuses and broken connections to gRPC codes;
//! - [`security`]: the marker by which a call carrying credentials asks
//!   not to be sent over plaintext;
//! - typed [`Request`], [`Response`] and [`Streaming`];
//! - [`GrpcBody`], the one erased body type, with `Status` as its error.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the `rust-version` of the workspace
//! manifest (currently 1.85). It may be raised in a minor release.

pub mod body;
pub mod codec;
pub mod deadline;
pub mod error;
pub mod headers;
pub mod limits;
pub mod metadata;
pub mod method;
mod request;
pub mod security;
pub mod status;
pub mod streaming;
pub mod target;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod timeout;

/// Brings the code `grpc-build` generated for a proto package into scope:
/// `include_proto!("helloworld")` includes `$OUT_DIR/helloworld.rs`, the
/// file `grpc_build::compile_protos` wrote for `package helloworld;` (a
/// dotted package keeps its dots: `include_proto!("grpc.health.v1")`).
/// Put it in a module of the package's name:
///
/// ```ignore
/// pub mod helloworld {
///     grpc_server::include_proto!("helloworld");
/// }
/// use helloworld::greeter_server::{Greeter, GreeterServer};
/// ```
///
/// `grpc_server::include_proto!` and `grpc_client::include_proto!` are
/// this macro.
#[macro_export]
macro_rules! include_proto {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}

pub use body::GrpcBody;
pub use error::BoxError;
pub use limits::MessageLimits;
pub use metadata::MetadataMap;
pub use method::GrpcMethod;
pub use request::{IntoRequest, IntoStreamingRequest, Request, Response};
pub use status::{Code, Status};
pub use streaming::Streaming;
