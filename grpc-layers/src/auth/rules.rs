//! [`Access`]: what a call to a method needs, and the per-method rules
//! that pick it.

use std::fmt;
use std::sync::Arc;

use grpc_core::method::{MethodMap, MethodName};

use super::AuthRequest;

/// What a call needs to reach the handler: nothing, any caller the
/// authorizer accepts, or a caller that also passes a check. Given per
/// method, per service and as the default of a
/// [`ServerAuthLayer`](super::ServerAuthLayer); see its
/// [`method`](super::ServerAuthLayer::method) for the precedence.
///
/// ```
/// use grpc_layers::auth::{Access, Identity};
///
/// // Callers the authorizer accepts, whose identity is "admin".
/// let admins = Access::identity(|name: &String| name == "admin");
/// // The same, written over the whole request.
/// let also_admins = Access::only(|request| {
///     request.identity::<String>().is_some_and(|name| name == "admin")
/// });
/// # let _ = (admins, also_admins);
/// ```
#[derive(Clone)]
pub struct Access {
    kind: Kind,
}

pub(crate) type Check = Arc<dyn Fn(&AuthRequest) -> bool + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Kind {
    /// No credentials needed: the authorizer is not asked.
    Open,
    /// The authorizer must let the call through.
    Authenticated,
    /// The authorizer must let the call through, and the check hold.
    Only(Check),
}

impl Access {
    /// No credentials needed: the authorizer is not asked, and the call
    /// goes straight to the handler (with no identity).
    pub fn open() -> Access {
        Access { kind: Kind::Open }
    }

    /// Any call the authorizer lets through (the default).
    pub fn authenticated() -> Access {
        Access {
            kind: Kind::Authenticated,
        }
    }

    /// Calls the authorizer lets through and for which `check` holds,
    /// given the request as the authorizer handed it back (with its
    /// identity); the others are `PERMISSION_DENIED`.
    pub fn only(check: impl Fn(&AuthRequest) -> bool + Send + Sync + 'static) -> Access {
        Access {
            kind: Kind::Only(Arc::new(check)),
        }
    }

    /// Calls whose [`Identity<T>`](super::Identity) (attached by the
    /// authorizer) passes `check`; a call with another identity or none is
    /// `PERMISSION_DENIED`.
    pub fn identity<T: Send + Sync + 'static>(
        check: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Access {
        Access::only(move |request| request.identity::<T>().is_some_and(&check))
    }

    /// No caller may: authenticated calls are `PERMISSION_DENIED` (and
    /// calls without valid credentials `UNAUTHENTICATED`, as everywhere).
    pub fn deny() -> Access {
        Access::only(|_| false)
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Open => "Access::open",
            Kind::Authenticated => "Access::authenticated",
            Kind::Only(_) => "Access::only(..)",
        })
    }
}

/// The access of each call: by full method, else by service, else the
/// default, in the one per-method table.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    table: MethodMap<Access>,
    default: Access,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            table: MethodMap::new(),
            default: Access::authenticated(),
        }
    }
}

impl Rules {
    /// A rule for `/pkg.Service/Method` (the leading `/` may be left out).
    ///
    /// # Panics
    ///
    /// When `method` is not of the form `pkg.Service/Method`.
    pub(crate) fn method(&mut self, method: &str, access: Access) {
        let name = MethodName::parse_method(method)
            .unwrap_or_else(|error| panic!("a method rule names a full method: {error}"));
        self.table.insert(name, access);
    }

    /// A rule for every method of `pkg.Service`.
    ///
    /// # Panics
    ///
    /// When `service` is empty or contains a `/`.
    pub(crate) fn service(&mut self, service: &str, access: Access) {
        let name = MethodName::service(service)
            .unwrap_or_else(|error| panic!("a service rule names a service: {error}"));
        self.table.insert(name, access);
    }

    pub(crate) fn set_default(&mut self, access: Access) {
        self.default = access;
    }

    /// The access of a call to `path`: method beats service beats default.
    pub(crate) fn access(&self, path: &str) -> &Access {
        self.table.get(path).unwrap_or(&self.default)
    }
}
