//! Property tests (proptest): frames built with the frame builder (masked or not,
//! fragmented, compressed, with control frames in between) and cut into
//! arbitrary chunks parse back to exactly what was sent; the masking
//! kernels agree with a byte-at-a-time reference.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::protocol::close::close_payload;
use crate::protocol::deflate::{Deflater, Inflater};
use crate::protocol::frame::{
    build_header, FrameSpec, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
};
use crate::protocol::mask::{apply_mask, mask_into};
use crate::protocol::parser::{Config, Event, Parser};

/// What came out of the parser, with bytes resolved.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Message(bool, Vec<u8>, Vec<usize>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
}

/// One frame on the wire.
fn frame(spec: FrameSpec, payload: &[u8]) -> Vec<u8> {
    let mut out = build_header(spec, payload.len() as u64).as_bytes().to_vec();
    let start = out.len();
    out.resize(start + payload.len(), 0);
    match spec.mask {
        Some(m) => mask_into(payload, m, &mut out[start..]),
        None => out[start..].copy_from_slice(payload),
    }
    out
}

/// Feeds `wire` cut at the given chunk sizes (cycled; none = one chunk).
fn parse(parser: &mut Parser, wire: &[u8], sizes: &[usize]) -> Vec<Got> {
    let mut got = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while start < wire.len() {
        let end = match sizes.get(i % sizes.len().max(1)) {
            Some(&n) => (start + n).min(wire.len()),
            None => wire.len(),
        };
        i += 1;
        let mut chunk = wire[start..end].to_vec();
        let mut events = Vec::new();
        parser
            .feed(&mut chunk, &mut events)
            .unwrap_or_else(|e| panic!("valid input failed: {e}"));
        for e in events {
            got.push(match e {
                Event::Message {
                    binary,
                    data,
                    fragment_ends,
                } => Got::Message(binary, data.bytes(&chunk).to_vec(), fragment_ends),
                Event::Ping(p) => Got::Ping(p.bytes(&chunk).to_vec()),
                Event::Pong(p) => Got::Pong(p.bytes(&chunk).to_vec()),
                Event::Close { code, reason } => Got::Close(code, reason.bytes(&chunk).to_vec()),
            });
        }
        start = end;
    }
    got
}

/// Where each fragment ends, as the parser reports it: the ends of the
/// non-empty fragments, and nothing for fewer than two.
fn expected_ends(pieces: &[&[u8]]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    for p in pieces {
        at += p.len();
        if !p.is_empty() {
            ends.push(at);
        }
    }
    if ends.len() < 2 {
        ends.clear();
    }
    ends
}

/// Splits `data` at the given fractions of its length.
fn pieces<'a>(data: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * data.len() / usize::from(u16::MAX))
        .collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain(std::iter::once(data.len())) {
        out.push(&data[start..end]);
        start = end;
    }
    out
}

/// Payloads: mostly short, sometimes past the 16-bit and 64-bit length
/// thresholds.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..200),
        2 => vec(any::<u8>(), 120..70_000),
        1 => (65_530usize..65_545, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => any::<String>().prop_map(String::into_bytes),
        1 => ("[a-zκό😀€]{100,3000}").prop_map(String::into_bytes),
    ]
}

/// A data message: binary with any bytes, or text.
fn message() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop_oneof![(Just(true), payload()), (Just(false), text()),]
}

fn mask() -> impl Strategy<Value = Option<[u8; 4]>> {
    prop_oneof![Just(None), any::<[u8; 4]>().prop_map(Some)]
}

