//! TLS for the client: [`ClientTlsConfig`], the roots to trust, the server
//! name to verify and an optional client certificate (mTLS).
//!
//! TLS is rustls (with the `ring` provider) through tokio-rustls. An
//! endpoint with an `https://` URI uses TLS with the platform's root
//! certificates; [`Endpoint::tls`](crate::Endpoint::tls) sets
//! anything else. The client offers ALPN `h2` only and refuses a server that
//! does not select it.
//!
//! ```no_run
//! use grpc_client::tls::ClientTlsConfig;
//! use grpc_client::Endpoint;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = ClientTlsConfig::new()
//!     .ca_pem_file("ca.pem")?            // trust this CA, not the platform's
//!     .server_name("foo.test.example")   // verify this name, send it as SNI
//!     .identity_pem_files("client.pem", "client.key")?; // mTLS
//! let channel = Endpoint::from_static("https://127.0.0.1:50051")
//!     .tls(tls)?
//!     .connect()
//!     .await?;
//! # drop(channel); Ok(()) }
//! ```
//!
//! # Errors
//!
//! A handshake that fails (an untrusted certificate, a name mismatch, a
//! server that does not speak `h2`) fails the connection attempt with an
//! [`Error`] for which [`Error::is_tls`] and [`Error::is_connect`] hold; a
//! call sees it as `UNAVAILABLE`, with the rustls error (for example
//! `invalid peer certificate: UnknownIssuer`) as the cause in the status
//! message and its `source()` chain.
//!
//! # Feature flag
//!
//! This module needs the `tls` feature (on by default).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use grpc_transport::BoxedIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::{Error, Kind};

pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN protocol of gRPC: HTTP/2.
const ALPN_H2: &[u8] = b"h2";

/// How the client verifies the server and, with mTLS, who it says it is.
///
/// Defaults: the platform's root certificates, the server name from the
/// endpoint's host, no client certificate. See the [module docs](self).
pub struct ClientTlsConfig {
    roots: Vec<CertificateDer<'static>>,
    native_roots: bool,
    server_name: Option<String>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl Default for ClientTlsConfig {
    fn default() -> Self {
        ClientTlsConfig::new()
    }
}

impl ClientTlsConfig {
    /// Trusts the platform's root certificates, verifies the endpoint's
    /// host name, presents no client certificate.
    pub fn new() -> ClientTlsConfig {
        ClientTlsConfig {
            roots: Vec::new(),
            native_roots: true,
            server_name: None,
            identity: None,
        }
    }

    /// Trusts these root certificates (PEM `CERTIFICATE` blocks) **instead
    /// of** the platform's; call [`native_roots(true)`](Self::native_roots)
    /// afterwards to trust both. May be called more than once to add roots.
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        self.roots
            .extend(certs_from_pem(pem.as_ref(), "CA certificate")?);
        self.native_roots = false;
        Ok(self)
    }

    /// Like [`ca_pem`](Self::ca_pem), reading a file.
    pub fn ca_pem_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = read_file(path.as_ref())?;
        self.ca_pem(pem)
    }

    /// Trusts these root certificates, as DER, instead of the platform's.
    pub fn ca_der(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.roots.extend(roots);
        self.native_roots = false;
        self
    }

    /// Whether to trust the platform's root certificates (on by default,
    /// off once a CA is given).
    pub fn native_roots(mut self, enabled: bool) -> Self {
        self.native_roots = enabled;
        self
    }

    /// Verifies the server's certificate for this name, and sends it as SNI,
    /// instead of the endpoint's host (a DNS name or an IP address).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Presents this client certificate chain (PEM, leaf first) and key
    /// (PEM PKCS#8, PKCS#1 or SEC1) when the server asks for one (mTLS).
    pub fn identity_pem(
        mut self,
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<Self, Error> {
        let chain = certs_from_pem(cert_chain_pem.as_ref(), "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_ref())
            .map_err(|e| tls_error("cannot read the client's private key PEM", e))?;
        self.identity = Some((chain, key));
        Ok(self)
    }

    /// Like [`identity_pem`](Self::identity_pem), reading both files.
    pub fn identity_pem_files(
        self,
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let chain = read_file(cert_chain_path.as_ref())?;
        let key = read_file(key_path.as_ref())?;
        self.identity_pem(chain, key)
    }

    /// Builds the rustls configuration.
    pub(crate) fn build(self) -> Result<Connector, Error> {
        let mut roots = RootCertStore::empty();
        for root in self.roots {
            roots
                .add(root)
                .map_err(|e| tls_error("invalid CA certificate", e))?;
        }
        if self.native_roots {
            add_native_roots(&mut roots)?;
        }
        let server_name = self
            .server_name
            .map(|name| {
                ServerName::try_from(name.clone())
                    .map_err(|e| tls_error(format!("invalid TLS server name {name:?}"), e))
            })
            .transpose()?;
        let provider = ring_provider();
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("unsupported TLS protocol versions", e))?
            .with_root_certificates(roots);
        let mut config = match self.identity {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_error("invalid client certificate or private key", e))?,
        };
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Connector {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

impl fmt::Debug for ClientTlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTlsConfig")
            .field("roots_len", &self.roots.len())
            .field("native_roots", &self.native_roots)
            .field("server_name", &self.server_name)
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn tls_error(
    message: impl Into<String>,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::with(Kind::Tls, Cause::new(message, cause))
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| tls_error(format!("cannot read {}", path.display()), e))
}

fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("cannot read the {what} PEM"), e))?;
    if certs.is_empty() {
        return Err(Error::with(
            Kind::Tls,
            format!("no CERTIFICATE block in the {what} PEM"),
        ));
    }
    Ok(certs)
}

