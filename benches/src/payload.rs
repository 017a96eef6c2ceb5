//! The request messages the load generators send.
//!
//! `complex` is grpc_bench's `complex_proto` scenario: a `HelloRequest`
//! whose `Hello` has every field set, including a oneof choice and a few
//! pets. A byte count instead gives a `HelloRequest` whose `name` holds that
//! many bytes. Both implementations send the same bytes: tonic's programs
//! decode [`encoded_request`] into their own generated type.
//!
//! ```
//! use benches::args::Payload;
//! use benches::payload;
//!
//! let request = payload::request(Payload::Complex);
//! assert_eq!(request.request.unwrap().pets.len(), 3);
//! assert!(payload::encoded_request(Payload::Bytes(100)).len() > 100);
//! ```

use prost::Message;

use crate::args::Payload;
use crate::ours::helloworld::hello::{pet::Color, Choice, Pet};
use crate::ours::helloworld::{Hello, HelloReply, HelloRequest};

/// The `Hello` of grpc_bench's complex_proto scenario, every field set.
pub fn complex_hello() -> Hello {
    let pet = |name: &str, color: Color| Pet {
        name: name.to_owned(),
        color: color as i32,
    };
    Hello {
        name: "grpc_bench complex_proto".to_owned(),
        d: 1234.5678,
        f: 0.25,
        b: true,
        n: 1_234_567,
        l: 9_876_543_210,
        choice: Some(Choice::C1("the first choice".to_owned())),
        pets: vec![
            pet("Rex", Color::Black),
            pet("Tom", Color::White),
            pet("Nemo", Color::Yellow),
        ],
    }
}

/// The request for a payload setting.
pub fn request(payload: Payload) -> HelloRequest {
    let hello = match payload {
        Payload::Complex => complex_hello(),
        Payload::Bytes(n) => Hello {
            name: "x".repeat(n),
            ..Hello::default()
        },
    };
    HelloRequest {
        request: Some(hello),
    }
}

/// The protobuf encoding of [`request`] (without the gRPC prefix).
pub fn encoded_request(payload: Payload) -> Vec<u8> {
    request(payload).encode_to_vec()
}

/// The reply an echo server sends to [`request`]: `response = request.request`.
pub fn reply(payload: Payload) -> HelloReply {
    HelloReply {
        response: request(payload).request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_carries_the_same_hello_as_the_request() {
        let req = request(Payload::Complex);
        assert_eq!(reply(Payload::Complex).response, req.request);
        // Field 1 in both messages: the encodings are identical.
        assert_eq!(
            reply(Payload::Complex).encode_to_vec(),
            encoded_request(Payload::Complex)
        );
    }

    #[test]
    fn a_sized_payload_has_a_name_of_that_many_bytes() {
        let req = request(Payload::Bytes(1000));
        assert_eq!(req.request.unwrap().name.len(), 1000);
    }
}
