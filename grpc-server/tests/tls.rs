//! The server over TLS, end to end on 127.0.0.1 with certificates made at
//! run time: ALPN, client certificates (mTLS) seen by handlers, refusals,
//! and the handshake timeout.

#![cfg(feature = "tls")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status};
use grpc_server::tls::{ServerTlsConfig, TlsInfo};
use grpc_server::{handler, Router, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// A CA and what it issued, as PEM and DER.
struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

struct Issued {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: PrivateKeyDer<'static>,
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

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "grpc-stack test");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        }
    }

    fn server(&self) -> Issued {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self) -> Issued {
        self.issue(&["client.test"], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A unary method that answers with what it learned of the TLS connection.
fn whoami_router() -> Router {
    Router::new().route(
        GrpcMethod::new("test.Tls", "WhoAmI"),
        handler::unary(BytesCodec, |req: Request<Bytes>| async move {
            let info = req
                .extensions()
                .get::<TlsInfo>()
                .ok_or_else(|| Status::internal("no TlsInfo"))?;
            let alpn = info
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let text = format!(
                "alpn={} sni={} certs={}",
                alpn.as_deref().unwrap_or("-"),
                info.server_name().unwrap_or("-"),
                info.peer_certificates().map_or(0, |c| c.len()),
            );
            let first_cert = info
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec())
                .unwrap_or_default();
            let mut reply = text.into_bytes();
            reply.push(b'|');
            reply.extend_from_slice(&first_cert);
            Ok::<_, Status>(Response::new(Bytes::from(reply)))
        }),
    )
}

// rustls deprecated the ring provider (no post-quantum key exchange); the
// library uses it too, see grpc-server's tls module.
#[allow(deprecated)]
fn client_config(pki: &Pki, identity: Option<&Issued>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.ca.der().to_vec()))
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.cert_der.clone()], id.key_der.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

