//! Custom metadata: a typed view over [`http::HeaderMap`].
//!
//! gRPC metadata is a multimap of lowercase keys to values. Keys ending in
//! `-bin` carry arbitrary bytes, base64-encoded on the wire; every other key
//! carries visible ASCII. [`MetadataMap`] stores plain HTTP headers, so a layer
//! that works on `http::Request<B>` sees the same data, and converting to and
//! from headers costs nothing.
//!
//! ```
//! use grpc_core::metadata::MetadataMap;
//!
//! let mut md = MetadataMap::new();
//! md.insert("x-user", "ada").unwrap();
//! md.insert_bin("x-token-bin", b"\x00\xff").unwrap();
//! assert_eq!(md.get("x-user"), Some("ada"));
//! assert_eq!(md.get_bin("x-token-bin").unwrap().unwrap().as_ref(), b"\x00\xff");
//! // Reserved names are refused.
//! assert!(md.insert("grpc-status", "0").is_err());
//! ```

pub mod encoding;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// Why a metadata key or value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMetadata {
    reason: &'static str,
}

impl InvalidMetadata {
    const fn new(reason: &'static str) -> Self {
        InvalidMetadata { reason }
    }
}

impl std::fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid metadata: {}", self.reason)
    }
}

impl std::error::Error for InvalidMetadata {}

/// One value as seen while iterating a [`MetadataMap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataValue<'a> {
    /// The value of an ASCII key.
    Ascii(&'a str),
    /// The decoded value of a `-bin` key.
    Binary(Bytes),
}

/// Whether a header name is reserved by gRPC or HTTP/2 and so never user metadata.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with("grpc-")
        || matches!(
            name,
            "content-type"
                | "te"
                | "content-length"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "upgrade"
                | "host"
        )
}

/// Whether a key names binary metadata.
pub fn is_binary_key(name: &str) -> bool {
    name.ends_with("-bin")
}

fn user_key(key: &str) -> Result<HeaderName, InvalidMetadata> {
    if key.is_empty() {
        return Err(InvalidMetadata::new("empty key"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(InvalidMetadata::new("keys may hold only 0-9 a-z - _ ."));
    }
    if is_reserved(key) {
        return Err(InvalidMetadata::new("key is reserved by gRPC or HTTP/2"));
    }
    HeaderName::from_bytes(key.as_bytes()).map_err(|_| InvalidMetadata::new("invalid key"))
}

fn ascii_value(value: &str) -> Result<HeaderValue, InvalidMetadata> {
    if !encoding::is_valid_ascii_value(value.as_bytes()) {
        return Err(InvalidMetadata::new(
            "ASCII values may hold only bytes 0x20-0x7E",
        ));
    }
    HeaderValue::from_str(value).map_err(|_| InvalidMetadata::new("invalid value"))
}

fn binary_value(value: &[u8]) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(encoding::encode_binary(value)))
        .expect("base64 is always a valid header value")
}

/// gRPC metadata: ASCII and binary (`-bin`) entries over an [`http::HeaderMap`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetadataMap {
    headers: HeaderMap,
}

impl MetadataMap {
    /// An empty map (allocates nothing).
    pub fn new() -> Self {
        MetadataMap {
            headers: HeaderMap::new(),
        }
    }

    /// Takes the user metadata from a header map, dropping reserved headers
    /// (`grpc-*`, `content-type`, `te` and HTTP/2 connection headers).
    pub fn from_headers(mut headers: HeaderMap) -> Self {
        if headers.keys().all(|k| is_reserved(k.as_str())) {
            // The usual response head (`content-type`) and trailers
            // (`grpc-status`): nothing to keep, nothing to remove one by one.
            return MetadataMap::new();
        }
        strip_reserved(&mut headers);
        MetadataMap { headers }
    }

    /// Wraps a header map as it is, reserved headers included.
    pub fn from_headers_unchecked(headers: HeaderMap) -> Self {
        MetadataMap { headers }
    }

