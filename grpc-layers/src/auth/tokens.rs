//! [`BearerTokens`] and [`ApiKeys`]: static secrets, each mapped to an
//! identity, compared in constant time.

use std::fmt;
use std::future::{ready, Ready};

use grpc_core::Status;
use http::HeaderName;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::request::bearer_token;
use super::{AuthRequest, Authorize};

/// Secrets and the identity each stands for.
#[derive(Clone)]
struct Table<I> {
    entries: Vec<(Box<[u8]>, I)>,
}

impl<I> Table<I> {
    fn new() -> Self {
        Table {
            entries: Vec::new(),
        }
    }

    fn add(&mut self, secret: &[u8], identity: I) {
        assert!(!secret.is_empty(), "an empty token would match nothing");
        self.entries.push((secret.into(), identity));
    }

    /// The identity of `presented`. Every secret is compared, each in
    /// constant time, and the match is selected without a branch, so the
    /// time taken does not depend on which secret (if any) matched or on
    /// how much of one a guess got right; it depends only on the lengths.
    fn find(&self, presented: &[u8]) -> Option<&I> {
        let mut found = 0u32; // index + 1; 0 is none
        for (index, (secret, _)) in self.entries.iter().enumerate() {
            let matched = secret.as_ref().ct_eq(presented);
            let candidate = u32::try_from(index + 1).unwrap_or(u32::MAX);
            found.conditional_assign(&candidate, matched);
        }
        let index = usize::try_from(found).ok()?.checked_sub(1)?;
        self.entries.get(index).map(|(_, identity)| identity)
    }
}

/// Static bearer tokens (`authorization: Bearer <token>`), each mapped to
/// the [`Identity`](super::Identity) it stands for.
///
/// Tokens are compared in constant time with `subtle`: every configured
/// token is compared with the one presented, so how long a check takes
/// tells nothing of which one matched or how close a guess came (only of
/// the tokens' lengths and how many there are).
///
/// | call | answer |
/// |---|---|
/// | no `authorization`, or not `Bearer` | `UNAUTHENTICATED` (missing credentials) |
/// | an unknown token | `UNAUTHENTICATED` (invalid token) |
/// | a known token | through, with its identity |
///
/// ```
/// use grpc_layers::auth::BearerTokens;
///
/// let tokens = BearerTokens::new()
///     .token("s3cr3t-alice", "alice".to_owned())
///     .token("s3cr3t-bob", "bob".to_owned());
/// # let _ = tokens;
/// ```
#[derive(Clone)]
pub struct BearerTokens<I> {
    table: Table<I>,
}

impl<I> BearerTokens<I> {
    /// No token yet: every call is `UNAUTHENTICATED`.
    pub fn new() -> Self {
        BearerTokens {
            table: Table::new(),
        }
    }

    /// Accepts `token`, as the caller `identity`.
    ///
    /// # Panics
    ///
    /// When `token` is empty.
    pub fn token(mut self, token: impl AsRef<[u8]>, identity: I) -> Self {
        self.table.add(token.as_ref(), identity);
        self
    }

    /// The identity of `token`, compared in constant time.
    pub fn identity_of(&self, token: &str) -> Option<&I> {
        self.table.find(token.as_bytes())
    }
}

impl<I> Default for BearerTokens<I> {
    fn default() -> Self {
        BearerTokens::new()
    }
}

impl<I> fmt::Debug for BearerTokens<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("tokens", &self.table.entries.len())
            .finish()
    }
}

impl<I: Clone + Send + Sync + 'static> Authorize for BearerTokens<I> {
    type Future = Ready<Result<AuthRequest, Status>>;

    fn authorize(&self, mut request: AuthRequest) -> Self::Future {
        let identity = match bearer_token(request.headers()) {
            None => {
                return ready(Err(Status::unauthenticated(
                    "missing credentials: expected `authorization: Bearer <token>`",
                )))
            }
            Some(token) => self.table.find(token.as_bytes()).cloned(),
        };
        ready(match identity {
            Some(identity) => {
                request.set_identity(identity);
                Ok(request)
            }
            None => Err(Status::unauthenticated("invalid bearer token")),
        })
    }
}

/// Static API keys in a header of your choosing (`x-api-key: <key>`),
/// each mapped to the [`Identity`](super::Identity) it stands for, and
/// compared in constant time as [`BearerTokens`] are.
///
/// | call | answer |
/// |---|---|
/// | without the header | `UNAUTHENTICATED` (missing credentials) |
/// | an unknown key | `UNAUTHENTICATED` (invalid key) |
/// | a known key | through, with its identity |
///
/// ```
/// use grpc_layers::auth::ApiKeys;
/// use http::HeaderName;
///
/// let keys = ApiKeys::new(HeaderName::from_static("x-api-key"))
///     .key("k-123", "billing-job".to_owned());
/// # let _ = keys;
/// ```
#[derive(Clone)]
pub struct ApiKeys<I> {
    header: HeaderName,
    table: Table<I>,
}

impl<I> ApiKeys<I> {
    /// Keys read from `header`; none yet, so every call is
    /// `UNAUTHENTICATED`.
    pub fn new(header: HeaderName) -> Self {
        ApiKeys {
            header,
            table: Table::new(),
        }
    }

    /// Accepts `key`, as the caller `identity`.
    ///
    /// # Panics
    ///
    /// When `key` is empty.
    pub fn key(mut self, key: impl AsRef<[u8]>, identity: I) -> Self {
        self.table.add(key.as_ref(), identity);
        self
    }

    /// The header the keys are read from.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The identity of `key`, compared in constant time.
    pub fn identity_of(&self, key: &[u8]) -> Option<&I> {
        self.table.find(key)
    }
}

impl<I> fmt::Debug for ApiKeys<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("header", &self.header)
            .field("keys", &self.table.entries.len())
            .finish()
    }
}

impl<I: Clone + Send + Sync + 'static> Authorize for ApiKeys<I> {
    type Future = Ready<Result<AuthRequest, Status>>;

    fn authorize(&self, mut request: AuthRequest) -> Self::Future {
        let identity = match request.headers().get(&self.header) {
            None => {
                return ready(Err(Status::unauthenticated(format!(
                    "missing credentials: expected an API key in `{}`",
                    self.header
                ))))
            }
            Some(key) => self.table.find(key.as_bytes()).cloned(),
        };
        ready(match identity {
            Some(identity) => {
                request.set_identity(identity);
                Ok(request)
            }
            None => Err(Status::unauthenticated(format!(
                "invalid API key in `{}`",
                self.header
            ))),
        })
    }
}
