//! Client-side checks of an Echo server, runnable against any
//! implementation (ours, or the Python grpcio peer).
//!
//! Each case makes real calls and returns `Err` with a reason when the
//! server's behaviour differs from the Echo contract (see
//! [`echo_service`](crate::echo_service)).

use std::time::Duration;

use grpc_client::{Channel, Grpc};
use grpc_core::codec::ProstCodec;
use grpc_core::{Code, GrpcMethod, Request};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::echo::echo_client::EchoClient;
use crate::echo::{EchoReply, EchoRequest};

/// Every wait in a case is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(20);

type CaseResult = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(LIMIT, fut)
        .await
        .map_err(|_| format!("no answer within {LIMIT:?}"))
}

fn status_err(status: grpc_core::Status) -> String {
    format!("unexpected status: {status}")
}

/// The names of the cases, in the order [`run_all`] runs them.
pub const CASES: [&str; 8] = [
    "unary_with_metadata",
    "server_streaming",
    "client_streaming",
    "bidi_ping_pong",
    "error_status_with_metadata",
    "error_in_server_stream",
    "large_messages",
    "unimplemented_method",
];

/// Runs one case by name.
pub async fn run(name: &str, channel: Channel) -> CaseResult {
    let client = EchoClient::new(channel.clone())
        .max_receive_message_size(8 << 20)
        .max_send_message_size(8 << 20);
    match name {
        "unary_with_metadata" => unary_with_metadata(client).await,
        "server_streaming" => server_streaming(client).await,
        "client_streaming" => client_streaming(client).await,
        "bidi_ping_pong" => bidi_ping_pong(client).await,
        "error_status_with_metadata" => error_status_with_metadata(client).await,
        "error_in_server_stream" => error_in_server_stream(client).await,
        "large_messages" => large_messages(client).await,
        "unimplemented_method" => unimplemented_method(channel).await,
        other => Err(format!("no case named {other}")),
    }
}

/// Runs every case; returns each name with its outcome.
pub async fn run_all(channel: Channel) -> Vec<(&'static str, CaseResult)> {
    let mut out = Vec::new();
    for name in CASES {
        out.push((name, run(name, channel.clone()).await));
    }
    out
}

type Client = EchoClient<Channel>;

