//! Value encodings for metadata: visible ASCII and base64 for `-bin` keys.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use bytes::Bytes;

/// Accepts both padded and unpadded input.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes binary metadata as unpadded standard base64, as gRPC implementations emit.
pub fn encode_binary(value: &[u8]) -> String {
    STANDARD_NO_PAD.encode(value)
}

/// Decodes one base64 value, padded or not.
pub fn decode_binary(value: &[u8]) -> Result<Bytes, base64::DecodeError> {
    let trimmed = value.trim_ascii();
    LENIENT.decode(trimmed).map(Bytes::from)
}

/// Padded encoding, for peers that only read padded base64.
pub fn encode_binary_padded(value: &[u8]) -> String {
    STANDARD.encode(value)
}

/// Whether every byte is visible ASCII or space (0x20–0x7E), the only bytes
/// an ASCII metadata value may hold.
pub fn is_valid_ascii_value(value: &[u8]) -> bool {
    value.iter().all(|b| (0x20..=0x7e).contains(b))
}
