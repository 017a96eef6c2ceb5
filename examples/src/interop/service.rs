//! The interop server's `grpc.testing.TestService`, as the interop test
//! descriptions define it.
//!
//! - `EmptyCall` answers the empty message;
//! - `UnaryCall` answers `response_size` zero bytes;
//! - `StreamingOutputCall` and `FullDuplexCall` answer one message per
//!   `response_parameters` entry, each after its `interval_us`;
//!   `HalfDuplexCall` does the same after the client half-closes;
//! - `StreamingInputCall` answers the total payload size it received;
//! - a `response_status` with a non-zero code ends the call with that status;
//! - `x-grpc-test-echo-initial` comes back in the response headers and
//!   `x-grpc-test-echo-trailing-bin` in the trailers;
//! - `response_compressed` / `ResponseParameters.compressed` compress that
//!   response message, and `expect_compressed` checks the request's
//!   *compressed* flag (refusing a mismatch with `INVALID_ARGUMENT`), read
//!   from the [`MessageFlags`] that the wire observer records;
//! - `UnimplementedCall` is not implemented: `UNIMPLEMENTED`.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use grpc_core::{Code, MetadataMap, Request, Response, Status, Streaming};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::compress;
use super::proto::test_service_server::TestService;
use super::proto::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};
use super::wire::MessageFlags;

/// The largest payload the server makes for one response (the interop
/// cases ask for at most 314159 bytes).
const MAX_RESPONSE_SIZE: i32 = 4 * 1024 * 1024;

/// The interop `TestService`; see the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
pub struct InteropService;

/// A boxed stream of responses.
pub type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<StreamingOutputCallResponse, Status>> + Send>>;

/// The metadata a request asks to be echoed: (initial, trailing).
fn echoed(request: &MetadataMap) -> (MetadataMap, MetadataMap) {
    let mut initial = MetadataMap::new();
    if let Some(v) = request.get("x-grpc-test-echo-initial") {
        let _ = initial.insert("x-grpc-test-echo-initial", v);
    }
    let mut trailing = MetadataMap::new();
    if let Some(Ok(v)) = request.get_bin("x-grpc-test-echo-trailing-bin") {
        let _ = trailing.insert_bin("x-grpc-test-echo-trailing-bin", v);
    }
    (initial, trailing)
}

fn payload(size: i32) -> Result<Payload, Status> {
    if !(0..=MAX_RESPONSE_SIZE).contains(&size) {
        return Err(Status::invalid_argument(format!(
            "response size {size} is not within 0..={MAX_RESPONSE_SIZE}"
        )));
    }
    Ok(Payload {
        r#type: 0,
        body: vec![0; size as usize],
    })
}

fn check_type(response_type: i32) -> Result<(), Status> {
    if response_type == 0 {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "unsupported response type {response_type}: only COMPRESSABLE"
        )))
    }
}

/// The status a request asks the call to end with, if any.
fn requested_status(status: &Option<EchoStatus>, trailing: &MetadataMap) -> Option<Status> {
    let status = status.as_ref().filter(|s| s.code != 0)?;
    Some(
        Status::new(Code::from_i32(status.code), status.message.clone())
            .with_metadata(trailing.clone()),
    )
}

/// Checks a request message's *compressed* flag against `expect_compressed`.
fn check_compressed(
    expect: &Option<BoolValue>,
    flags: Option<&MessageFlags>,
) -> Result<(), Status> {
    let seen = flags.and_then(MessageFlags::next);
    let Some(expect) = expect.as_ref().map(|b| b.value) else {
        return Ok(());
    };
    match seen {
        Some(seen) if seen == expect => Ok(()),
        Some(seen) => Err(Status::invalid_argument(format!(
            "expected a {} request message, got a {} one",
            if expect { "compressed" } else { "uncompressed" },
            if seen { "compressed" } else { "uncompressed" },
        ))),
        None => Err(Status::invalid_argument(
            "cannot tell whether the request was compressed (no wire observer in the stack)",
        )),
    }
}

fn respond<T>(message: T, initial: MetadataMap, trailing: MetadataMap) -> Response<T> {
    Response::from_parts(initial, trailing, Default::default(), message)
}

