//! gRPC concerns as independent tower layers.
//!
//! Each concern of a gRPC call is one `tower::Layer` over the channel level
//! (`Service<http::Request<B>, Response = http::Response<B2>>`), behind its
//! own feature, with a server side and, where it makes sense, a client side,
//! usable alone in any tower, hyper or axum stack:
//!
//! | module | feature | server | client |
//! |---|---|---|---|
//! | `limits` | `limits` | refuse oversized messages either way | the same |
//! | `compression` | `compression-gzip`, `-deflate`, `-zstd` | decompress requests, compress responses | the mirror |
//! | `deadline` | `deadline` | enforce `grpc-timeout` over the whole call | send `grpc-timeout`, enforce locally, propagate |
//! | `auth` | `auth`, `auth-jwt` | authorize each call (tokens, API keys, JWT, your own), per-method rules | attach credentials (static or a refreshed token source), refused over plaintext |
//! | `status` | `status` | errors and panics become statuses | transport errors become statuses |
//! | `otel` | `otel` | OpenTelemetry span and metrics per call, trace context read from the request | the same, trace context sent with the request |
//! | `load_shed` | `load-shed` | refuse calls over a cap on calls in flight (global, per service, per method, optionally adaptive) | — |
//!
//! Every body a layer produces is a valid gRPC wire body. A layer that
//! rejects a call answers with a trailers-only response and keeps the inner
//! service's error type. The order of the whole stack is stated once, in
//! `grpc_server::stack` and `grpc_client::stack`; each module here says
//! only what its layer needs from that order.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the workspace's `rust-version`
//! (currently 1.85).

/// `new`, `layer`, `get_ref`, `get_mut` and `into_inner` of a middleware
/// service whose inner service is its `inner` field, the same for every
/// layer of this crate; `new` takes the layer's defaults.
#[allow(unused_macros)]
macro_rules! middleware_accessors {
    ($name:ident<S $(, $param:ident)*>, $layer:ident) => {
        impl<S> $name<S> {
            /// Wraps `inner` with the default settings of the layer.
            pub fn new(inner: S) -> Self {
                tower_layer::Layer::layer(&$layer::new(), inner)
            }

            /// The layer, to configure and apply to services.
            pub fn layer() -> $layer {
                $layer::new()
            }
        }

        impl<S $(, $param)*> $name<S $(, $param)*> {
            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// The inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "compression")]
pub mod compression;
#[cfg(feature = "deadline")]
pub mod deadline;
#[cfg(feature = "limits")]
pub mod limits;
#[cfg(feature = "load-shed")]
pub mod load_shed;
#[cfg(feature = "otel")]
pub mod otel;

/// The OpenTelemetry API crate the `otel` layers are written against (see
/// the version table in [`otel`]): name it through here, and an SDK of the
/// matching version plugs in.
#[cfg(feature = "otel")]
pub use opentelemetry;
#[cfg(any(feature = "limits", feature = "otel"))]
mod prefix;
#[cfg(feature = "status")]
pub mod status;
