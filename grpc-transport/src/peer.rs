//! What a server knows of the peer of a call, put in every request's
//! extensions by `grpc-server`'s connection driver: [`PeerAddr`] always,
//! [`TlsInfo`] over TLS.
//!
//! They live here, with the transports, rather than in `grpc-server`, so
//! that a layer of `grpc-layers` (authentication, tracing) can read them
//! without depending on the server crate; `grpc-server` re-exports both at
//! their familiar paths.
//!
//! ```
//! use grpc_transport::peer::{PeerAddr, TlsInfo};
//!
//! fn describe(extensions: &http::Extensions) -> String {
//!     let addr = extensions.get::<PeerAddr>().map(|peer| peer.0.to_string());
//!     let mtls = extensions
//!         .get::<TlsInfo>()
//!         .and_then(TlsInfo::peer_certificates)
//!         .is_some();
//!     format!("{addr:?}, client certificate: {mtls}")
//! }
//! # assert_eq!(describe(&http::Extensions::new()), "None, client certificate: false");
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

/// The address of the peer of a call, in the request extensions: a
/// [`SocketAddr`] over TCP, or the address type of the
/// [`Listener`](crate::Listener) the connection came from (a Unix socket's
/// address, an in-memory connection's number).
///
/// ```
/// use grpc_transport::peer::PeerAddr;
///
/// fn client_ip(extensions: &http::Extensions) -> Option<std::net::IpAddr> {
///     extensions.get::<PeerAddr>().map(|peer| peer.0.ip())
/// }
/// # assert!(client_ip(&http::Extensions::new()).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr<A = SocketAddr>(pub A);

/// What is known of a call's TLS connection: the client's verified
/// certificate chain (with mTLS), the negotiated ALPN protocol and the
/// server name the client asked for. In every request's extensions when
/// the server serves TLS.
///
/// Cheap to clone (one `Arc`).
///
/// ```
/// use grpc_transport::peer::TlsInfo;
///
/// fn client_certificate_len(extensions: &http::Extensions) -> Option<usize> {
///     let chain = extensions.get::<TlsInfo>()?.peer_certificates()?;
///     Some(chain[0].len())
/// }
/// # assert!(client_certificate_len(&http::Extensions::new()).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct TlsInfo {
    inner: Arc<TlsInfoInner>,
}

#[derive(Debug)]
struct TlsInfoInner {
    peer_certificates: Option<Vec<CertificateDer<'static>>>,
    alpn_protocol: Option<Vec<u8>>,
    server_name: Option<String>,
}

impl TlsInfo {
    /// What a TLS implementation learnt in a finished handshake: the peer's
    /// verified chain (leaf first) if it presented one, the negotiated ALPN
    /// protocol and the requested server name (SNI).
    pub fn new(
        peer_certificates: Option<Vec<CertificateDer<'static>>>,
        alpn_protocol: Option<Vec<u8>>,
        server_name: Option<String>,
    ) -> TlsInfo {
        TlsInfo {
            inner: Arc::new(TlsInfoInner {
                peer_certificates,
                alpn_protocol,
                server_name,
            }),
        }
    }

    /// The client's certificate chain (leaf first), verified against the
    /// configured client CAs; `None` when the client presented none.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.inner.peer_certificates.as_deref()
    }

    /// The negotiated ALPN protocol (`b"h2"`), or `None` when the client
    /// offered no ALPN.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.inner.alpn_protocol.as_deref()
    }

    /// The server name the client asked for (SNI), when it sent one.
    pub fn server_name(&self) -> Option<&str> {
        self.inner.server_name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_info_hands_back_what_it_was_given() {
        let info = TlsInfo::new(
            Some(vec![CertificateDer::from(vec![1, 2, 3])]),
            Some(b"h2".to_vec()),
            Some("example.test".into()),
        );
        let clone = info.clone();
        assert_eq!(info.server_name(), clone.server_name());
        assert_eq!(clone.peer_certificates().unwrap()[0].as_ref(), &[1, 2, 3]);
        assert_eq!(clone.alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(clone.server_name(), Some("example.test"));
        let none = TlsInfo::new(None, None, None);
        assert!(none.peer_certificates().is_none());
        assert!(none.alpn_protocol().is_none());
        assert!(none.server_name().is_none());
    }
}
