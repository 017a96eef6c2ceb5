//! Cross-implementation deadlines: a Python grpcio client's `timeout=` is
//! enforced by our server (`ServerDeadlineLayer` in its stack) and the call
//! ends as `DEADLINE_EXCEEDED` on both sides.
//!
//! grpcio's client enforces its deadline too and resets the stream when it
//! passes, at about the moment our server's timer fires; so on the server
//! side a call ends either with the `DEADLINE_EXCEEDED` status our server
//! sent or with the client's reset, and in both cases the handler stops.
//! The test checks the server read the timeout (the handler's deadline) and
//! that no call ended any other way.
//!
//! It needs a Python with `grpcio` and `grpcio-tools`, as
//! `python_peer.rs` does: `scripts/test.sh` installs one; set
//! `GRPC_SKIP_PEERS=1` to skip.

mod support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use examples::echo::echo_server::EchoServer;
use examples::echo_service::EchoService;
use grpc_core::deadline::Deadline;
use grpc_core::timeout::parse_timeout;
use grpc_core::GrpcBody;
use grpc_layers::deadline::{DeadlineBody, ServerDeadlineLayer};
use grpc_server::{Router, Server};
use http_body_util::BodyExt;
use support::{eventually, python, python_dir, LIMIT};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tower::ServiceBuilder;

/// grpcio's `timeout=` in `python/deadline_client.py`.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);
/// How far grpcio's `grpc-timeout` may be from its `timeout=` (it rounds
/// up) and how much of it may pass before the handler is called.
const ROUNDING: Duration = Duration::from_millis(100);
/// The calls `deadline_client.py` makes.
const CASES: [&str; 2] = ["unary_past_its_deadline", "server_stream_past_its_deadline"];

/// The `grpc-timeout` a call came with, and the time left the deadline
/// layer gave its handler.
type Handed = (Option<http::HeaderValue>, Option<Duration>);

/// What the server side saw: the deadline each handler was given, and the
/// `grpc-status` of each call our server ended itself.
#[derive(Clone, Default)]
struct Seen {
    deadlines: Arc<Mutex<Vec<Handed>>>,
    statuses: Arc<Mutex<Vec<String>>>,
}

impl Seen {
    fn status(&self, value: &http::HeaderValue) {
        let value = value.to_str().unwrap_or("?").to_owned();
        self.statuses.lock().unwrap().push(value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_timeout_is_enforced_by_our_server_and_reported_as_deadline_exceeded() {
    let Some(python) = python("deadline") else {
        return;
    };
    let service = EchoService::new();
    let stats = service.stats();
    let router = Router::new().add_service(EchoServer::new(service));
    let seen = Seen::default();

    let (on_request, on_response) = (seen.clone(), seen.clone());
    let stack = ServiceBuilder::new()
        // Outside the deadline layer: the status our server ended each call with.
        .map_response(move |response: http::Response<DeadlineBody<GrpcBody>>| {
            if let Some(status) = response.headers().get("grpc-status") {
                on_response.status(status);
            }
            let seen = on_response.clone();
            response.map(move |body| {
                body.map_frame(move |frame| {
                    if let Some(status) = frame.trailers_ref().and_then(|t| t.get("grpc-status")) {
                        seen.status(status);
                    }
                    frame
                })
            })
        })
        .layer(ServerDeadlineLayer::new())
        // Inside it: the deadline the layer read from grpcio's `grpc-timeout`.
        .map_request(move |request: http::Request<GrpcBody>| {
            let left = request
                .extensions()
                .get::<Deadline>()
                .map(Deadline::remaining);
            let sent = request.headers().get("grpc-timeout").cloned();
            on_request.deadlines.lock().unwrap().push((sent, left));
            request
        })
        .service(router);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(Server::new().serve_with_shutdown(listener, stack, async {
        let _ = stopped.await;
    }));

    let mut child = Command::new(python)
        .arg(python_dir().join("deadline_client.py"))
        .arg("--target")
        .arg(addr.to_string())
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

    // The client side: every call ended with DEADLINE_EXCEEDED, in time.
    assert!(
        status.success(),
        "the grpcio client reported failures:\n{out}\n{err}"
    );
    for case in CASES {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("ok {case} "))),
            "case {case} did not pass:\n{out}\n{err}"
        );
    }

    // The server side: it read grpcio's timeout and gave it to the handler...
    let deadlines = seen.deadlines.lock().unwrap().clone();
    assert_eq!(deadlines.len(), CASES.len(), "{deadlines:?}");
    for (sent, left) in deadlines {
        let sent = sent.expect("grpcio sent grpc-timeout");
        let sent = parse_timeout(sent.as_bytes()).expect("a well-formed grpc-timeout");
        // grpc core rounds the timeout it sends up a little ("501m").
        assert!(
            sent >= CLIENT_TIMEOUT - ROUNDING && sent <= CLIENT_TIMEOUT + ROUNDING,
            "grpcio sent {sent:?} for a {CLIENT_TIMEOUT:?} timeout"
        );
        let left = left.expect("the handler was given the call's deadline");
        assert!(
            left <= sent && left > sent - ROUNDING,
            "the handler got {left:?} of a {sent:?} grpc-timeout"
        );
    }
    // ...stopped every handler...
    eventually("both handlers are stopped", || {
        stats.cancelled() == CASES.len()
    })
    .await;
    assert_eq!(stats.started(), CASES.len());
    // ...and ended no call any other way than DEADLINE_EXCEEDED (a call it
    // did not end was reset by grpcio's own timer at the same moment).
    let statuses = seen.statuses.lock().unwrap().clone();
    assert!(
        statuses.iter().all(|s| s == "4"),
        "statuses sent: {statuses:?}"
    );
    println!(
        "our server answered DEADLINE_EXCEEDED on {} of {} calls; grpcio reset the others first",
        statuses.len(),
        CASES.len()
    );

    let _ = stop.send(());
    let _ = timeout(LIMIT, server).await;
}
