//! The client cases of gRPC's interop test descriptions, each a function
//! that fails with a clear reason.
//!
//! Run one with [`run`]; [`ALL`] lists every case this client knows.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use grpc_core::deadline::Deadline;
use grpc_core::{Code, Request, Status, Streaming};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::compress;
use super::proto::test_service_client::TestServiceClient;
use super::proto::unimplemented_service_client::UnimplementedServiceClient;
use super::proto::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest,
    StreamingInputCallRequest, StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use super::wire::MessageFlags;
use super::Stack;

/// Every case, in the order of the interop test descriptions.
pub const ALL: &[&str] = &[
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "concurrent_large_unary",
    "rpc_soak",
];

/// Calls made at once by `concurrent_large_unary` (the descriptions say
/// 1000; this bound keeps a cross-implementation run of the whole matrix
/// short on a small machine).
pub const CONCURRENT_CALLS: usize = 100;

/// Settings of the cases that have any.
#[derive(Clone, Debug)]
pub struct Options {
    /// Iterations of `rpc_soak`.
    pub soak_iterations: usize,
    /// Slowest acceptable `rpc_soak` iteration.
    pub soak_max_latency: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            soak_iterations: 200,
            soak_max_latency: Duration::from_secs(1),
        }
    }
}

/// Why a case failed.
pub type Failure = String;

type Client = TestServiceClient<Stack>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

fn failed(what: &str, status: Status) -> Failure {
    format!("{what} failed: {:?} {:?}", status.code(), status.message())
}

fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        r#type: 0,
        body: vec![0; len],
    })
}

fn yes(value: bool) -> Option<BoolValue> {
    Some(BoolValue { value })
}

fn check_payload(what: &str, payload: &Option<Payload>, len: usize) -> Result<(), Failure> {
    let body = payload.as_ref().map_or(&[][..], |p| &p.body[..]);
    ensure!(
        body.len() == len,
        "{what}: payload of {} bytes, expected {len}",
        body.len()
    );
    ensure!(
        body.iter().all(|b| *b == 0),
        "{what}: payload is not all zeros"
    );
    Ok(())
}

/// Runs the case `name` over `stack`.
pub async fn run(name: &str, stack: Stack, options: &Options) -> Result<(), Failure> {
    let client = TestServiceClient::new(stack.clone());
    match name {
        "empty_unary" => empty_unary(client).await,
        "large_unary" => large_unary(client).await,
        "client_compressed_unary" => client_compressed_unary(client).await,
        "server_compressed_unary" => server_compressed_unary(client).await,
        "client_streaming" => client_streaming(client).await,
        "client_compressed_streaming" => client_compressed_streaming(client).await,
        "server_streaming" => server_streaming(client).await,
        "server_compressed_streaming" => server_compressed_streaming(client).await,
        "ping_pong" => ping_pong(client).await,
        "empty_stream" => empty_stream(client).await,
        "custom_metadata" => custom_metadata(client).await,
        "status_code_and_message" => status_code_and_message(client).await,
        "special_status_message" => special_status_message(client).await,
        "unimplemented_method" => unimplemented_method(client).await,
        "unimplemented_service" => unimplemented_service(stack).await,
        "cancel_after_begin" => cancel_after_begin(client).await,
        "cancel_after_first_response" => cancel_after_first_response(client).await,
        "timeout_on_sleeping_server" => timeout_on_sleeping_server(client).await,
        "concurrent_large_unary" => concurrent_large_unary(client).await,
        "rpc_soak" => rpc_soak(client, options).await,
        other => Err(format!(
            "unknown test case {other:?}; known: {}",
            ALL.join(", ")
        )),
    }
}

async fn empty_unary(mut client: Client) -> Result<(), Failure> {
    client
        .empty_call(Empty {})
        .await
        .map_err(|s| failed("EmptyCall", s))?;
    Ok(())
}

fn large_request() -> SimpleRequest {
    SimpleRequest {
        response_size: 314159,
        payload: zeros(271828),
        ..SimpleRequest::default()
    }
}

async fn large_unary(mut client: Client) -> Result<(), Failure> {
    let response = client
        .unary_call(large_request())
        .await
        .map_err(|s| failed("UnaryCall", s))?;
    check_payload("UnaryCall", &response.get_ref().payload, 314159)
}

