//! The server end to end over real HTTP/2 on 127.0.0.1, driven by a raw h2
//! client so every frame is under the test's control.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status, Streaming};
use grpc_server::{handler, PeerAddr, Router, Server};
use support::*;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

fn echo_router() -> Router {
    Router::new()
        .route(
            GrpcMethod::new("test.Echo", "Unary"),
            handler::unary(BytesCodec, |req: Request<Bytes>| async move {
                assert!(req.extensions().get::<PeerAddr>().is_some());
                Ok::<_, Status>(Response::new(req.into_inner()))
            }),
        )
        .route(
            GrpcMethod::new("test.Echo", "Bidi"),
            handler::streaming(BytesCodec, |req: Request<Streaming<Bytes>>| async move {
                Ok::<_, Status>(Response::new(req.into_inner()))
            }),
        )
}

#[tokio::test]
async fn a_unary_call_round_trips_over_http2() {
    let server = start(echo_router()).await;
    let (mut client, _conn) = connect(server.addr).await;
    let reply = timeout(LIMIT, unary(&mut client, "/test.Echo/Unary", b"hi"))
        .await
        .unwrap();
    assert_eq!(reply.head.status, 200);
    assert_eq!(reply.messages, ["hi"]);
    assert_eq!(reply.status().code(), Code::Ok);
}

#[tokio::test]
async fn unknown_service_and_method_are_unimplemented_over_the_wire() {
    let server = start(echo_router()).await;
    let (mut client, _conn) = connect(server.addr).await;
    for (path, message) in [
        ("/test.Nope/Unary", "unknown service test.Nope"),
        (
            "/test.Echo/Nope",
            "unknown method Nope for service test.Echo",
        ),
    ] {
        let reply = timeout(LIMIT, unary(&mut client, path, b"")).await.unwrap();
        assert!(reply.trailers.is_none(), "trailers-only");
        let status = reply.status();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(status.message(), message);
    }
}

#[tokio::test]
async fn bidi_answers_each_message_before_the_client_sends_the_next() {
    let server = start(echo_router()).await;
    let (client, _conn) = connect(server.addr).await;
    let mut client = client.ready().await.unwrap();
    let (response, mut send) = client
        .send_request(grpc_request("/test.Echo/Bidi"), false)
        .unwrap();
    send.send_data(encode_raw(b"first", false), false).unwrap();
    // The response head and the first reply arrive while the request stream
    // is still open: the client has not half-closed.
    let response = timeout(LIMIT, response).await.unwrap().unwrap();
    let mut body = response.into_body();
    for (i, word) in ["first", "second", "third"].iter().enumerate() {
        if i > 0 {
            send.send_data(encode_raw(word.as_bytes(), false), false)
                .unwrap();
        }
        let mut got = BytesMut::new();
        while got.len() < 5 + word.len() {
            let chunk = timeout(LIMIT, body.data()).await.unwrap().unwrap().unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            got.extend_from_slice(&chunk);
        }
        assert_eq!(split_messages(got.freeze()), [*word]);
    }
    send.send_data(Bytes::new(), true).unwrap();
    assert!(timeout(LIMIT, body.data()).await.unwrap().is_none());
    let trailers = body.trailers().await.unwrap().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
}

#[tokio::test]
async fn a_3_mib_message_crosses_flow_control_windows_both_ways() {
    let server = start(echo_router()).await;
    let (mut client, _conn) = connect(server.addr).await;
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut c = client.clone().ready().await.unwrap();
    let (response, mut send) = c
        .send_request(grpc_request("/test.Echo/Unary"), false)
        .unwrap();
    // Respect flow control: send as capacity is granted.
    let mut wire = encode_raw(&big, false);
    let sender = async move {
        while !wire.is_empty() {
            send.reserve_capacity(wire.len());
            let cap = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            let chunk = wire.split_to(cap.min(wire.len()));
            send.send_data(chunk, wire.is_empty()).unwrap();
        }
    };
    let (_, reply) = timeout(
        LIMIT,
        futures_util::future::join(sender, read_reply(response)),
    )
    .await
    .unwrap();
    assert_eq!(reply.status().code(), Code::Ok);
    assert_eq!(reply.messages.len(), 1);
    assert!(reply.messages[0] == big, "echoed bytes differ");
    let _ = &mut client;
}

