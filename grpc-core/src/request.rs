//! Typed requests and responses: a message with its metadata and extensions.

use http::Extensions;

use crate::metadata::MetadataMap;

/// A typed gRPC request: the message (or a [`Streaming`](crate::Streaming) of
/// messages), the request metadata and the `http` extensions that layers
/// attached (peer address, TLS info, deadline, method).
#[derive(Debug, Default)]
pub struct Request<T> {
    metadata: MetadataMap,
    extensions: Extensions,
    message: T,
}

impl<T> Request<T> {
    /// A request with no metadata.
    pub fn new(message: T) -> Self {
        Request {
            metadata: MetadataMap::new(),
            extensions: Extensions::new(),
            message,
        }
    }

    /// A request from its parts.
    pub fn from_parts(metadata: MetadataMap, extensions: Extensions, message: T) -> Self {
        Request {
            metadata,
            extensions,
            message,
        }
    }

    /// Builds a request from an HTTP request head: user metadata from the
    /// headers (reserved headers dropped) and the extensions as they are.
    pub fn from_http_parts(parts: http::request::Parts, message: T) -> Self {
        Request {
            metadata: MetadataMap::from_headers(parts.headers),
            extensions: parts.extensions,
            message,
        }
    }

    /// Splits the request into its parts.
    pub fn into_parts(self) -> (MetadataMap, Extensions, T) {
        (self.metadata, self.extensions, self.message)
    }

    /// The request metadata.
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// The request metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// The request extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The request extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, dropping metadata and extensions.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Maps the message, keeping metadata and extensions.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            metadata: self.metadata,
            extensions: self.extensions,
            message: f(self.message),
        }
    }
}

/// A request head with this metadata and no extensions: what a call that
/// sends its messages later starts from.
impl From<MetadataMap> for Request<()> {
    fn from(metadata: MetadataMap) -> Self {
        Request::from_parts(metadata, Extensions::new(), ())
    }
}

/// A typed gRPC response: the message (or stream of messages), the initial
/// metadata (response headers), the trailing metadata and extensions.
#[derive(Debug, Default)]
pub struct Response<T> {
    metadata: MetadataMap,
    trailers: MetadataMap,
    extensions: Extensions,
    message: T,
}

impl<T> Response<T> {
    /// A response with no metadata.
    pub fn new(message: T) -> Self {
        Response {
            metadata: MetadataMap::new(),
            trailers: MetadataMap::new(),
            extensions: Extensions::new(),
            message,
        }
    }

    /// A response from its parts.
    pub fn from_parts(
        metadata: MetadataMap,
        trailers: MetadataMap,
        extensions: Extensions,
        message: T,
    ) -> Self {
        Response {
            metadata,
            trailers,
            extensions,
            message,
        }
    }

    /// Splits the response into initial metadata, trailing metadata,
    /// extensions and message.
    pub fn into_parts(self) -> (MetadataMap, MetadataMap, Extensions, T) {
        (self.metadata, self.trailers, self.extensions, self.message)
    }

    /// Initial metadata (sent as response headers).
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// Initial metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// Trailing metadata (sent with the status in the trailers). For a
    /// streamed response read by a client it is filled once the stream ended.
    pub fn trailers(&self) -> &MetadataMap {
        &self.trailers
    }

    /// Trailing metadata, mutably.
    pub fn trailers_mut(&mut self) -> &mut MetadataMap {
        &mut self.trailers
    }

    /// The response extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The response extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, dropping metadata.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Maps the message, keeping metadata and extensions.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            metadata: self.metadata,
            trailers: self.trailers,
            extensions: self.extensions,
            message: f(self.message),
        }
    }
}

/// Anything that can be sent as a unary request: a message, or a
/// [`Request`] around one.
pub trait IntoRequest<T> {
    /// Wraps the message in a request if it is not one yet.
    fn into_request(self) -> Request<T>;
}

impl<T> IntoRequest<T> for T {
    fn into_request(self) -> Request<T> {
        Request::new(self)
    }
}

impl<T> IntoRequest<T> for Request<T> {
    fn into_request(self) -> Request<T> {
        self
    }
}

/// Anything that can be sent as a streaming request: a `Stream` of
/// messages, or a [`Request`] around one.
pub trait IntoStreamingRequest {
    /// The stream of messages.
    type Stream: futures_core::Stream<Item = Self::Message> + Send + 'static;
    /// The message type.
    type Message;

    /// Wraps the stream in a request if it is not one yet.
    fn into_streaming_request(self) -> Request<Self::Stream>;
}

impl<S> IntoStreamingRequest for S
where
    S: futures_core::Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        Request::new(self)
    }
}

impl<S> IntoStreamingRequest for Request<S>
where
    S: futures_core::Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        self
    }
}
