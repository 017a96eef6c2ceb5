//! The server side of the gRPC stack.
//!
//! - [`handler`]: adapters from typed async handlers (unary, server
//!   streaming, client streaming, bidirectional, and the step-by-step
//!   [`ServerCall`](handler::ServerCall)) to channel-level services;
//! - [`Router`]: dispatch by path, UNIMPLEMENTED for unknown methods;
//! - [`Server`]: runs any such `Service` stack over hyper's HTTP/2 server,
//!   with safe defaults ([`config`]) and graceful shutdown, in plain text
//!   (h2c) or over TLS ([`tls`], feature `tls`, on by default), over any
//!   [`Listener`](grpc_transport::Listener): TCP, Unix domain sockets, or
//!   in memory.
//!
//! Every gRPC concern beyond these (limits, compression, deadlines, auth,
//! status mapping) is a tower layer in `grpc-layers`, stacked between the
//! server and the router.
//!
//! ```no_run
//! use grpc_core::codec::BytesCodec;
//! use grpc_core::{GrpcMethod, Request, Response, Status};
//! use grpc_server::{handler, Router, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new().route(
//!     GrpcMethod::new("echo.Echo", "Unary"),
//!     handler::unary(BytesCodec, |req: Request<bytes::Bytes>| async move {
//!         Ok::<_, Status>(Response::new(req.into_inner()))
//!     }),
//! );
//! Server::new().serve("127.0.0.1:50051".parse().unwrap(), router).await
//! # }
//! ```
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the workspace's `rust-version`
//! (currently 1.85).

pub mod body;
pub mod codegen;

/// Brings a proto package's generated code into scope; see
/// [`grpc_core::include_proto!`].
pub use grpc_core::include_proto;
pub mod handler;
pub mod router;
pub use grpc_transport::runtime;
pub mod server;
#[cfg(feature = "default-stack")]
pub mod stack;
#[cfg(feature = "tls")]
pub mod tls;

pub use router::{NamedService, RegisterService, Router, RouterFuture};
pub use server::{config, PeerAddr, Server};
#[cfg(feature = "tls")]
pub use tls::{ServerTlsConfig, TlsInfo};
