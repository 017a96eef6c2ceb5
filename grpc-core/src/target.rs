//! [`Target`]: the one parser of gRPC target URIs, as gRPC's naming
//! document gives them, for everything that reads one: the client's
//! `Endpoint`, the server's serve address, telemetry's `server.address`
//! and A66's `grpc.target`, and the name resolvers.
//!
//! | target | is |
//! |---|---|
//! | `dns:[//authority/]host[:port]` | a DNS name (or an IP literal) to resolve, port 443 unless given; `authority` names the DNS server |
//! | `host[:port]`, with no scheme | the same, as `dns:///host[:port]` (gRPC's default scheme) |
//! | `ipv4:address[:port][,address[:port],...]` | IPv4 addresses, port 443 unless given |
//! | `ipv6:address[:port][,...]` | IPv6 addresses, in brackets when a port follows (`[::1]:50051`), port 443 unless given |
//! | `unix:path`, `unix:///absolute/path` | a Unix domain socket: `unix:path` may be relative, `unix://` takes an absolute path and no host |
//! | `unix-abstract:name` | a socket in Linux's abstract namespace |
//! | `http://host[:port]`, `https://host[:port]` | an endpoint URI (this workspace's own form): h2c or TLS, port 80 or 443 unless given |
//!
//! ```
//! use grpc_core::target::Target;
//!
//! let target = Target::parse("dns:///api.example.com:50051").unwrap();
//! assert_eq!(target.host_port(), Some(("api.example.com", 50051)));
//! assert_eq!(target.to_string(), "dns:///api.example.com:50051");
//!
//! // No scheme: a DNS name, by gRPC's default.
//! let target = Target::parse("localhost:50051").unwrap();
//! assert_eq!(target.to_string(), "dns:///localhost:50051");
//!
//! let target = Target::parse("unix:///run/app.sock").unwrap();
//! assert_eq!(target, Target::Unix("/run/app.sock".into()));
//!
//! let target = Target::parse("ipv4:10.0.0.1:50051,10.0.0.2").unwrap();
//! assert_eq!(target.addresses().unwrap().len(), 2);
//!
//! assert!(Target::parse("unix://host/path").is_err());
//! assert!(Target::parse("dns:///host:port").is_err());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The port of a `dns:`, `ipv4:` or `ipv6:` target that names none, as
/// gRPC's naming document says.
pub const DEFAULT_PORT: u16 = 443;

/// A gRPC target, parsed; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// A name to resolve through DNS.
    Dns {
        /// The DNS server to ask (`dns://8.8.8.8/…`), if named.
        authority: Option<String>,
        /// The name, or an IP literal (without brackets).
        host: String,
        /// The port ([`DEFAULT_PORT`] unless given).
        port: u16,
    },
    /// Addresses given as they are (`ipv4:`, `ipv6:`).
    Addresses(Vec<SocketAddr>),
    /// A Unix domain socket at this path.
    Unix(String),
    /// A socket in Linux's abstract namespace.
    UnixAbstract(String),
    /// An `http://` (h2c) or `https://` (TLS) endpoint URI.
    Http {
        /// Whether it is `https://`.
        tls: bool,
        /// The host (without brackets).
        host: String,
        /// The port (80 or 443 unless given).
        port: u16,
    },
}

