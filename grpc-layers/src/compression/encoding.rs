//! [`Encoding`] and [`EncodingSet`]: the message compression algorithms and
//! the header forms of `grpc-encoding` (one name) and
//! `grpc-accept-encoding` (a comma-separated list of names).
//!
//! ```
//! use grpc_layers::compression::{Encoding, EncodingSet};
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("grpc-accept-encoding", "identity, gzip,snappy".parse().unwrap());
//! let accepted = EncodingSet::from_accept_headers(&headers);
//! // Names this build has no algorithm for (its feature is off) are left out.
//! assert_eq!(accepted.contains(Encoding::Gzip), Encoding::Gzip.is_enabled());
//! assert!(!accepted.contains(Encoding::Zstd));
//! assert_eq!(Encoding::from_name(b"gzip"), Some(Encoding::Gzip));
//! assert_eq!(Encoding::from_name(b"snappy"), None);
//! ```

use std::fmt;

use grpc_core::headers::GRPC_ACCEPT_ENCODING;
use http::{HeaderMap, HeaderValue};

/// A message compression algorithm, as named in `grpc-encoding`.
///
/// Every variant exists whatever the enabled features, so code that names
/// one always compiles; [`is_enabled`](Encoding::is_enabled) says whether
/// this build can actually compress and decompress with it (feature
/// `compression-gzip`, `compression-deflate` or `compression-zstd`).
/// `deflate` is the zlib format (RFC 1950), as in every gRPC implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// No compression.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// deflate in the zlib format (RFC 1950).
    Deflate,
    /// Zstandard (RFC 8878).
    Zstd,
}

impl Encoding {
    /// The algorithms that compress, in the order they are listed in headers.
    const COMPRESSING: [Encoding; 3] = [Encoding::Gzip, Encoding::Deflate, Encoding::Zstd];

    /// The name used in `grpc-encoding` and `grpc-accept-encoding`.
    pub const fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Zstd => "zstd",
        }
    }

    /// The encoding with this name (ASCII case-insensitive); `None` for a
    /// name this crate does not know.
    pub fn from_name(name: &[u8]) -> Option<Encoding> {
        let name = name.trim_ascii();
        [Encoding::Identity]
            .into_iter()
            .chain(Encoding::COMPRESSING)
            .find(|e| e.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether this build can compress and decompress with it: always for
    /// [`Identity`](Encoding::Identity), otherwise when its feature is on.
    pub const fn is_enabled(self) -> bool {
        match self {
            Encoding::Identity => true,
            Encoding::Gzip => cfg!(feature = "compression-gzip"),
            Encoding::Deflate => cfg!(feature = "compression-deflate"),
            Encoding::Zstd => cfg!(feature = "compression-zstd"),
        }
    }

    /// The name as a header value (a constant: no allocation).
    pub const fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.name())
    }

    const fn bit(self) -> u8 {
        match self {
            Encoding::Identity => 0,
            Encoding::Gzip => 1,
            Encoding::Deflate => 2,
            Encoding::Zstd => 4,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of encodings, such as those a peer accepts.
///
/// [`Identity`](Encoding::Identity) is always a member: every gRPC peer
/// accepts uncompressed messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EncodingSet {
    bits: u8,
}

/// `grpc-accept-encoding` values for each set, so that writing one costs no
/// allocation. Indexed by the set's bits (gzip 1, deflate 2, zstd 4).
const ACCEPT_VALUES: [&str; 8] = [
    "identity",
    "identity,gzip",
    "identity,deflate",
    "identity,gzip,deflate",
    "identity,zstd",
    "identity,gzip,zstd",
    "identity,deflate,zstd",
    "identity,gzip,deflate,zstd",
];

impl EncodingSet {
    /// The set with only [`Identity`](Encoding::Identity).
    pub const fn identity() -> EncodingSet {
        EncodingSet { bits: 0 }
    }

    /// Every encoding this build supports (see [`Encoding::is_enabled`]).
    pub const fn enabled() -> EncodingSet {
        EncodingSet::identity()
            .with(Encoding::Gzip)
            .with(Encoding::Deflate)
            .with(Encoding::Zstd)
    }

    /// This set and `encoding`, if this build supports it; an encoding
    /// whose feature is off is not added.
    pub const fn with(self, encoding: Encoding) -> EncodingSet {
        if encoding.is_enabled() {
            EncodingSet {
                bits: self.bits | encoding.bit(),
            }
        } else {
            self
        }
    }

    /// This set without `encoding` (identity cannot be removed).
    pub const fn without(self, encoding: Encoding) -> EncodingSet {
        EncodingSet {
            bits: self.bits & !encoding.bit(),
        }
    }

    /// Whether `encoding` is in the set; always true for identity.
    pub const fn contains(self, encoding: Encoding) -> bool {
        let bit = encoding.bit();
        bit == 0 || self.bits & bit != 0
    }

    /// The compressing encodings in the set (identity left out), in the
    /// order gzip, deflate, zstd.
    pub fn iter(self) -> impl Iterator<Item = Encoding> {
        Encoding::COMPRESSING
            .into_iter()
            .filter(move |e| self.contains(*e))
    }

    /// The encodings listed in every `grpc-accept-encoding` header of
    /// `headers`; names this build does not support are skipped.
    pub fn from_accept_headers(headers: &HeaderMap) -> EncodingSet {
        let mut set = EncodingSet::identity();
        for value in headers.get_all(GRPC_ACCEPT_ENCODING) {
            for name in value.as_bytes().split(|b| *b == b',') {
                if let Some(encoding) = Encoding::from_name(name) {
                    set = set.with(encoding);
                }
            }
        }
        set
    }

    /// The set as a `grpc-accept-encoding` value, identity first (a
    /// constant: no allocation).
    pub const fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(ACCEPT_VALUES[(self.bits & 7) as usize])
    }
}

