//! Shared helpers: an Echo server on 127.0.0.1:0 and a channel to it.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use examples::echo::echo_server::EchoServer;
use examples::echo_service::{EchoService, Stats};
use grpc_client::{Channel, Endpoint};
use grpc_server::{Router, Server};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

pub struct EchoServerHandle {
    pub addr: SocketAddr,
    pub stats: Stats,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl EchoServerHandle {
    pub fn channel(&self) -> Channel {
        Endpoint::new(format!("http://{}", self.addr).parse().unwrap())
            .unwrap()
            .connect_lazy()
    }

    /// Begins a graceful shutdown.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start_echo() -> EchoServerHandle {
    let service = EchoService::new();
    let stats = service.stats();
    let router = Router::new().add_service(EchoServer::new(service));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(Server::new().serve_with_shutdown(listener, router, async {
        let _ = stopped.await;
    }));
    EchoServerHandle {
        addr,
        stats,
        stop: Some(stop),
        task,
    }
}

/// Waits (bounded) until `cond` holds.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The folder of the Python peers (`examples/python`).
pub fn python_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The Python (with grpcio) to run the peers with, or `None` when skipping
/// was asked for with `GRPC_SKIP_PEERS`. `scripts/test.sh` installs one in
/// `target/peers/venv` and sets `GRPC_TEST_PYTHON`; without either, the
/// test fails with instructions rather than passing unseen.
pub fn python(test: &str) -> Option<std::path::PathBuf> {
    if std::env::var_os("GRPC_SKIP_PEERS").is_some() {
        eprintln!("GRPC_SKIP_PEERS is set: skipping the Python grpcio {test} test");
        return None;
    }
    if let Some(p) = std::env::var_os("GRPC_TEST_PYTHON") {
        return Some(std::path::PathBuf::from(p));
    }
    let venv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/peers/venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    panic!(
        "no Python with grpcio found: run ./scripts/test.sh (it installs one in \
         target/peers/venv), or set GRPC_TEST_PYTHON, or GRPC_SKIP_PEERS=1 to skip"
    );
}
