//! `server.address` and `server.port` from a gRPC target string or a
//! request URI, per the gRPC span conventions (v1.44.0): the channel's
//! configuration, not the connection; the whole target as the address when
//! no host can be read from it.

use grpc_core::target::Target as CoreTarget;
use http::uri::Authority;

/// What a target says about the server: its address and port, and A66's
/// canonical form of the target (`grpc.target`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) address: String,
    pub(crate) port: Option<u16>,
    pub(crate) canonical: String,
}

impl Target {
    /// Reads a gRPC target string (gRPC's naming document), or an
    /// `http(s)://` endpoint URI, with grpc-core's one parser. A target it
    /// does not read (`xds:`, a scheme of a resolver we do not have) is
    /// the address as a whole.
    pub(crate) fn parse(target: &str) -> Target {
        let whole = |canonical: String| Target {
            address: target.to_owned(),
            port: None,
            canonical,
        };
        let Ok(parsed) = CoreTarget::parse(target) else {
            return whole(target.to_owned());
        };
        // A66: the user's target with the scheme added when left out.
        let schemed = target.starts_with("dns:") || !matches!(parsed, CoreTarget::Dns { .. });
        let canonical = if schemed {
            target.to_owned()
        } else {
            format!("dns:///{target}")
        };
        match &parsed {
            CoreTarget::Unix(path) | CoreTarget::UnixAbstract(path) => Target {
                address: path.clone(),
                port: None,
                canonical,
            },
            // One address reads as it; a list has no one server.
            CoreTarget::Addresses(addresses) => match addresses.as_slice() {
                [one] => Target {
                    address: one.ip().to_string(),
                    port: Some(one.port()),
                    canonical,
                },
                _ => whole(canonical),
            },
            _ => match parsed.host_port() {
                Some((host, port)) => Target {
                    address: host.to_owned(),
                    port: Some(port),
                    canonical,
                },
                None => whole(canonical),
            },
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
