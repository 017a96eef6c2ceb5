//! Code generation for the gRPC stack: turns `.proto` files into prost
//! messages, a server trait per service and a typed client per service.
//!
//! Run it from a `build.rs`. The `.proto` files are parsed by
//! [protox](https://docs.rs/protox), a pure-Rust compiler, so no system
//! `protoc` is needed; the messages come from [`prost_build`].
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     grpc_build::compile_protos("proto/echo.proto")?;
//!     Ok(())
//! }
//! ```
//!
//! Then include the generated file (named after the proto package) in the
//! crate:
//!
//! ```ignore
//! pub mod echo {
//!     include!(concat!(env!("OUT_DIR"), "/grpcstack.echo.rs"));
//! }
//! ```
//!
//! The crate that includes it depends on `prost`, `grpc-core`, and on
//! `grpc-server` and/or `grpc-client` for the sides it generates.
//!
//! # What is generated
//!
//! For `service Echo` in `package grpcstack.echo`, next to the messages:
//!
//! - `echo_server`: the `Echo` trait, with one method per RPC, taking
//!   `Request<In>` (or `Request<Streaming<In>>` when the client streams) and
//!   returning `impl Future<Output = Result<Response<Out>, Status>> + Send`.
//!   A server-streaming RPC `Foo` answers with `Response<Self::FooStream>`,
//!   an associated type the implementation picks. `EchoServer<T>` wraps an
//!   implementation and registers every method with a `grpc_server::Router`
//!   (`RegisterService`), under the path `/grpcstack.echo.Echo/Method`.
//! - `echo_client`: `EchoClient<S>` over any `grpc_client::GrpcService`
//!   (such as a `Channel`), with one `async fn` per RPC that takes a message
//!   or a `Request` (a stream, or a `Request` around one, when the client
//!   streams), plus `max_receive_message_size` and
//!   `max_send_message_size`. An RPC whose name would collide with one
//!   of these (or with `new`) gets a trailing `_` on the client.
//!
//! Method names are `snake_case` (keywords become raw identifiers such as
//! `r#type`), proto comments become doc comments, and `deprecated` options
//! become `#[deprecated]`. The generated code names everything by absolute
//! path (`::grpc_server::codegen::…`, `::grpc_client::codegen::…`), so it
//! needs no imports.
//!
//! Use [`configure`] to generate only one side, pick the output directory,
//! write the descriptor set, or pass your own [`prost_build::Config`].
//!
//! The generated code is pretty-printed by prost-build's formatter, which is
//! on unless a custom config turns it off with `Config::format(false)`.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the `rust-version` of the workspace
//! manifest (currently 1.85). It may be raised in a minor release.

mod builder;
mod client;
mod docs;
mod generator;
mod naming;
mod server;

use std::io;
use std::path::Path;

pub use builder::Builder;
pub use prost_build;

/// Compiles one `.proto` file with the default settings: both server and
/// client, written to `OUT_DIR`, with the file's directory as the only
/// include path.
///
/// ```no_run
/// // build.rs
/// fn main() -> std::io::Result<()> {
///     grpc_build::compile_protos("proto/echo.proto")
/// }
/// ```
///
/// # Errors
///
/// See [`Builder::compile_protos`].
pub fn compile_protos(proto: impl AsRef<Path>) -> io::Result<()> {
    let proto = proto.as_ref();
    configure().compile_protos(&[proto], &[parent_dir(proto)])
}

/// The directory a file is in; `.` for a bare file name.
fn parent_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A [`Builder`] with the default settings, to change before compiling.
///
/// ```no_run
/// // build.rs: a client-only crate
/// fn main() -> std::io::Result<()> {
///     grpc_build::configure()
///         .build_server(false)
///         .compile_protos(&["proto/echo.proto", "proto/demo.proto"], &["proto"])
/// }
/// ```
pub fn configure() -> Builder {
    Builder::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_proto_is_searched_for_imports_in_its_own_directory() {
        assert_eq!(
            parent_dir(Path::new("proto/echo.proto")),
            Path::new("proto")
        );
        assert_eq!(parent_dir(Path::new("/abs/echo.proto")), Path::new("/abs"));
        assert_eq!(parent_dir(Path::new("echo.proto")), Path::new("."));
    }
}
