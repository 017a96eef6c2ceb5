//! [`HeldCredentials`]: credentials a layer holds back, in the request
//! extensions, until the transport shows that the connection is secure.
//!
//! A client auth layer must not send a token over plaintext unless its
//! user opted in. It decides from what the request itself says:
//!
//! | the request's URI | the layer |
//! |---|---|
//! | absolute, `https` | sets the credential headers |
//! | absolute, any other scheme | refuses the call (`UNAUTHENTICATED`), nothing is sent |
//! | a path only (what typed calls build: the transport fills in the scheme) | sets no header: it holds the credentials back in a [`HeldCredentials`] extension |
//!
//! Only a transport that knows whether its connection is TLS releases held
//! credentials into the headers, and only over TLS: `grpc-client`'s
//! `Channel` does, and answers such a call over plaintext with
//! `UNAUTHENTICATED` before anything is sent. A transport of another
//! library does not know the extension, so the credentials never leave:
//! safe, and the server's `UNAUTHENTICATED` says so. To use credentials
//! under such a transport, give the calls an absolute `https` URI (tonic:
//! `Grpc::with_origin`), and the layer sets the headers itself.
//!
//! ```
//! use grpc_core::security::HeldCredentials;
//! use http::header::AUTHORIZATION;
//! use http::HeaderValue;
//!
//! let mut request = http::Request::new(());
//! HeldCredentials::hold(request.extensions_mut(), AUTHORIZATION, HeaderValue::from_static("Bearer t"));
//! assert!(request.headers().get(AUTHORIZATION).is_none(), "not sent yet");
//!
//! // The transport, once it knows the connection is TLS:
//! let (mut parts, body) = request.into_parts();
//! if let Some(held) = parts.extensions.remove::<HeldCredentials>() {
//!     held.release_into(&mut parts.headers);
//! }
//! assert_eq!(parts.headers[AUTHORIZATION], "Bearer t");
//! ```

use http::{Extensions, HeaderMap, HeaderName, HeaderValue};

/// Credential headers held back until the transport shows the connection
/// is secure (TLS); see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldCredentials {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl HeldCredentials {
    /// Holds `name: value` back in `extensions`, beside any credentials
    /// another layer held there.
    pub fn hold(extensions: &mut Extensions, name: HeaderName, value: HeaderValue) {
        match extensions.get_mut::<HeldCredentials>() {
            Some(held) => held.headers.push((name, value)),
            None => {
                extensions.insert(HeldCredentials {
                    headers: vec![(name, value)],
                });
            }
        }
    }

    /// The headers held, in the order they were held.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(name, value)| (name, value))
    }

    /// Sets the held headers on a request going out over a secure
    /// connection; each replaces a header of the same name.
    pub fn release_into(self, headers: &mut HeaderMap) {
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
    }
}
