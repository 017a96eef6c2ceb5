use super::*;
use crate::test_util::ScriptedBody;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use proptest::prelude::*;

fn wire(messages: &[Vec<u8>]) -> Vec<u8> {
    messages
        .iter()
        .flat_map(|m| encode_raw(m, false).to_vec())
        .collect()
}

/// Drains a deframer whose body never pends.
fn drain(body: ScriptedBody, max: usize) -> (Vec<Result<Frame, Status>>, Option<HeaderMap>) {
    let mut d = Deframer::new(body, max);
    let mut out = Vec::new();
    while let Some(item) = d
        .message()
        .now_or_never()
        .expect("scripted body is always ready")
    {
        out.push(item);
    }
    (out, d.take_trailers())
}

fn payloads(items: Vec<Result<Frame, Status>>) -> Vec<Vec<u8>> {
    items
        .into_iter()
        .map(|r| r.unwrap().payload().to_vec())
        .collect()
}

#[test]
fn a_message_inside_one_chunk_is_not_copied() {
    let data = Bytes::from(wire(&[b"abc".to_vec(), b"defg".to_vec()]));
    let base = data.as_ptr();
    let (items, _) = drain(ScriptedBody::new([data]), 1024);
    let frames: Vec<Frame> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(frames[0].encoded().as_ptr(), base);
    assert_eq!(frames[1].encoded().as_ptr(), base.wrapping_add(8));
}

#[test]
fn an_empty_message_is_a_message() {
    let (items, _) = drain(ScriptedBody::messages([&b""[..], b"x"]), 10);
    assert_eq!(payloads(items), [b"".to_vec(), b"x".to_vec()]);
}

#[test]
fn trailers_are_kept() {
    let status = Status::not_found("gone");
    let (items, trailers) = drain(ScriptedBody::messages([b"a"]).with_status(&status), 10);
    assert_eq!(items.len(), 1);
    assert_eq!(trailers.unwrap()["grpc-status"], "5");
}

#[test]
fn an_oversized_message_is_resource_exhausted_before_its_bytes_arrive() {
    // Only the prefix arrives: the limit is enforced on the announced length.
    let mut prefix = [0u8; 5];
    write_header(&mut prefix, false, 11);
    let (items, _) = drain(ScriptedBody::new([Bytes::copy_from_slice(&prefix)]), 10);
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().code(),
        Code::ResourceExhausted
    );
}

#[test]
fn a_message_at_the_limit_is_accepted() {
    let (items, _) = drain(ScriptedBody::messages([vec![7u8; 10]]), 10);
    assert_eq!(payloads(items), [vec![7u8; 10]]);
}

#[test]
fn a_truncated_message_is_internal() {
    let w = wire(&[b"hello".to_vec()]);
    for cut in 1..w.len() {
        let (items, _) = drain(ScriptedBody::new([w[..cut].to_vec()]), 100);
        assert_eq!(items.len(), 1, "cut at {cut}");
        assert_eq!(items[0].as_ref().unwrap_err().code(), Code::Internal);
    }
}

#[test]
fn a_bad_flag_byte_is_internal_and_ends_the_stream() {
    let (items, _) = drain(
        ScriptedBody::new([vec![2u8, 0, 0, 0, 0], wire(&[b"a".to_vec()])]),
        100,
    );
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().code(), Code::Internal);
}

#[test]
fn the_compressed_flag_is_surfaced() {
    let (items, _) = drain(ScriptedBody::new([encode_raw(b"z", true)]), 100);
    assert!(items[0].as_ref().unwrap().is_compressed());
}

#[test]
fn a_body_error_becomes_a_status() {
    let body = ScriptedBody::messages([b"a"]).with_error(Status::cancelled("reset"));
    let (items, _) = drain(body, 100);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().code(), Code::Cancelled);
    assert_eq!(items.len(), 2);
}

#[test]
fn as_a_body_it_yields_one_prefixed_message_per_frame_then_trailers() {
    let w = wire(&[b"one".to_vec(), b"two".to_vec()]);
    let body = ScriptedBody::new(w.iter().map(|b| vec![*b])).with_status(&Status::ok());
    let d = Deframer::new(body, 100);
    let collected = d.collect().now_or_never().unwrap().unwrap();
    let trailers = collected.trailers().cloned().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(collected.to_bytes().to_vec(), w);

    let body = ScriptedBody::new(w.iter().map(|b| vec![*b]));
    let mut d = Deframer::new(body, 100);
    let f1 = d.frame().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(f1.into_data().unwrap(), encode_raw(b"one", false));
}

#[test]
fn encode_message_refuses_a_message_over_the_send_limit() {
    let mut codec = crate::codec::BytesCodec;
    let err = encode_message(&mut codec, Bytes::from(vec![0u8; 11]), 10).unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let ok = encode_message(&mut codec, Bytes::from(vec![1u8; 10]), 10).unwrap();
    assert_eq!(ok, encode_raw(&[1u8; 10], false));
}

#[test]
fn encode_message_into_appends_after_what_is_there_and_keeps_it_on_error() {
    let mut codec = crate::codec::BytesCodec;
    let mut buf = BytesMut::new();
    encode_message_into(&mut codec, Bytes::from_static(b"ab"), 10, &mut buf).unwrap();
    encode_message_into(&mut codec, Bytes::from_static(b"c"), 10, &mut buf).unwrap();
    let err = encode_message_into(&mut codec, Bytes::from(vec![0u8; 11]), 10, &mut buf);
    assert_eq!(err.unwrap_err().code(), Code::ResourceExhausted);
    assert_eq!(
        buf,
        [encode_raw(b"ab", false), encode_raw(b"c", false)].concat()
    );
}

proptest! {
    #[test]
    fn any_split_of_any_message_sequence_decodes_the_same(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let w = wire(&messages);
        let mut points: Vec<usize> = cuts.iter().map(|i| if w.is_empty() { 0 } else { i.index(w.len() + 1) }).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points.into_iter().chain([w.len()]) {
            chunks.push(w[last..p].to_vec());
            last = p;
        }
        let (items, _) = drain(ScriptedBody::new(chunks), 64);
        prop_assert_eq!(payloads(items), messages);
    }

    #[test]
    fn every_single_split_point_decodes_the_same(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..4),
    ) {
        let w = wire(&messages);
        for split in 0..=w.len() {
            let (items, _) = drain(ScriptedBody::new([w[..split].to_vec(), w[split..].to_vec()]), 64);
            prop_assert_eq!(payloads(items), messages.clone());
        }
        // And byte by byte.
        let (items, _) = drain(ScriptedBody::new(w.iter().map(|b| vec![*b])), 64);
        prop_assert_eq!(payloads(items), messages);
    }

    #[test]
    fn oversize_anywhere_in_a_stream_is_resource_exhausted(
        sizes in proptest::collection::vec(0usize..30, 1..5),
        limit in 0usize..30,
    ) {
        let messages: Vec<Vec<u8>> = sizes.iter().map(|n| vec![0xAB; *n]).collect();
        let (items, _) = drain(ScriptedBody::new([wire(&messages)]), limit);
        let first_big = sizes.iter().position(|n| *n > limit);
        match first_big {
            None => prop_assert!(items.iter().all(|r| r.is_ok())),
            Some(i) => {
                prop_assert_eq!(items.len(), i + 1);
                prop_assert_eq!(items[i].as_ref().unwrap_err().code(), Code::ResourceExhausted);
            }
        }
    }
}