/// Chunk sizes for the parser: none (one chunk), tiny, or mixed.
fn chunking() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(Vec::new()),
        vec(1usize..4, 1..4),
        vec(1usize..5000, 1..8),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any data message, any mask, any fragmentation, with a control frame
    /// before each continuation, parses back to the message.
    #[test]
    fn data_messages_round_trip(
        binary in any::<bool>(),
        bin in payload(),
        txt in text(),
        key in mask(),
        cuts in vec(any::<u16>(), 0..6),
        control in vec(vec(any::<u8>(), 0..126), 0..6),
        sizes in chunking(),
    ) {
        let data = if binary { bin } else { txt };
        let parts = pieces(&data, &cuts);
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                if let Some(c) = control.get(i - 1) {
                    let op = if i % 2 == 0 { OP_PING } else { OP_PONG };
                    wire.extend(frame(FrameSpec { opcode: op, fin: true, rsv1: false, mask: key }, c));
                    want.push(if op == OP_PING { Got::Ping(c.clone()) } else { Got::Pong(c.clone()) });
                }
            }
            let opcode = match (i, binary) {
                (0, true) => OP_BINARY,
                (0, false) => OP_TEXT,
                _ => OP_CONTINUATION,
            };
            let fin = i + 1 == parts.len();
            wire.extend(frame(FrameSpec { opcode, fin, rsv1: false, mask: key }, part));
        }
        want.push(Got::Message(binary, data.clone(), expected_ends(&parts)));
        let cfg = Config { is_server: key.is_some(), ..Config::default() };
        let mut parser = Parser::new(cfg, None);
        prop_assert_eq!(parse(&mut parser, &wire, &sizes), want);
    }

    /// Compressed messages, fragment by fragment, for every window size and
    /// both context takeover modes, parse back to what was compressed.
    #[test]
    fn compressed_messages_round_trip(
        messages in vec((message(), vec(any::<u16>(), 0..4)), 1..4),
        bits in 8u8..=15,
        no_context_takeover in any::<bool>(),
        level in 0u32..=9,
        key in mask(),
        sizes in chunking(),
    ) {
        let mut deflater = Deflater::new(level, bits, no_context_takeover);
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for ((binary, data), cuts) in &messages {
            let parts = pieces(data, cuts);
            for (i, part) in parts.iter().enumerate() {
                let fin = i + 1 == parts.len();
                let mut z = Vec::new();
                deflater.compress(part, fin, &mut z);
                let opcode = if i > 0 { OP_CONTINUATION } else if *binary { OP_BINARY } else { OP_TEXT };
                wire.extend(frame(FrameSpec { opcode, fin, rsv1: i == 0, mask: key }, &z));
            }
            // Each fragment is flushed, so it inflates to exactly its part.
            want.push(Got::Message(*binary, data.clone(), expected_ends(&parts)));
        }
        let cfg = Config { is_server: key.is_some(), ..Config::default() };
        let mut parser = Parser::new(cfg, Some(Inflater::new(bits, no_context_takeover)));
        prop_assert_eq!(parse(&mut parser, &wire, &sizes), want);
    }

    /// Control frames of any allowed size, and close frames with any valid
    /// code and reason.
    #[test]
    fn control_frames_round_trip(
        ping in vec(any::<u8>(), 0..126),
        code in prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999],
        reason in "[a-zé ]{0,40}",
        key in mask(),
        sizes in chunking(),
    ) {
        let mut wire = frame(FrameSpec { opcode: OP_PING, fin: true, rsv1: false, mask: key }, &ping);
        wire.extend(frame(FrameSpec { opcode: OP_PONG, fin: true, rsv1: false, mask: key }, &ping));
        let body = close_payload(code, reason.as_bytes());
        wire.extend(frame(FrameSpec { opcode: OP_CLOSE, fin: true, rsv1: false, mask: key }, &body));
        let cfg = Config { is_server: key.is_some(), ..Config::default() };
        let mut parser = Parser::new(cfg, None);
        prop_assert_eq!(
            parse(&mut parser, &wire, &sizes),
            vec![
                Got::Ping(ping.clone()),
                Got::Pong(ping),
                Got::Close(code, reason.into_bytes()),
            ]
        );
    }

    /// The masking kernels (word, AVX2) agree with XOR byte by byte, at
    /// any offset into the mask and any length.
    #[test]
    fn masking_matches_the_definition(
        data in vec(any::<u8>(), 0..600),
        key in any::<[u8; 4]>(),
        offset in 0usize..8,
    ) {
        let reference: Vec<u8> = data
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[(i + offset) % 4])
            .collect();
        let mut in_place = data.clone();
        apply_mask(&mut in_place, key, offset);
        prop_assert_eq!(&in_place, &reference);
        let mut out = vec![0u8; data.len()];
        mask_into(&data, key, &mut out);
        let from_zero: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
        prop_assert_eq!(out, from_zero);
    }
}
