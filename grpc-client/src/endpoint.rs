//! [`Endpoint`]: where to connect and how, the builder of a [`Channel`].
//!
//! An endpoint is a URI (`http://host:port`, HTTP/2 with prior knowledge)
//! plus the connection settings: connect timeout, `TCP_NODELAY`, the HTTP/2
//! knobs that are handed to hyper's client connection builder, the
//! `user-agent` and the reconnection [`Backoff`].
//!
//! ```
//! use std::time::Duration;
//! use grpc_client::Endpoint;
//!
//! let endpoint = Endpoint::from_static("http://127.0.0.1:50051")
//!     .with_connect_timeout(Duration::from_secs(5))
//!     .with_keepalive_interval(Duration::from_secs(30));
//! assert_eq!(endpoint.uri().port_u16(), Some(50051));
//! // Nothing is connected until the first call.
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # let _guard = rt.enter();
//! let channel = endpoint.connect_lazy();
//! # drop(channel);
//! ```
//!
//! `http://` is HTTP/2 with prior knowledge (h2c). `https://` is HTTP/2
//! over TLS with the platform's root certificates, or with the roots,
//! server name and client certificate of [`Endpoint::with_tls`] (feature
//! `tls`, on by default; without it `https://` is refused with an [`Error`]
//! for which [`Error::is_invalid_uri`] holds).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};

use crate::backoff::Backoff;
use crate::channel::Channel;
use crate::error::{Error, Kind};

/// The default `user-agent`: `grpc-rust-stack/<version>`.
const DEFAULT_USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("grpc-rust-stack/", env!("CARGO_PKG_VERSION")));

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
/// | `user-agent` | `grpc-rust-stack/<version>` |
/// | backoff | [`Backoff::default`] (1 s, × 1.6, ± 20 %, ≤ 120 s) |
#[derive(Clone)]
pub struct Endpoint {
    uri: Uri,
    scheme: Scheme,
    authority: Authority,
    host: String,
    port: u16,
    user_agent: HeaderValue,
    connect_timeout: Duration,
    tcp_nodelay: bool,
    http2: Http2Settings,
    backoff: Backoff,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::EndpointTls>,
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
    pub(crate) max_send_buffer_size: Option<usize>,
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
            max_send_buffer_size: None,
        }
    }
}

