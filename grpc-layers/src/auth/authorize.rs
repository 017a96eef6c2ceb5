//! [`Authorize`]: the strategy that decides whether a call may go on.

use std::future::{ready, Future, Ready};

use grpc_core::Status;

use super::AuthRequest;

/// Decides whether a call may reach the handler, and who its caller is.
///
/// It gets the head of the call by value (path, headers, peer, TLS; the
/// body is not read) and either hands it back, usually with an
/// [`Identity`](super::Identity) attached, or refuses the call with a
/// status:
///
/// - no or bad credentials: [`Status::unauthenticated`];
/// - a known caller who may not make this call:
///   [`Status::permission_denied`].
///
/// A refusal with an OK status is answered as `UNAUTHENTICATED`: the
/// layer fails closed.
///
/// It is implemented for closures taking an [`AuthRequest`] and returning
/// a future (`|request| async move { .. }`), for the ready-made
/// [`BearerTokens`](super::BearerTokens), [`ApiKeys`](super::ApiKeys) and
/// `JwtAuthorizer`, and for `()`, which lets every call through and
/// attaches nothing (for a stack whose only checks are
/// [`Access`](super::Access) rules on the peer, for instance).
///
/// ```
/// use grpc_core::Status;
/// use grpc_layers::auth::{AuthRequest, Authorize};
///
/// /// Only clients that presented a certificate (mTLS) get in.
/// #[derive(Clone)]
/// struct RequireClientCertificate;
///
/// impl Authorize for RequireClientCertificate {
///     type Future = std::future::Ready<Result<AuthRequest, Status>>;
///
///     fn authorize(&self, mut request: AuthRequest) -> Self::Future {
///         let certified = request
///             .tls_info()
///             .and_then(|tls| tls.peer_certificates())
///             .is_some();
///         std::future::ready(if certified {
///             request.set_identity("certified client".to_owned());
///             Ok(request)
///         } else {
///             Err(Status::unauthenticated("a client certificate is required"))
///         })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot authorize calls",
    note = "an authorizer implements `grpc_layers::auth::Authorize`, or is a closure `Fn(AuthRequest) -> impl Future<Output = Result<AuthRequest, Status>>`, such as `|request| async move {{ Ok(request) }}`"
)]
pub trait Authorize {
    /// The future of one decision.
    type Future: Future<Output = Result<AuthRequest, Status>>;

    /// Decides on one call: `Ok` with its head (and an identity) to let it
    /// through, `Err` with the status to answer it with.
    fn authorize(&self, request: AuthRequest) -> Self::Future;
}

impl<F, Fut> Authorize for F
where
    F: Fn(AuthRequest) -> Fut,
    Fut: Future<Output = Result<AuthRequest, Status>>,
{
    type Future = Fut;

    fn authorize(&self, request: AuthRequest) -> Fut {
        self(request)
    }
}

/// Lets every call through and attaches no identity.
impl Authorize for () {
    type Future = Ready<Result<AuthRequest, Status>>;

    fn authorize(&self, request: AuthRequest) -> Self::Future {
        ready(Ok(request))
    }
}
