//! `server.address` and `server.port` from a gRPC target string or a
//! request URI, per the gRPC span conventions (v1.44.0): the channel's
//! configuration, not the connection; the whole target as the address when
//! no host can be read from it.

use http::uri::Authority;

/// What a target says about the server: its address and port, and A66's
/// canonical form of the target (`grpc.target`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) address: String,
    pub(crate) port: Option<u16>,
    pub(crate) canonical: String,
}

/// `host:port`, `[v6]:port` or `host`.
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
        Some((host, _)) if host.contains(':') => Some((s.to_owned(), None)),
        Some((host, port)) => Some((host.to_owned(), Some(port.parse().ok()?))),
        None => Some((s.to_owned(), None)),
    }
}

impl Target {
    /// Reads a gRPC target string (gRPC's naming document), or an
    /// `http(s)://` endpoint URI.
    pub(crate) fn parse(target: &str) -> Target {
        let whole = || Target {
            address: target.to_owned(),
            port: None,
            canonical: target.to_owned(),
        };
        if let Some(rest) = target.strip_prefix("dns:") {
            // dns:[//authority/]host[:port]
            let name = match rest.strip_prefix("//") {
                Some(after) => match after.split_once('/') {
                    Some((_, name)) => name,
                    None => return whole(),
                },
                None => rest,
            };
            return match host_port(name) {
                Some((address, port)) => Target {
                    address,
                    port,
                    canonical: target.to_owned(),
                },
                None => whole(),
            };
        }
        for scheme in ["unix://", "unix:"] {
            if let Some(path) = target.strip_prefix(scheme) {
                return Target {
                    address: path.to_owned(),
                    port: None,
                    canonical: target.to_owned(),
                };
            }
        }
        for scheme in ["http://", "https://"] {
            if let Some(rest) = target.strip_prefix(scheme) {
                let authority = rest.split('/').next().unwrap_or_default();
                let default = if scheme == "https://" { 443 } else { 80 };
                return match host_port(authority) {
                    Some((address, port)) => Target {
                        address,
                        port: Some(port.unwrap_or(default)),
                        canonical: target.to_owned(),
                    },
                    None => whole(),
                };
            }
        }
        if target.contains("://") {
            return whole();
        }
        for scheme in ["ipv4:", "ipv6:"] {
            if let Some(list) = target.strip_prefix(scheme) {
                // One address reads as it; a list has no one server.
                return match host_port(list).filter(|_| !list.contains(',')) {
                    Some((address, port)) => Target {
                        address,
                        port,
                        canonical: target.to_owned(),
                    },
                    None => whole(),
                };
            }
        }
        // `host:port` or `host`, a DNS name; `scheme:rest` (xds:, …) fails
        // to read as one and is kept whole.
        match host_port(target) {
            Some((address, port)) => Target {
                address,
                port,
                canonical: format!("dns:///{target}"),
            },
            None => whole(),
        }
    }

    /// The target of a request sent to `authority` (no channel target
    /// configured): its host and port, canonically `dns:///host:port`.
    pub(crate) fn of_authority(authority: &Authority) -> Target {
        Target {
            address: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: authority.port_u16(),
            canonical: format!("dns:///{authority}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(target: &str) -> (String, Option<u16>) {
        let t = Target::parse(target);
        (t.address, t.port)
    }

    #[test]
    fn the_conventions_examples_read_as_the_conventions_say() {
        assert_eq!(parts("grpc.io:50051"), ("grpc.io".into(), Some(50051)));
        assert_eq!(
            parts("dns://1.2.3.4/grpc.io:50051"),
            ("grpc.io".into(), Some(50051))
        );
        assert_eq!(
            parts("unix:///run/containerd/containerd.sock"),
            ("/run/containerd/containerd.sock".into(), None)
        );
        assert_eq!(
            parts("zk://zookeeper:2181/my-server"),
            ("zk://zookeeper:2181/my-server".into(), None)
        );
        let list = "ipv4:198.51.100.123:50051,198.51.100.124:50051";
        assert_eq!(parts(list), (list.into(), None));
        assert_eq!(
            parts("xds:///helloworld"),
            ("xds:///helloworld".into(), None)
        );
        assert_eq!(parts("ipv4:10.0.0.1:80"), ("10.0.0.1".into(), Some(80)));
    }

    #[test]
    fn endpoints_ip_addresses_and_canonical_forms() {
        assert_eq!(
            parts("http://127.0.0.1:8080"),
            ("127.0.0.1".into(), Some(8080))
        );
        assert_eq!(
            parts("https://example.com"),
            ("example.com".into(), Some(443))
        );
        assert_eq!(parts("[::1]:50051"), ("::1".into(), Some(50051)));
        assert_eq!(parts("dns:///[::1]:443"), ("::1".into(), Some(443)));
        assert_eq!(parts("10.1.2.80:50051"), ("10.1.2.80".into(), Some(50051)));
        assert_eq!(
            Target::parse("grpc.io:50051").canonical,
            "dns:///grpc.io:50051"
        );
        assert_eq!(
            Target::parse("dns:///grpc.io:443").canonical,
            "dns:///grpc.io:443"
        );
        let authority: Authority = "localhost:7000".parse().unwrap();
        let t = Target::of_authority(&authority);
        assert_eq!((t.address.as_str(), t.port), ("localhost", Some(7000)));
        assert_eq!(t.canonical, "dns:///localhost:7000");
    }
}
