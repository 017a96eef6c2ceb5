//! The low-level [`Call`]: each step of a call made explicitly.

mod support;

use bytes::Bytes;
use grpc_client::Call;
use grpc_core::codec::BytesCodec;
use grpc_core::metadata::MetadataMap;
use grpc_core::{Code, GrpcMethod};
use support::*;

const METHOD: GrpcMethod = GrpcMethod::new("test.Svc", "Chat");

#[tokio::test]
async fn a_bidi_exchange_made_step_by_step() {
    let server = TestServer::start(echo_handler).await;
    let mut channel = server.endpoint().connect_lazy();
    let mut metadata = MetadataMap::new();
    metadata.insert("x-user", "ada").unwrap();

    let mut call = bounded(Call::start(&mut channel, METHOD, metadata, BytesCodec))
        .await
        .unwrap();
    // The head was sent at start: the server answers before any message.
    let initial = bounded(call.recv_initial_metadata()).await.unwrap();
    assert_eq!(initial.get("x-init"), Some("hello"));

    for word in ["one", "two", "three"] {
        bounded(call.send_message(Bytes::from_static(word.as_bytes())))
            .await
            .unwrap();
        assert_eq!(bounded(call.recv_message()).await.unwrap().unwrap(), word);
    }
    call.end_request();
    assert!(bounded(call.recv_message()).await.unwrap().is_none());
    let trailers = bounded(call.recv_trailing_metadata()).await.unwrap();
    assert_eq!(trailers.get("x-trail"), Some("bye"));
    // Asking again gives the same answer.
    assert_eq!(
        bounded(call.recv_trailing_metadata())
            .await
            .unwrap()
            .get("x-trail"),
        Some("bye")
    );
}

#[tokio::test]
async fn a_call_can_send_everything_before_reading_anything() {
    let server = TestServer::start(|req: http::Request<hyper::body::Incoming>| async move {
        let got = read_messages(req.into_body()).await;
        let count = got.len().to_string();
        grpc_response(
            &[],
            frames_body(vec![message(count.as_bytes()), status_trailers(0, &[])]),
        )
    })
    .await;
    let mut channel = server.endpoint().connect_lazy();
    let mut call = bounded(Call::start(
        &mut channel,
        METHOD,
        MetadataMap::new(),
        BytesCodec,
    ))
    .await
    .unwrap();
    for _ in 0..10 {
        bounded(call.send_message(Bytes::from_static(b"m")))
            .await
            .unwrap();
    }
    call.end_request();
    assert_eq!(
        bounded(call.send_message(Bytes::new()))
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    assert!(bounded(call.recv_initial_metadata())
        .await
        .unwrap()
        .get("x-init")
        .is_none());
    assert_eq!(bounded(call.recv_message()).await.unwrap().unwrap(), "10");
    assert!(bounded(call.recv_trailing_metadata())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_trailers_only_error_fails_every_receive_step_with_the_status() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[("grpc-status", "5"), ("x-what", "user")],
            frames_body(vec![]),
        )
    })
    .await;
    let mut channel = server.endpoint().connect_lazy();
    let mut call = bounded(Call::start(
        &mut channel,
        METHOD,
        MetadataMap::new(),
        BytesCodec,
    ))
    .await
    .unwrap();
    let status = bounded(call.recv_initial_metadata()).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.metadata().get("x-what"), Some("user"));
    assert_eq!(
        bounded(call.recv_message()).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        bounded(call.recv_trailing_metadata())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn receiving_the_trailers_skips_unread_messages_and_reports_a_failed_status() {
    let server = TestServer::start(|_req| async {
        grpc_response(
            &[],
            frames_body(vec![
                message(b"a"),
                message(b"b"),
                status_trailers(9, &[("x-k", "v")]),
            ]),
        )
    })
    .await;
    let mut channel = server.endpoint().connect_lazy();
    let mut call = bounded(Call::start(
        &mut channel,
        METHOD,
        MetadataMap::new(),
        BytesCodec,
    ))
    .await
    .unwrap();
    call.end_request();
    let status = bounded(call.recv_trailing_metadata()).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.metadata().get("x-k"), Some("v"));
}

#[tokio::test]
async fn a_call_to_a_closed_port_reports_unavailable_on_send_and_receive() {
    let addr = closed_port().await;
    let mut channel = grpc_client::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let mut call = bounded(Call::start(
        &mut channel,
        METHOD,
        MetadataMap::new(),
        BytesCodec,
    ))
    .await
    .unwrap();
    // The first message may be buffered before the failure is known; the
    // second cannot be.
    let mut outcome = Ok(());
    for _ in 0..3 {
        outcome = bounded(call.send_message(Bytes::from_static(b"x"))).await;
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
    assert_eq!(
        bounded(call.recv_initial_metadata())
            .await
            .unwrap_err()
            .code(),
        Code::Unavailable
    );
}
