//! [`Endpoint`]: where to connect and how, the builder of a [`Channel`].
//!
//! An endpoint is a target plus the connection settings: connect timeout,
//! `TCP_NODELAY`, the HTTP/2 knobs that are handed to hyper's client
//! connection builder, write batching, the `user-agent` and the
//! reconnection [`Backoff`].
//!
//! ```
//! use std::time::Duration;
//! use grpc_client::Endpoint;
//!
//! let endpoint = Endpoint::from_static("http://127.0.0.1:50051")
//!     .connect_timeout(Duration::from_secs(5))
//!     .keepalive_interval(Duration::from_secs(30));
//! assert_eq!(endpoint.uri().port_u16(), Some(50051));
//! // Nothing is connected until the first call.
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # let _guard = rt.enter();
//! let channel = endpoint.connect_lazy();
//! # drop(channel);
//! ```
//!
//! # Targets
//!
//! | target | connects over | calls go to |
//! |---|---|---|
//! | `http://host:port` | TCP, HTTP/2 with prior knowledge (h2c) | `http://host:port` |
//! | `https://host:port` | TLS over TCP (feature `tls`) with the platform's roots, or what [`Endpoint::tls`] sets | `https://host:port` |
//! | `unix:/path`, `unix:///path` (absolute), `unix:path` (relative) | a Unix domain socket, h2c (TLS with [`Endpoint::tls`]) | `http://localhost` |
//! | `dns:///host:port`, `host:port` (gRPC's default scheme), `ipv4:addr:port`, `ipv6:[addr]:port` | TCP to that one server, h2c (TLS with [`Endpoint::tls`]); the port is 443 unless given, as gRPC's naming document says | `http://host:port` |
//! | anything, with [`Endpoint::connector`] | your own [`Connect`], e.g. an in-memory [`grpc_transport::memory::pair`] | the URI's scheme and authority |
//!
//! Targets are read by grpc-core's one [target parser](grpc_core::target).
//! A list of addresses and a `dns://server/…` authority need a resolver and
//! are refused. Every target goes through the same connection code: whatever the
//! connector opens is a [`BoxedIo`](grpc_transport::BoxedIo), TLS (when
//! configured) runs on top, then the HTTP/2 handshake. Without the `tls`
//! feature `https://` is refused with an [`Error`] for which
//! [`Error::is_invalid_uri`] holds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use grpc_core::target::Target as GrpcTarget;
use grpc_transport::{Connect, ConnectFuture, TcpConnector};
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};

use crate::backoff::Backoff;
use crate::channel::Channel;
use crate::error::{Error, Kind};

/// The default `user-agent`: `grpc-rust-stack/<version>`.
const DEFAULT_USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("grpc-rust-stack/", env!("CARGO_PKG_VERSION")));

/// How the endpoint's connections are opened.
#[derive(Clone, Debug)]
enum Target {
    /// TCP to a host (a name resolved at each attempt, or an address).
    Tcp { host: String, port: u16 },
    /// A Unix domain socket.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
    /// A connector of the user's.
    Custom(Arc<dyn Connect>),
}

/// Where and how to connect: the builder of a [`Channel`].
///
/// Setters take and return the endpoint by value. Defaults:
///
/// | setting | default |
/// |---|---|
/// | connect timeout | 20 s |
/// | `TCP_NODELAY` | on |
/// | initial stream / connection window | 1 MiB / 1 MiB |
/// | adaptive window | off |
/// | max frame size | hyper's (16 KiB) |
/// | max header list size | 16 KiB |
/// | keepalive ping | off (interval unset); timeout 20 s; not while idle |
/// | max send buffer per stream | hyper's (1 MiB) |
/// | write batching | on |
/// | `user-agent` | `grpc-rust-stack/<version>` |
/// | backoff | [`Backoff::default`] (1 s, × 1.6, ± 20 %, ≤ 120 s) |
#[derive(Clone)]
pub struct Endpoint {
    uri: Uri,
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    target: Target,
    pub(crate) user_agent: HeaderValue,
    pub(crate) connect_timeout: Duration,
    tcp_nodelay: bool,
    pub(crate) write_batching: bool,
    pub(crate) http2: Http2Settings,
    pub(crate) backoff: Backoff,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::EndpointTls>,
}