impl Endpoint {
    /// An endpoint from a URI such as `http://127.0.0.1:50051`.
    ///
    /// The URI needs a scheme and a host; the port defaults to 80. Any path
    /// is ignored (calls use `/{service}/{method}`).
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
                    "unsupported scheme {s:?}: use http:// (HTTP/2 prior knowledge) or https:// (TLS)"
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
        Ok(Endpoint {
            #[cfg(feature = "tls")]
            tls: (scheme == Scheme::HTTPS).then_some(crate::tls::EndpointTls::Default),
            uri,
            scheme,
            authority,
            host,
            port,
            user_agent: DEFAULT_USER_AGENT,
            connect_timeout: Duration::from_secs(20),
            tcp_nodelay: true,
            http2: Http2Settings::default(),
            backoff: Backoff::default(),
        })
    }

    /// An endpoint from a static string.
    ///
    /// # Panics
    ///
    /// When the string is not a valid, supported URI (see
    /// [`Endpoint::new`]); use [`Endpoint::from_shared`] for strings read at
    /// run time.
    pub fn from_static(uri: &'static str) -> Endpoint {
        match Endpoint::from_shared(Bytes::from_static(uri.as_bytes())) {
            Ok(endpoint) => endpoint,
            Err(err) => match std::error::Error::source(&err) {
                Some(cause) => panic!("invalid endpoint {uri:?}: {err}: {cause}"),
                None => panic!("invalid endpoint {uri:?}: {err}"),
            },
        }
    }

    /// An endpoint from a string or bytes read at run time.
    pub fn from_shared(uri: impl Into<Bytes>) -> Result<Endpoint, Error> {
        let uri =
            Uri::from_maybe_shared(uri.into()).map_err(|e| Error::with(Kind::InvalidUri, e))?;
        Endpoint::new(uri)
    }

    /// Sets the connect timeout (default 20 s): how long one connection
    /// attempt may take at least. This is `MIN_CONNECT_TIMEOUT` of gRPC's
    /// connection backoff: an attempt may also take up to its backoff delay
    /// when that is longer.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets `TCP_NODELAY` on the connection (default on).
    pub fn with_tcp_nodelay(mut self, enabled: bool) -> Self {
        self.tcp_nodelay = enabled;
        self
    }

    /// Sets HTTP/2's initial stream-level flow-control window (default 1 MiB).
    pub fn with_initial_stream_window_size(mut self, size: u32) -> Self {
        self.http2.initial_stream_window_size = size;
        self
    }

    /// Sets HTTP/2's initial connection-level flow-control window
    /// (default 1 MiB).
    pub fn with_initial_connection_window_size(mut self, size: u32) -> Self {
        self.http2.initial_connection_window_size = size;
        self
    }

    /// Turns on hyper's BDP-based adaptive flow-control window (default off);
    /// when on, the initial window settings are overridden.
    pub fn with_adaptive_window(mut self, enabled: bool) -> Self {
        self.http2.adaptive_window = enabled;
        self
    }

    /// Sets the largest HTTP/2 frame payload we accept (default: hyper's, 16 KiB).
    pub fn with_max_frame_size(mut self, size: u32) -> Self {
        self.http2.max_frame_size = Some(size);
        self
    }

    /// Sets the largest header list we accept (default 16 KiB).
    pub fn with_max_header_list_size(mut self, size: u32) -> Self {
        self.http2.max_header_list_size = size;
        self
    }

    /// Sends HTTP/2 PING frames at this interval to keep the connection
    /// alive and detect a dead peer (default: no pings).
    pub fn with_keepalive_interval(mut self, interval: Duration) -> Self {
        self.http2.keepalive_interval = Some(interval);
        self
    }

    /// Closes the connection when a keepalive PING is not acknowledged in
    /// this time (default 20 s). Only used with a keepalive interval.
    pub fn with_keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.http2.keepalive_timeout = timeout;
        self
    }

    /// Also sends keepalive PINGs while no call is open (default off).
    /// Servers commonly refuse this with `too_many_pings`; enable it only
    /// when the server allows it.
    pub fn with_keepalive_while_idle(mut self, enabled: bool) -> Self {
        self.http2.keepalive_while_idle = enabled;
        self
    }

    /// Sets the most bytes buffered for sending per stream (default:
    /// hyper's, 1 MiB). At most `u32::MAX`.
    pub fn with_max_send_buffer_size(mut self, size: usize) -> Self {
        self.http2.max_send_buffer_size = Some(size.min(u32::MAX as usize));
        self
    }

    /// Sets the `user-agent` sent with every call (default
    /// `grpc-rust-stack/<version>`). A call whose request already carries a
    /// `user-agent` keeps its own.
    pub fn with_user_agent(mut self, user_agent: HeaderValue) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Sets the reconnection backoff (default [`Backoff::default`]).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Connects with TLS configured by `config` (roots, server name, client
    /// certificate); see [`tls`](crate::tls). The URI's scheme becomes
    /// `https`. Fails when the configuration cannot be built (for example
    /// no usable root certificate).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, config: crate::tls::ClientTlsConfig) -> Result<Self, Error> {
        let connector = config.build()?;
        self.tls = Some(crate::tls::EndpointTls::Configured(std::sync::Arc::new(
            connector,
        )));
        self.scheme = Scheme::HTTPS;
        Ok(self)
    }

    /// The URI this endpoint was built from.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The `user-agent` sent with every call.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// The reconnection backoff.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    pub(crate) fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn tcp_nodelay(&self) -> bool {
        self.tcp_nodelay
    }

    pub(crate) fn http2(&self) -> &Http2Settings {
        &self.http2
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls(&self) -> Option<&crate::tls::EndpointTls> {
        self.tls.as_ref()
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
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("tcp_nodelay", &self.tcp_nodelay)
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

    #[test]
    fn an_http_uri_gives_host_port_and_defaults() {
        let e = Endpoint::from_static("http://127.0.0.1:50051");
        assert_eq!(e.host(), "127.0.0.1");
        assert_eq!(e.port(), 50051);
        assert_eq!(e.authority().as_str(), "127.0.0.1:50051");
        assert_eq!(e.connect_timeout(), Duration::from_secs(20));
        assert!(e.tcp_nodelay());
        assert_eq!(e.http2().initial_stream_window_size, 1 << 20);
        assert_eq!(e.http2().initial_connection_window_size, 1 << 20);
        assert_eq!(e.http2().max_header_list_size, 16 * 1024);
        assert!(e
            .user_agent()
            .to_str()
            .unwrap()
            .starts_with("grpc-rust-stack/"));
    }

    #[test]
    fn the_port_defaults_to_80_and_ipv6_brackets_are_dropped() {
        let e = Endpoint::from_static("http://[::1]");
        assert_eq!(e.host(), "::1");
        assert_eq!(e.port(), 80);
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
        assert_eq!(e.port(), 443);
        assert_eq!(e.scheme(), &Scheme::HTTPS);
        assert!(e.tls().is_some());
        assert!(Endpoint::from_static("http://x:1").tls().is_none());
    }

    #[test]
    fn other_schemes_are_refused_clearly() {
        assert!(Endpoint::from_shared("ftp://x:1")
            .unwrap_err()
            .is_invalid_uri());
        assert!(Endpoint::from_shared("127.0.0.1:50051")
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
