//! [`MethodPath`]: the one parser of a call's `:path`, and [`MethodName`]:
//! what a per-method setting names (a method, a service, or every call).
//!
//! PROTOCOL-HTTP2 gives the path of a call as
//!
//! ```text
//! Path → ":path" "/" Service-Name "/" {method name}
//! Service-Name → {IDENTIFIER "."} IDENTIFIER
//! ```
//!
//! so a method path has exactly two non-empty segments after its leading
//! `/`, and a service name never holds a `/`. Everything in this workspace
//! that splits a path (the router, auth rules, load-shed caps, telemetry,
//! the per-method table) splits it here.

use std::fmt;

use super::GrpcMethod;

const EXPECTED_METHOD: &str = "a method is /pkg.Service/Method (the leading / may be left out)";

/// A gRPC method path, `/package.Service/Method`, split once.
///
/// ```
/// use grpc_core::method::MethodPath;
///
/// let path = MethodPath::parse("/helloworld.Greeter/SayHello").unwrap();
/// assert_eq!(path.service(), "helloworld.Greeter");
/// assert_eq!(path.method(), "SayHello");
/// assert_eq!(path.full_name(), "helloworld.Greeter/SayHello");
/// assert_eq!(path.as_str(), "/helloworld.Greeter/SayHello");
///
/// // Not a method path: no leading slash, an empty part, a third segment.
/// for bad in ["helloworld.Greeter/SayHello", "/Greeter/", "//SayHello", "/a/b/c", "/"] {
///     assert!(MethodPath::parse(bad).is_err(), "{bad}");
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodPath<'a> {
    path: &'a str,
    /// Index of the `/` between service and method.
    split: usize,
}

impl<'a> MethodPath<'a> {
    /// Parses `/package.Service/Method`.
    pub fn parse(path: &'a str) -> Result<MethodPath<'a>, InvalidMethodName> {
        let invalid = || InvalidMethodName::new(path, "a method path is /package.Service/Method");
        let rest = path.strip_prefix('/').ok_or_else(invalid)?;
        let (service, method) = rest.split_once('/').ok_or_else(invalid)?;
        if service.is_empty() || method.is_empty() || method.contains('/') {
            return Err(invalid());
        }
        Ok(MethodPath {
            path,
            split: 1 + service.len(),
        })
    }

    /// The fully qualified service name, `package.Service`.
    pub fn service(&self) -> &'a str {
        &self.path[1..self.split]
    }

    /// The method name, `Method`.
    pub fn method(&self) -> &'a str {
        &self.path[self.split + 1..]
    }

    /// `package.Service/Method`: the path without its leading `/`, the form
    /// telemetry records as `rpc.method`.
    pub fn full_name(&self) -> &'a str {
        &self.path[1..]
    }

    /// The whole path, `/package.Service/Method`.
    pub fn as_str(&self) -> &'a str {
        self.path
    }
}

impl fmt::Debug for MethodPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MethodPath").field(&self.path).finish()
    }
}

impl fmt::Display for MethodPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path)
    }
}

/// What a per-method setting applies to: one method, every method of a
/// service, or every call (the default). It is the `name` of a service
/// config `methodConfig` entry, and the one argument type of every
/// per-method setter (auth rules, load-shed caps, the per-method table).
///
/// From a string, with [`parse`](Self::parse):
///
/// | string | names |
/// |---|---|
/// | `"/pkg.Service/Method"` or `"pkg.Service/Method"` | that method |
/// | `"pkg.Service"` (slashes around it ignored) | every method of the service |
/// | `""` or `"/"` | every call: the default |
///
/// ```
/// use grpc_core::method::MethodName;
///
/// assert_eq!(MethodName::parse("/pkg.S/M").unwrap(), MethodName::method("pkg.S", "M").unwrap());
/// assert_eq!(MethodName::parse("pkg.S").unwrap(), MethodName::service("pkg.S").unwrap());
/// assert_eq!(MethodName::parse("").unwrap(), MethodName::Default);
/// assert!(MethodName::parse("pkg.S/").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MethodName {
    /// One method: `/{service}/{method}`, kept as that path.
    Method(Box<str>),
    /// Every method of one service, `package.Service`.
    Service(Box<str>),
    /// Every call that no method or service entry names.
    Default,
}