#[tokio::test]
async fn two_hundred_calls_in_parallel_on_one_connection() {
    let server = start(echo_router()).await;
    let (client, _conn) = connect(server.addr).await;
    let calls = (0..200).map(|i| {
        let mut client = client.clone();
        async move {
            let msg = format!("call {i}");
            let reply = unary(&mut client, "/test.Echo/Unary", msg.as_bytes()).await;
            assert_eq!(reply.messages, [msg.as_str()]);
            assert_eq!(reply.status().code(), Code::Ok);
        }
    });
    timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .unwrap();
}

/// Write batching puts a connection's writes off while other calls are being
/// answered; a call whose handler never answers must not hold up the rest.
#[tokio::test]
async fn a_call_that_never_answers_does_not_hold_up_the_others() {
    let router = echo_router().route(
        GrpcMethod::new("test.Echo", "Never"),
        handler::unary(BytesCodec, |_: Request<Bytes>| async move {
            std::future::pending::<()>().await;
            Ok::<_, Status>(Response::new(Bytes::new()))
        }),
    );
    let server = start(router).await;
    let (client, _conn) = connect(server.addr).await;
    let mut stuck = client.clone();
    let never = tokio::spawn(async move { unary(&mut stuck, "/test.Echo/Never", b"x").await });
    let started = std::time::Instant::now();
    let mut client = client;
    for i in 0..200 {
        let msg = format!("call {i}");
        let reply = timeout(
            LIMIT,
            unary(&mut client, "/test.Echo/Unary", msg.as_bytes()),
        )
        .await
        .unwrap();
        assert_eq!(reply.messages, [msg.as_str()]);
    }
    // One at a time, each answered while the other call hangs: on loopback
    // this takes milliseconds; waiting on the hung call would take forever.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!never.is_finished());
    never.abort();
}

/// Signals on drop: tells the test that a handler was cancelled.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_client_reset_cancels_the_running_handler() {
    let (started_tx, mut started_rx) = mpsc::channel::<()>(1);
    let (dropped_tx, dropped_rx) = oneshot::channel();
    let dropped_tx = Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
    let router = Router::new().route(
        GrpcMethod::new("test.Slow", "Wait"),
        handler::unary(BytesCodec, move |_req: Request<Bytes>| {
            let started = started_tx.clone();
            let guard = DropSignal(dropped_tx.lock().unwrap().take());
            async move {
                let _guard = guard;
                started.send(()).await.unwrap();
                std::future::pending::<()>().await;
                Ok::<_, Status>(Response::new(Bytes::new()))
            }
        }),
    );
    let server = start(router).await;
    let (client, _conn) = connect(server.addr).await;
    let mut client = client.ready().await.unwrap();
    let (_response, mut send) = client
        .send_request(grpc_request("/test.Slow/Wait"), false)
        .unwrap();
    send.send_data(encode_raw(b"x", false), true).unwrap();
    timeout(LIMIT, started_rx.recv()).await.unwrap().unwrap();
    send.send_reset(h2::Reason::CANCEL);
    timeout(LIMIT, dropped_rx)
        .await
        .expect("the handler future is dropped when the client resets")
        .unwrap();
}

#[tokio::test]
async fn a_streaming_handler_reads_cancelled_when_the_client_resets() {
    let (seen_tx, mut seen_rx) = mpsc::channel::<Status>(1);
    let router = Router::new().route(
        GrpcMethod::new("test.Sink", "Drain"),
        handler::client_streaming(BytesCodec, move |req: Request<Streaming<Bytes>>| {
            let seen = seen_tx.clone();
            async move {
                let mut stream = req.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(status) => {
                            let _ = seen.send(status.clone()).await;
                            return Err(status);
                        }
                    }
                }
                Ok(Response::new(Bytes::new()))
            }
        }),
    );
    let server = start(router).await;
    let (client, _conn) = connect(server.addr).await;
    let mut client = client.ready().await.unwrap();
    let (_response, mut send) = client
        .send_request(grpc_request("/test.Sink/Drain"), false)
        .unwrap();
    send.send_data(encode_raw(b"one", false), false).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    send.send_reset(h2::Reason::CANCEL);
    let status = timeout(LIMIT, seen_rx.recv()).await.unwrap().unwrap();
    assert_eq!(status.code(), Code::Cancelled);
}

