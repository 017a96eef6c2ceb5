//! Cross-implementation auth against Python grpcio, both directions, over
//! TLS with the interop test PKI (`interop/certs`):
//!
//! - a grpcio client sending `grpc.access_token_call_credentials` composed
//!   with `grpc.ssl_channel_credentials` calls our server behind
//!   `ServerAuthLayer`: the handler sees the identity of the token, and a
//!   wrong (or no) token is `UNAUTHENTICATED` in Python;
//! - our client with a token-source `ClientAuthLayer` calls a grpcio server
//!   whose `grpc.ServerInterceptor` checks `authorization` and aborts with
//!   `UNAUTHENTICATED` otherwise: the token reaches it, once fetched.
//!
//! They need a Python with `grpcio` and `grpcio-tools`, as `python_peer.rs`
//! does: `scripts/test.sh` installs one; set `GRPC_SKIP_PEERS=1` to skip.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use examples::echo::echo_client::EchoClient;
use examples::echo::echo_server::{Echo, EchoServer};
use examples::echo::{EchoReply, EchoRequest};
use examples::echo_service::{EchoService, ReplyStream};
use examples::interop::{certs, test_server_tls};
use grpc_client::{ClientTlsConfig, Endpoint};
use grpc_core::{BoxError, Code, Request, Response, Status, Streaming};
use grpc_layers::auth::{BearerTokens, ClientAuthLayer, Identity, ServerAuthLayer, Token};
use grpc_server::{Router, Server};
use support::{python, python_dir, LIMIT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tower::ServiceBuilder;

fn certs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/certs")
}

/// Echo whose unary replies name the caller, as the auth layer attached
/// it; the identities it saw are kept for the test. The other methods are
/// the ordinary Echo's.
#[derive(Clone, Default)]
struct WhoAmI {
    echo: EchoService,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Echo for WhoAmI {
    async fn unary(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let Some(Identity(name)) = request.extensions().get::<Identity<String>>().cloned() else {
            return Err(Status::internal("the handler ran without an identity"));
        };
        self.seen.lock().unwrap().push(name.clone());
        Ok(Response::new(EchoReply {
            message: name,
            ..EchoReply::default()
        }))
    }

    type ServerStreamStream = ReplyStream;

    async fn server_stream(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<ReplyStream>, Status> {
        self.echo.server_stream(request).await
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoReply>, Status> {
        self.echo.client_stream(request).await
    }

    type BidiStream = ReplyStream;

    async fn bidi(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<ReplyStream>, Status> {
        self.echo.bidi(request).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_with_access_token_credentials_is_authenticated_by_our_server() {
    let Some(python) = python("auth") else { return };
    let service = WhoAmI::default();
    let seen = service.seen.clone();
    let tokens = BearerTokens::new().token("py-alice-token", "alice".to_owned());
    let stack = ServiceBuilder::new()
        .layer(ServerAuthLayer::new(tokens))
        .service(Router::new().add_service(EchoServer::new(service)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new().tls(test_server_tls()).unwrap();
    let server = tokio::spawn(server.serve_with_shutdown(listener, stack, async {
        let _ = stopped.await;
    }));

    let mut child = Command::new(python)
        .arg(python_dir().join("auth_client.py"))
        .arg("--target")
        .arg(addr.to_string())
        .arg("--ca")
        .arg(certs_dir().join("ca.pem"))
        .args(["--server-name", certs::SERVER_HOST_OVERRIDE])
        .args(["--token", "py-alice-token", "--identity", "alice"])
        .current_dir(python_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python client");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (status, out, err) = timeout(LIMIT * 2, async {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (child.wait().await.unwrap(), out, err)
    })
    .await
    .expect("the Python client finishes");
    println!("{out}");
    assert!(
        status.success(),
        "the grpcio client reported failures:\n{out}\n{err}"
    );
    for case in [
        "the_handler_sees_the_identity identity=alice",
        "a_wrong_token_is_unauthenticated code=UNAUTHENTICATED",
        "no_token_is_unauthenticated code=UNAUTHENTICATED",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("ok {case}"))),
            "case {case} did not pass:\n{out}\n{err}"
        );
    }
    // Our side: the handler ran once, for the good token, and saw alice.
    assert_eq!(*seen.lock().unwrap(), ["alice"]);

    let _ = stop.send(());
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_token_source_client_is_authenticated_by_a_grpcio_interceptor() {
    let Some(python) = python("auth") else { return };
    let dir = certs_dir();
    let mut child = Command::new(python)
        .arg(python_dir().join("auth_server.py"))
        .args(["--token", "from-our-source"])
        .arg("--cert")
        .arg(dir.join("server1.pem"))
        .arg("--key")
        .arg(dir.join("server1.key"))
        .current_dir(python_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().parse().unwrap();
            }
        }
        panic!("the Python server exited before listening");
    })
    .await
    .expect("the Python server starts");

    let tls = ClientTlsConfig::new()
        .ca_pem(certs::CA_PEM)
        .unwrap()
        .server_name(certs::SERVER_HOST_OVERRIDE);
    let channel = Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls(tls)
        .unwrap()
        .connect_lazy();

    // The token source: what an OAuth client would fetch, counted.
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let source = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            let token = Token::bearer("from-our-source")?;
            Ok::<_, BoxError>(token.expires_in(Duration::from_secs(3600)))
        }
    };
    let authed = ServiceBuilder::new()
        .layer(ClientAuthLayer::token_source(source))
        .service(channel.clone());
    let mut client = EchoClient::new(authed);
    for _ in 0..3 {
        let reply = timeout(LIMIT, client.unary(EchoRequest::default()))
            .await
            .expect("bounded")
            .expect("the interceptor lets our token through");
        assert_eq!(reply.into_inner().message, "Bearer from-our-source");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the token was cached");

    // A wrong token is refused by the interceptor, and reaches us as a status.
    let wrong = ServiceBuilder::new()
        .layer(ClientAuthLayer::bearer("not-it").unwrap())
        .service(channel.clone());
    let status = timeout(LIMIT, EchoClient::new(wrong).unary(EchoRequest::default()))
        .await
        .expect("bounded")
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "invalid or missing bearer token");
    // And so is no token at all.
    let status = timeout(
        LIMIT,
        EchoClient::new(channel).unary(EchoRequest::default()),
    )
    .await
    .expect("bounded")
    .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    drop(child.stdin.take());
    let _ = child.kill().await;
}
