//! [`RequireTransportSecurity`]: a request extension saying a call carries
//! credentials and must not be sent over a plaintext connection.
//!
//! A layer cannot see the transport a request will go out on: at the layer
//! level a request's URI is a path, and the channel fills in the scheme and
//! authority later. So a layer that attaches credentials (`grpc-layers`'
//! client auth layer) puts this marker in the request extensions, and the
//! channel, which knows whether its connection is TLS, refuses a marked
//! request on a plaintext one before anything is sent: `grpc-client`'s
//! `Channel` answers it with `UNAUTHENTICATED`.
//!
//! ```
//! use grpc_core::security::RequireTransportSecurity;
//!
//! let mut request = http::Request::new(());
//! request.extensions_mut().insert(RequireTransportSecurity);
//! // A transport that is not TLS must refuse it:
//! let refuse = request.extensions().get::<RequireTransportSecurity>().is_some();
//! assert!(refuse);
//! ```
//!
//! The marker is a promise only a transport that reads it keeps: a channel
//! of another library that ignores it sends the request as it is.

/// Marks a request that carries credentials: the transport must refuse it
/// unless the connection is secure (TLS); see the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequireTransportSecurity;
