//! [`ServerDeadlineLayer`] and [`ClientDeadlineLayer`].

use std::time::Duration;

use tower_layer::Layer;

use super::service::{ClientDeadline, ServerDeadline};

/// Enforces each call's `grpc-timeout` on the server; see the
/// [module docs](super).
///
/// With no configuration, a call without `grpc-timeout` has no deadline.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerDeadlineLayer {
    pub(crate) config: ServerConfig,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ServerConfig {
    /// The timeout of a call that sent no `grpc-timeout`.
    pub(crate) default_timeout: Option<Duration>,
    /// No call gets more than this, whatever it asked for.
    pub(crate) max_timeout: Option<Duration>,
}

impl ServerConfig {
    /// The timeout a call gets, from the one it sent (if any).
    pub(crate) fn timeout(&self, sent: Option<Duration>) -> Option<Duration> {
        let timeout = sent.or(self.default_timeout);
        match (timeout, self.max_timeout) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        }
    }
}

impl ServerDeadlineLayer {
    /// Enforces `grpc-timeout`; calls without one have no deadline.
    pub fn new() -> Self {
        ServerDeadlineLayer::default()
    }

    /// Gives calls that sent no `grpc-timeout` this timeout (still capped
    /// by [`max_timeout`](Self::max_timeout)).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.config.default_timeout = Some(timeout);
        self
    }

    /// Caps every call's timeout, including calls that sent none: a call
    /// gets the smaller of what it asked for and this.
    pub fn max_timeout(mut self, timeout: Duration) -> Self {
        self.config.max_timeout = Some(timeout);
        self
    }
}

impl<S> Layer<S> for ServerDeadlineLayer {
    type Service = ServerDeadline<S>;

    fn layer(&self, inner: S) -> ServerDeadline<S> {
        ServerDeadline::from_layer(inner, self.config)
    }
}

/// Sends each call's deadline as `grpc-timeout` and enforces it locally;
/// see the [module docs](super).
///
/// With no configuration, a call's deadline is the [`Deadline`] in its
/// request extensions, narrowed by the deadline of the call being handled
/// (see [`current`](super::current)); a call with neither has none.
///
/// [`Deadline`]: grpc_core::deadline::Deadline
#[derive(Clone, Copy, Debug)]
pub struct ClientDeadlineLayer {
    pub(crate) config: ClientConfig,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientConfig {
    /// The timeout of a call that carries no deadline of its own.
    pub(crate) default_timeout: Option<Duration>,
    /// Whether the deadline of the call being handled narrows this one.
    pub(crate) propagate: bool,
}

impl Default for ClientDeadlineLayer {
    fn default() -> Self {
        ClientDeadlineLayer {
            config: ClientConfig {
                default_timeout: None,
                propagate: true,
            },
        }
    }
}

impl ClientDeadlineLayer {
    /// Per-call deadlines, narrowed by the propagated one; no default.
    pub fn new() -> Self {
        ClientDeadlineLayer::default()
    }

    /// Gives calls that carry no deadline of their own this timeout from
    /// the moment they are made (still narrowed by a propagated deadline).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.config.default_timeout = Some(timeout);
        self
    }

    /// Whether the deadline of the call being handled narrows each call's
    /// deadline (default `true`). With `false`, calls get only their own
    /// deadline or the default: for calls that must outlive the request
    /// that caused them.
    pub fn propagate(mut self, on: bool) -> Self {
        self.config.propagate = on;
        self
    }
}

impl<S> Layer<S> for ClientDeadlineLayer {
    type Service = ClientDeadline<S>;

    fn layer(&self, inner: S) -> ClientDeadline<S> {
        ClientDeadline::from_layer(inner, self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_caps_every_timeout_and_defaults_only_missing_ones() {
        let secs = Duration::from_secs;
        let none = ServerDeadlineLayer::new().config;
        assert_eq!(none.timeout(None), None);
        assert_eq!(none.timeout(Some(secs(5))), Some(secs(5)));

        let default = ServerDeadlineLayer::new().default_timeout(secs(10)).config;
        assert_eq!(default.timeout(None), Some(secs(10)));
        assert_eq!(default.timeout(Some(secs(60))), Some(secs(60)));

        let max = ServerDeadlineLayer::new().max_timeout(secs(30)).config;
        assert_eq!(max.timeout(None), Some(secs(30)));
        assert_eq!(max.timeout(Some(secs(5))), Some(secs(5)));
        assert_eq!(max.timeout(Some(secs(60))), Some(secs(30)));

        let both = ServerDeadlineLayer::new()
            .default_timeout(secs(60))
            .max_timeout(secs(30))
            .config;
        assert_eq!(both.timeout(None), Some(secs(30)));
    }
}
