//! End to end with the generated code: our client against our server over
//! real HTTP/2 on 127.0.0.1.

mod support;

use std::time::Duration;

use examples::echo::echo_client::EchoClient;
use examples::echo::EchoRequest;
use examples::echo_cases;
use grpc_core::Code;
use support::*;
use tokio::time::timeout;

async fn case(name: &str) {
    let server = start_echo().await;
    let outcome = timeout(LIMIT, echo_cases::run(name, server.channel()))
        .await
        .unwrap();
    if let Err(reason) = outcome {
        panic!("{name}: {reason}");
    }
}

#[tokio::test]
async fn unary_with_metadata_both_ways() {
    case("unary_with_metadata").await;
}

#[tokio::test]
async fn server_streaming_yields_every_reply_then_ok() {
    case("server_streaming").await;
}

#[tokio::test]
async fn client_streaming_reads_every_request() {
    case("client_streaming").await;
}

#[tokio::test]
async fn bidi_answers_each_message_before_the_client_sends_the_next() {
    case("bidi_ping_pong").await;
}

#[tokio::test]
async fn a_handler_error_reaches_the_client_with_message_and_metadata() {
    case("error_status_with_metadata").await;
}

#[tokio::test]
async fn a_server_stream_can_end_with_an_error() {
    case("error_in_server_stream").await;
}

#[tokio::test]
async fn a_3_mib_message_goes_each_way() {
    case("large_messages").await;
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented() {
    case("unimplemented_method").await;
}

#[tokio::test]
async fn an_unknown_service_is_unimplemented() {
    let server = start_echo().await;
    let mut grpc = grpc_client::Grpc::new(server.channel());
    let status = timeout(
        LIMIT,
        grpc.unary(
            grpc_core::Request::new(EchoRequest::default()),
            grpc_core::GrpcMethod::new("grpcstack.echo.Nowhere", "Unary"),
            grpc_core::codec::ProstCodec::<EchoRequest, examples::echo::EchoReply>::default(),
        ),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(
        status.message().contains("grpcstack.echo.Nowhere"),
        "{status}"
    );
}

#[tokio::test]
async fn two_hundred_calls_in_parallel_share_one_connection() {
    let server = start_echo().await;
    let client = EchoClient::new(server.channel());
    let calls = (0..200).map(|i| {
        let mut client = client.clone();
        async move {
            let request = EchoRequest {
                message: format!("call {i}"),
                delay_ms: 20,
                ..Default::default()
            };
            let reply = client.unary(request).await.unwrap().into_inner();
            assert_eq!(reply.message, format!("call {i}"));
        }
    });
    timeout(LIMIT, futures_util::future::join_all(calls))
        .await
        .unwrap();
    assert_eq!(server.stats.started(), 200);
    assert_eq!(server.stats.peers(), 1, "all calls used one connection");
}

#[tokio::test]
async fn dropping_a_call_cancels_the_server_handler() {
    let server = start_echo().await;
    let mut client = EchoClient::new(server.channel());
    let slow = EchoRequest {
        delay_ms: 60_000,
        ..Default::default()
    };
    // The call is dropped by the timeout while the handler waits.
    let dropped = timeout(Duration::from_millis(300), client.unary(slow)).await;
    assert!(dropped.is_err(), "the slow call cannot have finished");
    assert_eq!(server.stats.started(), 1);
    eventually("the handler to be cancelled", || {
        server.stats.cancelled() == 1
    })
    .await;
    // The connection is still good for the next call.
    let reply = timeout(
        LIMIT,
        client.unary(EchoRequest {
            message: "after".into(),
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reply.into_inner().message, "after");
}

#[tokio::test]
async fn dropping_a_response_stream_cancels_the_server_handler() {
    let server = start_echo().await;
    let mut client = EchoClient::new(server.channel());
    let request = EchoRequest {
        repeat: 1_000_000,
        delay_ms: 10,
        ..Default::default()
    };
    let mut stream = timeout(LIMIT, client.server_stream(request))
        .await
        .unwrap()
        .unwrap()
        .into_inner();
    let first = timeout(LIMIT, stream.message()).await.unwrap().unwrap();
    assert!(first.is_some());
    drop(stream);
    eventually("the streaming handler to be cancelled", || {
        server.stats.cancelled() == 1
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_with_calls_in_flight_loses_none() {
    let mut server = start_echo().await;
    let client = EchoClient::new(server.channel());
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let request = EchoRequest {
                    message: format!("{i}"),
                    delay_ms: 400,
                    ..Default::default()
                };
                client.unary(request).await
            })
        })
        .collect();
    let stats = server.stats.clone();
    eventually("every call to reach its handler", || stats.started() == 50).await;
    server.shutdown();
    for (i, call) in calls.into_iter().enumerate() {
        let reply = timeout(LIMIT, call).await.unwrap().unwrap();
        let reply = reply.unwrap_or_else(|status| panic!("call {i} failed: {status}"));
        assert_eq!(reply.into_inner().message, i.to_string());
    }
    assert_eq!(server.stats.cancelled(), 0);
    timeout(LIMIT, &mut server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts() {
    let mut server = start_echo().await;
    let addr = server.addr;
    let channel = server.channel();
    let mut client = EchoClient::new(channel.clone());
    timeout(LIMIT, client.unary(EchoRequest::default()))
        .await
        .unwrap()
        .unwrap();
    server.shutdown();
    timeout(LIMIT, &mut server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Same port, new server.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let router = grpc_server::Router::new().add_service(
        examples::echo::echo_server::EchoServer::new(examples::echo_service::EchoService::new()),
    );
    let _server = tokio::spawn(grpc_server::Server::new().serve_with_shutdown(
        listener,
        router,
        std::future::pending(),
    ));
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match client
            .unary(EchoRequest {
                message: "again".into(),
                ..Default::default()
            })
            .await
        {
            Ok(reply) => {
                assert_eq!(reply.into_inner().message, "again");
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never reconnected: {status}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
