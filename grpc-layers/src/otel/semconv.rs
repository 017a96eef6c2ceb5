//! The names the layers record, exactly as the specifications spell them:
//! OpenTelemetry's semantic conventions v1.44.0 (RPC spans and metrics,
//! gRPC), gRFC A66 (gRPC's own metrics) and gRFC A72 (its message events).

// ----- OpenTelemetry semantic conventions v1.44.0 --------------------------

/// `rpc.system.name`, always [`GRPC`].
pub(crate) const RPC_SYSTEM_NAME: &str = "rpc.system.name";
/// The value of `rpc.system.name`, and the span name of a call whose
/// method is `_OTHER`.
pub(crate) const GRPC: &str = "grpc";
/// `rpc.method`: `package.Service/Method`, or [`OTHER`].
pub(crate) const RPC_METHOD: &str = "rpc.method";
/// The `rpc.method` of a method the server does not know.
pub(crate) const OTHER: &str = "_OTHER";
/// `rpc.method_original`: the method a call asked for, when `rpc.method`
/// is `_OTHER`.
pub(crate) const RPC_METHOD_ORIGINAL: &str = "rpc.method_original";
/// `rpc.response.status_code`: the code's name, e.g. `DEADLINE_EXCEEDED`.
pub(crate) const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";
/// `error.type`: the code's name, for a call that failed.
pub(crate) const ERROR_TYPE: &str = "error.type";
/// `server.address`.
pub(crate) const SERVER_ADDRESS: &str = "server.address";
/// `server.port`.
pub(crate) const SERVER_PORT: &str = "server.port";
/// `network.peer.address`.
pub(crate) const NETWORK_PEER_ADDRESS: &str = "network.peer.address";
/// `network.peer.port`.
pub(crate) const NETWORK_PEER_PORT: &str = "network.peer.port";
/// `rpc.request.metadata.<key>`.
pub(crate) const REQUEST_METADATA: &str = "rpc.request.metadata.";
/// `rpc.response.metadata.<key>`.
pub(crate) const RESPONSE_METADATA: &str = "rpc.response.metadata.";

/// `rpc.server.call.duration`, a histogram in `s`.
pub(crate) const RPC_SERVER_CALL_DURATION: &str = "rpc.server.call.duration";
/// `rpc.client.call.duration`, a histogram in `s`.
pub(crate) const RPC_CLIENT_CALL_DURATION: &str = "rpc.client.call.duration";
/// The bucket boundaries the conventions give both duration histograms.
pub(crate) const RPC_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

// ----- gRFC A66: gRPC's OpenTelemetry metrics ------------------------------

/// `grpc.method`: the full method name, or [`A66_OTHER`].
pub(crate) const GRPC_METHOD: &str = "grpc.method";
/// A66's `grpc.method` for a method the server does not know.
pub(crate) const A66_OTHER: &str = "other";
/// `grpc.status`: the code's name.
pub(crate) const GRPC_STATUS: &str = "grpc.status";
/// `grpc.target`: the canonical target of the channel.
pub(crate) const GRPC_TARGET: &str = "grpc.target";

pub(crate) const GRPC_SERVER_CALL_STARTED: &str = "grpc.server.call.started";
pub(crate) const GRPC_SERVER_CALL_DURATION: &str = "grpc.server.call.duration";
pub(crate) const GRPC_SERVER_CALL_SENT: &str =
    "grpc.server.call.sent_total_compressed_message_size";
pub(crate) const GRPC_SERVER_CALL_RCVD: &str =
    "grpc.server.call.rcvd_total_compressed_message_size";
pub(crate) const GRPC_CLIENT_ATTEMPT_STARTED: &str = "grpc.client.attempt.started";
pub(crate) const GRPC_CLIENT_ATTEMPT_DURATION: &str = "grpc.client.attempt.duration";
pub(crate) const GRPC_CLIENT_ATTEMPT_SENT: &str =
    "grpc.client.attempt.sent_total_compressed_message_size";
pub(crate) const GRPC_CLIENT_ATTEMPT_RCVD: &str =
    "grpc.client.attempt.rcvd_total_compressed_message_size";
pub(crate) const GRPC_CLIENT_CALL_DURATION: &str = "grpc.client.call.duration";

/// A66's latency buckets, in seconds.
pub(crate) const A66_LATENCY_BUCKETS: [f64; 41] = [
    0.0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005,
    0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16,
    0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];
/// A66's size buckets, in bytes.
pub(crate) const A66_SIZE_BUCKETS: [f64; 14] = [
    0.0,
    1024.0,
    2048.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
    4294967296.0,
];

// ----- gRFC A72: gRPC's message events -------------------------------------

/// The event of a message the side sends.
pub(crate) const OUTBOUND_MESSAGE: &str = "Outbound message";
/// The event of a message the side receives.
pub(crate) const INBOUND_MESSAGE: &str = "Inbound message";
/// The message's number in its direction, from 0.
pub(crate) const SEQUENCE_NUMBER: &str = "sequence-number";
/// The size of an uncompressed message.
pub(crate) const MESSAGE_SIZE: &str = "message-size";
/// The size of a compressed message, as it is on the wire.
pub(crate) const MESSAGE_SIZE_COMPRESSED: &str = "message-size-compressed";
