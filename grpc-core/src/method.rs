//! [`GrpcMethod`]: which service and method a call is for, as a request extension.

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