impl Target {
    /// Parses a target; see the [module docs](self) for the forms.
    pub fn parse(target: &str) -> Result<Target, InvalidTarget> {
        let invalid = |why| InvalidTarget {
            target: target.into(),
            why,
        };
        if let Some(rest) = target.strip_prefix("dns:") {
            let (authority, name) = match rest.strip_prefix("//") {
                Some(after) => {
                    let (authority, name) = after
                        .split_once('/')
                        .ok_or_else(|| invalid("dns:// takes an authority, then /host[:port]"))?;
                    ((!authority.is_empty()).then(|| authority.to_owned()), name)
                }
                None => (None, rest),
            };
            let (host, port) = host_port(name).ok_or_else(|| invalid("not host[:port]"))?;
            return Ok(Target::Dns {
                authority,
                host,
                port: port.unwrap_or(DEFAULT_PORT),
            });
        }
        if let Some(rest) = target.strip_prefix("unix-abstract:") {
            return Ok(Target::UnixAbstract(rest.to_owned()));
        }
        if let Some(rest) = target.strip_prefix("unix:") {
            let path = match rest.strip_prefix("//") {
                Some(path) if path.starts_with('/') => path,
                Some(_) => {
                    return Err(invalid(
                        "unix:// takes an absolute path and no host: write unix:///path",
                    ))
                }
                None => rest,
            };
            if path.is_empty() {
                return Err(invalid("no socket path"));
            }
            if path.contains('\0') {
                return Err(invalid("the socket path contains a NUL byte"));
            }
            return Ok(Target::Unix(path.to_owned()));
        }
        for (scheme, v6) in [("ipv4:", false), ("ipv6:", true)] {
            if let Some(list) = target.strip_prefix(scheme) {
                let addresses = list
                    .split(',')
                    .map(|one| ip_address(one, v6))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        invalid(if v6 {
                            "not a list of ipv6 addresses"
                        } else {
                            "not a list of ipv4 addresses"
                        })
                    })?;
                return Ok(Target::Addresses(addresses));
            }
        }
        for (scheme, tls) in [("http://", false), ("https://", true)] {
            if let Some(rest) = target.strip_prefix(scheme) {
                let authority = rest.split('/').next().unwrap_or_default();
                let (host, port) =
                    host_port(authority).ok_or_else(|| invalid("not a host[:port] authority"))?;
                let default = if tls { 443 } else { 80 };
                return Ok(Target::Http {
                    tls,
                    host,
                    port: port.unwrap_or(default),
                });
            }
        }
        if target.contains("://") {
            return Err(invalid("an unknown scheme"));
        }
        // No scheme: gRPC's default, DNS. `xds:…` and other schemes of
        // resolvers we do not have fail to read as host[:port].
        let (host, port) =
            host_port(target).ok_or_else(|| invalid("an unknown scheme, or not host[:port]"))?;
        Ok(Target::Dns {
            authority: None,
            host,
            port: port.unwrap_or(DEFAULT_PORT),
        })
    }

    /// The host and port of a target that names one server by host (DNS,
    /// or an endpoint URI): what `server.address` and `server.port` are.
    pub fn host_port(&self) -> Option<(&str, u16)> {
        match self {
            Target::Dns { host, port, .. } | Target::Http { host, port, .. } => Some((host, *port)),
            _ => None,
        }
    }

    /// The addresses of an `ipv4:` or `ipv6:` target.
    pub fn addresses(&self) -> Option<&[SocketAddr]> {
        match self {
            Target::Addresses(addresses) => Some(addresses),
            _ => None,
        }
    }
}

/// Prints the canonical form: `dns:///host:port`, `ipv4:a:p,…`,
/// `ipv6:[a]:p,…`, `unix:///abs` (`unix:rel`), `unix-abstract:name`,
/// `http(s)://host:port` (A66's `grpc.target`).
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = |f: &mut fmt::Formatter<'_>, host: &str| {
            if host.contains(':') {
                write!(f, "[{host}]")
            } else {
                f.write_str(host)
            }
        };
        match self {
            Target::Dns {
                authority,
                host: name,
                port,
            } => {
                write!(f, "dns://{}/", authority.as_deref().unwrap_or(""))?;
                host(f, name)?;
                write!(f, ":{port}")
            }
            Target::Addresses(addresses) => {
                let v6 = addresses.first().is_some_and(SocketAddr::is_ipv6);
                f.write_str(if v6 { "ipv6:" } else { "ipv4:" })?;
                for (i, address) in addresses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{address}")?;
                }
                Ok(())
            }
            Target::Unix(path) if path.starts_with('/') => write!(f, "unix://{path}"),
            Target::Unix(path) => write!(f, "unix:{path}"),
            Target::UnixAbstract(name) => write!(f, "unix-abstract:{name}"),
            Target::Http {
                tls,
                host: name,
                port,
            } => {
                f.write_str(if *tls { "https://" } else { "http://" })?;
                host(f, name)?;
                write!(f, ":{port}")
            }
        }
    }
}

impl std::str::FromStr for Target {
    type Err = InvalidTarget;

    fn from_str(target: &str) -> Result<Target, InvalidTarget> {
        Target::parse(target)
    }
}

/// `host:port`, `[v6]:port`, `host`, or a bare IPv6 literal.
fn host_port(s: &str) -> Option<(String, Option<u16>)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match s.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => {
            s.parse::<Ipv6Addr>().ok()?;
            Some((s.to_owned(), None))
        }
        Some((host, port)) if !host.is_empty() => Some((host.to_owned(), Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((s.to_owned(), None)),
    }
}