async fn tls_connect(
    server: &TestServer,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(server.addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

/// One WhoAmI call over an established TLS stream.
async fn whoami(stream: tokio_rustls::client::TlsStream<TcpStream>) -> Result<Reply, h2::Error> {
    let (client, conn) = h2::client::handshake(stream).await?;
    tokio::spawn(conn);
    let mut client = client.ready().await?;
    let (response, mut send) = client.send_request(grpc_request("/test.Tls/WhoAmI"), false)?;
    send.send_data(encode_raw(b"", false), true)?;
    let response = response.await?;
    let (head, mut body) = response.into_parts();
    let mut data = bytes::BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await?;
    Ok(Reply {
        head,
        messages: split_messages(data.freeze()),
        trailers,
    })
}

fn text_of(reply: &Reply) -> (String, Vec<u8>) {
    assert_eq!(reply.status().code(), Code::Ok, "{:?}", reply.status());
    let message = &reply.messages[0];
    let split = message.iter().position(|b| *b == b'|').unwrap();
    (
        String::from_utf8(message[..split].to_vec()).unwrap(),
        message[split + 1..].to_vec(),
    )
}

async fn start_tls(tls: ServerTlsConfig) -> TestServer {
    start_with(Server::new().tls(tls).unwrap(), whoami_router()).await
}

#[tokio::test]
async fn a_tls_call_negotiates_h2_and_the_handler_sees_the_connection() {
    let pki = Pki::new("ca");
    let cert = pki.server();
    let server = start_tls(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let stream = timeout(
        LIMIT,
        tls_connect(&server, client_config(&pki, None, &[b"h2"])),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let reply = timeout(LIMIT, whoami(stream)).await.unwrap().unwrap();
    let (text, _) = text_of(&reply);
    assert_eq!(text, "alpn=h2 sni=localhost certs=0");
}

#[tokio::test]
async fn a_client_offering_no_alpn_is_served_http2_with_prior_knowledge() {
    let pki = Pki::new("ca");
    let cert = pki.server();
    let server = start_tls(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let stream = timeout(LIMIT, tls_connect(&server, client_config(&pki, None, &[])))
        .await
        .unwrap()
        .unwrap();
    let reply = timeout(LIMIT, whoami(stream)).await.unwrap().unwrap();
    assert_eq!(text_of(&reply).0, "alpn=- sni=localhost certs=0");
}

#[tokio::test]
async fn a_client_offering_only_http1_fails_the_handshake() {
    let pki = Pki::new("ca");
    let cert = pki.server();
    let server = start_tls(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let err = timeout(
        LIMIT,
        tls_connect(&server, client_config(&pki, None, &[b"http/1.1"])),
    )
    .await
    .unwrap()
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("NoApplicationProtocol"), "{text}");
}

#[tokio::test]
async fn mtls_hands_the_verified_client_certificate_to_the_handler() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let cert = server_pki.server();
    let id = client_pki.client();
    let tls = ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .client_ca_pem(client_pki.ca_pem())
        .unwrap();
    let server = start_tls(tls).await;
    let stream = timeout(
        LIMIT,
        tls_connect(&server, client_config(&server_pki, Some(&id), &[b"h2"])),
    )
    .await
    .unwrap()
    .unwrap();
    let reply = timeout(LIMIT, whoami(stream)).await.unwrap().unwrap();
    let (text, first) = text_of(&reply);
    assert_eq!(text, "alpn=h2 sni=localhost certs=1");
    assert_eq!(first, id.cert_der.as_ref());
}

/// With TLS 1.3 the client finishes its side of the handshake before the
/// server has checked the client's certificate, so the refusal shows as a
/// fatal alert on the first read; either way no call gets through.
async fn assert_refused(server: &TestServer, config: Arc<ClientConfig>, alert: &str) {
    let outcome = timeout(LIMIT, async {
        let stream = tls_connect(server, config)
            .await
            .map_err(|e| e.to_string())?;
        whoami(stream).await.map_err(|e| e.to_string())
    })
    .await
    .unwrap();
    let err = outcome.expect_err("the call must not go through");
    assert!(err.contains(alert), "{err}");
}

#[tokio::test]
async fn mtls_refuses_a_client_without_a_certificate() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let cert = server_pki.server();
    let tls = ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .client_ca_pem(client_pki.ca_pem())
        .unwrap();
    let server = start_tls(tls).await;
    assert_refused(
        &server,
        client_config(&server_pki, None, &[b"h2"]),
        "CertificateRequired",
    )
    .await;
}

#[tokio::test]
async fn mtls_refuses_a_certificate_from_another_ca() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let stranger = Pki::new("stranger ca").client();
    let cert = server_pki.server();
    let tls = ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .client_ca_pem(client_pki.ca_pem())
        .unwrap();
    let server = start_tls(tls).await;
    assert_refused(
        &server,
        client_config(&server_pki, Some(&stranger), &[b"h2"]),
        "UnknownCA",
    )
    .await;
}

#[tokio::test]
async fn optional_client_auth_lets_a_client_without_a_certificate_in() {
    let server_pki = Pki::new("server ca");
    let client_pki = Pki::new("client ca");
    let cert = server_pki.server();
    let tls = ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .client_ca_pem(client_pki.ca_pem())
        .unwrap()
        .client_auth_optional(true);
    let server = start_tls(tls).await;
    let stream = timeout(
        LIMIT,
        tls_connect(&server, client_config(&server_pki, None, &[b"h2"])),
    )
    .await
    .unwrap()
    .unwrap();
    let reply = timeout(LIMIT, whoami(stream)).await.unwrap().unwrap();
    assert_eq!(text_of(&reply).0, "alpn=h2 sni=localhost certs=0");
    // A certificate that is presented is still verified.
    let stranger = Pki::new("stranger ca").client();
    assert_refused(
        &server,
        client_config(&server_pki, Some(&stranger), &[b"h2"]),
        "UnknownCA",
    )
    .await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout_without_blocking_others() {
    let pki = Pki::new("ca");
    let cert = pki.server();
    let tls = ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem)
        .unwrap()
        .handshake_timeout(Duration::from_millis(300));
    let server = start_tls(tls).await;

    // Connects and says nothing.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // Meanwhile a real client is served: the handshake is not in the accept loop.
    let stream = timeout(
        LIMIT,
        tls_connect(&server, client_config(&pki, None, &[b"h2"])),
    )
    .await
    .unwrap()
    .unwrap();
    let reply = timeout(LIMIT, whoami(stream)).await.unwrap().unwrap();
    assert_eq!(reply.status().code(), Code::Ok);

    // The silent one is closed by the server (EOF or reset) once its time is up.
    let mut buf = [0u8; 16];
    let started = tokio::time::Instant::now();
    let read = timeout(LIMIT, silent.read(&mut buf)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_plain_text_client_gets_no_http2_from_a_tls_server() {
    let pki = Pki::new("ca");
    let cert = pki.server();
    let server = start_tls(ServerTlsConfig::from_pem(&cert.cert_pem, &cert.key_pem).unwrap()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    // The server answers with a TLS alert at most, then closes.
    let _ = timeout(LIMIT, tcp.read_to_end(&mut buf)).await.unwrap();
    assert!(!buf.starts_with(b"\x00\x00"), "no HTTP/2 frame: {buf:?}");
}
