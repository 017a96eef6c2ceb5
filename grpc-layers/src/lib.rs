//! gRPC concerns as independent tower layers.
//!
//! Each concern of a gRPC call — message limits, compression, deadlines,
//! authentication, retries, tracing and status mapping — is one `tower::Layer`
//! over the channel level (`Service<http::Request<B>>`), with a server side and,
//! where it makes sense, a client side, usable alone in any tower, hyper or
//! axum stack. The layers arrive here one concern at a time; until then the
//! server and client stacks are the bare router and channel.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the workspace's `rust-version`
//! (currently 1.85).
