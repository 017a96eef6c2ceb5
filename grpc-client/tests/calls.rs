//! Typed calls of the four kinds over a real HTTP/2 connection, and how
//! every kind of response (OK, trailers-only, non-gRPC, malformed) is read.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use grpc_client::{Channel, Grpc};
use grpc_core::codec::{BytesCodec, ProstCodec};
use grpc_core::{Code, GrpcMethod, Request, Status, Streaming};
use support::*;

const METHOD: GrpcMethod = GrpcMethod::new("test.Svc", "Do");

fn client(server: &TestServer) -> Grpc<Channel> {
    Grpc::new(server.endpoint().connect_lazy())
}

async fn unary(server: &TestServer) -> Result<grpc_core::Response<Bytes>, Status> {
    let request = Request::new(Bytes::from_static(b"ping"));
    bounded(client(server).unary(request, METHOD, BytesCodec)).await
}

#[tokio::test]
async fn a_unary_call_returns_the_message_and_both_kinds_of_metadata() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        assert_eq!(req.uri().path(), "/test.Svc/Do");
        let got = read_messages(req.into_body()).await;
        assert_eq!(got, [Bytes::from_static(b"ping")]);
        grpc_response(
            &[("x-init", "1")],
            frames_body(vec![
                message(b"pong"),
                status_trailers(0, &[("x-trail", "2")]),
            ]),
        )
    })
    .await;
    let response = unary(&server).await.unwrap();
    assert_eq!(response.metadata().get("x-init"), Some("1"));
    assert_eq!(response.trailers().get("x-trail"), Some("2"));
    assert!(
        response.metadata().get("content-type").is_none(),
        "reserved headers are not metadata"
    );
    assert_eq!(response.into_inner(), "pong");
}

#[tokio::test]
async fn requests_carry_the_grpc_headers_the_user_agent_and_metadata() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        let h = req.headers();
        let seen = format!(
            "{}|{}|{}|{}|{}",
            req.method(),
            header(h, "content-type"),
            header(h, "te"),
            header(h, "user-agent"),
            header(h, "x-user"),
        );
        let seen: &'static str = Box::leak(seen.into_boxed_str());
        grpc_response(
            &[("x-seen", seen)],
            frames_body(vec![message(b""), status_trailers(0, &[])]),
        )
    })
    .await;
    let mut request = Request::new(Bytes::new());
    request.metadata_mut().insert("x-user", "ada").unwrap();
    let response = bounded(client(&server).unary(request, METHOD, BytesCodec))
        .await
        .unwrap();
    let seen = response.metadata().get("x-seen").unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        seen,
        format!("POST|application/grpc|trailers|grpc-rust-stack/{version}|ada")
    );
}

#[tokio::test]
async fn a_trailers_only_error_is_the_status_with_its_metadata() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        drain(req.into_body()).await;
        grpc_response(
            &[
                ("grpc-status", "7"),
                ("grpc-message", "not%20you"),
                ("x-reason", "policy"),
            ],
            frames_body(vec![]),
        )
    })
    .await;
    let status = unary(&server).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "not you");
    assert_eq!(status.metadata().get("x-reason"), Some("policy"));
}

#[tokio::test]
async fn an_error_in_the_trailers_after_a_message_is_the_status() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[],
            frames_body(vec![
                message(b"x"),
                status_trailers(10, &[("x-why", "race")]),
            ]),
        )
    })
    .await;
    let status = unary(&server).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(status.metadata().get("x-why"), Some("race"));
}

#[tokio::test]
async fn a_503_from_a_proxy_is_unavailable() {
    let server =
        TestServer::start(|_req| async { http_response(503, "text/html", "overloaded") }).await;
    let status = unary(&server).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("503"), "{}", status.message());
}

#[tokio::test]
async fn a_404_is_unimplemented() {
    let server =
        TestServer::start(|_req| async { http_response(404, "text/plain", "no route") }).await;
    assert_eq!(
        unary(&server).await.unwrap_err().code(),
        Code::Unimplemented
    );
}