async fn client_compressed_unary(mut client: Client) -> Result<(), Failure> {
    // The probe: an uncompressed request that claims to be compressed.
    let mut probe = Request::new(SimpleRequest {
        expect_compressed: yes(true),
        ..large_request()
    });
    compress::set_call_compression(probe.extensions_mut(), false);
    match client.unary_call(probe).await {
        Err(status) if status.code() == Code::InvalidArgument => {}
        Err(status) => return Err(failed("the probe (expected INVALID_ARGUMENT)", status)),
        Ok(_) => return Err("the probe succeeded; expected INVALID_ARGUMENT".into()),
    }
    for compressed in [true, false] {
        let mut request = Request::new(SimpleRequest {
            expect_compressed: yes(compressed),
            ..large_request()
        });
        compress::set_call_compression(request.extensions_mut(), compressed);
        let what = if compressed {
            "compressed"
        } else {
            "uncompressed"
        };
        let response = client
            .unary_call(request)
            .await
            .map_err(|s| failed(&format!("the {what} UnaryCall"), s))?;
        check_payload(what, &response.get_ref().payload, 314159)?;
    }
    Ok(())
}

async fn server_compressed_unary(mut client: Client) -> Result<(), Failure> {
    for compressed in [true, false] {
        let flags = MessageFlags::new();
        let mut request = Request::new(SimpleRequest {
            response_compressed: yes(compressed),
            ..large_request()
        });
        request.extensions_mut().insert(flags.clone());
        let response = client
            .unary_call(request)
            .await
            .map_err(|s| failed("UnaryCall", s))?;
        check_payload("UnaryCall", &response.get_ref().payload, 314159)?;
        let seen = flags.remaining();
        ensure!(
            seen == [compressed],
            "response_compressed={compressed}: the response's compressed flags were {seen:?}"
        );
    }
    Ok(())
}

fn input(len: usize) -> StreamingInputCallRequest {
    StreamingInputCallRequest {
        payload: zeros(len),
        ..StreamingInputCallRequest::default()
    }
}

async fn client_streaming(mut client: Client) -> Result<(), Failure> {
    let requests = stream::iter([27182, 8, 1828, 45904].map(input));
    let response = client
        .streaming_input_call(requests)
        .await
        .map_err(|s| failed("StreamingInputCall", s))?;
    let size = response.get_ref().aggregated_payload_size;
    ensure!(
        size == 74922,
        "aggregated_payload_size {size}, expected 74922"
    );
    Ok(())
}

async fn client_compressed_streaming(mut client: Client) -> Result<(), Failure> {
    let mut probe = Request::new(stream::iter([StreamingInputCallRequest {
        expect_compressed: yes(true),
        ..input(27182)
    }]));
    compress::set_call_compression(probe.extensions_mut(), false);
    match client.streaming_input_call(probe).await {
        Err(status) if status.code() == Code::InvalidArgument => {}
        Err(status) => return Err(failed("the probe (expected INVALID_ARGUMENT)", status)),
        Ok(_) => return Err("the probe succeeded; expected INVALID_ARGUMENT".into()),
    }

    let mut request = Request::new(());
    let switch = compress::per_message(request.extensions_mut());
    let messages = [
        (
            StreamingInputCallRequest {
                expect_compressed: yes(true),
                ..input(27182)
            },
            true,
        ),
        (
            StreamingInputCallRequest {
                expect_compressed: yes(false),
                ..input(45904)
            },
            false,
        ),
    ];
    // The switch is set as each message leaves the stream.
    let requests = stream::iter(messages).map(move |(message, compressed)| {
        switch.set(compressed);
        message
    });
    let response = client
        .streaming_input_call(request.map(|()| requests))
        .await
        .map_err(|s| failed("StreamingInputCall", s))?;
    let size = response.get_ref().aggregated_payload_size;
    ensure!(
        size == 73086,
        "aggregated_payload_size {size}, expected 73086"
    );
    Ok(())
}

fn params(size: i32, compressed: Option<bool>) -> ResponseParameters {
    ResponseParameters {
        size,
        compressed: compressed.map(|value| BoolValue { value }),
        ..ResponseParameters::default()
    }
}