#[derive(Clone, Debug)]
pub(crate) struct Http2Settings {
    pub(crate) initial_stream_window_size: u32,
    pub(crate) initial_connection_window_size: u32,
    pub(crate) adaptive_window: bool,
    pub(crate) max_frame_size: Option<u32>,
    pub(crate) max_header_list_size: u32,
    pub(crate) keepalive_interval: Option<Duration>,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) keepalive_while_idle: bool,
    pub(crate) max_send_buf_size: Option<usize>,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            initial_stream_window_size: 1024 * 1024,
            initial_connection_window_size: 1024 * 1024,
            adaptive_window: false,
            max_frame_size: None,
            max_header_list_size: 16 * 1024,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            keepalive_while_idle: false,
            max_send_buf_size: None,
        }
    }
}

/// The authority of calls over a Unix domain socket, as gRPC uses it.
const UNIX_AUTHORITY: &str = "localhost";

impl Endpoint {
    /// An endpoint from a URI such as `http://127.0.0.1:50051` or
    /// `https://api.example.com` (see the [module docs](self)).
    ///
    /// The URI needs a scheme and a host; the port defaults to 80 (443 for
    /// `https`). Any path is ignored (calls use `/{service}/{method}`).
    /// Unix domain socket targets are not URIs `http::Uri` can hold: give
    /// them as a string ([`Endpoint::from_shared`]) or a path
    /// ([`Endpoint::unix`]).
    pub fn new(uri: Uri) -> Result<Endpoint, Error> {
        let scheme = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP => Scheme::HTTP,
            #[cfg(feature = "tls")]
            Some(s) if *s == Scheme::HTTPS => Scheme::HTTPS,
            #[cfg(not(feature = "tls"))]
            Some(s) if *s == Scheme::HTTPS => {
                return Err(Error::with(
                    Kind::InvalidUri,
                    "https:// needs TLS: enable the `tls` feature of grpc-client",
                ))
            }
            Some(s) => {
                return Err(Error::with(
                    Kind::InvalidUri,
                    format!(
                    "unsupported scheme {s:?}: use http:// (HTTP/2 prior knowledge), https:// (TLS) or unix:/path"
                ),
                ))
            }
            None => {
                return Err(Error::with(
                    Kind::InvalidUri,
                    "the URI has no scheme: write http://host:port",
                ))
            }
        };
        let Some(authority) = uri.authority().cloned() else {
            return Err(Error::with(Kind::InvalidUri, "the URI has no host"));
        };
        let host = authority.host();
        if host.is_empty() {
            return Err(Error::with(Kind::InvalidUri, "the URI has no host"));
        }
        // `[::1]` → `::1`, as socket address resolution wants it.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let default_port = if scheme == Scheme::HTTPS { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        Ok(Endpoint::with_target(
            uri,
            scheme,
            authority,
            Target::Tcp { host, port },
        ))
    }

    /// An endpoint for the Unix domain socket at `path`, in plain text
    /// (h2c); calls go to `http://localhost`.
    #[cfg(unix)]
    pub fn unix(path: impl Into<std::path::PathBuf>) -> Endpoint {
        let authority = Authority::from_static(UNIX_AUTHORITY);
        let uri = Uri::from_static("http://localhost");
        Endpoint::with_target(uri, Scheme::HTTP, authority, Target::Unix(path.into()))
    }

    fn with_target(uri: Uri, scheme: Scheme, authority: Authority, target: Target) -> Endpoint {
        Endpoint {
            #[cfg(feature = "tls")]
            tls: (scheme == Scheme::HTTPS).then_some(crate::tls::EndpointTls::Default),
            uri,
            scheme,
            authority,
            target,
            user_agent: DEFAULT_USER_AGENT,
            connect_timeout: Duration::from_secs(20),
            tcp_nodelay: true,
            write_batching: true,
            http2: Http2Settings::default(),
            backoff: Backoff::default(),
        }
    }

    /// An endpoint from a static string.
    ///
    /// # Panics
    ///
    /// When the string is not a valid, supported target (see the
    /// [module docs](self)); use [`Endpoint::from_shared`] for strings read
    /// at run time.
    pub fn from_static(uri: &'static str) -> Endpoint {
        match Endpoint::from_shared(Bytes::from_static(uri.as_bytes())) {
            Ok(endpoint) => endpoint,
            Err(err) => match std::error::Error::source(&err) {
                Some(cause) => panic!("invalid endpoint {uri:?}: {err}: {cause}"),
                None => panic!("invalid endpoint {uri:?}: {err}"),
            },
        }
    }

    /// An endpoint from a target string or bytes read at run time, read by
    /// grpc-core's one [target parser](grpc_core::target): a URI
    /// (`http://`, `https://`), a Unix domain socket (`unix:/path`,
    /// `unix:///path`, `unix:relative/path`), a DNS name
    /// (`dns:///host:port`, or `host:port` with no scheme) or one address
    /// (`ipv4:10.0.0.1:50051`, `ipv6:[::1]:50051`), the last two over h2c
    /// (TLS with [`Endpoint::tls`]). A list of several addresses and a DNS
    /// server authority (`dns://8.8.8.8/…`) need a resolver, which this
    /// endpoint does not have: they are refused.
    pub fn from_shared(uri: impl Into<Bytes>) -> Result<Endpoint, Error> {
        let uri = uri.into();
        let invalid = |why: String| Error::with(Kind::InvalidUri, why);
        let text = std::str::from_utf8(&uri).map_err(|e| Error::with(Kind::InvalidUri, e))?;
        let target = GrpcTarget::parse(text).map_err(|e| Error::with(Kind::InvalidUri, e))?;
        let h2c = |host: &str, port: u16| {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            Endpoint::new(
                Uri::try_from(format!("http://{host}:{port}"))
                    .map_err(|e| Error::with(Kind::InvalidUri, e))?,
            )
        };
        match &target {
            GrpcTarget::Http { .. } => {
                let uri =
                    Uri::from_maybe_shared(uri).map_err(|e| Error::with(Kind::InvalidUri, e))?;
                Endpoint::new(uri)
            }
            GrpcTarget::Unix(path) => Endpoint::from_unix_path(path),
            GrpcTarget::Dns {
                authority: None,
                host,
                port,
            } => h2c(host, *port),
            GrpcTarget::Addresses(addresses) if addresses.len() == 1 => {
                h2c(&addresses[0].ip().to_string(), addresses[0].port())
            }
            GrpcTarget::Dns { .. } => Err(invalid(format!(
                "{target}: a DNS server authority needs a resolver; write dns:///host:port"
            ))),
            GrpcTarget::Addresses(_) => Err(invalid(format!(
                "{target}: a list of addresses needs a load-balancing channel; give one address"
            ))),
            _ => Err(invalid(format!(
                "{target}: not a target an endpoint connects to"
            ))),
        }
    }

    #[cfg(unix)]
    fn from_unix_path(path: &str) -> Result<Endpoint, Error> {
        Ok(Endpoint::unix(path))
    }

    #[cfg(not(unix))]
    fn from_unix_path(_: &str) -> Result<Endpoint, Error> {
        Err(Error::with(
            Kind::InvalidUri,
            "unix: targets need a platform with Unix domain sockets",
        ))
    }

    /// Sets the connect timeout (default 20 s): how long one connection
    /// attempt may take at least. This is `MIN_CONNECT_TIMEOUT` of gRPC's
    /// connection backoff: an attempt may also take up to its backoff delay
    /// when that is longer.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets `TCP_NODELAY` on TCP connections (default on).
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.tcp_nodelay = on;
        self
    }

    /// Batches the writes of requests that are sent together on the
    /// connection into one write (default on); see
    /// [`grpc_transport::batch`] for what it does and costs.
    pub fn write_batching(mut self, on: bool) -> Self {
        self.write_batching = on;
        self
    }

    /// Opens the connections with `connector` instead of the target's
    /// default (TCP, or a Unix domain socket): an in-memory
    /// [`grpc_transport::memory::pair`] in tests, or a transport of yours.
    /// The URI's scheme still says whether TLS runs on top, and its
    /// authority is what calls go to.
    pub fn connector(mut self, connector: impl Connect) -> Self {
        self.target = Target::Custom(Arc::new(connector));
        self
    }

    /// Sets HTTP/2's initial stream-level flow-control window (default 1 MiB).
    pub fn initial_stream_window_size(mut self, size: u32) -> Self {
        self.http2.initial_stream_window_size = size;
        self
    }

    /// Sets HTTP/2's initial connection-level flow-control window
    /// (default 1 MiB).
    pub fn initial_connection_window_size(mut self, size: u32) -> Self {
        self.http2.initial_connection_window_size = size;
        self
    }

    /// Turns on hyper's BDP-based adaptive flow-control window (default off);
    /// when on, the initial window settings are overridden.
    pub fn adaptive_window(mut self, on: bool) -> Self {
        self.http2.adaptive_window = on;
        self
    }

    /// Sets the largest HTTP/2 frame payload we accept (default: hyper's,
    /// 16 KiB); `None` for the default. Clamped to what HTTP/2 allows,
    /// 16 KiB to 16 MiB − 1.
    pub fn max_frame_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.http2.max_frame_size = size.into().map(|size| size.clamp(16_384, 16_777_215));
        self
    }

    /// Sets the largest header list we accept (default 16 KiB).
    pub fn max_header_list_size(mut self, size: u32) -> Self {
        self.http2.max_header_list_size = size;
        self
    }

    /// Sends HTTP/2 PING frames at this interval to keep the connection
    /// alive and detect a dead peer (default: `None`, no pings).
    pub fn keepalive_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.http2.keepalive_interval = interval.into();
        self
    }

    /// Closes the connection when a keepalive PING is not acknowledged in
    /// this time (default 20 s). Only used with a keepalive interval.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.http2.keepalive_timeout = timeout;
        self
    }

    /// Also sends keepalive PINGs while no call is open (default off).
    /// Servers commonly refuse this with `too_many_pings`; enable it only
    /// when the server allows it.
    pub fn keepalive_while_idle(mut self, on: bool) -> Self {
        self.http2.keepalive_while_idle = on;
        self
    }

    /// Sets the most bytes buffered for sending per stream (default:
    /// hyper's, 1 MiB). At most `u32::MAX`.
    pub fn max_send_buf_size(mut self, size: usize) -> Self {
        self.http2.max_send_buf_size = Some(size.min(u32::MAX as usize));
        self
    }

    /// Sets the `user-agent` sent with every call (default
    /// `grpc-rust-stack/<version>`). A call whose request already carries a
    /// `user-agent` keeps its own.
    pub fn user_agent(mut self, user_agent: HeaderValue) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Sets the reconnection backoff (default [`Backoff::default`]).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Connects with TLS configured by `config` (roots, server name, client
    /// certificate); see [`tls`](crate::tls). The URI's scheme becomes
    /// `https`. Fails when the configuration cannot be built (for example
    /// no usable root certificate).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::ClientTlsConfig) -> Result<Self, Error> {
        let connector = config.build()?;
        self.tls = Some(crate::tls::EndpointTls::Configured(Arc::new(connector)));
        self.scheme = Scheme::HTTPS;
        let mut parts = self.uri.clone().into_parts();
        parts.scheme = Some(Scheme::HTTPS);
        self.uri = Uri::from_parts(parts).map_err(|e| Error::with(Kind::InvalidUri, e))?;
        Ok(self)
    }

    /// The URI calls go to: the one this endpoint was built from
    /// (`http://localhost` for a Unix domain socket).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The host TLS verifies (unless a server name is configured): the
    /// target's host, or the authority's for other targets.
    pub(crate) fn host(&self) -> &str {
        match &self.target {
            Target::Tcp { host, .. } => host,
            _ => self
                .authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']'),
        }
    }

    /// Opens a byte stream to the target.
    pub(crate) fn open(&self) -> ConnectFuture {
        match &self.target {
            Target::Tcp { host, port } => TcpConnector::new(host.clone(), *port)
                .tcp_nodelay(self.tcp_nodelay)
                .connect(),
            #[cfg(unix)]
            Target::Unix(path) => grpc_transport::UnixConnector::new(path.clone()).connect(),
            Target::Custom(connector) => connector.connect(),
        }
    }

    /// Connects now and returns a channel over the new connection.
    ///
    /// Fails when the connection cannot be made within the connect timeout.
    /// If the connection is lost later, the channel reconnects on its own.
    /// Needs a tokio runtime.
    pub async fn connect(&self) -> Result<Channel, Error> {
        Channel::connect(self.clone()).await
    }

    /// Returns a channel that connects on its first call.
    ///
    /// Nothing is done here, so this works outside a runtime; calls need a
    /// tokio runtime.
    pub fn connect_lazy(&self) -> Channel {
        Channel::lazy(self.clone())
    }
}