    /// The underlying header map.
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }

    /// The underlying header map, by reference.
    pub fn as_headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The underlying header map, mutably. Entries added here are not checked.
    pub fn as_headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Number of values stored (a comma-joined `-bin` header counts once).
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Sets an ASCII entry, replacing earlier values of `key`.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), InvalidMetadata> {
        let name = self.ascii_key(key)?;
        self.headers.insert(name, ascii_value(value)?);
        Ok(())
    }

    /// Adds an ASCII entry, keeping earlier values of `key`.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), InvalidMetadata> {
        let name = self.ascii_key(key)?;
        self.headers.append(name, ascii_value(value)?);
        Ok(())
    }

    /// Sets a binary entry (`key` must end in `-bin`), replacing earlier values.
    pub fn insert_bin(
        &mut self,
        key: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        let name = self.binary_key(key)?;
        self.headers.insert(name, binary_value(value.as_ref()));
        Ok(())
    }

    /// Adds a binary entry (`key` must end in `-bin`), keeping earlier values.
    pub fn append_bin(
        &mut self,
        key: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        let name = self.binary_key(key)?;
        self.headers.append(name, binary_value(value.as_ref()));
        Ok(())
    }

    fn ascii_key(&self, key: &str) -> Result<HeaderName, InvalidMetadata> {
        if is_binary_key(key) {
            return Err(InvalidMetadata::new("a -bin key needs a binary value"));
        }
        user_key(key)
    }

    fn binary_key(&self, key: &str) -> Result<HeaderName, InvalidMetadata> {
        if !is_binary_key(key) {
            return Err(InvalidMetadata::new(
                "binary values need a key ending in -bin",
            ));
        }
        user_key(key)
    }

    /// The first ASCII value of `key`; `None` for `-bin` keys or non-ASCII values.
    pub fn get(&self, key: &str) -> Option<&str> {
        if is_binary_key(key) {
            return None;
        }
        self.headers.get(key).and_then(|v| v.to_str().ok())
    }

    /// Every ASCII value of `key`.
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let values = if is_binary_key(key) {
            None
        } else {
            Some(self.headers.get_all(key).iter())
        };
        values.into_iter().flatten().filter_map(|v| v.to_str().ok())
    }

    /// The first value of a `-bin` key, decoded.
    ///
    /// `None` when absent; `Some(Err)` when the value is not valid base64.
    pub fn get_bin(&self, key: &str) -> Option<Result<Bytes, InvalidMetadata>> {
        self.get_all_bin(key).next()
    }

    /// Every value of a `-bin` key, decoded. Comma-joined values (as some
    /// proxies and HTTP/1 gateways send) are split into separate values.
    pub fn get_all_bin<'a>(
        &'a self,
        key: &str,
    ) -> impl Iterator<Item = Result<Bytes, InvalidMetadata>> + 'a {
        let values = if is_binary_key(key) {
            Some(self.headers.get_all(key).iter())
        } else {
            None
        };
        values.into_iter().flatten().flat_map(split_binary)
    }

    /// Removes every value of `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        match HeaderName::from_bytes(key.as_bytes()) {
            Ok(name) => self.headers.remove(&name).is_some(),
            Err(_) => false,
        }
    }

    /// Whether `key` has any value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.headers.contains_key(key)
    }

    /// Iterates every entry; binary values are decoded (an undecodable one is skipped).
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue<'_>)> + '_ {
        self.headers.iter().flat_map(|(name, value)| {
            let key = name.as_str();
            let items: Vec<(&str, MetadataValue<'_>)> = if is_binary_key(key) {
                split_binary(value)
                    .filter_map(|v| v.ok())
                    .map(|b| (key, MetadataValue::Binary(b)))
                    .collect()
            } else {
                value
                    .to_str()
                    .ok()
                    .map(|s| (key, MetadataValue::Ascii(s)))
                    .into_iter()
                    .collect()
            };
            items
        })
    }

    /// Appends every entry of this map to `headers`.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        for (name, value) in self.headers.iter() {
            headers.append(name.clone(), value.clone());
        }
    }

    /// Moves every entry of this map into `headers`, appending.
    pub fn extend_into(self, headers: &mut HeaderMap) {
        if headers.is_empty() {
            *headers = self.headers;
            return;
        }
        let mut last: Option<HeaderName> = None;
        for (name, value) in self.headers {
            let name = match name {
                Some(n) => {
                    last = Some(n.clone());
                    n
                }
                None => last.clone().expect("first entry has a name"),
            };
            headers.append(name, value);
        }
    }
}

fn split_binary(value: &HeaderValue) -> impl Iterator<Item = Result<Bytes, InvalidMetadata>> + '_ {
    value.as_bytes().split(|b| *b == b',').map(|part| {
        encoding::decode_binary(part)
            .map_err(|_| InvalidMetadata::new("invalid base64 in -bin value"))
    })
}