/// The platform's roots, read once per process.
fn add_native_roots(roots: &mut RootCertStore) -> Result<(), Error> {
    static NATIVE: OnceLock<Result<Vec<CertificateDer<'static>>, String>> = OnceLock::new();
    let native = NATIVE.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found
                .errors
                .first()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(format!("no platform root certificates found{why}"));
        }
        Ok(found.certs)
    });
    match native {
        Ok(certs) => {
            // A platform store may hold a few certificates webpki cannot
            // parse; skipping them is what every rustls client does.
            let _ = roots.add_parsable_certificates(certs.iter().cloned());
            Ok(())
        }
        Err(why) => Err(Error::with(Kind::Tls, why.clone())),
    }
}

/// A message with its underlying cause as `source()`.
#[derive(Debug)]
struct Cause {
    message: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Cause {
    fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Cause {
        Cause {
            message: message.into(),
            source: source.into(),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The TLS side of an endpoint: how to connect.
#[derive(Clone)]
pub(crate) enum EndpointTls {
    /// `https://` with no configuration: the platform's roots, built at the
    /// first connection.
    Default,
    /// A configuration given with `Endpoint::tls`.
    Configured(Arc<Connector>),
}

impl fmt::Debug for EndpointTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointTls::Default => f.write_str("platform roots"),
            EndpointTls::Configured(c) => fmt::Debug::fmt(c, f),
        }
    }
}

impl EndpointTls {
    fn connector(&self) -> Result<Arc<Connector>, Error> {
        static DEFAULT: OnceLock<Result<Arc<Connector>, Error>> = OnceLock::new();
        match self {
            EndpointTls::Configured(c) => Ok(c.clone()),
            EndpointTls::Default => DEFAULT
                .get_or_init(|| ClientTlsConfig::new().build().map(Arc::new))
                .clone(),
        }
    }

    /// The TLS handshake over a connected byte stream (TCP, a Unix domain
    /// socket, in memory); `host` is the endpoint's host, the server name
    /// unless one was configured.
    pub(crate) async fn handshake(&self, host: &str, stream: BoxedIo) -> Result<BoxedIo, Error> {
        let connector = self.connector()?;
        let name = match &connector.server_name {
            Some(name) => name.clone(),
            None => ServerName::try_from(host.to_owned())
                .map_err(|e| tls_error(format!("invalid TLS server name {host:?}"), e))?,
        };
        let stream = connector
            .connector
            .connect(name, stream)
            .await
            .map_err(|io| {
                // tokio-rustls wraps the rustls error in an io::Error, whose
                // `source()` would skip it: keep the rustls error itself.
                match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                    Some(tls) => Error::with(Kind::Tls, tls.clone()),
                    None => Error::with(Kind::Tls, io),
                }
            })?;
        if stream.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
            return Err(Error::with(
                Kind::Tls,
                "the server did not select ALPN protocol h2: it does not speak gRPC over TLS",
            ));
        }
        Ok(BoxedIo::new(TlsIo(stream)))
    }
}

/// A client's TLS stream, whose rustls errors end the connection: they are
/// re-kinded `ConnectionAborted` (keeping the rustls error as the cause), so
/// the calls on it see a broken connection.
struct TlsIo(TlsStream<BoxedIo>);

/// A rustls error inside an `io::Error` ends the connection: re-kind it
/// `ConnectionAborted`, keeping the rustls error as the cause.
fn tls_aborted(err: io::Error) -> io::Error {
    if err
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        let inner = err.into_inner().unwrap_or_else(|| "TLS failed".into());
        return io::Error::new(io::ErrorKind::ConnectionAborted, inner);
    }
    err
}

impl AsyncRead for TlsIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0)
            .poll_read(cx, buf)
            .map_err(tls_aborted)
    }
}

impl AsyncWrite for TlsIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0)
            .poll_write(cx, buf)
            .map_err(tls_aborted)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0)
            .poll_write_vectored(cx, bufs)
            .map_err(tls_aborted)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx).map_err(tls_aborted)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A built client TLS configuration.
pub(crate) struct Connector {
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// rustls's *ring* crypto provider: it builds with only a C compiler.
///
/// rustls 0.23.48 deprecated it because *ring* has no post-quantum key
/// exchange (the aws-lc-rs provider has `X25519MLKEM768`, at the cost of a
/// heavier C build); the classical groups it offers are what every gRPC peer
/// we test against negotiates today.
#[allow(deprecated)]
fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_replaces_the_platform_roots_unless_asked_for_both() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca".to_owned()]).unwrap();
        let config = ClientTlsConfig::new().ca_pem(ca.cert.pem()).unwrap();
        assert!(!config.native_roots);
        assert_eq!(config.roots.len(), 1);
        assert!(config.native_roots(true).native_roots);
    }

    #[test]
    fn bad_pem_and_bad_names_are_tls_errors_with_a_cause() {
        let err = ClientTlsConfig::new().ca_pem("nothing").unwrap_err();
        assert!(err.is_tls());
        let err = ClientTlsConfig::new().identity_pem("x", "y").unwrap_err();
        assert!(err.is_tls());
        let ca = rcgen::generate_simple_self_signed(vec!["ca".to_owned()]).unwrap();
        let err = ClientTlsConfig::new()
            .ca_pem(ca.cert.pem())
            .unwrap()
            .server_name("not a name!")
            .build()
            .unwrap_err();
        assert!(err.is_tls());
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("not a name!"), "{cause}");
    }

    #[test]
    fn the_identity_key_is_not_printed() {
        let id = rcgen::generate_simple_self_signed(vec!["me".to_owned()]).unwrap();
        let config = ClientTlsConfig::new()
            .identity_pem(id.cert.pem(), id.key_pair.serialize_pem())
            .unwrap();
        let debug = format!("{config:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains("PRIVATE"),
            "{debug}"
        );
    }
}
