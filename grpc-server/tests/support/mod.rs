//! Shared helpers for the server's end-to-end tests: a server on
//! 127.0.0.1:0 and a raw h2 client with full control of each stream.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_core::codec::framing::encode_raw;
use grpc_core::test_util::ScriptedBody;
use grpc_core::Status;
use grpc_server::{Router, Server};
use http::HeaderMap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(20);

pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    pub handle: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// Signals a graceful shutdown; the returned handle ends when it is done.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn start(router: Router) -> TestServer {
    start_with(Server::new(), router).await
}

pub async fn start_with(server: Server, router: Router) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve_with_shutdown(listener, router, async {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        shutdown: Some(tx),
        handle,
    }
}

pub type Client = h2::client::SendRequest<Bytes>;

/// A raw HTTP/2 client connection; the connection task runs in the background.
pub async fn connect(addr: SocketAddr) -> (Client, JoinHandle<Result<(), h2::Error>>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    // 1 MiB windows, as gRPC clients use: with h2's 64 KiB default, h2 (since
    // 0.4.20) closes the connection once ~130 small DATA frames wait unread.
    let (client, conn) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(1 << 20)
        .handshake(tcp)
        .await
        .unwrap();
    (client, tokio::spawn(conn))
}

pub fn grpc_request(path: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// Everything a response carried.
#[derive(Debug)]
pub struct Reply {
    pub head: http::response::Parts,
    pub messages: Vec<Bytes>,
    pub trailers: Option<HeaderMap>,
}

impl Reply {
    pub fn status(&self) -> Status {
        match &self.trailers {
            Some(t) => Status::from_headers(t).expect("grpc-status in trailers"),
            None => Status::from_headers(&self.head.headers).expect("grpc-status in headers"),
        }
    }
}

/// Reads a whole response: data, then trailers.
pub async fn read_reply(response: h2::client::ResponseFuture) -> Reply {
    let response = response.await.unwrap();
    let (head, mut body) = response.into_parts();
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        data.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.unwrap();
    Reply {
        head,
        messages: split_messages(data.freeze()),
        trailers,
    }
}

/// Splits wire bytes into message payloads.
pub fn split_messages(data: Bytes) -> Vec<Bytes> {
    let mut deframer = grpc_core::codec::Deframer::new(ScriptedBody::new([data]), usize::MAX);
    let mut out = Vec::new();
    while let Some(frame) =
        futures_util::FutureExt::now_or_never(deframer.message()).expect("ready body")
    {
        out.push(frame.unwrap().into_payload());
    }
    out
}

/// One unary call: request headers, one message, end of stream.
pub async fn unary(client: &mut Client, path: &str, message: &[u8]) -> Reply {
    let mut client = client.clone().ready().await.unwrap();
    let (response, mut send) = client.send_request(grpc_request(path), false).unwrap();
    send.send_data(encode_raw(message, false), true).unwrap();
    read_reply(response).await
}