/// Sends the responses of one request's parameters: (message, compress).
async fn send_responses(
    params: &[ResponseParameters],
    tx: &mpsc::Sender<Result<(StreamingOutputCallResponse, bool), Status>>,
) -> Result<(), ()> {
    for p in params {
        if p.interval_us > 0 {
            tokio::time::sleep(Duration::from_micros(p.interval_us as u64)).await;
        }
        let item = payload(p.size).map(|payload| {
            let compressed = p.compressed.as_ref().is_some_and(|b| b.value);
            (
                StreamingOutputCallResponse {
                    payload: Some(payload),
                },
                compressed,
            )
        });
        let failed = item.is_err();
        tx.send(item).await.map_err(|_| ())?;
        if failed {
            return Err(());
        }
    }
    Ok(())
}

/// A response stream fed by a task, applying each message's compression
/// choice just as the message leaves the stream.
fn output_stream(
    rx: mpsc::Receiver<Result<(StreamingOutputCallResponse, bool), Status>>,
    switch: compress::MessageSwitch,
) -> ResponseStream {
    Box::pin(ReceiverStream::new(rx).map(move |item| {
        item.map(|(message, compressed)| {
            switch.set(compressed);
            message
        })
    }))
}

impl TestService for InteropService {
    async fn empty_call(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Response::new(Empty {}))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let (initial, trailing) = echoed(request.metadata());
        let flags = request.extensions().get::<MessageFlags>().cloned();
        let request = request.into_inner();
        check_compressed(&request.expect_compressed, flags.as_ref())?;
        if let Some(status) = requested_status(&request.response_status, &trailing) {
            return Err(status);
        }
        check_type(request.response_type)?;
        let mut response = respond(
            SimpleResponse {
                payload: Some(payload(request.response_size)?),
                ..SimpleResponse::default()
            },
            initial,
            trailing,
        );
        let compressed = request.response_compressed.is_some_and(|b| b.value);
        compress::set_call_compression(response.extensions_mut(), compressed);
        Ok(response)
    }

    async fn cacheable_unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        self.unary_call(request).await
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let (initial, trailing) = echoed(request.metadata());
        let request = request.into_inner();
        check_type(request.response_type)?;
        let (tx, rx) = mpsc::channel(1);
        let status = requested_status(&request.response_status, &trailing);
        tokio::spawn(async move {
            if send_responses(&request.response_parameters, &tx)
                .await
                .is_ok()
            {
                if let Some(status) = status {
                    let _ = tx.send(Err(status)).await;
                }
            }
        });
        let mut response = respond((), initial, trailing);
        let switch = compress::per_message(response.extensions_mut());
        Ok(response.map(|()| output_stream(rx, switch)))
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let (initial, trailing) = echoed(request.metadata());
        let flags = request.extensions().get::<MessageFlags>().cloned();
        let mut stream = request.into_inner();
        let mut total: usize = 0;
        while let Some(message) = stream.message().await? {
            check_compressed(&message.expect_compressed, flags.as_ref())?;
            total += message.payload.map_or(0, |p| p.body.len());
        }
        let aggregated_payload_size = i32::try_from(total)
            .map_err(|_| Status::invalid_argument("aggregated payload size overflows int32"))?;
        Ok(respond(
            StreamingInputCallResponse {
                aggregated_payload_size,
            },
            initial,
            trailing,
        ))
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let (initial, trailing) = echoed(request.metadata());
        let mut requests = request.into_inner();
        let (tx, rx) = mpsc::channel(1);
        let failure_metadata = trailing.clone();
        tokio::spawn(async move {
            loop {
                let request = match requests.message().await {
                    Ok(Some(request)) => request,
                    Ok(None) => return,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                if let Some(status) = requested_status(&request.response_status, &failure_metadata)
                {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                if let Err(status) = check_type(request.response_type) {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                if send_responses(&request.response_parameters, &tx)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut response = respond((), initial, trailing);
        let switch = compress::per_message(response.extensions_mut());
        Ok(response.map(|()| output_stream(rx, switch)))
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let (initial, trailing) = echoed(request.metadata());
        let mut requests = request.into_inner();
        let mut all = Vec::new();
        while let Some(request) = requests.message().await? {
            if let Some(status) = requested_status(&request.response_status, &trailing) {
                return Err(status);
            }
            check_type(request.response_type)?;
            all.extend(request.response_parameters);
        }
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            let _ = send_responses(&all, &tx).await;
        });
        let mut response = respond((), initial, trailing);
        let switch = compress::per_message(response.extensions_mut());
        Ok(response.map(|()| output_stream(rx, switch)))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "grpc.testing.TestService/UnimplementedCall is not implemented, by design",
        ))
    }
}
