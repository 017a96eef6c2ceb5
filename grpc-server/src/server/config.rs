//! The server's connection settings and their safe defaults, in one place.
//!
//! A server started with no configuration must be safe to put on a network.
//! Every default below is deliberate; each has a knob on
//! [`Server`](super::Server).
//!
//! | setting | default | why |
//! |---|---|---|
//! | max concurrent streams | [`MAX_CONCURRENT_STREAMS`] = 200 | bounds one connection's memory (an unbounded server held 20,000 streams, +166 MiB) |
//! | pending-accept reset streams | [`MAX_PENDING_ACCEPT_RESET_STREAMS`] = 20 | HTTP/2 rapid reset (CVE-2023-44487) |
//! | local error resets per connection | [`MAX_LOCAL_ERROR_RESET_STREAMS`] = 1024, cannot be disabled | MadeYouReset (CVE-2025-8671) |
//! | header list size | [`MAX_HEADER_LIST_SIZE`] = 16 KiB | gRPC core's hard limit |
//! | initial stream / connection window | [`INITIAL_STREAM_WINDOW_SIZE`] / [`INITIAL_CONNECTION_WINDOW_SIZE`] = 1 MiB | hyper's choice |
//! | per-stream send buffer | [`MAX_SEND_BUF_SIZE`] = 400 KiB | bounds memory held for slow readers |
//! | keepalive ping | [`KEEPALIVE_INTERVAL`] = 2 h, [`KEEPALIVE_TIMEOUT`] = 20 s | gRPC core, grpc-go |
//! | graceful shutdown | [`GRACEFUL_SHUTDOWN_TIMEOUT`] = 30 s, then connections are closed | gRFC A9: never wait forever |
//! | `TCP_NODELAY` | on | gRPC messages are latency-bound |
//! | write batching | on | one write for the responses that become ready together (see `grpc_transport::batch`) |
//!
//! Message size limits (4 MiB received) live with the handlers and layers,
//! not the connection.

use std::time::Duration;

/// Streams one connection may have open at once.
pub const MAX_CONCURRENT_STREAMS: u32 = 200;
/// Streams reset by the client before the server accepted them, per connection.
pub const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the server may reset because of client errors, per connection.
pub const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// Largest header list (request headers, decoded) accepted.
pub const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;
/// HTTP/2 initial stream window.
pub const INITIAL_STREAM_WINDOW_SIZE: u32 = 1024 * 1024;
/// HTTP/2 initial connection window.
pub const INITIAL_CONNECTION_WINDOW_SIZE: u32 = 1024 * 1024;
/// Bytes buffered per stream for sending before the handler waits.
pub const MAX_SEND_BUF_SIZE: usize = 400 * 1024;
/// Interval between server keepalive PINGs on an idle connection.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);
/// Time to wait for a keepalive PING's answer before closing the connection.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// After a shutdown signal, how long in-flight calls may take before their
/// connections are closed.
pub const GRACEFUL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The smallest and largest `SETTINGS_MAX_FRAME_SIZE` HTTP/2 allows
/// (RFC 9113, section 6.5.2).
pub const FRAME_SIZE_RANGE: std::ops::RangeInclusive<u32> = 16_384..=16_777_215;

/// A frame size clamped into [`FRAME_SIZE_RANGE`] (h2 refuses any other).
pub fn clamp_frame_size(size: u32) -> u32 {
    size.clamp(*FRAME_SIZE_RANGE.start(), *FRAME_SIZE_RANGE.end())
}

/// The settings of a [`Server`](super::Server).
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_concurrent_streams: u32,
    pub(crate) max_pending_accept_reset_streams: usize,
    pub(crate) max_local_error_reset_streams: usize,
    pub(crate) max_header_list_size: u32,
    pub(crate) initial_stream_window_size: u32,
    pub(crate) initial_connection_window_size: u32,
    pub(crate) adaptive_window: bool,
    pub(crate) max_frame_size: Option<u32>,
    pub(crate) max_send_buf_size: usize,
    pub(crate) keepalive_interval: Option<Duration>,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) graceful_shutdown_timeout: Duration,
    pub(crate) tcp_nodelay: bool,
    pub(crate) write_batching: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_concurrent_streams: MAX_CONCURRENT_STREAMS,
            max_pending_accept_reset_streams: MAX_PENDING_ACCEPT_RESET_STREAMS,
            max_local_error_reset_streams: MAX_LOCAL_ERROR_RESET_STREAMS,
            max_header_list_size: MAX_HEADER_LIST_SIZE,
            initial_stream_window_size: INITIAL_STREAM_WINDOW_SIZE,
            initial_connection_window_size: INITIAL_CONNECTION_WINDOW_SIZE,
            adaptive_window: false,
            max_frame_size: None,
            max_send_buf_size: MAX_SEND_BUF_SIZE,
            keepalive_interval: Some(KEEPALIVE_INTERVAL),
            keepalive_timeout: KEEPALIVE_TIMEOUT,
            graceful_shutdown_timeout: GRACEFUL_SHUTDOWN_TIMEOUT,
            tcp_nodelay: true,
            write_batching: true,
        }
    }
}
