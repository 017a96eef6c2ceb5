//! [`ServerStatusLayer`] and [`ClientStatusLayer`].

use tower_layer::Layer;

use super::{ClientStatus, DefaultMapper, ServerStatus};

/// The server side: errors and panics of the inner service become
/// trailers-only responses, and the error type becomes `Infallible`; see the
/// [module docs](super).
#[derive(Clone, Debug, Default)]
pub struct ServerStatusLayer<M = DefaultMapper> {
    mapper: M,
}

impl ServerStatusLayer {
    /// With the [`DefaultMapper`].
    pub fn new() -> Self {
        ServerStatusLayer::default()
    }
}

impl<M> ServerStatusLayer<M> {
    /// Maps errors and panics with `mapper` instead.
    pub fn mapper<N>(self, mapper: N) -> ServerStatusLayer<N> {
        ServerStatusLayer { mapper }
    }
}

impl<S, M: Clone> Layer<S> for ServerStatusLayer<M> {
    type Service = ServerStatus<S, M>;

    fn layer(&self, inner: S) -> ServerStatus<S, M> {
        ServerStatus::with_mapper(inner, self.mapper.clone())
    }
}

/// The client side: errors of the inner service and of its response bodies
/// become [`Status`](grpc_core::Status) values; see the
/// [module docs](super).
#[derive(Clone, Debug, Default)]
pub struct ClientStatusLayer<M = DefaultMapper> {
    mapper: M,
}

impl ClientStatusLayer {
    /// With the [`DefaultMapper`].
    pub fn new() -> Self {
        ClientStatusLayer::default()
    }
}

impl<M> ClientStatusLayer<M> {
    /// Maps errors with `mapper` instead.
    pub fn mapper<N>(self, mapper: N) -> ClientStatusLayer<N> {
        ClientStatusLayer { mapper }
    }
}

impl<S, M: Clone> Layer<S> for ClientStatusLayer<M> {
    type Service = ClientStatus<S, M>;

    fn layer(&self, inner: S) -> ClientStatus<S, M> {
        ClientStatus::with_mapper(inner, self.mapper.clone())
    }
}