#[tokio::test]
async fn trailers_without_grpc_status_are_internal() {
    let server = TestServer::start(|_req| async {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-other", http::HeaderValue::from_static("1"));
        grpc_response(
            &[],
            frames_body(vec![message(b"x"), hyper::body::Frame::trailers(trailers)]),
        )
    })
    .await;
    assert_eq!(unary(&server).await.unwrap_err().code(), Code::Internal);
}

#[tokio::test]
async fn a_response_that_ends_without_trailers_is_internal() {
    let server =
        TestServer::start(|_req| async { grpc_response(&[], frames_body(vec![message(b"x")])) })
            .await;
    assert_eq!(unary(&server).await.unwrap_err().code(), Code::Internal);
}

#[tokio::test]
async fn a_200_without_a_grpc_content_type_is_unknown() {
    let server =
        TestServer::start(|_req| async { http_response(200, "text/html", "<html>") }).await;
    assert_eq!(unary(&server).await.unwrap_err().code(), Code::Unknown);
}

#[tokio::test]
async fn a_unary_response_with_two_messages_is_internal() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[],
            frames_body(vec![message(b"a"), message(b"b"), status_trailers(0, &[])]),
        )
    })
    .await;
    let status = unary(&server).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().contains("more than one"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_unary_response_with_no_message_is_internal_even_when_ok() {
    let server = TestServer::start(|_req| async {
        grpc_response(&[("grpc-status", "0")], frames_body(vec![]))
    })
    .await;
    assert_eq!(unary(&server).await.unwrap_err().code(), Code::Internal);
}

#[tokio::test]
async fn a_message_over_the_receive_limit_is_resource_exhausted() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[],
            frames_body(vec![message(&[7u8; 100]), status_trailers(0, &[])]),
        )
    })
    .await;
    let mut grpc = client(&server).max_receive_message_size(99);
    let status = bounded(grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn a_message_over_the_send_limit_fails_before_anything_is_sent() {
    let server =
        TestServer::start(|_req| async { http_response(500, "text/plain", "unreachable") }).await;
    let mut grpc = client(&server).max_send_message_size(3);
    let status = bounded(grpc.unary(
        Request::new(Bytes::from_static(b"four")),
        METHOD,
        BytesCodec,
    ))
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        server.accepted(),
        0,
        "nothing was sent, so nothing connected"
    );
}

#[tokio::test]
async fn a_server_stream_yields_each_message_then_the_trailing_metadata() {
    let server = TestServer::start(|_req| async {
        let (tx, body) = channel_body();
        tokio::spawn(async move {
            for m in [&b"one"[..], b"two", b"three"] {
                tx.send(message(m)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tx.send(status_trailers(0, &[("x-count", "3")]))
                .await
                .unwrap();
        });
        grpc_response(&[("x-init", "s")], body)
    })
    .await;
    let response =
        bounded(client(&server).server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
            .await
            .unwrap();
    assert_eq!(response.metadata().get("x-init"), Some("s"));
    let mut stream: Streaming<Bytes> = response.into_inner();
    let mut got = Vec::new();
    while let Some(m) = bounded(stream.message()).await.unwrap() {
        got.push(m);
    }
    assert_eq!(got, ["one", "two", "three"]);
    assert_eq!(stream.trailers().unwrap().get("x-count"), Some("3"));
}

#[tokio::test]
async fn a_server_stream_ends_with_the_error_status_as_its_last_item() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[],
            frames_body(vec![message(b"one"), status_trailers(4, &[])]),
        )
    })
    .await;
    let response =
        bounded(client(&server).server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
            .await
            .unwrap();
    let items: Vec<_> = bounded(response.into_inner().collect::<Vec<_>>()).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), "one");
    assert_eq!(
        items[1].as_ref().unwrap_err().code(),
        Code::DeadlineExceeded
    );
}

