//! TLS for the server: [`ServerTlsConfig`] (certificate, key, optional client
//! certificates), and [`TlsInfo`], what a handler learns of a call's TLS
//! connection.
//!
//! TLS is rustls (with the `ring` provider) through tokio-rustls. The server
//! offers ALPN `h2` only: a client that offers ALPN without `h2` (an
//! HTTP/1.1-only client) fails the handshake with `no_application_protocol`;
//! a client that offers no ALPN at all is served HTTP/2 with prior knowledge.
//!
//! ```no_run
//! use grpc_server::tls::ServerTlsConfig;
//! use grpc_server::{Router, Server};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = ServerTlsConfig::from_pem_files("server.pem", "server.key")?
//!     // mTLS: only clients with a certificate issued by this CA.
//!     .client_ca_pem_file("client-ca.pem")?;
//! Server::new()
//!     .tls(tls)?
//!     .serve("127.0.0.1:50051".parse()?, Router::new())
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # The handshake
//!
//! TLS runs over whatever the listener accepted (TCP, a Unix domain
//! socket, an in-memory pipe). Each accepted connection does its TLS
//! handshake in its own task, so a
//! slow or silent client never holds up the accept loop. A handshake that
//! takes longer than the [handshake timeout](ServerTlsConfig::handshake_timeout)
//! (default [`TLS_HANDSHAKE_TIMEOUT`], 10 s) closes the connection, as does a
//! failed one; both are logged at `debug` level and no call is made.
//!
//! # Client certificates (mTLS)
//!
//! With [`ServerTlsConfig::client_ca_pem`] the server asks for a client
//! certificate and verifies it against those roots; a client without one, or
//! with one the roots do not vouch for, fails the handshake. With
//! [`ServerTlsConfig::client_auth_optional`] a client may also connect
//! without a certificate (one it presents is still verified). The verified
//! chain is in every request's extensions as [`TlsInfo`], so an auth layer
//! or a handler can read who the client is.
//!
//! # Feature flag
//!
//! This module needs the `tls` feature (on by default).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use grpc_transport::Io;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The default TLS handshake timeout: 10 s (slowloris protection).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ALPN protocol of gRPC: HTTP/2.
const ALPN_H2: &[u8] = b"h2";

/// The server's TLS settings: its certificate chain and key, the roots that
/// vouch for client certificates (mTLS, optional) and the handshake timeout.
///
/// Hand it to [`Server::tls`](crate::Server::tls); see the
/// [module docs](self).
pub struct ServerTlsConfig {
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Vec<CertificateDer<'static>>,
    client_auth_optional: bool,
    handshake_timeout: Duration,
}

impl ServerTlsConfig {
    /// The server's certificate chain (leaf first) and private key, as DER.
    pub fn from_der(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> ServerTlsConfig {
        ServerTlsConfig {
            cert_chain,
            key,
            client_roots: Vec::new(),
            client_auth_optional: false,
            handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
        }
    }

    /// The server's certificate chain (PEM `CERTIFICATE` blocks, leaf first)
    /// and private key (PEM PKCS#8, PKCS#1 or SEC1), from memory.
    pub fn from_pem(
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<ServerTlsConfig, TlsError> {
        let chain = certs_from_pem(cert_chain_pem.as_ref(), "server certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_ref())
            .map_err(|e| TlsError::new("cannot read the server's private key PEM", e))?;
        Ok(ServerTlsConfig::from_der(chain, key))
    }

    /// Like [`ServerTlsConfig::from_pem`], reading both PEM files.
    pub fn from_pem_files(
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<ServerTlsConfig, TlsError> {
        let chain = read_file(cert_chain_path.as_ref())?;
        let key = read_file(key_path.as_ref())?;
        ServerTlsConfig::from_pem(chain, key)
    }

    /// Asks every client for a certificate and verifies it against these
    /// roots (PEM `CERTIFICATE` blocks): mutual TLS. Clients without a
    /// valid certificate fail the handshake, unless
    /// [`client_auth_optional`](Self::client_auth_optional).
    /// May be called more than once to add roots.
    pub fn client_ca_pem(mut self, roots_pem: impl AsRef<[u8]>) -> Result<Self, TlsError> {
        let roots = certs_from_pem(roots_pem.as_ref(), "client CA certificate")?;
        self.client_roots.extend(roots);
        Ok(self)
    }

    /// Like [`client_ca_pem`](Self::client_ca_pem), reading a file.
    pub fn client_ca_pem_file(self, path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read_file(path.as_ref())?;
        self.client_ca_pem(pem)
    }

    /// With client CAs set, also lets clients connect without a
    /// certificate (default off: a certificate is required). A certificate
    /// a client does present is still verified.
    pub fn client_auth_optional(mut self, optional: bool) -> Self {
        self.client_auth_optional = optional;
        self
    }

    /// How long a client may take to complete the TLS handshake before the
    /// connection is closed (default [`TLS_HANDSHAKE_TIMEOUT`], 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Builds the rustls configuration: checks that the key matches the
    /// certificate and that the client roots are usable.
    pub(crate) fn build(self) -> Result<Acceptor, TlsError> {
        let provider = ring_provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new("unsupported TLS protocol versions", e))?;
        let builder = if self.client_roots.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for root in self.client_roots {
                roots
                    .add(root)
                    .map_err(|e| TlsError::new("invalid client CA certificate", e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if self.client_auth_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::new("cannot build the client certificate verifier", e))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder
            .with_single_cert(self.cert_chain, self.key)
            .map_err(|e| TlsError::new("invalid server certificate or private key", e))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Acceptor {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: self.handshake_timeout,
        })
    }
}

impl fmt::Debug for ServerTlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTlsConfig")
            .field("cert_chain_len", &self.cert_chain.len())
            .field("key", &"<redacted>")
            .field("client_roots_len", &self.client_roots.len())
            .field("client_auth_optional", &self.client_auth_optional)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::new(format!("cannot read {}", path.display()), e))
}

fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(format!("cannot read the {what} PEM"), e))?;
    if certs.is_empty() {
        return Err(TlsError::msg(format!(
            "no CERTIFICATE block in the {what} PEM"
        )));
    }
    Ok(certs)
}

