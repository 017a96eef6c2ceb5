//! Services shared by the example programs and the end-to-end tests.
//!
//! The code is generated at build time by `grpc-build` from the files in
//! `proto/` (see `build.rs`): each module holds the prost messages of one
//! proto package, a `<service>_server` module with the trait to implement
//! and the server to register, and a `<service>_client` module with the
//! typed client.

/// The `grpcstack.echo` package (`proto/echo.proto`): the `Echo` service,
/// which exercises all four RPC kinds, metadata and statuses. The end-to-end
/// and cross-implementation tests use it, so it is kept wire-stable.
#[allow(missing_docs)]
pub mod echo {
    include!(concat!(env!("OUT_DIR"), "/grpcstack.echo.rs"));
}

/// The `demo` package (`proto/demo.proto`): the `Chat` service of the
/// README, with one method of each RPC kind.
#[allow(missing_docs)]
pub mod demo {
    grpc_server::include_proto!("demo");
}

pub mod axum_grpc;
pub mod echo_cases;
pub mod echo_service;
pub mod interop;
pub mod telemetry;