/// Reads a whole response stream.
async fn read_all(
    what: &str,
    stream: &mut Streaming<StreamingOutputCallResponse>,
) -> Result<Vec<StreamingOutputCallResponse>, Failure> {
    let mut all = Vec::new();
    while let Some(message) = stream.message().await.map_err(|s| failed(what, s))? {
        all.push(message);
    }
    Ok(all)
}

fn check_sizes(
    what: &str,
    responses: &[StreamingOutputCallResponse],
    sizes: &[usize],
) -> Result<(), Failure> {
    ensure!(
        responses.len() == sizes.len(),
        "{what}: {} responses, expected {}",
        responses.len(),
        sizes.len()
    );
    for (i, (response, size)) in responses.iter().zip(sizes).enumerate() {
        check_payload(&format!("{what} response {i}"), &response.payload, *size)?;
    }
    Ok(())
}

async fn server_streaming(mut client: Client) -> Result<(), Failure> {
    let sizes = [31415, 9, 2653, 58979];
    let request = StreamingOutputCallRequest {
        response_parameters: sizes.iter().map(|s| params(*s, None)).collect(),
        ..StreamingOutputCallRequest::default()
    };
    let mut response = client
        .streaming_output_call(request)
        .await
        .map_err(|s| failed("StreamingOutputCall", s))?;
    let all = read_all("StreamingOutputCall", response.get_mut()).await?;
    check_sizes("StreamingOutputCall", &all, &sizes.map(|s| s as usize))
}

async fn server_compressed_streaming(mut client: Client) -> Result<(), Failure> {
    let flags = MessageFlags::new();
    let mut request = Request::new(StreamingOutputCallRequest {
        response_parameters: vec![params(31415, Some(true)), params(92653, Some(false))],
        ..StreamingOutputCallRequest::default()
    });
    request.extensions_mut().insert(flags.clone());
    let mut response = client
        .streaming_output_call(request)
        .await
        .map_err(|s| failed("StreamingOutputCall", s))?;
    let all = read_all("StreamingOutputCall", response.get_mut()).await?;
    check_sizes("StreamingOutputCall", &all, &[31415, 92653])?;
    let seen = flags.remaining();
    ensure!(
        seen == [true, false],
        "the responses' compressed flags were {seen:?}, expected [true, false]"
    );
    Ok(())
}

fn duplex_request(response_size: i32, payload: usize) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: vec![params(response_size, None)],
        payload: zeros(payload),
        ..StreamingOutputCallRequest::default()
    }
}

async fn ping_pong(mut client: Client) -> Result<(), Failure> {
    let steps = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)];
    let (tx, rx) = mpsc::channel(1);
    tx.send(duplex_request(steps[0].0, steps[0].1))
        .await
        .map_err(|_| "the request stream closed early")?;
    let mut response = client
        .full_duplex_call(ReceiverStream::new(rx))
        .await
        .map_err(|s| failed("FullDuplexCall", s))?;
    let stream = response.get_mut();
    for (i, (size, _)) in steps.iter().enumerate() {
        if i > 0 {
            tx.send(duplex_request(steps[i].0, steps[i].1))
                .await
                .map_err(|_| "the request stream closed early")?;
        }
        let reply = stream
            .message()
            .await
            .map_err(|s| failed("FullDuplexCall", s))?
            .ok_or_else(|| format!("the response stream ended after {i} responses"))?;
        check_payload(&format!("response {i}"), &reply.payload, *size as usize)?;
    }
    drop(tx);
    let rest = read_all("FullDuplexCall", stream).await?;
    ensure!(
        rest.is_empty(),
        "{} responses more than expected",
        rest.len()
    );
    Ok(())
}

async fn empty_stream(mut client: Client) -> Result<(), Failure> {
    let mut response = client
        .full_duplex_call(stream::empty::<StreamingOutputCallRequest>())
        .await
        .map_err(|s| failed("FullDuplexCall", s))?;
    let all = read_all("FullDuplexCall", response.get_mut()).await?;
    ensure!(all.is_empty(), "{} responses, expected none", all.len());
    Ok(())
}

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE: &[u8] = &[0xab, 0xab, 0xab];

fn with_echo_metadata<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata
        .insert(ECHO_INITIAL, ECHO_INITIAL_VALUE)
        .expect("a valid ASCII key and value");
    metadata
        .insert_bin(
            ECHO_TRAILING,
            bytes::Bytes::from_static(ECHO_TRAILING_VALUE),
        )
        .expect("a valid binary key");
    request
}

