//! [`JwtAuthorizer`]: bearer JWTs verified with `jsonwebtoken`, keys picked
//! by `kid` from a [`JwtKeys`] set that can change while serving.

use std::collections::HashMap;
use std::fmt;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use grpc_core::Status;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;

use super::request::bearer_token;
use super::{AuthRequest, Authorize};

/// The default leeway on `exp` and `nbf`: 60 s of clock skew.
#[deprecated(note = "use `JwtAuthorizer::DEFAULT_LEEWAY`")]
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The keys JWTs may be signed with, by key id (`kid`): a cheap handle
/// (one `Arc`) shared by every clone, so keys can be rotated while the
/// server runs: [`insert`](Self::insert) the new key, and once tokens
/// signed with the old one have expired, [`remove`](Self::remove) it.
///
/// A token names its key with the `kid` of its header. A token without a
/// `kid` is verified with the only key when there is exactly one, and
/// refused when there are several.
///
/// ```
/// use grpc_layers::auth::JwtKeys;
/// use jsonwebtoken::DecodingKey;
///
/// let keys = JwtKeys::new();
/// keys.insert("2024-01", DecodingKey::from_secret(b"old secret"));
/// let serving = keys.clone(); // what the authorizer holds
/// keys.insert("2024-02", DecodingKey::from_secret(b"new secret"));
/// keys.remove("2024-01");
/// assert_eq!(serving.kids(), ["2024-02"]);
/// ```
#[derive(Clone, Default)]
pub struct JwtKeys {
    keys: Arc<RwLock<HashMap<String, DecodingKey>>>,
}

impl JwtKeys {
    /// An empty set: every token is refused until a key is inserted.
    pub fn new() -> JwtKeys {
        JwtKeys::default()
    }

    /// A set with one key, for tokens with this `kid` (or, as it is the
    /// only key, none).
    pub fn single(kid: impl Into<String>, key: DecodingKey) -> JwtKeys {
        let keys = JwtKeys::new();
        keys.insert(kid, key);
        keys
    }

    /// Adds (or replaces) the key with id `kid`; calls from now on see it.
    /// Returns the key it replaced.
    pub fn insert(&self, kid: impl Into<String>, key: DecodingKey) -> Option<DecodingKey> {
        self.write().insert(kid.into(), key)
    }

    /// Removes the key with id `kid`: tokens naming it are refused from
    /// now on. Returns whether there was one.
    pub fn remove(&self, kid: &str) -> bool {
        self.write().remove(kid).is_some()
    }

    /// Replaces the whole set at once (a freshly fetched key set).
    pub fn replace<K: Into<String>>(&self, keys: impl IntoIterator<Item = (K, DecodingKey)>) {
        let keys = keys
            .into_iter()
            .map(|(kid, key)| (kid.into(), key))
            .collect();
        *self.write() = keys;
    }

    /// The key ids in the set, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.read().keys().cloned().collect();
        kids.sort();
        kids
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A panic elsewhere while holding the lock leaves the map whole (every
    // change is one map operation), so poisoning is ignored.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, DecodingKey>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, DecodingKey>> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kids", &self.kids())
            .finish()
    }
}

/// Verifies `authorization: Bearer <JWT>`: the signature with the key its
/// `kid` names in a [`JwtKeys`] set, the algorithm against an allow-list,
/// `exp` (always required) and `nbf` with a leeway, and the issuer and
/// audience when configured (then the `iss` / `aud` claims are required).
/// The claims, deserialized as `C` (a `serde_json::Value` unless
/// [`claims`](Self::claims) picks a type), reach the handler as its
/// [`Identity<C>`](super::Identity).
///
/// Every refusal is `UNAUTHENTICATED`, with a message that says why
/// (expired, wrong issuer, wrong audience, algorithm not allowed, unknown
/// `kid`, no `kid` with several keys, bad signature) and the
/// `jsonwebtoken` error, where there is one, as the status's `source()`.
///
/// ```
/// use grpc_layers::auth::{JwtAuthorizer, JwtKeys};
/// use jsonwebtoken::{Algorithm, DecodingKey};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Claims {
///     sub: String,
/// }
///
/// let keys = JwtKeys::single("k1", DecodingKey::from_secret(b"secret"));
/// let jwt = JwtAuthorizer::new(keys, [Algorithm::HS256])
///     .issuer("https://issuer.example")
///     .audience("my-api")
///     .claims::<Claims>();
/// # let _ = jwt;
/// ```
///
/// Verification runs on the calling task: a few microseconds for HMAC and
/// ECDSA, tens for RSA.
pub struct JwtAuthorizer<C = serde_json::Value> {
    keys: JwtKeys,
    /// One validation per allowed algorithm, each allowing only it:
    /// `jsonwebtoken` wants every allowed algorithm of a validation to be
    /// of the key's family, and an allow-list may mix families.
    validations: Arc<Vec<Validation>>,
    _claims: PhantomData<fn() -> C>,
}

impl JwtAuthorizer {
    /// Tokens signed with a key of `keys` by one of `algorithms`, with no
    /// issuer or audience check yet (a token carrying an `aud` is then
    /// refused) and a leeway of 60 s.
    ///
    /// # Panics
    ///
    /// When `algorithms` is empty.
    pub fn new(keys: JwtKeys, algorithms: impl IntoIterator<Item = Algorithm>) -> JwtAuthorizer {
        let mut validations: Vec<Validation> = Vec::new();
        for algorithm in algorithms {
            if validations.iter().any(|v| v.algorithms[0] == algorithm) {
                continue;
            }
            let mut validation = Validation::new(algorithm);
            validation.leeway = JwtAuthorizer::<()>::DEFAULT_LEEWAY.as_secs();
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.validate_aud = true;
            validation.set_required_spec_claims(&["exp"]);
            validations.push(validation);
        }
        assert!(
            !validations.is_empty(),
            "a JwtAuthorizer needs at least one allowed algorithm"
        );
        JwtAuthorizer {
            keys,
            validations: Arc::new(validations),
            _claims: PhantomData,
        }
    }
}

