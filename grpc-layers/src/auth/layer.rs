//! [`ServerAuthLayer`] and [`ClientAuthLayer`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{InvalidHeaderValue, AUTHORIZATION};
use http::{HeaderName, HeaderValue};
use tower_layer::Layer;

use super::rules::Rules;
use super::service::{ClientAuth, ServerAuth};
use super::source::{Token, TokenCache, TokenSource};
use super::Access;

/// Authorizes each call on the server with an [`Authorize`](super::Authorize)
/// implementation, under per-method rules; see the [module docs](super).
///
/// With no rules, every call needs the authorizer's approval. Rules pick
/// the [`Access`] of a call, and the most specific one wins:
///
/// 1. a rule for the full method, [`method("/pkg.Service/Method", ..)`](Self::method);
/// 2. else a rule for its service, [`service("pkg.Service", ..)`](Self::service);
/// 3. else the [`default_access`](Self::default_access)
///    ([`Access::authenticated`] unless set).
///
/// So `service("pkg.Admin", Access::deny())` with
/// `open_method("/pkg.Admin/Ping")` leaves `Ping` open and closes the rest
/// of `pkg.Admin`.
pub struct ServerAuthLayer<A> {
    authorizer: Arc<A>,
    rules: Arc<Rules>,
}

impl<A> ServerAuthLayer<A> {
    /// Every call must be let through by `authorizer`, until rules say
    /// otherwise.
    pub fn new(authorizer: A) -> Self {
        ServerAuthLayer {
            authorizer: Arc::new(authorizer),
            rules: Arc::new(Rules::default()),
        }
    }

    /// Calls of the full method `method` (`/pkg.Service/Method`; the
    /// leading `/` may be left out) need `access`. Beats a service rule
    /// and the default.
    ///
    /// # Panics
    ///
    /// When `method` is not of the form `/pkg.Service/Method`.
    pub fn method(mut self, method: impl AsRef<str>, access: Access) -> Self {
        Arc::make_mut(&mut self.rules).method(method.as_ref(), access);
        self
    }

    /// Calls of every method of `service` (`pkg.Service`) need `access`,
    /// unless a method rule says otherwise. Beats the default.
    ///
    /// # Panics
    ///
    /// When `service` is empty or has a `/` inside.
    pub fn service(mut self, service: impl AsRef<str>, access: Access) -> Self {
        Arc::make_mut(&mut self.rules).service(service.as_ref(), access);
        self
    }

    /// Leaves `method` open: [`method(method, Access::open())`](Self::method).
    pub fn open_method(self, method: impl AsRef<str>) -> Self {
        self.method(method, Access::open())
    }

    /// Leaves every method of `service` open (`grpc.health.v1.Health`,
    /// `grpc.reflection.v1.ServerReflection`):
    /// [`service(service, Access::open())`](Self::service).
    pub fn open_service(self, service: impl AsRef<str>) -> Self {
        self.service(service, Access::open())
    }

    /// The access of calls no rule names (default
    /// [`Access::authenticated`]).
    pub fn default_access(mut self, access: Access) -> Self {
        Arc::make_mut(&mut self.rules).set_default(access);
        self
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &A {
        &self.authorizer
    }
}

impl<A> Clone for ServerAuthLayer<A> {
    fn clone(&self) -> Self {
        ServerAuthLayer {
            authorizer: self.authorizer.clone(),
            rules: self.rules.clone(),
        }
    }
}

impl<A: fmt::Debug> fmt::Debug for ServerAuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAuthLayer")
            .field("authorizer", &self.authorizer)
            .field("rules", &self.rules)
            .finish()
    }
}

impl<S, A> Layer<S> for ServerAuthLayer<A> {
    type Service = ServerAuth<S, A>;

    fn layer(&self, inner: S) -> ServerAuth<S, A> {
        ServerAuth::from_layer(inner, self.authorizer.clone(), self.rules.clone())
    }
}

