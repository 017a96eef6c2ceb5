//! Cross-implementation compression: a Python grpcio client compressing
//! with gzip against our server (`ServerCompressionLayer` in its stack),
//! and our client (`ClientCompressionLayer`) compressing with gzip and with
//! deflate against a grpcio server that compresses its responses the same
//! way.
//!
//! Taps on the wire side of our compression layer record what travelled:
//! the `grpc-encoding` of each head and the compressed flag of each
//! message, so the tests fail if either side quietly sent plain messages.
//!
//! It needs a Python with `grpcio` and `grpcio-tools`, as `python_peer.rs`
//! does: `scripts/test.sh` installs one; set `GRPC_SKIP_PEERS=1` to skip.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use examples::echo::echo_client::EchoClient;
use examples::echo::echo_server::EchoServer;
use examples::echo::EchoRequest;
use examples::echo_cases;
use examples::echo_service::EchoService;
use grpc_client::{Endpoint, GrpcService};
use grpc_core::codec::Deframer;
use grpc_core::{BoxError, Code, GrpcBody};
use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
use grpc_server::{Router, Server};
use http_body::Body;
use http_body_util::BodyExt;
use support::{python, python_dir, LIMIT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tower::ServiceBuilder;

/// What crossed the wire in one direction.
#[derive(Clone, Default)]
struct Seen {
    /// The `grpc-encoding` of each head ("" when absent).
    encodings: Arc<Mutex<Vec<String>>>,
    /// The compressed flag and wire length of each message.
    messages: Arc<Mutex<Vec<(bool, usize)>>>,
}

impl Seen {
    fn record_head(&self, headers: &http::HeaderMap) {
        let encoding = headers
            .get("grpc-encoding")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        self.encodings.lock().unwrap().push(encoding);
    }

    /// Passes `body` on as it is, recording each message's flag.
    fn tap<B>(&self, body: B) -> GrpcBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let messages = self.messages.clone();
        GrpcBody::new(Deframer::new(body, usize::MAX).map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                let len = data.len() - grpc_core::codec::framing::HEADER_LEN;
                messages.lock().unwrap().push((data[0] == 1, len));
            }
            frame
        }))
    }

    fn encodings(&self) -> Vec<String> {
        self.encodings.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<(bool, usize)> {
        self.messages.lock().unwrap().clone()
    }

    /// Checks that the messages are compressed wherever our layer would
    /// compress them: only those under the minimum size go plain, and at
    /// least one went compressed.
    fn assert_compressed_above_min_size(&self, what: &str) {
        let messages = self.messages();
        assert!(
            messages.iter().any(|(compressed, _)| *compressed),
            "{what}: no message was compressed: {messages:?}"
        );
        assert!(
            messages
                .iter()
                .all(|(compressed, len)| *compressed
                    || *len < ServerCompressionLayer::DEFAULT_MIN_SIZE),
            "{what}: a message over the minimum size went plain: {messages:?}"
        );
    }
}

/// Taps for both directions of a stack.
#[derive(Clone, Default)]
struct Taps {
    requests: Seen,
    responses: Seen,
}

impl Taps {
    fn request(&self, request: http::Request<GrpcBody>) -> http::Request<GrpcBody> {
        self.requests.record_head(request.headers());
        let seen = self.requests.clone();
        request.map(|body| seen.tap(body))
    }

