//! One seam for every transport: our server and our client over a Unix
//! domain socket and over an in-memory pipe (no socket at all), with TLS on
//! top of the pipe, and with write batching off on both ends. Each test is
//! full HTTP/2 through the whole stack, bounded in time.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use grpc_client::{Endpoint, Grpc, GrpcService};
use grpc_core::codec::BytesCodec;
use grpc_core::{GrpcMethod, Request, Response, Status};
use grpc_server::{handler, PeerAddr, Router, Server};
use grpc_transport::memory::{self, MemoryAddr};
use grpc_transport::Listener;
use support::bounded;
use tokio::sync::oneshot;

const ECHO: GrpcMethod = GrpcMethod::new("test.Transport", "Echo");

/// Echoes the request and says which kind of peer address the call had.
fn router() -> Router {
    Router::new().route(
        ECHO,
        handler::unary(BytesCodec, |request: Request<Bytes>| async move {
            let extensions = request.extensions();
            let peer = if extensions.get::<PeerAddr>().is_some() {
                "tcp"
            } else if extensions.get::<PeerAddr<MemoryAddr>>().is_some() {
                "memory"
            } else if extensions
                .get::<PeerAddr<tokio::net::unix::SocketAddr>>()
                .is_some()
            {
                "unix"
            } else {
                "none"
            };
            let mut response = Response::new(request.into_inner());
            response.metadata_mut().insert("x-peer", peer).unwrap();
            Ok::<_, Status>(response)
        }),
    )
}

/// Serves `router()` on `listener` until the returned sender is dropped.
fn serve(server: Server, listener: impl Listener) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve_with_shutdown(listener, router(), async {
        let _ = stopped.await;
    }));
    stop
}

/// One echo call; returns the reply and the server's `x-peer`.
async fn echo<S: GrpcService>(grpc: &mut Grpc<S>, text: &'static str) -> (Bytes, String) {
    let reply = bounded(grpc.unary(
        Request::new(Bytes::from_static(text.as_bytes())),
        ECHO,
        BytesCodec,
    ))
    .await
    .unwrap();
    let peer = reply.metadata().get("x-peer").unwrap().to_owned();
    (reply.into_inner(), peer)
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("grpc-client-transports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn calls_run_over_a_unix_domain_socket_in_both_target_spellings() {
    let path = socket_path("unix.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let _stop = serve(Server::new(), listener);
    for target in [
        format!("unix:{}", path.display()),
        format!("unix://{}", path.display()),
    ] {
        let channel = Endpoint::from_shared(target.clone())
            .unwrap()
            .connect_lazy();
        let mut grpc = Grpc::new(channel);
        assert_eq!(
            echo(&mut grpc, "over unix").await,
            (Bytes::from("over unix"), "unix".to_owned()),
            "{target}"
        );
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_server_binds_the_target_strings_a_client_connects_to() {
    let path = socket_path("target.sock");
    let unix = format!("unix://{}", path.display());
    let tcp = {
        // A free port: bind, read it, let it go.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("ipv4:{}", probe.local_addr().unwrap())
    };
    for target in [unix, tcp] {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let bind = target.clone();
        let serving = tokio::spawn(async move {
            Server::new()
                .serve_target_with_shutdown(&bind, router(), async {
                    let _ = stopped.await;
                })
                .await
        });
        let channel = Endpoint::from_shared(target.clone())
            .unwrap()
            .connect_lazy();
        let mut grpc = Grpc::new(channel);
        // The server may not be listening yet: the channel retries.
        let (reply, _) = bounded(echo(&mut grpc, "bound")).await;
        assert_eq!(reply, "bound", "{target}");
        let _ = stop.send(());
        bounded(serving).await.unwrap().unwrap();
    }
    let _ = std::fs::remove_file(&path);
    let err = Server::new()
        .serve_target_with_shutdown("ipv4:127.0.0.1:1,127.0.0.1:2", router(), async {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn calls_run_over_an_in_memory_pipe_with_no_socket() {
    let (listener, connector) = memory::pair();
    let _stop = serve(Server::new(), listener);
    let channel = Endpoint::from_static("http://in-memory.test")
        .connector(connector)
        .connect_lazy();
    let mut grpc = Grpc::new(channel);
    // Many calls in flight at once, multiplexed on one pipe.
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let mut grpc = grpc.clone();
            tokio::spawn(async move { echo(&mut grpc, "in memory").await })
        })
        .collect();
    for call in calls {
        assert_eq!(
            bounded(call).await.unwrap(),
            (Bytes::from("in memory"), "memory".to_owned())
        );
    }
    assert_eq!(echo(&mut grpc, "again").await.0, "again");
}

#[tokio::test]
async fn a_dropped_in_memory_listener_is_unavailable() {
    let (listener, connector) = memory::pair();
    drop(listener);
    let channel = Endpoint::from_static("http://in-memory.test")
        .connector(connector)
        .connect_lazy();
    let status = bounded(Grpc::new(channel).unary(Request::new(Bytes::new()), ECHO, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), grpc_core::Code::Unavailable, "{status:?}");
}

#[tokio::test]
async fn tls_runs_on_top_of_any_transport() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server = Server::new()
        .tls(
            grpc_server::tls::ServerTlsConfig::from_pem(
                cert.cert.pem(),
                cert.key_pair.serialize_pem(),
            )
            .unwrap(),
        )
        .unwrap();
    let (listener, connector) = memory::pair();
    let _stop = serve(server, listener);
    let tls = grpc_client::ClientTlsConfig::new()
        .ca_pem(cert.cert.pem())
        .unwrap();
    let channel = Endpoint::from_static("https://localhost")
        .connector(connector)
        .tls(tls)
        .unwrap()
        .connect_lazy();
    let mut grpc = Grpc::new(channel);
    assert_eq!(echo(&mut grpc, "tls in memory").await.0, "tls in memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_write_batching_off_on_both_ends_calls_still_flow() {
    let (listener, connector) = memory::pair();
    let _stop = serve(Server::new().write_batching(false), listener);
    let channel = Endpoint::from_static("http://in-memory.test")
        .connector(connector)
        .write_batching(false)
        .connect_lazy();
    let grpc = Grpc::new(channel);
    let done = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let (mut grpc, done) = (grpc.clone(), done.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    echo(&mut grpc, "unbatched").await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for call in calls {
        bounded(call).await.unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), 640);
}

#[tokio::test]
async fn over_tcp_the_peer_address_is_a_socket_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _stop = serve(Server::new(), listener);
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    assert_eq!(echo(&mut Grpc::new(channel), "tcp").await.1, "tcp");
}
