//! The vocabulary of a call's method: [`MethodPath`], the one parser of
//! `/package.Service/Method`; [`MethodName`], what a per-method setting
//! names; [`MethodMap`], the per-method table with service-config
//! precedence; [`GrpcMethod`], which service and method a call is for, as a
//! request extension; [`UnknownMethod`], the mark of a router's answer to a
//! call for a method it does not serve, as a response extension.

mod map;
mod path;

pub use map::MethodMap;
pub use path::{InvalidMethodName, MethodName, MethodPath};

/// The fully qualified service name and the method name of a call.
///
/// The client's typed calls and the server's router insert it into the
/// `http::Request` extensions, so layers (metrics, tracing, retry policies)
/// can read it without parsing the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrpcMethod {
    service: &'static str,
    method: &'static str,
}

impl GrpcMethod {
    /// A method of a service, e.g. `("helloworld.Greeter", "SayHello")`.
    pub const fn new(service: &'static str, method: &'static str) -> Self {
        GrpcMethod { service, method }
    }

    /// The fully qualified service name, e.g. `helloworld.Greeter`.
    pub const fn service(&self) -> &'static str {
        self.service
    }

    /// The method name, e.g. `SayHello`.
    pub const fn method(&self) -> &'static str {
        self.method
    }
}

impl std::fmt::Display for GrpcMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}/{}", self.service, self.method)
    }
}

/// Marks a response as the answer of a router to a call for a method it
/// has no route for (its `UNIMPLEMENTED` answer), in the response
/// extensions.
///
/// Layers outside the router see only the path of a call; this tells them
/// that the path was not a method the server knows, so telemetry can
/// record such a call as `_OTHER` instead of the (unbounded) name the
/// client sent. `grpc-server`'s router sets it.
///
/// ```
/// use grpc_core::method::UnknownMethod;
/// use grpc_core::{GrpcBody, Status};
///
/// let mut response = Status::unimplemented("unknown service x.Y").into_http::<GrpcBody>();
/// response.extensions_mut().insert(UnknownMethod);
/// assert!(response.extensions().get::<UnknownMethod>().is_some());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UnknownMethod;
