//! The client side of the gRPC stack: a channel that multiplexes calls over
//! one hyper HTTP/2 connection, typed calls for the four RPC kinds, and a
//! low-level call object for full control of one stream.
//!
//! - [`Endpoint`] says where to connect and how (timeouts, HTTP/2 window
//!   and keepalive settings, `user-agent`, reconnection [`Backoff`]).
//! - [`Channel`] is the connection: cheap to clone, lazily connected,
//!   reconnecting with backoff, and a plain
//!   `tower_service::Service<http::Request<GrpcBody>>`, so any tower layer
//!   can wrap it.
//! - [`Grpc`] makes typed calls over any [`GrpcService`] (a channel, or a
//!   channel inside a stack of layers); generated clients are built on it.
//! - [`Call`] drives one call step by step: send the head, send messages,
//!   half-close, receive initial metadata, messages, trailing metadata, or
//!   cancel.
//!
//! ```no_run
//! use bytes::Bytes;
//! use grpc_client::{Endpoint, Grpc};
//! use grpc_core::codec::BytesCodec;
//! use grpc_core::{GrpcMethod, Request};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), grpc_core::Status> {
//! let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let mut client = Grpc::new(channel);
//! let reply = client
//!     .unary(
//!         Request::new(Bytes::from_static(b"hello")),
//!         GrpcMethod::new("echo.Echo", "Say"),
//!         BytesCodec,
//!     )
//!     .await?;
//! println!("{:?}", reply.into_inner());
//! # Ok(()) }
//! ```
//!
//! How a response is read, and how transport failures become statuses, is
//! in [`call`]; the channel's own errors are statuses already (see
//! [`channel`]).
//!
//! # Cancellation
//!
//! Dropping a call future, a response [`Streaming`](grpc_core::Streaming)
//! before its end, or a [`Call`], resets the HTTP/2 stream with
//! `RST_STREAM(CANCEL)`; other calls on the connection go on.
//!
//! # Runtime
//!
//! The client runs on tokio: connections and connection attempts are tokio
//! tasks. `http://` endpoints speak HTTP/2 with prior knowledge; `https://`
//! endpoints speak HTTP/2 over TLS (feature `tls`, on by default; see
//! [`tls`]); `unix:/path` endpoints speak HTTP/2 over a Unix domain socket;
//! [`Endpoint::connector`] runs a channel over any
//! [`Connect`](grpc_transport::Connect), an in-memory pipe included.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the `rust-version` of the workspace
//! manifest (currently 1.85). It may be raised in a minor release.

pub mod backoff;
pub mod call;
pub mod channel;
pub mod codegen;

/// Brings a proto package's generated code into scope; see
/// [`grpc_core::include_proto!`].
pub use grpc_core::include_proto;
pub mod endpoint;
pub mod error;
pub mod service;
pub use grpc_transport::runtime;
#[cfg(feature = "default-stack")]
pub mod stack;
pub mod status;
#[cfg(feature = "tls")]
pub mod tls;

pub use backoff::Backoff;
pub use call::{Call, Grpc};
pub use channel::Channel;
pub use endpoint::Endpoint;
pub use error::Error;
pub use service::GrpcService;
#[cfg(feature = "tls")]
pub use tls::ClientTlsConfig;