async fn unary_with_metadata(mut client: Client) -> CaseResult {
    let mut request = Request::new(EchoRequest {
        message: "hello".into(),
        payload: vec![0, 1, 0xff],
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-echo-initial", "from rust")
        .unwrap();
    request
        .metadata_mut()
        .insert_bin("x-echo-trailing-bin", [0u8, 0xfe, 0xff])
        .unwrap();
    let response = bounded(client.unary(request)).await?.map_err(status_err)?;
    ensure!(
        response.metadata().get("x-echo-initial") == Some("from rust"),
        "initial metadata {:?}",
        response.metadata()
    );
    let trailing = response.trailers().get_bin("x-echo-trailing-bin");
    ensure!(
        matches!(&trailing, Some(Ok(b)) if b.as_ref() == [0u8, 0xfe, 0xff]),
        "trailing metadata {:?}",
        response.trailers()
    );
    let reply = response.into_inner();
    ensure!(
        reply.message == "hello" && reply.payload == [0, 1, 0xff],
        "reply {reply:?}"
    );
    Ok(())
}

async fn server_streaming(mut client: Client) -> CaseResult {
    let request = EchoRequest {
        message: "s".into(),
        repeat: 5,
        ..Default::default()
    };
    let mut stream = bounded(client.server_stream(request))
        .await?
        .map_err(status_err)?
        .into_inner();
    let mut indexes = Vec::new();
    while let Some(reply) = bounded(stream.message()).await?.map_err(status_err)? {
        ensure!(reply.message == "s", "reply {reply:?}");
        indexes.push(reply.index);
    }
    ensure!(indexes == [0, 1, 2, 3, 4], "indexes {indexes:?}");
    Ok(())
}

async fn client_streaming(mut client: Client) -> CaseResult {
    let requests = ["a", "b", "c", "d"].map(|m| EchoRequest {
        message: m.into(),
        ..Default::default()
    });
    let response = bounded(client.client_stream(futures_util::stream::iter(requests)))
        .await?
        .map_err(status_err)?;
    let reply = response.into_inner();
    ensure!(
        reply.message == "a,b,c,d" && reply.count == 4,
        "reply {reply:?}"
    );
    Ok(())
}

async fn bidi_ping_pong(mut client: Client) -> CaseResult {
    let (tx, rx) = mpsc::channel(1);
    let words = ["ping", "pong", "pang"];
    tx.send(EchoRequest {
        message: words[0].into(),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let mut replies = bounded(client.bidi(ReceiverStream::new(rx)))
        .await?
        .map_err(status_err)?
        .into_inner();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            // Only sent once the previous reply arrived: true ping-pong.
            tx.send(EchoRequest {
                message: (*word).into(),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        }
        let reply = bounded(replies.message()).await?.map_err(status_err)?;
        ensure!(
            matches!(&reply, Some(r) if r.message == *word && r.index == i as u32),
            "reply {reply:?} to {word}"
        );
    }
    drop(tx);
    let end = bounded(replies.message()).await?.map_err(status_err)?;
    ensure!(end.is_none(), "no more replies, got {end:?}");
    Ok(())
}

async fn error_status_with_metadata(mut client: Client) -> CaseResult {
    let message = "nöt found: 100% sure\n(line two)";
    let mut request = Request::new(EchoRequest {
        fail_code: Code::NotFound as i32,
        fail_message: message.into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-echo-trailing", "why")
        .unwrap();
    match bounded(client.unary(request)).await? {
        Ok(reply) => Err(format!("the call succeeded: {reply:?}")),
        Err(status) => {
            ensure!(status.code() == Code::NotFound, "code {:?}", status.code());
            ensure!(
                status.message() == message,
                "message {:?}",
                status.message()
            );
            ensure!(
                status.metadata().get("x-echo-trailing") == Some("why"),
                "metadata {:?}",
                status.metadata()
            );
            Ok(())
        }
    }
}

async fn error_in_server_stream(mut client: Client) -> CaseResult {
    let request = EchoRequest {
        repeat: 3,
        fail_code: Code::FailedPrecondition as i32,
        fail_message: "precondition".into(),
        ..Default::default()
    };
    // The error may come with the response head (trailers-only) or at the
    // end of the stream; both are the same outcome for the caller.
    let status = match bounded(client.server_stream(request)).await? {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            match bounded(stream.message()).await? {
                Ok(Some(reply)) => return Err(format!("unexpected reply {reply:?}")),
                Ok(None) => return Err("the stream ended OK".into()),
                Err(status) => status,
            }
        }
    };
    ensure!(
        status.code() == Code::FailedPrecondition,
        "code {:?}",
        status.code()
    );
    ensure!(
        status.message() == "precondition",
        "message {:?}",
        status.message()
    );
    Ok(())
}

async fn large_messages(mut client: Client) -> CaseResult {
    let payload: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let request = EchoRequest {
        payload: payload.clone(),
        ..Default::default()
    };
    let reply = bounded(client.unary(request))
        .await?
        .map_err(status_err)?
        .into_inner();
    ensure!(
        reply.payload == payload,
        "3 MiB payload differs after the round trip"
    );
    Ok(())
}

async fn unimplemented_method(channel: Channel) -> CaseResult {
    let mut grpc = Grpc::new(channel);
    let call = grpc.unary(
        Request::new(EchoRequest::default()),
        GrpcMethod::new("grpcstack.echo.Echo", "Nope"),
        ProstCodec::<EchoRequest, EchoReply>::default(),
    );
    match bounded(call).await? {
        Ok(_) => Err("the call succeeded".into()),
        Err(status) => {
            ensure!(
                status.code() == Code::Unimplemented,
                "code {:?}",
                status.code()
            );
            Ok(())
        }
    }
}
