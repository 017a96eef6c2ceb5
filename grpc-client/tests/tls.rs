//! The channel over TLS, end to end on 127.0.0.1 against our TLS server
//! (and bare rustls servers for ALPN mismatches), with certificates made at
//! run time: trusted and untrusted CAs, name override, mTLS.

#![cfg(feature = "tls")]

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use grpc_client::tls::ClientTlsConfig;
use grpc_client::{Endpoint, Grpc};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status};
use grpc_server::tls::{ServerTlsConfig, TlsInfo};
use grpc_server::{handler, Router, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(20);

struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

struct Issued {
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = params.self_signed(&ca_key).unwrap();
        Pki { ca, ca_key }
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn whoami_router() -> Router {
    Router::new().route(
        GrpcMethod::new("test.Tls", "WhoAmI"),
        handler::unary(BytesCodec, |req: Request<Bytes>| async move {
            let certs = req
                .extensions()
                .get::<TlsInfo>()
                .and_then(TlsInfo::peer_certificates)
                .map_or(0, |c| c.len());
            Ok::<_, Status>(Response::new(Bytes::from(format!("certs={certs}"))))
        }),
    )
}

struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(tls: ServerTlsConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new().tls(tls).unwrap();
    tokio::spawn(
        server.serve_with_shutdown(listener, whoami_router(), async {
            let _ = stopped.await;
        }),
    );
    Running { addr, _stop: stop }
}

async fn whoami(endpoint: Endpoint) -> Result<String, Status> {
    let channel = endpoint.connect_timeout(LIMIT).connect_lazy();
    let mut grpc = Grpc::new(channel);
    let call = grpc.unary(
        Request::new(Bytes::new()),
        GrpcMethod::new("test.Tls", "WhoAmI"),
        BytesCodec,
    );
    let reply = timeout(LIMIT, call).await.expect("bounded")?;
    Ok(String::from_utf8(reply.into_inner().to_vec()).unwrap())
}

fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("https://{addr}")).unwrap()
}

