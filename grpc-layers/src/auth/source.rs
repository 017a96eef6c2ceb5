//! [`TokenSource`] and [`Token`]: credentials fetched at run time, and the
//! cache that refreshes them once for every call that needs them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use grpc_core::BoxError;
use http::header::{InvalidHeaderValue, AUTHORIZATION};
use http::{HeaderName, HeaderValue};
use tokio::time::Instant;

use super::error::Unauthenticated;

/// Where a client gets its tokens at run time: an OAuth token endpoint, a
/// metadata server, a file that another process rewrites.
///
/// The client auth layer caches the [`Token`] and asks for a new one only
/// when the cached one is about to expire (see
/// [`ClientAuthLayer::refresh_margin`](super::ClientAuthLayer::refresh_margin)),
/// by one call at a time, while the other calls that need it wait.
///
/// Implemented for closures returning a future:
///
/// ```
/// use std::time::Duration;
/// use grpc_layers::auth::{ClientAuthLayer, Token};
///
/// let layer = ClientAuthLayer::token_source(|| async {
///     // let reply = oauth_client.fetch().await?;
///     let (access_token, expires_in) = ("eyJhbGciOi...", Duration::from_secs(3600));
///     Ok::<_, grpc_core::BoxError>(Token::bearer(access_token)?.expires_in(expires_in))
/// });
/// # let _ = layer;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token source",
    note = "a token source implements `grpc_layers::auth::TokenSource`, or is a closure `Fn() -> impl Future<Output = Result<Token, E>> + Send + 'static` that is `Send + Sync + 'static`, with `E: Into<BoxError>`"
)]
pub trait TokenSource: Send + Sync + 'static {
    /// Why no token could be had.
    type Error: Into<BoxError>;
    /// The future of one fetch.
    type Future: Future<Output = Result<Token, Self::Error>> + Send + 'static;

    /// Fetches a fresh token.
    fn fetch(&self) -> Self::Future;
}

impl<F, Fut, E> TokenSource for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Token, E>> + Send + 'static,
    E: Into<BoxError>,
{
    type Error = E;
    type Future = Fut;

    fn fetch(&self) -> Fut {
        self()
    }
}

/// A credential to send with each call: a header and its value (marked
/// sensitive, so HPACK never indexes it), and when it expires.
#[derive(Clone)]
pub struct Token {
    pub(crate) name: HeaderName,
    pub(crate) value: HeaderValue,
    pub(crate) expires_at: Option<Instant>,
}

impl Token {
    /// `authorization: Bearer <token>`, which never expires unless
    /// [`expires_in`](Self::expires_in) says when.
    pub fn bearer(token: impl AsRef<str>) -> Result<Token, InvalidHeaderValue> {
        let value = HeaderValue::try_from(format!("Bearer {}", token.as_ref()))?;
        Ok(Token::new(AUTHORIZATION, value))
    }

    /// Any header and value (`x-api-key: ...`), which never expires unless
    /// [`expires_in`](Self::expires_in) says when.
    pub fn new(name: HeaderName, mut value: HeaderValue) -> Token {
        value.set_sensitive(true);
        Token {
            name,
            value,
            expires_at: None,
        }
    }

    /// The token expires `lifetime` from now (the `expires_in` of an OAuth
    /// reply).
    pub fn expires_in(mut self, lifetime: Duration) -> Token {
        self.expires_at = Some(Instant::now() + lifetime);
        self
    }

    /// The token expires at `at`.
    pub fn expires_at(mut self, at: std::time::Instant) -> Token {
        self.expires_at = Some(Instant::from_std(at));
        self
    }

    /// The header the token goes in.
    pub fn header_name(&self) -> &HeaderName {
        &self.name
    }

    /// When the token expires, if it does.
    pub fn expiry(&self) -> Option<std::time::Instant> {
        self.expires_at.map(Instant::into_std)
    }

    /// Whether the token is still good `margin` from now.
    fn fresh(&self, now: Instant, margin: Duration) -> bool {
        self.expires_at
            .is_none_or(|at| at.checked_sub(margin).is_some_and(|at| now < at))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("header", &self.name)
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub(crate) type FetchFuture = Pin<Box<dyn Future<Output = Result<Token, BoxError>> + Send>>;

/// A [`TokenSource`] with its types erased: the cache is not generic, and
/// the refresh path, which is boxed anyway, pays for it.
trait ErasedSource: Send + Sync {
    fn fetch(&self) -> FetchFuture;
}

impl<T: TokenSource> ErasedSource for T {
    fn fetch(&self) -> FetchFuture {
        let fetch = TokenSource::fetch(self);
        Box::pin(async move { fetch.await.map_err(Into::into) })
    }
}

/// The cached token of a token source, shared by every clone of the layer
/// and of the services it made.
///
/// Single flight: a call that finds no fresh token notes the number of
/// refreshes finished so far, then takes the refresh lock (a tokio
/// mutex, so the waiting calls queue without spinning). Holding it, it
/// looks again: if a refresh finished in the meantime, it takes that
/// refresh's outcome, token or error, and asks nothing; otherwise it
/// fetches, holding the lock, and records the outcome. Dropping a call
/// that is fetching releases the lock without recording anything, so the
/// next waiter finds no finished refresh and fetches itself.
pub(crate) struct TokenCache {
    source: Box<dyn ErasedSource>,
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// The token of the last successful refresh.
    token: Option<Token>,
    /// The error of the last refresh, when it failed.
    error: Option<Unauthenticated>,
    /// How many refreshes finished.
    refreshes: u64,
}

impl TokenCache {
    pub(crate) fn new(source: impl TokenSource) -> TokenCache {
        TokenCache {
            source: Box::new(source),
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change of the state is one assignment: a panic elsewhere
        // cannot leave it half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token if it is good for `margin` more, else the number
    /// of refreshes finished, to hand to [`refresh`](Self::refresh).
    pub(crate) fn current(&self, margin: Duration) -> Result<Token, u64> {
        let state = self.state();
        match &state.token {
            Some(token) if token.fresh(Instant::now(), margin) => Ok(token.clone()),
            _ => Err(state.refreshes),
        }
    }

    /// A token for a call that found none fresh after `seen` refreshes:
    /// the outcome of a refresh that finished since, or of its own.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<Token, Unauthenticated> {
        let _single_flight = self.refresh.lock().await;
        {
            let state = self.state();
            if state.refreshes != seen {
                // Every finished refresh left one or the other.
                if let Some(error) = &state.error {
                    return Err(error.clone());
                }
                if let Some(token) = &state.token {
                    return Ok(token.clone());
                }
            }
        }
        let outcome = self
            .source
            .fetch()
            .await
            .map_err(Unauthenticated::token_source_failed);
        let mut state = self.state();
        state.refreshes += 1;
        match &outcome {
            Ok(token) => {
                state.token = Some(token.clone());
                state.error = None;
            }
            Err(error) => {
                state.token = None;
                state.error = Some(error.clone());
            }
        }
        outcome
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("TokenCache")
            .field("token", &state.token)
            .field("refreshes", &state.refreshes)
            .finish()
    }
}