impl<C> JwtAuthorizer<C> {
    /// The default leeway on `exp` and `nbf`: 60 s of clock skew.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

    /// Deserializes the claims as `D` instead (a type of yours with the
    /// claims your handlers read).
    pub fn claims<D>(self) -> JwtAuthorizer<D> {
        JwtAuthorizer {
            keys: self.keys,
            validations: self.validations,
            _claims: PhantomData,
        }
    }

    /// Applies `change` to the validation of every allowed algorithm.
    fn each(mut self, change: impl Fn(&mut Validation)) -> Self {
        Arc::make_mut(&mut self.validations)
            .iter_mut()
            .for_each(change);
        self
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.validations.iter().map(|v| v.algorithms[0]).collect()
    }

    /// Accepts tokens whose `iss` is `issuer` (call again to accept
    /// several); `iss` becomes required.
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.each(|validation| {
            validation
                .iss
                .get_or_insert_with(Default::default)
                .insert(issuer.clone());
            validation.required_spec_claims.insert("iss".to_owned());
        })
    }

    /// Accepts tokens whose `aud` is (or contains) `audience` (call again
    /// to accept several); `aud` becomes required.
    pub fn audience(self, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        self.each(|validation| {
            validation
                .aud
                .get_or_insert_with(Default::default)
                .insert(audience.clone());
            validation.required_spec_claims.insert("aud".to_owned());
        })
    }

    /// How far past `exp` (or before `nbf`) a token is still accepted, for
    /// clock skew (default 60 s; whole seconds, as JWT times are).
    pub fn leeway(self, leeway: Duration) -> Self {
        self.each(|validation| validation.leeway = leeway.as_secs())
    }

    /// The key set, to rotate keys through (the same set as the one given).
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }
}

impl<C: DeserializeOwned> JwtAuthorizer<C> {
    /// Verifies `token` and returns its claims, or the `UNAUTHENTICATED`
    /// status a call with it gets.
    pub fn verify(&self, token: &str) -> Result<C, Status> {
        let header = decode_header(token)
            .map_err(|err| refused("the bearer token is not a well-formed JWT", err))?;
        let Some(validation) = self
            .validations
            .iter()
            .find(|v| v.algorithms[0] == header.alg)
        else {
            return Err(Status::unauthenticated(format!(
                "the JWT's algorithm {:?} is not allowed (allowed: {:?})",
                header.alg,
                self.algorithms()
            )));
        };
        let keys = self.keys.read();
        let key = match header.kid.as_deref() {
            Some(kid) => keys.get(kid).ok_or_else(|| {
                Status::unauthenticated(format!(
                    "the JWT names an unknown key id (kid {:?})",
                    shorten(kid)
                ))
            })?,
            None => match keys.len() {
                1 => keys.values().next().expect("one key"),
                0 => return Err(Status::unauthenticated("no JWT key is configured")),
                n => {
                    return Err(Status::unauthenticated(format!(
                        "the JWT has no key id (kid) and {n} keys are configured: \
                         cannot tell which one signed it"
                    )))
                }
            },
        };
        if !key.family().algorithms().contains(&header.alg) {
            return Err(Status::unauthenticated(format!(
                "the JWT's algorithm {:?} does not match its key",
                header.alg
            )));
        }
        let data = decode::<C>(token, key, validation).map_err(|err| {
            let why = match err.kind() {
                ErrorKind::ExpiredSignature => "the JWT has expired",
                ErrorKind::ImmatureSignature => "the JWT is not valid yet (nbf)",
                ErrorKind::InvalidIssuer => "the JWT's issuer is not accepted",
                ErrorKind::InvalidAudience => "the JWT's audience is not accepted",
                ErrorKind::InvalidSignature => "the JWT's signature is invalid",
                ErrorKind::InvalidAlgorithm => "the JWT's algorithm does not match its key",
                ErrorKind::MissingRequiredClaim(_) => "the JWT lacks a required claim",
                ErrorKind::InvalidClaimFormat(_) => "the JWT has a malformed claim",
                _ => "the JWT is invalid",
            };
            refused(why, err)
        })?;
        Ok(data.claims)
    }
}

fn refused(why: &str, err: JwtError) -> Status {
    Status::unauthenticated(format!("{why}: {err}")).with_source(err)
}

/// A client-chosen string, cut short for a message.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

impl<C: DeserializeOwned + Clone + Send + Sync + 'static> Authorize for JwtAuthorizer<C> {
    type Future = Ready<Result<AuthRequest, Status>>;

    fn authorize(&self, mut request: AuthRequest) -> Self::Future {
        let Some(token) = bearer_token(request.headers()) else {
            return ready(Err(Status::unauthenticated(
                "missing credentials: expected `authorization: Bearer <JWT>`",
            )));
        };
        ready(self.verify(token).map(|claims| {
            request.set_identity(claims);
            request
        }))
    }
}

impl<C> Clone for JwtAuthorizer<C> {
    fn clone(&self) -> Self {
        JwtAuthorizer {
            keys: self.keys.clone(),
            validations: self.validations.clone(),
            _claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for JwtAuthorizer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = &self.validations[0];
        f.debug_struct("JwtAuthorizer")
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms())
            .field("issuers", &first.iss)
            .field("audiences", &first.aud)
            .field("leeway_secs", &first.leeway)
            .finish()
    }
}