impl TryFrom<Uri> for Endpoint {
    type Error = Error;

    fn try_from(uri: Uri) -> Result<Endpoint, Error> {
        Endpoint::new(uri)
    }
}

impl TryFrom<&'static str> for Endpoint {
    type Error = Error;

    fn try_from(uri: &'static str) -> Result<Endpoint, Error> {
        Endpoint::from_shared(Bytes::from_static(uri.as_bytes()))
    }
}

impl TryFrom<String> for Endpoint {
    type Error = Error;

    fn try_from(uri: String) -> Result<Endpoint, Error> {
        Endpoint::from_shared(uri)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Endpoint");
        d.field("uri", &self.uri)
            .field("target", &self.target)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("tcp_nodelay", &self.tcp_nodelay)
            .field("write_batching", &self.write_batching)
            .field("http2", &self.http2)
            .field("backoff", &self.backoff);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(e: &Endpoint) -> (&str, u16) {
        match &e.target {
            Target::Tcp { host, port } => (host, *port),
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn an_http_uri_gives_host_port_and_defaults() {
        let e = Endpoint::from_static("http://127.0.0.1:50051");
        assert_eq!(tcp(&e), ("127.0.0.1", 50051));
        assert_eq!(e.host(), "127.0.0.1");
        assert_eq!(e.authority.as_str(), "127.0.0.1:50051");
        assert_eq!(e.connect_timeout, Duration::from_secs(20));
        assert!(e.tcp_nodelay);
        assert!(e.write_batching);
        assert_eq!(e.http2.initial_stream_window_size, 1 << 20);
        assert_eq!(e.http2.initial_connection_window_size, 1 << 20);
        assert_eq!(e.http2.max_header_list_size, 16 * 1024);
        assert!(e
            .user_agent
            .to_str()
            .unwrap()
            .starts_with("grpc-rust-stack/"));
    }

    #[test]
    fn the_port_defaults_to_80_and_ipv6_brackets_are_dropped() {
        let e = Endpoint::from_static("http://[::1]");
        assert_eq!(tcp(&e), ("::1", 80));
    }

    #[cfg(unix)]
    #[test]
    fn unix_targets_name_a_socket_path_and_call_localhost() {
        for (target, path) in [
            ("unix:/tmp/grpc.sock", "/tmp/grpc.sock"),
            ("unix:///tmp/grpc.sock", "/tmp/grpc.sock"),
            ("unix:relative/grpc.sock", "relative/grpc.sock"),
        ] {
            let e = Endpoint::from_shared(target).unwrap();
            match &e.target {
                Target::Unix(p) => assert_eq!(p, std::path::Path::new(path), "{target}"),
                other => panic!("{target}: {other:?}"),
            }
            assert_eq!(e.uri(), "http://localhost/");
            assert_eq!(e.authority.as_str(), "localhost");
            assert_eq!(e.scheme, Scheme::HTTP);
        }
        for bad in ["unix:", "unix://host/tmp/grpc.sock", "unix:/tmp/a\0b"] {
            assert!(
                Endpoint::from_shared(bad).unwrap_err().is_invalid_uri(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_custom_connector_replaces_the_target() {
        let (_listener, connector) = grpc_transport::memory::pair();
        let e = Endpoint::from_static("http://in-memory.test").connector(connector);
        assert!(matches!(e.target, Target::Custom(_)));
        assert_eq!(e.host(), "in-memory.test");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_is_refused_clearly_without_the_tls_feature() {
        let err = Endpoint::from_shared("https://example.invalid:443").unwrap_err();
        assert!(err.is_invalid_uri());
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("TLS"), "{cause}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn https_means_tls_with_port_443_by_default() {
        let e = Endpoint::from_static("https://example.invalid");
        assert_eq!(tcp(&e).1, 443);
        assert_eq!(e.scheme, Scheme::HTTPS);
        assert!(e.tls.is_some());
        assert!(Endpoint::from_static("http://x:1").tls.is_none());
    }

    #[test]
    fn grpc_naming_targets_connect_to_their_one_server_over_h2c() {
        for (target, host, port) in [
            ("dns:///localhost:50051", "localhost", 50051),
            ("localhost:50051", "localhost", 50051),
            ("dns:api.example.com", "api.example.com", 443),
            ("ipv4:10.0.0.1:7", "10.0.0.1", 7),
            ("ipv6:[::1]:8", "::1", 8),
        ] {
            let e = Endpoint::from_static(target);
            assert_eq!(tcp(&e), (host, port), "{target}");
            assert_eq!(e.scheme, Scheme::HTTP, "{target}");
        }
        for needs_a_resolver in ["ipv4:10.0.0.1,10.0.0.2", "dns://8.8.8.8/x:1"] {
            let err = Endpoint::from_shared(needs_a_resolver).unwrap_err();
            assert!(err.is_invalid_uri(), "{needs_a_resolver}");
        }
    }

    #[test]
    fn other_schemes_are_refused_clearly() {
        assert!(Endpoint::from_shared("ftp://x:1")
            .unwrap_err()
            .is_invalid_uri());
        assert!(Endpoint::from_shared("xds:///svc")
            .unwrap_err()
            .is_invalid_uri());
        assert!(Endpoint::from_shared("not a uri")
            .unwrap_err()
            .is_invalid_uri());
    }

    #[test]
    #[should_panic(expected = "invalid endpoint")]
    fn from_static_panics_on_an_invalid_uri() {
        let _ = Endpoint::from_static("ftp://secure:443");
    }
}