#[tokio::test]
async fn a_trailers_only_ok_server_stream_is_empty_and_keeps_its_metadata() {
    let server = TestServer::start(|_req| async {
        grpc_response(&[("grpc-status", "0"), ("x-t", "t")], frames_body(vec![]))
    })
    .await;
    let response =
        bounded(client(&server).server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
            .await
            .unwrap();
    let mut stream = response.into_inner();
    assert!(bounded(stream.message()).await.unwrap().is_none());
    assert_eq!(stream.trailers().unwrap().get("x-t"), Some("t"));
}

#[tokio::test]
async fn a_client_stream_sends_every_message_and_gets_one_reply() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        let got = read_messages(req.into_body()).await;
        let joined: Vec<u8> = got.join(&b","[..]);
        let body = frames_body(vec![message(&joined), status_trailers(0, &[])]);
        grpc_response(&[], body)
    })
    .await;
    let messages =
        stream::iter(["a", "b", "c"].map(|s: &'static str| Bytes::from_static(s.as_bytes())));
    let response =
        bounded(client(&server).client_streaming(Request::new(messages), METHOD, BytesCodec))
            .await
            .unwrap();
    assert_eq!(response.into_inner(), "a,b,c");
}

#[tokio::test]
async fn a_bidi_stream_interleaves_requests_and_replies() {
    let server = TestServer::start(echo_handler).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let requests = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let response = {
        let mut grpc = client(&server);
        // The response head comes before any request message is sent.
        bounded(grpc.streaming(Request::new(requests), METHOD, BytesCodec))
            .await
            .unwrap()
    };
    assert_eq!(response.metadata().get("x-init"), Some("hello"));
    let mut replies = response.into_inner();
    for word in ["ping", "pong", "done"] {
        tx.send(Bytes::from_static(word.as_bytes())).await.unwrap();
        // Each reply arrives before the next request is sent.
        assert_eq!(bounded(replies.message()).await.unwrap().unwrap(), word);
    }
    drop(tx);
    assert!(bounded(replies.message()).await.unwrap().is_none());
    assert_eq!(replies.trailers().unwrap().get("x-trail"), Some("bye"));
}

#[derive(Clone, PartialEq, prost::Message)]
struct Greeting {
    #[prost(string, tag = "1")]
    text: String,
}

#[tokio::test]
async fn prost_messages_round_trip_through_the_prost_codec() {
    let server = TestServer::start(echo_handler).await;
    let mut grpc = client(&server);
    let request = Request::new(Greeting {
        text: "héllo".into(),
    });
    let response =
        bounded(grpc.unary(request, METHOD, ProstCodec::<Greeting, Greeting>::default()))
            .await
            .unwrap();
    assert_eq!(response.get_ref().text, "héllo");
    assert_eq!(response.trailers().get("x-trail"), Some("bye"));
}

#[test]
fn typed_call_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let channel = grpc_client::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let mut grpc = Grpc::new(channel);
    let unary = grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec);
    assert_send(&unary);
    drop(unary);
    let bidi = grpc.streaming(
        Request::new(stream::iter([Bytes::new()])),
        METHOD,
        BytesCodec,
    );
    assert_send(&bidi);
}

/// The channel batches its writes while other calls are in flight; a call
/// the server never answers must not hold up the calls after it.
#[tokio::test]
async fn a_call_never_answered_does_not_hold_up_the_others() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        let got = read_messages(req.into_body()).await;
        if got == [Bytes::from_static(b"never")] {
            std::future::pending::<()>().await;
        }
        grpc_response(
            &[],
            frames_body(vec![message(&got[0]), status_trailers(0, &[])]),
        )
    })
    .await;
    let channel = server.endpoint().connect_lazy();
    let mut stuck = Grpc::new(channel.clone());
    let never = tokio::spawn(async move {
        stuck
            .unary(
                Request::new(Bytes::from_static(b"never")),
                METHOD,
                BytesCodec,
            )
            .await
    });
    let mut grpc = Grpc::new(channel);
    let started = std::time::Instant::now();
    for i in 0..200 {
        let msg = Bytes::from(format!("call {i}"));
        let reply = bounded(grpc.unary(Request::new(msg.clone()), METHOD, BytesCodec))
            .await
            .unwrap();
        assert_eq!(reply.into_inner(), msg);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!never.is_finished());
    never.abort();
}