/// Removes the reserved headers in place. A call's head carries only a few
/// (`content-type`, `te`, `grpc-*`), so they are found in one pass and
/// removed by name; rebuilding the map would allocate and rehash every user
/// entry instead.
fn strip_reserved(headers: &mut HeaderMap) {
    const BATCH: usize = 8;
    loop {
        let mut found: [Option<HeaderName>; BATCH] = Default::default();
        let mut count = 0;
        for name in headers.keys().filter(|k| is_reserved(k.as_str())) {
            found[count] = Some(name.clone());
            count += 1;
            if count == BATCH {
                break;
            }
        }
        for name in found.iter().flatten() {
            headers.remove(name);
        }
        if count < BATCH {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reserved_headers_are_dropped_from_incoming_metadata() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/grpc"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("grpc-timeout", HeaderValue::from_static("1S"));
        h.insert("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        let md = MetadataMap::from_headers(h);
        assert_eq!(md.len(), 2);
        assert_eq!(md.get_all("x-a").collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn any_number_of_reserved_headers_is_dropped_and_user_entries_kept() {
        let mut h = HeaderMap::new();
        for i in 0..20 {
            let name = HeaderName::try_from(format!("grpc-x-{i}")).unwrap();
            h.insert(name, HeaderValue::from_static("r"));
            let name = HeaderName::try_from(format!("x-{i}")).unwrap();
            h.append(name.clone(), HeaderValue::from_static("a"));
            h.append(name, HeaderValue::from_static("b"));
        }
        h.insert("content-type", HeaderValue::from_static("application/grpc"));
        let md = MetadataMap::from_headers(h);
        assert_eq!(md.len(), 40);
        for i in 0..20 {
            assert_eq!(
                md.get_all(&format!("x-{i}")).collect::<Vec<_>>(),
                ["a", "b"]
            );
        }
        assert!(md.iter().all(|e| !format!("{e:?}").contains("grpc-")));
    }

    #[test]
    fn binary_values_accept_padded_and_unpadded_and_split_commas() {
        let mut h = HeaderMap::new();
        h.append("x-b-bin", HeaderValue::from_static("AAE=,AAE"));
        h.append("x-b-bin", HeaderValue::from_static(" /w== "));
        let md = MetadataMap::from_headers(h);
        let all: Vec<_> = md.get_all_bin("x-b-bin").map(|r| r.unwrap()).collect();
        assert_eq!(all, [&b"\x00\x01"[..], b"\x00\x01", b"\xff"]);
    }

    #[test]
    fn binary_values_are_emitted_unpadded() {
        let mut md = MetadataMap::new();
        md.insert_bin("k-bin", b"\xff").unwrap();
        assert_eq!(md.as_headers()["k-bin"], "/w");
    }

    #[test]
    fn keys_and_values_are_checked() {
        let mut md = MetadataMap::new();
        assert!(md.insert("Upper", "x").is_err());
        assert!(md.insert("x-bin", "x").is_err());
        assert!(md.insert_bin("x", b"x").is_err());
        assert!(md.insert("x", "line\nbreak").is_err());
        assert!(md.insert("te", "x").is_err());
        assert!(md.insert("grpc-anything", "x").is_err());
        assert!(md.insert("x", "caf\u{e9}").is_err());
        assert!(md.insert("x.y_z-0", " ok ~").is_ok());
    }

    #[test]
    fn invalid_base64_is_an_error_not_a_panic() {
        let mut h = HeaderMap::new();
        h.insert("x-bin", HeaderValue::from_static("!!!"));
        let md = MetadataMap::from_headers(h);
        assert!(md.get_bin("x-bin").unwrap().is_err());
        assert_eq!(md.iter().count(), 0);
    }

    proptest! {
        #[test]
        fn binary_metadata_round_trips(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..5)) {
            let mut md = MetadataMap::new();
            for v in &values {
                md.append_bin("blob-bin", v).unwrap();
            }
            // Through the wire form and back.
            let md = MetadataMap::from_headers(md.into_headers());
            let back: Vec<Vec<u8>> = md.get_all_bin("blob-bin").map(|r| r.unwrap().to_vec()).collect();
            prop_assert_eq!(back, values);
        }

        #[test]
        fn ascii_metadata_round_trips(value in "[ -~]{0,64}") {
            let mut md = MetadataMap::new();
            md.insert("k", &value).unwrap();
            let md = MetadataMap::from_headers(md.into_headers());
            prop_assert_eq!(md.get("k"), Some(value.as_str()));
        }
    }
}