impl MethodName {
    /// Names one method of a service. Both parts must be non-empty and hold
    /// no `/`.
    pub fn method(service: &str, method: &str) -> Result<MethodName, InvalidMethodName> {
        let path = format!("/{service}/{method}");
        MethodPath::parse(&path)?;
        Ok(MethodName::Method(path.into_boxed_str()))
    }

    /// Names every method of a service, `package.Service`; slashes around
    /// the name are ignored. The name must be non-empty and hold no `/`.
    pub fn service(service: &str) -> Result<MethodName, InvalidMethodName> {
        let name = service.trim_matches('/');
        if name.is_empty() || name.contains('/') {
            return Err(InvalidMethodName::new(
                service,
                "a service name is package.Service, non-empty and without '/'",
            ));
        }
        Ok(MethodName::Service(name.into()))
    }

    /// Parses a method (`[/]pkg.Service/Method`), a service
    /// (`pkg.Service`) or the default (`""`); see the [type docs](Self).
    pub fn parse(name: &str) -> Result<MethodName, InvalidMethodName> {
        let trimmed = name.trim_start_matches('/');
        if trimmed.is_empty() {
            return Ok(MethodName::Default);
        }
        match trimmed.split_once('/') {
            Some((service, method)) => MethodName::method(service, method)
                .map_err(|_| InvalidMethodName::new(name, EXPECTED_METHOD)),
            None => MethodName::service(trimmed),
        }
    }

    /// Parses a method path only: `[/]pkg.Service/Method`.
    pub fn parse_method(name: &str) -> Result<MethodName, InvalidMethodName> {
        match MethodName::parse(name)? {
            method @ MethodName::Method(_) => Ok(method),
            _ => Err(InvalidMethodName::new(name, EXPECTED_METHOD)),
        }
    }
}

impl From<GrpcMethod> for MethodName {
    fn from(method: GrpcMethod) -> MethodName {
        MethodName::Method(method.to_string().into_boxed_str())
    }
}

impl From<MethodPath<'_>> for MethodName {
    fn from(path: MethodPath<'_>) -> MethodName {
        MethodName::Method(path.as_str().into())
    }
}

impl std::str::FromStr for MethodName {
    type Err = InvalidMethodName;

    fn from_str(name: &str) -> Result<MethodName, InvalidMethodName> {
        MethodName::parse(name)
    }
}

impl fmt::Display for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MethodName::Method(path) => f.write_str(path),
            MethodName::Service(service) => f.write_str(service),
            MethodName::Default => f.write_str("(every method)"),
        }
    }
}

/// A string that is not the method path, method or service it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidMethodName {
    input: Box<str>,
    expected: &'static str,
}

impl InvalidMethodName {
    fn new(input: &str, expected: &'static str) -> InvalidMethodName {
        InvalidMethodName {
            input: input.into(),
            expected,
        }
    }

    /// The string that was refused.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for InvalidMethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.input, self.expected)
    }
}

impl std::error::Error for InvalidMethodName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_path_splits_into_service_and_method() {
        let path = MethodPath::parse("/a.b.C/D").unwrap();
        assert_eq!((path.service(), path.method()), ("a.b.C", "D"));
        assert_eq!(path.full_name(), "a.b.C/D");
    }

    #[test]
    fn paths_of_another_shape_are_refused() {
        for path in [
            "", "/", "//", "nopath", "/only", "//M", "/S/", "/a/b/c", "a/b", "/a//b",
        ] {
            assert!(MethodPath::parse(path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn a_name_is_a_method_a_service_or_the_default() {
        assert_eq!(
            MethodName::parse("pkg.S/M").unwrap(),
            MethodName::Method("/pkg.S/M".into())
        );
        assert_eq!(MethodName::parse("/pkg.S/").unwrap_err().input(), "/pkg.S/");
        assert_eq!(
            MethodName::parse("/pkg.S").unwrap(),
            MethodName::Service("pkg.S".into())
        );
        assert_eq!(MethodName::parse("/").unwrap(), MethodName::Default);
        assert!(MethodName::parse("a/b/c").is_err());
        assert!(MethodName::service("a/b").is_err());
        assert!(MethodName::parse_method("pkg.S").is_err());
        assert_eq!(
            MethodName::from(GrpcMethod::new("pkg.S", "M")),
            MethodName::parse_method("pkg.S/M").unwrap()
        );
    }

    #[test]
    fn errors_name_the_input() {
        let error = MethodName::parse("x/").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"x/\": a method is /pkg.Service/Method (the leading / may be left out)"
        );
    }
}
