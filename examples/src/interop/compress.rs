//! The interop stacks' use of the compression layer
//! (`grpc_layers::compression`, gzip): per-call and per-message choices,
//! in one place.

use grpc_layers::compression::{
    ClientCompressionLayer, Encoding, MessageCompression, SendCompression, ServerCompressionLayer,
};
use http::Extensions;

/// The server's compression layer: decompresses requests in any enabled
/// encoding; compresses a response only when its handler asks for it.
pub fn server_layer() -> ServerCompressionLayer {
    ServerCompressionLayer::new()
}

/// The client's compression layer: decompresses responses; compresses a
/// request only when its call asks for it.
pub fn client_layer() -> ClientCompressionLayer {
    ClientCompressionLayer::new()
}

/// Compresses this call's messages with gzip (`true`) or sends them
/// uncompressed (`false`): on a request's or a response's extensions.
pub fn set_call_compression(extensions: &mut Extensions, compressed: bool) {
    extensions.insert(if compressed {
        SendCompression::new(Encoding::Gzip)
    } else {
        SendCompression::disabled()
    });
}

/// Makes a call gzip-capable with a per-message switch, which the returned
/// handle flips just before each message leaves its stream.
pub fn per_message(extensions: &mut Extensions) -> MessageSwitch {
    let switch = MessageCompression::new();
    switch.disable();
    extensions.insert(SendCompression::new(Encoding::Gzip));
    extensions.insert(switch.clone());
    MessageSwitch { switch }
}

/// A per-message compression switch; see [`per_message`].
#[derive(Clone, Debug)]
pub struct MessageSwitch {
    switch: MessageCompression,
}

impl MessageSwitch {
    /// Whether the next message goes out compressed.
    pub fn set(&self, compressed: bool) {
        if compressed {
            self.switch.enable();
        } else {
            self.switch.disable();
        }
    }
}
