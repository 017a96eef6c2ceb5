//! [`ServerCompressionLayer`] and [`ClientCompressionLayer`]: the
//! configuration of one side of a call.

use tower_layer::Layer;

use super::algorithm::CompressionLevel;
use super::service::{ClientCompression, ServerCompression};
use super::{Encoding, EncodingSet};

/// Messages shorter than this are sent uncompressed by default: below a few
/// dozen bytes the algorithms' own headers make the message longer.
#[deprecated(note = "use `ServerCompressionLayer::DEFAULT_MIN_SIZE` (or the client's)")]
pub const DEFAULT_MIN_SIZE: usize = MIN_SIZE;

const MIN_SIZE: usize = 32;

/// The send preference: distinct compressing encodings, most wanted first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Preference {
    items: [Encoding; 3],
    len: u8,
}

impl Preference {
    const fn new() -> Self {
        Preference {
            items: [Encoding::Identity; 3],
            len: 0,
        }
    }

    fn push(&mut self, encoding: Encoding) {
        let len = self.len as usize;
        if encoding != Encoding::Identity
            && encoding.is_enabled()
            && !self.items[..len].contains(&encoding)
            && len < self.items.len()
        {
            self.items[len] = encoding;
            self.len += 1;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Encoding> + '_ {
        self.items[..self.len as usize].iter().copied()
    }

    /// The first preferred encoding the peer accepts; identity if none.
    pub(crate) fn pick(&self, peer: EncodingSet) -> Encoding {
        self.iter()
            .find(|e| peer.contains(*e))
            .unwrap_or(Encoding::Identity)
    }
}

/// Everything a service needs per call; small and `Copy`, so a call takes
/// it by value with no reference count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) accept: EncodingSet,
    pub(crate) send: Preference,
    pub(crate) min_size: usize,
    /// Asked for with `max_decompressed_size`; else the call's limit.
    pub(crate) max_decompressed_size: Option<usize>,
    pub(crate) level: CompressionLevel,
}

impl Config {
    pub(crate) const fn new() -> Self {
        Config {
            accept: EncodingSet::enabled(),
            send: Preference::new(),
            min_size: MIN_SIZE,
            max_decompressed_size: None,
            level: CompressionLevel::Default,
        }
    }

    /// Whether messages declared as `encoding` can be read.
    pub(crate) fn accepts(&self, encoding: Encoding) -> bool {
        self.accept.contains(encoding)
    }
}

