//! The server stacks `bench-server --stack` chooses between.
//!
//! - `bare`: the [`Router`] alone, with the generated services.
//! - `default`: our default server stack around the same router: exactly
//!   `grpc_server::stack::default_layers()` (status, deadline, limits,
//!   compression from `grpc-layers`), so the benchmarks measure what a user
//!   gets by default.

use std::convert::Infallible;
use std::str::FromStr;

use bytes::Bytes;
use grpc_core::{BoxError, GrpcBody};
use grpc_server::Router;
use http_body::Body;
use tower_service::Service;

/// Which server stack to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// Our full default server stack.
    Default,
    /// The router alone.
    Bare,
}

impl FromStr for Stack {
    type Err = String;

    fn from_str(s: &str) -> Result<Stack, String> {
        match s {
            "default" => Ok(Stack::Default),
            "bare" => Ok(Stack::Bare),
            _ => Err("expected default or bare".into()),
        }
    }
}

/// Our default server stack around `router`; see the [module docs](self).
pub fn default_stack(
    router: Router,
) -> impl Service<
    http::Request<GrpcBody>,
    Response = http::Response<impl Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
       + Send
       + 'static {
    grpc_server::stack::default_layers().service(router)
}