fn check_echo(
    what: &str,
    initial: &grpc_core::MetadataMap,
    trailing: Option<&grpc_core::MetadataMap>,
) -> Result<(), Failure> {
    let got = initial.get(ECHO_INITIAL);
    ensure!(
        got == Some(ECHO_INITIAL_VALUE),
        "{what}: initial metadata {ECHO_INITIAL} = {got:?}"
    );
    let got = trailing
        .and_then(|t| t.get_bin(ECHO_TRAILING))
        .and_then(Result::ok);
    ensure!(
        got.as_deref() == Some(ECHO_TRAILING_VALUE),
        "{what}: trailing metadata {ECHO_TRAILING} = {got:?}"
    );
    Ok(())
}

async fn custom_metadata(mut client: Client) -> Result<(), Failure> {
    let response = client
        .unary_call(with_echo_metadata(large_request()))
        .await
        .map_err(|s| failed("UnaryCall", s))?;
    check_echo("UnaryCall", response.metadata(), Some(response.trailers()))?;
    check_payload("UnaryCall", &response.get_ref().payload, 314159)?;

    let request = with_echo_metadata(stream::iter([duplex_request(314159, 271828)]));
    let mut response = client
        .full_duplex_call(request)
        .await
        .map_err(|s| failed("FullDuplexCall", s))?;
    let all = read_all("FullDuplexCall", response.get_mut()).await?;
    check_sizes("FullDuplexCall", &all, &[314159])?;
    check_echo(
        "FullDuplexCall",
        response.metadata(),
        response.get_ref().trailers(),
    )
}

async fn expect_status(mut client: Client, message: &str) -> Result<(), Failure> {
    let echo = Some(EchoStatus {
        code: 2,
        message: message.to_owned(),
    });
    let check = |what: &str, status: Status| -> Result<(), Failure> {
        ensure!(
            status.code() == Code::Unknown && status.message() == message,
            "{what}: got {:?} {:?}, expected Unknown {message:?}",
            status.code(),
            status.message()
        );
        Ok(())
    };
    let request = SimpleRequest {
        response_status: echo.clone(),
        ..SimpleRequest::default()
    };
    match client.unary_call(request).await {
        Ok(_) => return Err("UnaryCall succeeded; expected the echoed status".into()),
        Err(status) => check("UnaryCall", status)?,
    }
    let request = StreamingOutputCallRequest {
        response_status: echo,
        ..StreamingOutputCallRequest::default()
    };
    let outcome = match client.full_duplex_call(stream::iter([request])).await {
        Err(status) => Err(status),
        Ok(mut response) => read_all_status(response.get_mut()).await,
    };
    match outcome {
        Ok(n) => Err(format!(
            "FullDuplexCall ended OK after {n} responses; expected the echoed status"
        )),
        Err(status) => check("FullDuplexCall", status),
    }
}