/// The default [`ClientAuthLayer::refresh_margin`]: 10 s before expiry.
#[deprecated(note = "use `ClientAuthLayer::DEFAULT_REFRESH_MARGIN`")]
pub const DEFAULT_REFRESH_MARGIN: Duration = ClientAuthLayer::DEFAULT_REFRESH_MARGIN;

/// Attaches credentials to each call a client makes, and asks the channel
/// to refuse them over a plaintext connection; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct ClientAuthLayer {
    pub(crate) config: ClientConfig,
}

#[derive(Clone, Debug)]
pub(crate) struct ClientConfig {
    pub(crate) credentials: Credentials,
    pub(crate) allow_insecure: bool,
    pub(crate) refresh_margin: Duration,
}

#[derive(Clone)]
pub(crate) enum Credentials {
    /// The same header on every call.
    Static {
        name: HeaderName,
        value: HeaderValue,
    },
    /// A token source's token, cached and refreshed.
    Source(Arc<TokenCache>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Static { name, .. } => f
                .debug_struct("Static")
                .field("header", name)
                .field("value", &"<redacted>")
                .finish(),
            Credentials::Source(cache) => f.debug_tuple("Source").field(cache).finish(),
        }
    }
}

impl ClientAuthLayer {
    /// The default [`refresh_margin`](Self::refresh_margin): 10 s before
    /// expiry.
    pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(10);

    fn with(credentials: Credentials) -> Self {
        ClientAuthLayer {
            config: ClientConfig {
                credentials,
                allow_insecure: false,
                refresh_margin: ClientAuthLayer::DEFAULT_REFRESH_MARGIN,
            },
        }
    }

    /// Sends `authorization: Bearer <token>` with every call. Fails when
    /// the token is not a valid header value.
    pub fn bearer(token: impl AsRef<str>) -> Result<Self, InvalidHeaderValue> {
        let value = HeaderValue::try_from(format!("Bearer {}", token.as_ref()))?;
        Ok(ClientAuthLayer::header(AUTHORIZATION, value))
    }

    /// Sends `name: value` with every call (`x-api-key: ...`); the value is
    /// marked sensitive, so HPACK never indexes it.
    pub fn header(name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        ClientAuthLayer::with(Credentials::Static { name, value })
    }

    /// Sends the token of `source` with every call: fetched on the first
    /// call, cached, and fetched again when it is within the
    /// [`refresh_margin`](Self::refresh_margin) of its expiry, by one call
    /// at a time while the others wait for it. Every service made from this
    /// layer, and every clone of them, shares the cache.
    ///
    /// A fetch that fails answers the calls that waited for it with a
    /// trailers-only `UNAUTHENTICATED` that says why; the next call tries
    /// again.
    pub fn token_source(source: impl TokenSource) -> Self {
        ClientAuthLayer::with(Credentials::Source(Arc::new(TokenCache::new(source))))
    }

    /// Also sends the credentials over a connection that is not TLS
    /// (default `false`): for a loopback test server, or a sidecar that
    /// terminates TLS next to the process.
    ///
    /// Without it, the credentials go only on `https` requests, or are
    /// held back for the transport on path-only ones: see
    /// [Credentials and plaintext](super#credentials-and-plaintext).
    pub fn allow_insecure(mut self, allow: bool) -> Self {
        self.config.allow_insecure = allow;
        self
    }

    /// How long before its expiry a token source's token is refreshed
    /// (default 10 s), so that no call goes out with a token that expires
    /// on the way. No effect on static credentials.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.config.refresh_margin = margin;
        self
    }
}

impl From<Token> for ClientAuthLayer {
    /// Sends this token (static, never refreshed) with every call.
    fn from(token: Token) -> Self {
        ClientAuthLayer::with(Credentials::Static {
            name: token.name,
            value: token.value,
        })
    }
}

impl<S> Layer<S> for ClientAuthLayer {
    type Service = ClientAuth<S>;

    fn layer(&self, inner: S) -> ClientAuth<S> {
        ClientAuth::from_layer(inner, self.config.clone())
    }
}