/// One address of an `ipv4:` / `ipv6:` list.
fn ip_address(s: &str, v6: bool) -> Option<SocketAddr> {
    let (host, port) = host_port(s)?;
    let ip: IpAddr = if v6 {
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(SocketAddr::new(ip, port.unwrap_or(DEFAULT_PORT)))
}

/// A string that is not a target this parser knows, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTarget {
    target: Box<str>,
    why: &'static str,
}

impl InvalidTarget {
    /// The string that was refused.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for InvalidTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid gRPC target {:?}: {}", self.target, self.why)
    }
}

impl std::error::Error for InvalidTarget {}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(host: &str, port: u16) -> Target {
        Target::Dns {
            authority: None,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn the_naming_documents_dns_forms_parse() {
        assert_eq!(
            Target::parse("dns:///grpc.io:50051").unwrap(),
            dns("grpc.io", 50051)
        );
        assert_eq!(Target::parse("dns:grpc.io").unwrap(), dns("grpc.io", 443));
        assert_eq!(
            Target::parse("dns://8.8.8.8/grpc.io:50051").unwrap(),
            Target::Dns {
                authority: Some("8.8.8.8".into()),
                host: "grpc.io".into(),
                port: 50051
            }
        );
        assert_eq!(Target::parse("dns:///[::1]:9").unwrap(), dns("::1", 9));
        assert_eq!(
            Target::parse("grpc.io:50051").unwrap(),
            dns("grpc.io", 50051)
        );
        assert_eq!(Target::parse("localhost").unwrap(), dns("localhost", 443));
    }

    #[test]
    fn unix_forms_parse_and_a_host_is_refused() {
        assert_eq!(
            Target::parse("unix:rel/sock").unwrap(),
            Target::Unix("rel/sock".into())
        );
        assert_eq!(
            Target::parse("unix:/abs/sock").unwrap(),
            Target::Unix("/abs/sock".into())
        );
        assert_eq!(
            Target::parse("unix:///abs/sock").unwrap(),
            Target::Unix("/abs/sock".into())
        );
        assert!(Target::parse("unix://host/abs").is_err());
        assert!(Target::parse("unix:").is_err());
        assert_eq!(
            Target::parse("unix-abstract:name").unwrap(),
            Target::UnixAbstract("name".into())
        );
    }

    #[test]
    fn address_lists_parse_with_the_default_port() {
        let target = Target::parse("ipv4:10.0.0.1:1,10.0.0.2").unwrap();
        assert_eq!(
            target.addresses().unwrap(),
            [
                "10.0.0.1:1".parse().unwrap(),
                "10.0.0.2:443".parse().unwrap()
            ]
        );
        let target = Target::parse("ipv6:[::1]:50051,::2").unwrap();
        assert_eq!(
            target.addresses().unwrap(),
            ["[::1]:50051".parse().unwrap(), "[::2]:443".parse().unwrap()]
        );
        assert!(Target::parse("ipv4:::1").is_err());
        assert!(Target::parse("ipv6:10.0.0.1").is_err());
        assert!(Target::parse("ipv4:10.0.0.1,").is_err());
    }

    #[test]
    fn endpoint_uris_parse_with_their_default_ports() {
        assert_eq!(
            Target::parse("http://127.0.0.1").unwrap().host_port(),
            Some(("127.0.0.1", 80))
        );
        assert_eq!(
            Target::parse("https://[::1]:8443/").unwrap().host_port(),
            Some(("::1", 8443))
        );
    }

    #[test]
    fn malformed_targets_say_why() {
        for bad in [
            "",
            "dns:",
            "dns://x",
            "host:port",
            "xds:///svc",
            "ftp://x",
            ":80",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("invalid gRPC target"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn targets_print_in_canonical_form_and_read_back() {
        for (input, canonical) in [
            ("grpc.io", "dns:///grpc.io:443"),
            ("dns://1.1.1.1/h:1", "dns://1.1.1.1/h:1"),
            ("[::1]:5", "dns:///[::1]:5"),
            ("ipv6:::1", "ipv6:[::1]:443"),
            ("unix:/a", "unix:///a"),
            ("unix:a", "unix:a"),
            ("https://h", "https://h:443"),
        ] {
            let target = Target::parse(input).unwrap();
            assert_eq!(target.to_string(), canonical);
            assert_eq!(Target::parse(canonical).unwrap(), target);
        }
    }
}