/// The built TLS acceptor of a server, with its handshake timeout.
#[derive(Clone)]
pub(crate) struct Acceptor {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl Acceptor {
    /// The handshake over any byte stream, bounded by the timeout. On
    /// success, the stream and what handlers may learn of the connection.
    pub(crate) async fn accept<I: Io>(&self, io: I) -> io::Result<(TlsStream<I>, TlsInfo)> {
        match tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(io)).await {
            Ok(Ok(stream)) => {
                let info = tls_info(stream.get_ref().1);
                Ok((stream, info))
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

pub use grpc_transport::peer::TlsInfo;

/// What the handshake of `conn` learnt of the client.
fn tls_info(conn: &ServerConnection) -> TlsInfo {
    TlsInfo::new(
        conn.peer_certificates().map(<[_]>::to_vec),
        conn.alpn_protocol().map(<[u8]>::to_vec),
        conn.server_name().map(str::to_owned),
    )
}

/// The TLS configuration could not be built: an unreadable file, bad PEM,
/// a key that does not match the certificate, unusable client roots.
///
/// The underlying cause is the [`source`](std::error::Error::source).
pub struct TlsError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TlsError {
    fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> TlsError {
        TlsError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    fn msg(message: impl Into<String>) -> TlsError {
        TlsError {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Debug for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TlsError");
        d.field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<TlsError> for io::Error {
    fn from(err: TlsError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
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

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.cert.pem(), cert.key_pair.serialize_pem())
    }

    #[test]
    fn a_matching_certificate_and_key_build_an_acceptor_with_the_default_timeout() {
        let (cert, key) = self_signed();
        let config = ServerTlsConfig::from_pem(cert, key).unwrap();
        assert_eq!(config.handshake_timeout, TLS_HANDSHAKE_TIMEOUT);
        let acceptor = config.build().unwrap();
        assert_eq!(acceptor.handshake_timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let err = ServerTlsConfig::from_pem(cert, other_key)
            .unwrap()
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
    }

    #[test]
    fn pem_without_a_certificate_is_refused_clearly() {
        let (_, key) = self_signed();
        let err = ServerTlsConfig::from_pem("not pem", &key).unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
        let (cert, _) = self_signed();
        assert!(ServerTlsConfig::from_pem(&cert, "garbage").is_err());
        let err = ServerTlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
            .unwrap_err();
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn client_roots_turn_on_client_certificate_verification() {
        let (cert, key) = self_signed();
        let (ca, _) = self_signed();
        let config = ServerTlsConfig::from_pem(&cert, &key)
            .unwrap()
            .client_ca_pem(&ca)
            .unwrap()
            .handshake_timeout(Duration::from_secs(3));
        assert!(format!("{config:?}").contains("client_roots_len: 1"));
        assert!(!format!("{config:?}").contains("BEGIN"));
        let acceptor = config.build().unwrap();
        assert_eq!(acceptor.handshake_timeout, Duration::from_secs(3));
    }
}
