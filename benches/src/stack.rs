//! The server stacks `bench-server --stack` chooses between.
//!
//! - `bare`: the [`Router`] alone, with the generated services.
//! - `default`: our default server stack around the same router. Today that
//!   is the router alone too: the protocol layers of `grpc-layers` (limits,
//!   compression, deadline, status) are not written yet. When they land,
//!   [`default_stack`] is where they go, so every benchmark picks them up.

use std::convert::Infallible;
use std::str::FromStr;

use grpc_core::GrpcBody;
use grpc_server::Router;
use tower::ServiceBuilder;
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
    Response = http::Response<GrpcBody>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
       + Send
       + 'static {
    ServiceBuilder::new().service(router)
}