/// The setters both layers share, and `new` and `Default`.
macro_rules! compression_setters {
    ($layer:ident, $(#[$send_doc:meta])*) => {
        impl $layer {
            /// Messages shorter than this are sent uncompressed by default:
            /// below a few dozen bytes the algorithms' own headers make the
            /// message longer.
            pub const DEFAULT_MIN_SIZE: usize = MIN_SIZE;

            /// The layer with the defaults: every enabled algorithm
            /// received, nothing compressed on the way out.
            pub const fn new() -> Self {
                $layer {
                    config: Config::new(),
                }
            }

            $(#[$send_doc])*
            ///
            /// An encoding whose feature is off is ignored, as is identity.
            pub fn send_compressed(mut self, encoding: Encoding) -> Self {
                self.config.send.push(encoding);
                self
            }

            /// Accept messages compressed with these encodings only
            /// (identity is always accepted); they are also what
            /// `grpc-accept-encoding` advertises. Encodings whose feature is
            /// off are left out.
            pub fn accept(mut self, encodings: impl IntoIterator<Item = Encoding>) -> Self {
                self.config.accept = encodings.into_iter().collect();
                self
            }

            /// Send messages shorter than `bytes` uncompressed (default
            /// [`DEFAULT_MIN_SIZE`](Self::DEFAULT_MIN_SIZE)).
            pub fn min_size(mut self, bytes: usize) -> Self {
                self.config.min_size = bytes;
                self
            }

            /// The largest message decompression may produce. The call's
            /// receive limit (its
            /// [`MessageLimits`](grpc_core::limits::MessageLimits)
            /// extension, 4 MiB by default) applies too: the narrower of the
            /// two wins. A message that would inflate past it is
            /// `RESOURCE_EXHAUSTED`.
            pub fn max_decompressed_size(mut self, bytes: usize) -> Self {
                self.config.max_decompressed_size = Some(bytes);
                self
            }

            /// How hard to compress (default [`CompressionLevel::Default`]).
            pub fn level(mut self, level: CompressionLevel) -> Self {
                self.config.level = level;
                self
            }
        }

        impl Default for $layer {
            fn default() -> Self {
                $layer::new()
            }
        }
    };
}

/// Compression on the server: decompresses requests by their
/// `grpc-encoding`, compresses responses in an encoding the client lists in
/// `grpc-accept-encoding`; see the [module docs](super).
///
/// | setting | default |
/// |---|---|
/// | encodings received ([`accept`](Self::accept)) | every enabled algorithm |
/// | encodings sent ([`send_compressed`](Self::send_compressed)) | none: responses go out uncompressed |
/// | minimum size compressed ([`min_size`](Self::min_size)) | [`DEFAULT_MIN_SIZE`](Self::DEFAULT_MIN_SIZE) (32 bytes) |
/// | decompressed size limit ([`max_decompressed_size`](Self::max_decompressed_size)) | the call's `MessageLimits` receive limit (4 MiB unless a layer or setter asks otherwise) |
/// | level ([`level`](Self::level)) | [`CompressionLevel::Default`] |
#[derive(Clone, Copy, Debug)]
pub struct ServerCompressionLayer {
    config: Config,
}

compression_setters!(
    ServerCompressionLayer,
    /// Compress responses with `encoding`. Call it again to list more
    /// encodings, most preferred first: a response goes out in the first of
    /// these the client lists in its `grpc-accept-encoding`, and
    /// uncompressed when it lists none.
);

impl<S> Layer<S> for ServerCompressionLayer {
    type Service = ServerCompression<S>;

    fn layer(&self, inner: S) -> ServerCompression<S> {
        ServerCompression::from_layer(inner, self.config)
    }
}

/// Compression on the client: compresses requests when asked to,
/// decompresses responses by their `grpc-encoding`; see the
/// [module docs](super).
///
/// | setting | default |
/// |---|---|
/// | encodings received ([`accept`](Self::accept)) | every enabled algorithm |
/// | encodings sent ([`send_compressed`](Self::send_compressed)) | none: requests go out uncompressed |
/// | minimum size compressed ([`min_size`](Self::min_size)) | [`DEFAULT_MIN_SIZE`](Self::DEFAULT_MIN_SIZE) (32 bytes) |
/// | decompressed size limit ([`max_decompressed_size`](Self::max_decompressed_size)) | the call's `MessageLimits` receive limit (4 MiB unless a layer or setter asks otherwise) |
/// | level ([`level`](Self::level)) | [`CompressionLevel::Default`] |
#[derive(Clone, Copy, Debug)]
pub struct ClientCompressionLayer {
    config: Config,
}

compression_setters!(
    ClientCompressionLayer,
    /// Compress requests with `encoding`. Call it again to list more
    /// encodings, most preferred first: every request is compressed with the
    /// first of these (a server without it answers `UNIMPLEMENTED`).
);

impl<S> Layer<S> for ClientCompressionLayer {
    type Service = ClientCompression<S>;

    fn layer(&self, inner: S) -> ClientCompression<S> {
        ClientCompression::from_layer(inner, self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preference_keeps_order_and_drops_duplicates_identity_and_disabled() {
        let layer = ClientCompressionLayer::new()
            .send_compressed(Encoding::Zstd)
            .send_compressed(Encoding::Identity)
            .send_compressed(Encoding::Gzip)
            .send_compressed(Encoding::Zstd)
            .send_compressed(Encoding::Deflate);
        let expected: Vec<Encoding> = [Encoding::Zstd, Encoding::Gzip, Encoding::Deflate]
            .into_iter()
            .filter(|e| e.is_enabled())
            .collect();
        assert_eq!(layer.config.send.iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn the_server_picks_its_first_preference_the_peer_accepts() {
        let mut pref = Preference::new();
        pref.push(Encoding::Zstd);
        pref.push(Encoding::Gzip);
        let peer = EncodingSet::identity().with(Encoding::Gzip);
        let expected = if Encoding::Gzip.is_enabled() {
            Encoding::Gzip
        } else {
            Encoding::Identity
        };
        assert_eq!(pref.pick(peer), expected);
        assert_eq!(pref.pick(EncodingSet::identity()), Encoding::Identity);
    }

    #[test]
    fn by_default_every_enabled_algorithm_is_accepted_and_none_is_sent() {
        let layer = ServerCompressionLayer::new();
        assert_eq!(layer.config.accept, EncodingSet::enabled());
        assert_eq!(layer.config.send.iter().count(), 0);
        assert_eq!(layer.config.min_size, MIN_SIZE);
        let no_call_limit = http::Extensions::new();
        assert_eq!(
            super::super::service::recv_limit(&no_call_limit, &layer.config),
            4 << 20
        );
        let only_gzip = ServerCompressionLayer::new().accept([Encoding::Gzip]);
        assert!(!only_gzip.config.accepts(Encoding::Deflate));
        assert!(only_gzip.config.accepts(Encoding::Identity));
    }
}