/// The whole `source()` chain of a status, as text.
fn causes(status: &Status) -> String {
    let mut out = status.message().to_owned();
    let mut cur = status.source();
    while let Some(e) = cur {
        out.push_str(" / ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

/// A `grpc_client::Error` for which `is_tls()` holds is in the chain.
fn has_tls_error(status: &Status) -> bool {
    let mut cur = status.source();
    while let Some(e) = cur {
        if e.downcast_ref::<grpc_client::Error>()
            .is_some_and(grpc_client::Error::is_tls)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

#[tokio::test]
async fn a_call_over_tls_with_a_test_ca_and_a_server_name_override_succeeds() {
    let pki = Pki::new("test ca");
    let cert = pki.issue(&["foo.test.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = serve(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let tls = ClientTlsConfig::new()
        .ca_pem(pki.ca.pem())
        .unwrap()
        .server_name("foo.test.example");
    let reply = whoami(endpoint(server.addr).tls(tls).unwrap()).await;
    assert_eq!(reply.unwrap(), "certs=0");
}

#[tokio::test]
async fn tls_turns_an_http_endpoint_into_tls() {
    let pki = Pki::new("test ca");
    let cert = pki.issue(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = serve(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let tls = ClientTlsConfig::new().ca_pem(pki.ca.pem()).unwrap();
    let plain = Endpoint::from_shared(format!("http://{}", server.addr)).unwrap();
    assert_eq!(whoami(plain.tls(tls).unwrap()).await.unwrap(), "certs=0");
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_fails_with_unavailable_and_a_clear_cause() {
    let pki = Pki::new("test ca");
    let other = Pki::new("other ca");
    let cert = pki.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = serve(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let tls = ClientTlsConfig::new()
        .ca_pem(other.ca.pem())
        .unwrap()
        .server_name("localhost");
    let status = whoami(endpoint(server.addr).tls(tls).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let text = causes(&status);
    assert!(text.contains("TLS failed"), "{text}");
    assert!(text.contains("invalid peer certificate"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(has_tls_error(&status), "{text}");
}

#[tokio::test]
async fn a_server_certificate_for_another_name_fails_with_unavailable() {
    let pki = Pki::new("test ca");
    let cert = pki.issue(&["elsewhere.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = serve(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let tls = ClientTlsConfig::new().ca_pem(pki.ca.pem()).unwrap();
    let status = whoami(endpoint(server.addr).tls(tls).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(causes(&status).contains("not valid for name"), "{status:?}");
}

#[tokio::test]
async fn the_platform_roots_do_not_trust_a_private_test_ca() {
    let pki = Pki::new("test ca");
    let cert = pki.issue(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let server = serve(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    // https:// with no configuration: the platform's roots.
    let status = whoami(endpoint(server.addr)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(has_tls_error(&status), "{status:?}");
}

fn mtls_server_config(server_pki: &Pki, client_pki: &Pki) -> ServerTlsConfig {
    let cert = server_pki.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .client_ca_pem(client_pki.ca.pem())
        .unwrap()
}

#[tokio::test]
async fn mtls_with_a_client_certificate_succeeds_and_the_server_sees_it() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let server = serve(mtls_server_config(&server_pki, &client_pki)).await;
    let id = client_pki.issue(&["client.test"], ExtendedKeyUsagePurpose::ClientAuth);
    let tls = ClientTlsConfig::new()
        .ca_pem(server_pki.ca.pem())
        .unwrap()
        .server_name("localhost")
        .identity_pem(&id.cert_pem, &id.key_pem)
        .unwrap();
    let reply = whoami(endpoint(server.addr).tls(tls).unwrap()).await;
    assert_eq!(reply.unwrap(), "certs=1");
}

#[tokio::test]
async fn mtls_without_a_client_certificate_fails_with_unavailable() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let server = serve(mtls_server_config(&server_pki, &client_pki)).await;
    let tls = ClientTlsConfig::new()
        .ca_pem(server_pki.ca.pem())
        .unwrap()
        .server_name("localhost");
    let status = whoami(endpoint(server.addr).tls(tls).unwrap())
        .await
        .unwrap_err();
    // With TLS 1.3 the server refuses after the client's handshake is
    // done: the client reads the `certificate_required` alert, or finds the
    // connection closed first. Either way the call is UNAVAILABLE.
    let text = causes(&status);
    assert_eq!(status.code(), Code::Unavailable, "{text}");
    assert!(
        ["CertificateRequired", "broken pipe", "reset", "closed"]
            .iter()
            .any(|why| text.contains(why)),
        "{text}"
    );
}

/// A bare rustls server offering `alpn` that completes handshakes and then
/// holds each connection open for a while.
// rustls deprecated the ring provider (no post-quantum key exchange); the
// library uses it too, see grpc-client's tls module.
#[allow(deprecated)]
async fn bare_tls_server(pki: &Pki, alpn: &[&[u8]]) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = pki.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(tcp).await {
                    tokio::time::sleep(LIMIT).await;
                    drop(stream);
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_only_speaks_http1_fails_the_handshake_with_unavailable() {
    let pki = Pki::new("test ca");
    let addr = bare_tls_server(&pki, &[b"http/1.1"]).await;
    let tls = ClientTlsConfig::new()
        .ca_pem(pki.ca.pem())
        .unwrap()
        .server_name("localhost");
    let status = whoami(endpoint(addr).tls(tls).unwrap()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        causes(&status).contains("NoApplicationProtocol"),
        "{}",
        causes(&status)
    );
    assert!(has_tls_error(&status));
}

#[tokio::test]
async fn a_server_that_selects_no_alpn_protocol_is_refused_with_unavailable() {
    let pki = Pki::new("test ca");
    let addr = bare_tls_server(&pki, &[]).await;
    let tls = ClientTlsConfig::new()
        .ca_pem(pki.ca.pem())
        .unwrap()
        .server_name("localhost");
    let status = whoami(endpoint(addr).tls(tls).unwrap()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(causes(&status).contains("ALPN"), "{}", causes(&status));
    assert!(has_tls_error(&status));
}