/// Reads to the end; the number of messages, or the failure.
async fn read_all_status(
    stream: &mut Streaming<StreamingOutputCallResponse>,
) -> Result<usize, Status> {
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

async fn status_code_and_message(client: Client) -> Result<(), Failure> {
    expect_status(client, "test status message").await
}

async fn special_status_message(client: Client) -> Result<(), Failure> {
    expect_status(
        client,
        "\t\ntest with whitespace\r\nand Unicode BMP \u{263A} and non-BMP \u{1F608}\t\n",
    )
    .await
}

async fn unimplemented_method(mut client: Client) -> Result<(), Failure> {
    match client.unimplemented_call(Empty {}).await {
        Err(status) if status.code() == Code::Unimplemented => Ok(()),
        Err(status) => Err(failed("UnimplementedCall (expected UNIMPLEMENTED)", status)),
        Ok(_) => Err("UnimplementedCall succeeded; expected UNIMPLEMENTED".into()),
    }
}

async fn unimplemented_service(stack: Stack) -> Result<(), Failure> {
    let mut client = UnimplementedServiceClient::new(stack);
    match client.unimplemented_call(Empty {}).await {
        Err(status) if status.code() == Code::Unimplemented => Ok(()),
        Err(status) => Err(failed("UnimplementedCall (expected UNIMPLEMENTED)", status)),
        Ok(_) => Err("UnimplementedCall succeeded; expected UNIMPLEMENTED".into()),
    }
}

/// After a cancellation, the channel must still carry calls: the reset
/// concerned the one stream only.
async fn channel_still_works(mut client: Client) -> Result<(), Failure> {
    client
        .empty_call(Empty {})
        .await
        .map_err(|s| failed("EmptyCall after the cancellation", s))?;
    Ok(())
}

async fn cancel_after_begin(client: Client) -> Result<(), Failure> {
    // Connected first, so the call's head goes out at once.
    channel_still_works(client.clone()).await?;
    let (tx, rx) = mpsc::channel::<StreamingInputCallRequest>(1);
    let mut caller = client.clone();
    // Boxed, so that dropping it below really ends the call.
    let mut call = Box::pin(caller.streaming_input_call(ReceiverStream::new(rx)));
    // The call starts (its head is sent) and waits for request messages.
    if let Ok(outcome) = tokio::time::timeout(Duration::from_millis(50), &mut call).await {
        return Err(format!(
            "the call ended before it was cancelled: {:?}",
            outcome.map(|_| ())
        ));
    }
    // Cancelling: dropping the call resets its stream (RST_STREAM CANCEL);
    // the outcome of a call cancelled by its client is CANCELLED.
    drop(call);
    drop(tx);
    channel_still_works(client.clone()).await?;
    // And a streaming call started after the cancellation works too.
    client_streaming(client).await
}

async fn cancel_after_first_response(mut client: Client) -> Result<(), Failure> {
    let (tx, rx) = mpsc::channel(1);
    tx.send(duplex_request(31415, 27182))
        .await
        .map_err(|_| "the request stream closed early")?;
    let mut response = client
        .full_duplex_call(ReceiverStream::new(rx))
        .await
        .map_err(|s| failed("FullDuplexCall", s))?;
    let first = response
        .get_mut()
        .message()
        .await
        .map_err(|s| failed("FullDuplexCall", s))?
        .ok_or("the response stream ended before the first response")?;
    check_payload("the first response", &first.payload, 31415)?;
    // Cancelling: dropping the response stream (and the request stream)
    // resets the call's stream.
    drop(response);
    drop(tx);
    channel_still_works(client).await
}

async fn timeout_on_sleeping_server(mut client: Client) -> Result<(), Failure> {
    let (tx, rx) = mpsc::channel(1);
    tx.send(StreamingOutputCallRequest {
        payload: zeros(27182),
        ..StreamingOutputCallRequest::default()
    })
    .await
    .map_err(|_| "the request stream closed early")?;
    let mut request = Request::new(ReceiverStream::new(rx));
    request
        .extensions_mut()
        .insert(Deadline::after(Duration::from_millis(1)));
    let outcome = match client.full_duplex_call(request).await {
        Err(status) => Err(status),
        Ok(mut response) => read_all_status(response.get_mut()).await,
    };
    drop(tx);
    match outcome {
        Err(status) if status.code() == Code::DeadlineExceeded => Ok(()),
        Err(status) => Err(failed(
            "FullDuplexCall (expected DEADLINE_EXCEEDED)",
            status,
        )),
        Ok(n) => Err(format!(
            "FullDuplexCall ended OK after {n} responses; expected DEADLINE_EXCEEDED"
        )),
    }
}

async fn concurrent_large_unary(client: Client) -> Result<(), Failure> {
    let calls = (0..CONCURRENT_CALLS).map(|_| large_unary(client.clone()));
    let failures: Vec<Failure> = join_all(calls)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    ensure!(
        failures.is_empty(),
        "{} of {CONCURRENT_CALLS} calls failed; first: {}",
        failures.len(),
        failures[0]
    );
    Ok(())
}

async fn rpc_soak(client: Client, options: &Options) -> Result<(), Failure> {
    let mut slow = 0;
    for i in 0..options.soak_iterations {
        let started = Instant::now();
        large_unary(client.clone())
            .await
            .map_err(|e| format!("iteration {i}: {e}"))?;
        if started.elapsed() > options.soak_max_latency {
            slow += 1;
        }
    }
    ensure!(
        slow == 0,
        "{slow} of {} iterations took longer than {:?}",
        options.soak_iterations,
        options.soak_max_latency
    );
    Ok(())
}