    fn response<B>(&self, response: http::Response<B>) -> http::Response<GrpcBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.responses.record_head(response.headers());
        let seen = self.responses.clone();
        response.map(|body| seen.tap(body))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_compressing_with_gzip_passes_every_case_against_our_server() {
    let Some(python) = python("compression") else {
        return;
    };
    // Our server: decompresses requests, answers gzip to clients that take it.
    let taps = Taps::default();
    let (req_tap, res_tap) = (taps.clone(), taps.clone());
    let service = ServiceBuilder::new()
        // On the wire side of compression: sees what grpcio sent and gets.
        .map_request(move |r| req_tap.request(r))
        .map_response(move |r| res_tap.response(r))
        .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip))
        .service(Router::new().add_service(EchoServer::new(EchoService::new())));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));

    let mut child = Command::new(python)
        .arg(python_dir().join("echo_client.py"))
        .args(["--target", &addr.to_string(), "--compression", "gzip"])
        .current_dir(python_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python client");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (status, out, err) = timeout(LIMIT * 4, async {
        let (mut out, mut err) = (String::new(), String::new());
        let (a, b) = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        a.ok();
        b.ok();
        (child.wait().await.unwrap(), out, err)
    })
    .await
    .expect("the Python client finishes");
    println!("{out}");
    assert!(
        status.success(),
        "the grpcio client reported failures:\n{out}\n{err}"
    );
    for case in echo_cases::CASES {
        assert!(
            out.contains(&format!("ok {case}")),
            "case {case} did not pass:\n{out}\n{err}"
        );
    }
    // grpcio compressed its requests, and we answered in gzip.
    let encodings = taps.requests.encodings();
    assert!(
        encodings.iter().all(|e| e == "gzip"),
        "request encodings {encodings:?}"
    );
    // grpcio may leave a message plain when compressing does not pay.
    assert!(
        taps.requests
            .messages()
            .iter()
            .any(|(compressed, _)| *compressed),
        "no request message was compressed: {:?}",
        taps.requests.messages()
    );
    let encodings = taps.responses.encodings();
    assert!(
        encodings.iter().any(|e| e == "gzip"),
        "response encodings {encodings:?}"
    );
    println!(
        "grpcio's requests (compressed, wire bytes): {:?}",
        taps.requests.messages()
    );
    println!("our responses: {:?}", taps.responses.messages());
    taps.responses
        .assert_compressed_above_min_size("our responses");
}

/// Starts `echo_server.py` compressing with `compression`; returns the
/// child (killed on drop) and its port.
async fn start_python_server(python: PathBuf, compression: &str) -> (tokio::process::Child, u16) {
    let mut child = Command::new(python)
        .arg(python_dir().join("echo_server.py"))
        .args(["--compression", compression])
        .current_dir(python_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().parse().unwrap();
            }
        }
        panic!("the Python server exited before listening");
    })
    .await
    .expect("the Python server starts");
    (child, port)
}

fn compressible(len: usize) -> Vec<u8> {
    b"compress me please "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

async fn bounded<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    timeout(LIMIT, future)
        .await
        .map_err(|_| format!("no answer within {LIMIT:?}"))
}

