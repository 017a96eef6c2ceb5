//! What generated server code refers to. Not for direct use.

pub use crate::handler;
pub use crate::router::{NamedService, RegisterService, Router};
pub use futures_core::Stream;
#[cfg(feature = "prost")]
pub use grpc_core::codec::ProstCodec;
pub use grpc_core::{GrpcMethod, Request, Response, Status, Streaming};
pub use std::future::Future;
pub use std::sync::Arc;
