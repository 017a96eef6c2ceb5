//! The instruments of a layer, created once when the layer is first
//! applied.

use opentelemetry::metrics::{Counter, Histogram, Meter};

use super::semconv::*;
use super::Side;

/// gRFC A66's instruments of one side. On the client `started`,
/// `duration`, `sent` and `rcvd` are the attempt's and `call_duration` the
/// call's.
#[derive(Debug)]
pub(crate) struct GrpcInstruments {
    pub(crate) started: Counter<u64>,
    pub(crate) duration: Histogram<f64>,
    pub(crate) sent: Histogram<u64>,
    pub(crate) rcvd: Histogram<u64>,
    pub(crate) call_duration: Option<Histogram<f64>>,
}

/// Every instrument of a layer.
#[derive(Debug)]
pub(crate) struct Instruments {
    /// `rpc.server.call.duration` or `rpc.client.call.duration`.
    pub(crate) rpc_duration: Histogram<f64>,
    pub(crate) grpc: Option<GrpcInstruments>,
}

fn latency(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(A66_LATENCY_BUCKETS.to_vec())
        .build()
}

fn size(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<u64> {
    meter
        .u64_histogram(name)
        .with_unit("By")
        .with_description(description)
        .with_boundaries(A66_SIZE_BUCKETS.to_vec())
        .build()
}

impl Instruments {
    pub(crate) fn new(meter: &Meter, side: Side, grpc: bool) -> Instruments {
        let (name, description) = match side {
            Side::Server => (
                RPC_SERVER_CALL_DURATION,
                "Duration of incoming gRPC calls, until their status is sent.",
            ),
            Side::Client => (
                RPC_CLIENT_CALL_DURATION,
                "Duration of outgoing gRPC calls, until their status is received.",
            ),
        };
        let rpc_duration = meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(RPC_DURATION_BUCKETS.to_vec())
            .build();
        let grpc = grpc.then(|| match side {
            Side::Server => GrpcInstruments {
                started: meter
                    .u64_counter(GRPC_SERVER_CALL_STARTED)
                    .with_unit("{call}")
                    .with_description("Calls the server started, finished or not.")
                    .build(),
                duration: latency(
                    meter,
                    GRPC_SERVER_CALL_DURATION,
                    "Time from a call's arrival until its status is sent.",
                ),
                sent: size(
                    meter,
                    GRPC_SERVER_CALL_SENT,
                    "Bytes of the response messages of a call as sent (compressed), without framing.",
                ),
                rcvd: size(
                    meter,
                    GRPC_SERVER_CALL_RCVD,
                    "Bytes of the request messages of a call as received (compressed), without framing.",
                ),
                call_duration: None,
            },
            Side::Client => GrpcInstruments {
                started: meter
                    .u64_counter(GRPC_CLIENT_ATTEMPT_STARTED)
                    .with_unit("{attempt}")
                    .with_description("Call attempts started, finished or not.")
                    .build(),
                duration: latency(
                    meter,
                    GRPC_CLIENT_ATTEMPT_DURATION,
                    "Time from an attempt's start until its status is received.",
                ),
                sent: size(
                    meter,
                    GRPC_CLIENT_ATTEMPT_SENT,
                    "Bytes of the request messages of an attempt as sent (compressed), without framing.",
                ),
                rcvd: size(
                    meter,
                    GRPC_CLIENT_ATTEMPT_RCVD,
                    "Bytes of the response messages of an attempt as received (compressed), without framing.",
                ),
                call_duration: Some(latency(
                    meter,
                    GRPC_CLIENT_CALL_DURATION,
                    "Time from a call's start until its status reaches the application.",
                )),
            },
        });
        Instruments { rpc_duration, grpc }
    }
}