impl FromIterator<Encoding> for EncodingSet {
    fn from_iter<I: IntoIterator<Item = Encoding>>(iter: I) -> Self {
        iter.into_iter()
            .fold(EncodingSet::identity(), EncodingSet::with)
    }
}

impl fmt::Debug for EncodingSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entry(&Encoding::Identity)
            .entries(self.iter())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn accept(values: &[&'static str]) -> EncodingSet {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(GRPC_ACCEPT_ENCODING, HeaderValue::from_static(v));
        }
        EncodingSet::from_accept_headers(&headers)
    }

    #[test]
    fn names_round_trip_and_are_case_insensitive() {
        for e in [
            Encoding::Identity,
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Zstd,
        ] {
            assert_eq!(Encoding::from_name(e.name().as_bytes()), Some(e));
            assert_eq!(e.to_string(), e.name());
            assert_eq!(e.header_value(), e.name());
        }
        assert_eq!(Encoding::from_name(b" GZip "), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_name(b"br"), None);
        assert_eq!(Encoding::from_name(b""), None);
    }

    #[test]
    fn accept_lists_are_unions_of_every_header_and_skip_unknown_names() {
        let set = accept(&["snappy, gzip", "zstd ,,"]);
        assert!(set.contains(Encoding::Identity));
        assert_eq!(set.contains(Encoding::Gzip), Encoding::Gzip.is_enabled());
        assert_eq!(set.contains(Encoding::Zstd), Encoding::Zstd.is_enabled());
        assert!(!set.contains(Encoding::Deflate));
        assert_eq!(accept(&[]), EncodingSet::identity());
    }

    #[test]
    fn identity_is_always_a_member_and_disabled_algorithms_never_are() {
        let set = EncodingSet::identity().without(Encoding::Identity);
        assert!(set.contains(Encoding::Identity));
        for e in Encoding::COMPRESSING {
            assert_eq!(EncodingSet::enabled().contains(e), e.is_enabled());
            assert!(!EncodingSet::enabled().without(e).contains(e));
        }
        assert_eq!(EncodingSet::enabled().header_value(), {
            let names: Vec<&str> = std::iter::once("identity")
                .chain(EncodingSet::enabled().iter().map(Encoding::name))
                .collect();
            names.join(",")
        });
    }

    #[test]
    fn debug_lists_the_members() {
        let set: EncodingSet = [Encoding::Identity].into_iter().collect();
        assert_eq!(format!("{set:?}"), "{Identity}");
    }

    fn any_set() -> impl Strategy<Value = EncodingSet> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(g, d, z)| {
            let mut set = EncodingSet::identity();
            for (on, e) in [
                (g, Encoding::Gzip),
                (d, Encoding::Deflate),
                (z, Encoding::Zstd),
            ] {
                if on {
                    set = set.with(e);
                }
            }
            set
        })
    }

    proptest! {
        #[test]
        fn a_set_survives_its_header_form(set in any_set()) {
            let mut headers = HeaderMap::new();
            headers.insert(GRPC_ACCEPT_ENCODING, set.header_value());
            prop_assert_eq!(EncodingSet::from_accept_headers(&headers), set);
        }

        #[test]
        fn any_accept_header_parses_without_panicking(raw in "[ -~]{0,64}") {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&raw) {
                headers.insert(GRPC_ACCEPT_ENCODING, v);
            }
            let set = EncodingSet::from_accept_headers(&headers);
            prop_assert!(set.contains(Encoding::Identity));
        }
    }
}
