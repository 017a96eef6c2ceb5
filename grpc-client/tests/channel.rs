//! The channel's connection life: lazy and eager connect, failing fast on a
//! refused connection, backoff, reconnecting after a restart, and many calls
//! multiplexed on one connection.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use grpc_client::{Backoff, Channel, Endpoint, Grpc};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Status};
use support::*;

const METHOD: GrpcMethod = GrpcMethod::new("test.Svc", "Echo");

async fn call(channel: &Channel) -> Result<Bytes, Status> {
    let mut grpc = Grpc::new(channel.clone());
    let request = Request::new(Bytes::from_static(b"hi"));
    bounded(grpc.unary(request, METHOD, BytesCodec))
        .await
        .map(|r| r.into_inner())
}

/// The client-side error behind a status, if it is one of this crate's.
fn client_error(status: &Status) -> Option<&grpc_client::Error> {
    let mut cur = std::error::Error::source(status);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<grpc_client::Error>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

#[tokio::test]
async fn a_lazy_channel_connects_only_on_its_first_call() {
    let server = TestServer::start(echo_handler).await;
    let channel = server.endpoint().connect_lazy();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.accepted(), 0);
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(server.accepted(), 1);
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(
        server.accepted(),
        1,
        "the second call reuses the connection"
    );
}

#[tokio::test]
async fn an_eager_connect_opens_the_connection_before_any_call() {
    let server = TestServer::start(echo_handler).await;
    let channel = bounded(server.endpoint().connect()).await.unwrap();
    bounded(async {
        while server.accepted() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn an_eager_connect_to_a_closed_port_fails_with_a_connect_error() {
    let addr = closed_port().await;
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let err = bounded(endpoint.connect()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_timeout());
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_quickly_and_then_fails_fast_in_backoff() {
    let addr = closed_port().await;
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let started = Instant::now();
    let status = call(&channel).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(client_error(&status).unwrap().is_connect());
    assert!(!client_error(&status).unwrap().is_backoff());

    // Within the 1 s backoff the next call does not even try.
    let status = call(&channel).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(client_error(&status).unwrap().is_backoff(), "{status:?}");
}

#[tokio::test]
async fn after_the_backoff_delay_the_next_call_connects_again() {
    let addr = closed_port().await;
    let backoff = Backoff::default().base_delay(Duration::from_millis(200));
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .backoff(backoff)
        .connect_lazy();
    assert_eq!(call(&channel).await.unwrap_err().code(), Code::Unavailable);

    let server = TestServer::start_on(addr, echo_handler).await;
    // Still in backoff: fails fast without connecting.
    let status = call(&channel).await.unwrap_err();
    assert!(client_error(&status).unwrap().is_backoff());
    assert_eq!(server.accepted(), 0);

    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn a_connect_that_hangs_times_out_as_unavailable() {
    let hanging = HangingListener::start().await;
    let channel = Endpoint::from_shared(format!("http://{}", hanging.addr()))
        .unwrap()
        .connect_timeout(Duration::from_millis(300))
        .backoff(Backoff::default().base_delay(Duration::from_millis(10)))
        .connect_lazy();
    let started = Instant::now();
    let status = call(&channel).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(client_error(&status).unwrap().is_timeout(), "{status:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn the_channel_reconnects_after_the_server_restarts_on_the_same_port() {
    let server = TestServer::start(echo_handler).await;
    let addr = server.addr();
    let channel = server.endpoint().connect_lazy();
    assert_eq!(call(&channel).await.unwrap(), "hi");
    server.stop().await;

    // Let the client notice that the connection is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let restarted = TestServer::start_on(addr, echo_handler).await;
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(restarted.accepted(), 1);
}

#[tokio::test]
async fn a_call_while_the_server_is_down_is_unavailable_and_a_later_one_reconnects() {
    let server = TestServer::start(echo_handler).await;
    let addr = server.addr();
    let channel = server
        .endpoint()
        .backoff(Backoff::default().base_delay(Duration::from_millis(50)))
        .connect_lazy();
    assert_eq!(call(&channel).await.unwrap(), "hi");
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(call(&channel).await.unwrap_err().code(), Code::Unavailable);

    let restarted = TestServer::start_on(addr, echo_handler).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(restarted.accepted(), 1);
}

#[tokio::test]
async fn after_a_goaway_the_next_call_opens_a_new_connection() {
    let server = GoawayServer::start().await;
    let channel = server.endpoint().connect_lazy();
    for expected_connections in 1..=3 {
        assert_eq!(call(&channel).await.unwrap(), "ok");
        assert_eq!(server.accepted(), expected_connections);
        // Let the GOAWAY reach the client.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn calls_racing_a_goaway_succeed_or_are_unavailable_never_anything_else() {
    let server = GoawayServer::start().await;
    let channel = server.endpoint().connect_lazy();
    for _ in 0..5 {
        // No pause: a call may race the GOAWAY and be refused before it is
        // sent, in which case the channel retries it on a new connection.
        let outcome = call(&channel).await;
        match outcome {
            Ok(reply) => assert_eq!(reply, "ok"),
            // A stream the server refused after its GOAWAY is unavailable,
            // which is what the caller may retry; never anything else.
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        }
    }
    assert!(server.accepted() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_calls_share_one_connection() {
    let server = TestServer::start(echo_handler).await;
    let channel = server.endpoint().connect_lazy();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        let channel = channel.clone();
        calls.spawn(async move {
            let mut grpc = Grpc::new(channel);
            let payload = Bytes::from(i.to_string());
            let reply = grpc
                .unary(Request::new(payload.clone()), METHOD, BytesCodec)
                .await
                .unwrap();
            assert_eq!(reply.into_inner(), payload);
        });
    }
    bounded(async {
        while let Some(done) = calls.join_next().await {
            done.unwrap();
        }
    })
    .await;
    assert_eq!(
        server.accepted(),
        1,
        "every call was multiplexed on one connection"
    );
}

#[tokio::test]
async fn concurrent_first_calls_wait_for_the_same_connection_attempt() {
    let server = TestServer::start(echo_handler).await;
    let channel = server.endpoint().connect_lazy();
    let calls: Vec<_> = (0..20).map(|_| call(&channel)).collect();
    for outcome in futures_util::future::join_all(calls).await {
        assert_eq!(outcome.unwrap(), "hi");
    }
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn keepalive_pings_keep_an_idle_connection_open() {
    let server = TestServer::start(echo_handler).await;
    let channel = server
        .endpoint()
        .keepalive_interval(Duration::from_millis(20))
        .keepalive_timeout(Duration::from_secs(5))
        .keepalive_while_idle(true)
        .connect_lazy();
    assert_eq!(call(&channel).await.unwrap(), "hi");
    // Several ping rounds while idle; the connection must survive them.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(call(&channel).await.unwrap(), "hi");
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_lazy_channel_can_be_made_outside_a_runtime() {
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    assert!(format!("{channel:?}").contains("idle"));
}
