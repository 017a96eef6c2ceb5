//! What the integration tests of grpc-layers share: bounded waits, our
//! server and channel on loopback, and the peers of other libraries
//! ([`tonic_peer`], [`axum_peer`]) the layers are tested inside.
#![allow(dead_code, unreachable_pub)]

pub mod axum_peer;
#[cfg(feature = "otel")]
pub mod telemetry;
#[cfg(feature = "auth")]
pub mod tonic_peer;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use grpc_client::{Channel, Endpoint};
use grpc_core::GrpcBody;
use grpc_server::Server;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout};

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(20);

/// `future`, or a panic once [`LIMIT`] has passed.
pub async fn bounded<F: Future>(future: F) -> F::Output {
    timeout(LIMIT, future)
        .await
        .expect("the test waited too long")
}

/// Waits (bounded) until `cond` holds.
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    bounded(async {
        while !cond() {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(cond(), "{what}");
}

/// A server on 127.0.0.1, stopped when this is dropped.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    /// `http://127.0.0.1:port`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A lazy channel of ours to it.
    pub fn channel(&self) -> Channel {
        Endpoint::new(self.uri().parse().unwrap())
            .unwrap()
            .connect_lazy()
    }
}

/// Serves `service` with grpc-server on a loopback port.
pub async fn serve<S, B>(service: S) -> TestServer
where
    S: tower::Service<http::Request<GrpcBody>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<grpc_core::BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<grpc_core::BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    TestServer { addr, _stop: stop }
}

/// A loopback listener and the server handle that stops whatever serves
/// it when dropped (the serving task waits on `stopped`).
pub async fn listen() -> (TcpListener, TestServer, oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    (listener, TestServer { addr, _stop: stop }, stopped)
}
