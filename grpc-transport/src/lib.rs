//! The byte streams the gRPC stack runs HTTP/2 over, and the transport
//! tricks both sides' connection drivers share.
//!
//! - [`Listener`] (server) and [`Connect`] (client): the one seam for every
//!   transport. TCP, Unix domain sockets and an in-memory [`memory::pair`]
//!   are implementations of it, and so can a transport of yours be;
//!   `grpc-server` and `grpc-client` run the same code over all of them
//!   (TLS, when configured, on top).
//! - [`BoxedIo`]: any connection's byte stream as one type.
//! - [`batch`]: write batching, owned by the connection drivers and
//!   switchable on `Server` and `Endpoint`.
//! - [`peer`]: what the server knows of a call's peer ([`PeerAddr`],
//!   [`TlsInfo`]), for layers and handlers to read from the extensions.
//! - [`BoxingExecutor`]: the executor both sides hand hyper.
//! - [`runtime`]: the tokio runtime settings the stack is measured on.
//!
//! Nothing here knows gRPC; `grpc-core` (the gRPC vocabulary) knows nothing
//! of this crate.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the `rust-version` of the workspace
//! manifest (currently 1.85). It may be raised in a minor release.

pub mod batch;
pub mod connect;
mod executor;
pub mod io;
pub mod listener;
pub mod memory;
pub mod peer;
pub mod runtime;

#[cfg(unix)]
pub use connect::UnixConnector;
pub use connect::{Connect, ConnectFuture, TcpConnector};
pub use executor::BoxingExecutor;
pub use io::{BoxedIo, Io};
pub use listener::Listener;
pub use peer::{PeerAddr, TlsInfo};