#[tokio::test]
async fn graceful_shutdown_lets_every_in_flight_call_finish() {
    let started = Arc::new(AtomicUsize::new(0));
    let started2 = started.clone();
    let router = Router::new().route(
        GrpcMethod::new("test.Slow", "Sleep"),
        handler::unary(BytesCodec, move |req: Request<Bytes>| {
            let started = started2.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok::<_, Status>(Response::new(req.into_inner()))
            }
        }),
    );
    let mut server = start(router).await;
    let (client, _conn) = connect(server.addr).await;
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                unary(&mut client, "/test.Slow/Sleep", format!("{i}").as_bytes()).await
            })
        })
        .collect();
    timeout(LIMIT, async {
        while started.load(Ordering::SeqCst) < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    server.shutdown();
    for (i, call) in calls.into_iter().enumerate() {
        let reply = timeout(LIMIT, call).await.unwrap().unwrap();
        assert_eq!(reply.status().code(), Code::Ok, "call {i}");
        assert_eq!(reply.messages, [i.to_string().as_str()]);
    }
    timeout(LIMIT, &mut server.handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The listener is closed: no new connections.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn graceful_shutdown_closes_connections_after_the_drain_deadline() {
    let router = Router::new().route(
        GrpcMethod::new("test.Stuck", "Forever"),
        handler::unary(BytesCodec, |_req: Request<Bytes>| async {
            std::future::pending::<()>().await;
            Ok::<_, Status>(Response::new(Bytes::new()))
        }),
    );
    let server = Server::new().graceful_shutdown_timeout(Duration::from_millis(200));
    let mut server = start_with(server, router).await;
    let (mut client, _conn) = connect(server.addr).await;
    let call = tokio::spawn(async move { unary(&mut client, "/test.Stuck/Forever", b"").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let begun = std::time::Instant::now();
    server.shutdown();
    timeout(LIMIT, &mut server.handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(begun.elapsed() < Duration::from_secs(5));
    // The stuck call does not hang forever either: its connection is gone.
    assert!(
        timeout(LIMIT, call).await.unwrap().is_err(),
        "the call fails, it does not succeed"
    );
}

#[tokio::test]
async fn the_safe_default_stream_limit_is_advertised() {
    let server = start(echo_router()).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (client, mut conn) = h2::client::handshake(tcp).await.unwrap();
    let mut c = client.clone();
    let call = async move { unary(&mut c, "/test.Echo/Unary", b"x").await };
    tokio::pin!(call);
    let reply = timeout(LIMIT, async {
        tokio::select! {
            reply = &mut call => reply,
            result = &mut conn => panic!("connection ended: {result:?}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(reply.status().code(), Code::Ok);
    assert_eq!(conn.max_concurrent_send_streams(), 200);
}

#[tokio::test]
async fn oversized_request_headers_are_refused_by_default() {
    let server = start(echo_router()).await;
    let (client, _conn) = connect(server.addr).await;
    let mut client = client.ready().await.unwrap();
    let mut request = grpc_request("/test.Echo/Unary");
    request
        .headers_mut()
        .insert("x-big", "a".repeat(20 * 1024).parse().unwrap());
    let (response, mut send) = client.send_request(request, false).unwrap();
    let _ = send.send_data(encode_raw(b"x", false), true);
    match timeout(LIMIT, response).await.unwrap() {
        Ok(response) => assert_eq!(response.status(), 431, "a 16 KiB header list limit"),
        Err(err) => assert!(err.is_reset() || err.is_go_away(), "{err}"),
    }
}

#[tokio::test]
async fn many_streams_past_the_limit_wait_rather_than_fail() {
    let server = start_with(Server::new().max_concurrent_streams(4), echo_router()).await;
    let (mut client, _conn) = connect(server.addr).await;
    // Before the server's SETTINGS arrive a client may open more streams
    // than the limit (and see REFUSED_STREAM); one call first settles that.
    timeout(LIMIT, unary(&mut client, "/test.Echo/Unary", b"warm-up"))
        .await
        .unwrap();
    let calls = (0..32).map(|i| {
        let mut client = client.clone();
        async move { unary(&mut client, "/test.Echo/Unary", format!("{i}").as_bytes()).await }
    });
    let replies = timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .unwrap();
    assert!(replies.iter().all(|r| r.status().code() == Code::Ok));
}