/// The Echo contract, through any client stack: every RPC kind, a large
/// message and an error status, each with compressible payloads.
async fn run_cases<S: GrpcService + Clone>(service: S) -> Vec<(&'static str, Result<(), String>)> {
    let client = || {
        EchoClient::new(service.clone())
            .max_receive_message_size(8 << 20)
            .max_send_message_size(8 << 20)
    };
    let mut results = Vec::new();

    let unary = async {
        let payload = compressible(4096);
        let request = EchoRequest {
            message: "hello".into(),
            payload: payload.clone(),
            ..Default::default()
        };
        let reply = bounded(client().unary(request))
            .await?
            .map_err(|s| s.to_string())?
            .into_inner();
        if reply.message != "hello" || reply.payload != payload {
            return Err(format!("unexpected reply {:?}", reply.message));
        }
        Ok(())
    };
    results.push(("unary", unary.await));

    let server_stream = async {
        let request = EchoRequest {
            message: "s".into(),
            repeat: 4,
            reply_size: 2000,
            ..Default::default()
        };
        let mut replies = bounded(client().server_stream(request))
            .await?
            .map_err(|s| s.to_string())?
            .into_inner();
        let mut indexes = Vec::new();
        while let Some(reply) = bounded(replies.message())
            .await?
            .map_err(|s| s.to_string())?
        {
            if reply.payload.len() != 2000 {
                return Err(format!("payload of {} bytes", reply.payload.len()));
            }
            indexes.push(reply.index);
        }
        if indexes != [0, 1, 2, 3] {
            return Err(format!("indexes {indexes:?}"));
        }
        Ok(())
    };
    results.push(("server_stream", server_stream.await));

    let client_stream = async {
        let requests: Vec<EchoRequest> = ["a", "b", "c"]
            .into_iter()
            .map(|m| EchoRequest {
                message: m.into(),
                payload: compressible(1000),
                ..Default::default()
            })
            .collect();
        let reply = bounded(client().client_stream(futures_util::stream::iter(requests)))
            .await?
            .map_err(|s| s.to_string())?
            .into_inner();
        if reply.message != "a,b,c" || reply.count != 3 {
            return Err(format!("reply {:?} count {}", reply.message, reply.count));
        }
        Ok(())
    };
    results.push(("client_stream", client_stream.await));

    let bidi = async {
        let ping = |word: &str| EchoRequest {
            message: word.into(),
            payload: compressible(500),
            ..Default::default()
        };
        let words = ["ping", "pong", "pang"];
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        // A server may hold its response head until its first reply, so
        // the first message goes before waiting for the head.
        tx.send(ping(words[0])).await.map_err(|e| e.to_string())?;
        let mut replies = bounded(client().bidi(tokio_stream::wrappers::ReceiverStream::new(rx)))
            .await?
            .map_err(|s| s.to_string())?
            .into_inner();
        for (i, word) in words.into_iter().enumerate() {
            if i > 0 {
                tx.send(ping(word)).await.map_err(|e| e.to_string())?;
            }
            let reply = bounded(replies.message())
                .await?
                .map_err(|s| s.to_string())?
                .ok_or("the stream ended early")?;
            if reply.message != word || reply.index != i as u32 {
                return Err(format!("reply {:?} #{}", reply.message, reply.index));
            }
        }
        drop(tx);
        match bounded(replies.message())
            .await?
            .map_err(|s| s.to_string())?
        {
            None => Ok(()),
            Some(extra) => Err(format!("an extra reply {:?}", extra.message)),
        }
    };
    results.push(("bidi", bidi.await));

    let large = async {
        let payload: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
        let request = EchoRequest {
            payload: payload.clone(),
            ..Default::default()
        };
        let reply = bounded(client().unary(request))
            .await?
            .map_err(|s| s.to_string())?
            .into_inner();
        if reply.payload != payload {
            return Err("the 3 MiB payload came back different".into());
        }
        Ok(())
    };
    results.push(("large_message", large.await));

    let error = async {
        let request = EchoRequest {
            fail_code: Code::NotFound as i32,
            fail_message: "nöt here".into(),
            payload: compressible(100),
            ..Default::default()
        };
        match bounded(client().unary(request)).await? {
            Err(status) if status.code() == Code::NotFound && status.message() == "nöt here" => {
                Ok(())
            }
            Err(status) => Err(format!("unexpected status {status}")),
            Ok(_) => Err("the call succeeded".into()),
        }
    };
    results.push(("error_status", error.await));
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_compressing_with_gzip_and_deflate_passes_against_a_grpcio_server() {
    let Some(python) = python("compression") else {
        return;
    };
    for encoding in [Encoding::Gzip, Encoding::Deflate] {
        let (mut child, port) = start_python_server(python.clone(), encoding.name()).await;
        let channel = Endpoint::new(format!("http://127.0.0.1:{port}").parse().unwrap())
            .unwrap()
            .connect_lazy();
        let taps = Taps::default();
        let (req_tap, res_tap) = (taps.clone(), taps.clone());
        let stack = ServiceBuilder::new()
            .layer(ClientCompressionLayer::new().send_compressed(encoding))
            // On the wire side of compression.
            .map_request(move |r| req_tap.request(r))
            .map_response(move |r| res_tap.response(r))
            .service(channel);
        let results = timeout(LIMIT * 4, run_cases(stack)).await.unwrap();
        drop(child.stdin.take());
        let _ = child.kill().await;

        let mut failed = Vec::new();
        for (name, result) in &results {
            match result {
                Ok(()) => println!("ok {encoding} {name}"),
                Err(reason) => {
                    println!("FAIL {encoding} {name}: {reason}");
                    failed.push(*name);
                }
            }
        }
        assert!(
            failed.is_empty(),
            "{encoding}: cases failed against grpcio: {failed:?}"
        );
        println!("{encoding}: our requests {:?}", taps.requests.messages());
        println!(
            "{encoding}: grpcio's responses {:?}",
            taps.responses.messages()
        );
        // We compressed every request; grpcio answered in the same encoding.
        let encodings = taps.requests.encodings();
        assert!(
            encodings.iter().all(|e| e == encoding.name()),
            "{encoding}: request encodings {encodings:?}"
        );
        taps.requests
            .assert_compressed_above_min_size(&format!("{encoding}: our requests"));
        let encodings = taps.responses.encodings();
        assert!(
            encodings.iter().any(|e| e == encoding.name()),
            "{encoding}: response encodings {encodings:?}"
        );
        assert!(
            taps.responses.messages().iter().filter(|(c, _)| *c).count() >= 5,
            "{encoding}: grpcio's responses {:?}",
            taps.responses.messages()
        );
    }
}
