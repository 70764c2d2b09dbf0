use super::*;
use crate::protocol::deflate::Deflater;
use crate::protocol::frame::{build_header, FrameSpec, OP_PONG};
use crate::protocol::mask::mask_into;

/// xorshift, so the tests need no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One frame on the wire.
fn frame(opcode: u8, fin: bool, rsv1: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let spec = FrameSpec {
        opcode,
        fin,
        rsv1,
        mask,
    };
    let mut out = build_header(spec, payload.len() as u64).as_bytes().to_vec();
    match mask {
        Some(m) => {
            let start = out.len();
            out.resize(start + payload.len(), 0);
            mask_into(payload, m, &mut out[start..]);
        }
        None => out.extend_from_slice(payload),
    }
    out
}

const M: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

fn server() -> Config {
    Config {
        is_server: true,
        ..Config::default()
    }
}

fn client() -> Config {
    Config::default()
}

/// Events with their bytes resolved, so runs with different chunking compare.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Text(Vec<u8>),
    Binary(Vec<u8>, Vec<usize>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
    Error(String),
}

fn resolve(events: Vec<Event>, chunk: &[u8], seen: &mut Vec<Seen>) {
    for e in events {
        seen.push(match e {
            Event::Message {
                binary: false,
                data,
                ..
            } => Seen::Text(data.bytes(chunk).to_vec()),
            Event::Message {
                binary: true,
                data,
                fragment_ends,
            } => Seen::Binary(data.bytes(chunk).to_vec(), fragment_ends),
            Event::Ping(p) => Seen::Ping(p.bytes(chunk).to_vec()),
            Event::Pong(p) => Seen::Pong(p.bytes(chunk).to_vec()),
            Event::Close { code, reason } => Seen::Close(code, reason.bytes(chunk).to_vec()),
        });
    }
}

/// Feeds `wire` cut at `cuts` (sorted offsets) and returns what was seen,
/// ending with the error if there was one.
fn run_cut(parser: &mut Parser, wire: &[u8], cuts: &[usize]) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&wire.len())) {
        let mut chunk = wire[start..end].to_vec();
        let mut events = Vec::new();
        let r = parser.feed(&mut chunk, &mut events);
        resolve(events, &chunk, &mut seen);
        if let Err(e) = r {
            seen.push(Seen::Error(e.code().to_string()));
            return seen;
        }
        start = end;
    }
    seen
}

fn run(cfg: Config, wire: &[u8]) -> Vec<Seen> {
    run_cut(&mut Parser::new(cfg, None), wire, &[])
}

fn run_err(cfg: Config, wire: &[u8]) -> ProtocolError {
    let mut p = Parser::new(cfg, None);
    let mut chunk = wire.to_vec();
    p.feed(&mut chunk, &mut Vec::new()).unwrap_err()
}

#[test]
fn masked_text_and_binary() {
    let mut wire = frame(OP_TEXT, true, false, M, b"hello");
    wire.extend(frame(OP_BINARY, true, false, M, &[1, 2, 3]));
    assert_eq!(
        run(server(), &wire),
        vec![
            Seen::Text(b"hello".to_vec()),
            Seen::Binary(vec![1, 2, 3], vec![])
        ]
    );
}

#[test]
fn single_frame_in_one_chunk_is_a_range_of_the_chunk() {
    let mut wire = frame(OP_BINARY, true, false, M, &[9; 300]);
    let mut p = Parser::new(server(), None);
    let mut events = Vec::new();
    p.feed(&mut wire, &mut events).unwrap();
    match &events[0] {
        Event::Message {
            data: Payload::Input(r),
            ..
        } => {
            assert_eq!(r.clone(), 8..308);
            assert!(wire[8..].iter().all(|&b| b == 9), "unmasked in place");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lengths_16_and_64_bit() {
    for n in [125usize, 126, 65535, 65536, 200_000] {
        let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
        let wire = frame(OP_BINARY, true, false, None, &payload);
        assert_eq!(run(client(), &wire), vec![Seen::Binary(payload, vec![])]);
    }
}

#[test]
fn fragmented_message_with_interleaved_control_frames() {
    let mut wire = frame(OP_TEXT, false, false, M, "κό".as_bytes());
    wire.extend(frame(OP_PING, true, false, M, b"p"));
    wire.extend(frame(OP_CONTINUATION, false, false, M, &[]));
    wire.extend(frame(OP_PONG, true, false, M, b""));
    wire.extend(frame(OP_CONTINUATION, true, false, M, "σμε".as_bytes()));
    assert_eq!(
        run(server(), &wire),
        vec![
            Seen::Ping(b"p".to_vec()),
            Seen::Pong(vec![]),
            Seen::Text("κόσμε".as_bytes().to_vec())
        ]
    );
}

#[test]
fn fragment_boundaries_are_reported() {
    let mut wire = frame(OP_BINARY, false, false, None, &[1; 17]);
    wire.extend(frame(OP_CONTINUATION, false, false, None, &[]));
    wire.extend(frame(OP_CONTINUATION, false, false, None, &[2; 5]));
    wire.extend(frame(OP_CONTINUATION, true, false, None, &[3]));
    let mut expected = vec![1; 17];
    expected.extend([2; 5]);
    expected.push(3);
    assert_eq!(
        run(client(), &wire),
        vec![Seen::Binary(expected, vec![17, 22, 23])]
    );
}

#[test]
fn close_frames() {
    let wire = frame(OP_CLOSE, true, false, M, &[]);
    assert_eq!(run(server(), &wire), vec![Seen::Close(1005, vec![])]);
    let mut wire = frame(OP_CLOSE, true, false, None, &[0x03, 0xe8, b'b', b'y', b'e']);
    // Anything after the close frame is ignored, even garbage.
    wire.extend([0xff, 0xff, 0xff]);
    let mut p = Parser::new(client(), None);
    assert_eq!(
        run_cut(&mut p, &wire, &[3]),
        vec![Seen::Close(1000, b"bye".to_vec())]
    );
    assert!(p.is_closed());
    assert_eq!(run_cut(&mut p, &[0x00, 0x00], &[]), vec![]);
}

#[test]
fn every_close_code_rule() {
    for code in 0..=u16::MAX {
        let wire = frame(OP_CLOSE, true, false, None, &code.to_be_bytes());
        let seen = run(client(), &wire);
        if is_valid_status_code(code) {
            assert_eq!(seen, vec![Seen::Close(code, vec![])], "{code}");
        } else {
            assert_eq!(
                seen,
                vec![Seen::Error("WS_ERR_INVALID_CLOSE_CODE".into())],
                "{code}"
            );
        }
    }
    let err = run_err(client(), &frame(OP_CLOSE, true, false, None, &[0x03, 0xed]));
    assert_eq!(err, ProtocolError::InvalidCloseCode(1005));
    assert_eq!(
        err.message(),
        "Invalid WebSocket frame: invalid status code 1005"
    );
    // One-byte close payloads are invalid.
    let err = run_err(client(), &frame(OP_CLOSE, true, false, None, &[0x03]));
    assert_eq!(err, ProtocolError::InvalidControlPayloadLength(1));
    // The reason must be UTF-8, unless validation is skipped.
    let bad = frame(OP_CLOSE, true, false, None, &[0x03, 0xe8, 0xff]);
    assert_eq!(run_err(client(), &bad), ProtocolError::InvalidUtf8);
    let skip = Config {
        skip_utf8_validation: true,
        ..client()
    };
    assert_eq!(run(skip, &bad), vec![Seen::Close(1000, vec![0xff])]);
}

#[test]
fn rsv_errors() {
    let mut f = frame(OP_TEXT, true, false, M, b"x");
    f[0] |= 0x20;
    assert_eq!(run_err(server(), &f), ProtocolError::Rsv2Rsv3);
    f[0] = (f[0] & !0x20) | 0x10;
    assert_eq!(run_err(server(), &f), ProtocolError::Rsv2Rsv3);
    // RSV1 without permessage-deflate.
    let f = frame(OP_TEXT, true, true, M, b"x");
    let err = run_err(server(), &f);
    assert_eq!(err, ProtocolError::Rsv1);
    assert_eq!(err.message(), "Invalid WebSocket frame: RSV1 must be clear");
}

fn with_deflate(cfg: Config) -> Parser {
    Parser::new(cfg, Some(Inflater::new(15, false)))
}

#[test]
fn rsv1_only_on_the_first_data_frame() {
    let mut wire = frame(OP_TEXT, false, true, M, &[]);
    wire.extend(frame(OP_CONTINUATION, true, true, M, &[]));
    let mut p = with_deflate(server());
    assert_eq!(
        run_cut(&mut p, &wire, &[]),
        vec![Seen::Error("WS_ERR_UNEXPECTED_RSV_1".into())]
    );
    let mut p = with_deflate(server());
    let ping = frame(OP_PING, true, true, M, &[]);
    assert_eq!(
        run_cut(&mut p, &ping, &[]),
        vec![Seen::Error("WS_ERR_UNEXPECTED_RSV_1".into())]
    );
}

#[test]
fn opcode_errors() {
    for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        let err = run_err(server(), &frame(op, true, false, M, b""));
        assert_eq!(err, ProtocolError::InvalidOpcode(op));
        assert_eq!(
            err.message(),
            format!("Invalid WebSocket frame: invalid opcode {op}")
        );
        assert_eq!(err.close_code(), 1002);
    }
    // Continuation with nothing to continue.
    let err = run_err(server(), &frame(OP_CONTINUATION, true, false, M, b"x"));
    assert_eq!(err, ProtocolError::InvalidOpcode(0));
    // A new data frame while a fragmented message is open.
    let mut wire = frame(OP_TEXT, false, false, M, b"a");
    wire.extend(frame(OP_BINARY, true, false, M, b"b"));
    assert_eq!(run_err(server(), &wire), ProtocolError::InvalidOpcode(2));
}

#[test]
fn control_frame_errors() {
    let err = run_err(server(), &frame(OP_PING, false, false, M, b""));
    assert_eq!(err, ProtocolError::ExpectedFin);
    assert_eq!(err.message(), "Invalid WebSocket frame: FIN must be set");
    let err = run_err(server(), &frame(OP_PONG, true, false, M, &[0; 126]));
    assert_eq!(err, ProtocolError::InvalidControlPayloadLength(126));
    assert_eq!(
        err.message(),
        "Invalid WebSocket frame: invalid payload length 126"
    );
    // 125 bytes is fine.
    assert_eq!(
        run(server(), &frame(OP_PING, true, false, M, &[7; 125])),
        vec![Seen::Ping(vec![7; 125])]
    );
}

#[test]
fn mask_errors() {
    let err = run_err(server(), &frame(OP_TEXT, true, false, None, b"x"));
    assert_eq!(err, ProtocolError::ExpectedMask);
    assert_eq!(err.message(), "Invalid WebSocket frame: MASK must be set");
    let err = run_err(client(), &frame(OP_TEXT, true, false, M, b"x"));
    assert_eq!(err, ProtocolError::UnexpectedMask);
    assert_eq!(err.message(), "Invalid WebSocket frame: MASK must be clear");
}

#[test]
fn payload_length_errors() {
    // 64-bit length with more than 53 bits.
    let wire = [0x82, 0x7f, 0x00, 0x20, 0, 0, 0, 0, 0, 0];
    let err = run_err(client(), &wire);
    assert_eq!(err, ProtocolError::UnsupportedDataPayloadLength);
    assert_eq!(err.close_code(), 1009);
    let wire = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        run_err(client(), &wire),
        ProtocolError::UnsupportedDataPayloadLength
    );
    // 2^53 - 1 passes the header check (and then waits for data).
    let wire = [0x82, 0x7f, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(run(client(), &wire), vec![]);
}

#[test]
fn max_payload_over_a_fragmented_message() {
    let cfg = Config {
        max_payload: 10,
        ..server()
    };
    let mut wire = frame(OP_BINARY, false, false, M, &[0; 6]);
    wire.extend(frame(OP_CONTINUATION, true, false, M, &[0; 4]));
    assert_eq!(
        run(cfg.clone(), &wire),
        vec![Seen::Binary(vec![0; 10], vec![6, 10])]
    );
    let mut wire = frame(OP_BINARY, false, false, M, &[0; 6]);
    wire.extend(frame(OP_CONTINUATION, true, false, M, &[0; 5]));
    let err = run_err(cfg.clone(), &wire);
    assert_eq!(err, ProtocolError::MaxPayloadExceeded);
    assert_eq!(err.message(), "Max payload size exceeded");
    assert_eq!(err.close_code(), 1009);
    // Control frames do not count; the total resets per message.
    let mut wire = frame(OP_BINARY, true, false, M, &[0; 10]);
    wire.extend(frame(OP_PING, true, false, M, &[0; 100]));
    wire.extend(frame(OP_BINARY, true, false, M, &[0; 10]));
    assert_eq!(run(cfg, &wire).len(), 3);
}

#[test]
fn max_fragments() {
    let cfg = Config {
        max_fragments: 3,
        ..server()
    };
    let mut wire = frame(OP_TEXT, false, false, M, b"a");
    wire.extend(frame(OP_CONTINUATION, false, false, M, b""));
    wire.extend(frame(OP_CONTINUATION, true, false, M, b"c"));
    assert_eq!(run(cfg.clone(), &wire), vec![Seen::Text(b"ac".to_vec())]);
    let mut wire = frame(OP_TEXT, false, false, M, b"a");
    for _ in 0..2 {
        wire.extend(frame(OP_CONTINUATION, false, false, M, b""));
    }
    wire.extend(frame(OP_CONTINUATION, true, false, M, b"d"));
    let err = run_err(cfg, &wire);
    assert_eq!(err, ProtocolError::TooManyFragments);
    assert_eq!(err.message(), "Too many message fragments");
    assert_eq!(err.close_code(), 1008);
}

#[test]
fn max_buffered_chunks_counts_like_ws() {
    let cfg = Config {
        max_buffered_chunks: 2,
        ..client()
    };
    // ws's own scenario: a 5-byte frame whose payload trickles in.
    let wire = [0x82, 0x05, 0x61, 0x62, 0x63];
    let mut p = Parser::new(cfg.clone(), None);
    let seen = run_cut(&mut p, &wire, &[2, 3, 4]);
    assert_eq!(
        seen,
        vec![Seen::Error("WS_ERR_TOO_MANY_BUFFERED_PARTS".into())]
    );
    // The same frame in two pieces is fine, and the count resets after it.
    let mut p = Parser::new(cfg, None);
    let mut wire = wire.to_vec();
    wire.extend([0x64, 0x65]);
    wire.extend(frame(OP_BINARY, true, false, None, b"xyz"));
    let seen = run_cut(&mut p, &wire, &[3, 7, 9]);
    assert_eq!(
        seen,
        vec![
            Seen::Binary(b"abcde".to_vec(), vec![]),
            Seen::Binary(b"xyz".to_vec(), vec![])
        ]
    );
    let err = ProtocolError::TooManyBufferedChunks;
    assert_eq!(err.message(), "Too many buffered chunks");
}

#[test]
fn invalid_utf8_fails_fast() {
    let mut p = Parser::new(server(), None);
    let wire = frame(OP_TEXT, false, false, M, &[b'a', 0xff]);
    assert_eq!(
        run_cut(&mut p, &wire, &[]),
        vec![Seen::Error("WS_ERR_INVALID_UTF8".into())],
        "an impossible byte fails before the message ends"
    );
    // A code point split across fragments is valid.
    let euro = "€".as_bytes();
    let mut wire = frame(OP_TEXT, false, false, M, &euro[..1]);
    wire.extend(frame(OP_CONTINUATION, false, false, M, &euro[1..2]));
    wire.extend(frame(OP_CONTINUATION, true, false, M, &euro[2..]));
    assert_eq!(run(server(), &wire), vec![Seen::Text(euro.to_vec())]);
    // A message that ends inside a code point is not.
    let wire = frame(OP_TEXT, true, false, M, &euro[..2]);
    let err = run_err(server(), &wire);
    assert_eq!(err, ProtocolError::InvalidUtf8);
    assert_eq!(
        err.message(),
        "Invalid WebSocket frame: invalid UTF-8 sequence"
    );
    assert_eq!(err.close_code(), 1007);
    let skip = Config {
        skip_utf8_validation: true,
        ..server()
    };
    assert_eq!(run(skip, &wire), vec![Seen::Text(euro[..2].to_vec())]);
}

fn compressed(d: &mut Deflater, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    d.compress(msg, true, &mut out);
    out
}

#[test]
fn compressed_messages() {
    let mut d = Deflater::new(6, 15, false);
    let mut wire = Vec::new();
    for text in ["first message", "first message again", ""] {
        wire.extend(frame(
            OP_TEXT,
            true,
            true,
            M,
            &compressed(&mut d, text.as_bytes()),
        ));
    }
    // A compressed message in two fragments.
    let mut part = Vec::new();
    d.compress(b"split ", false, &mut part);
    wire.extend(frame(OP_BINARY, false, true, M, &part));
    let mut part = Vec::new();
    d.compress(b"message", true, &mut part);
    wire.extend(frame(OP_CONTINUATION, true, false, M, &part));
    let mut p = with_deflate(server());
    let seen = run_cut(&mut p, &wire, &[]);
    assert_eq!(seen[0], Seen::Text(b"first message".to_vec()));
    assert_eq!(seen[1], Seen::Text(b"first message again".to_vec()));
    assert_eq!(seen[2], Seen::Text(vec![]));
    match &seen[3] {
        Seen::Binary(b, _) => assert_eq!(b, b"split message"),
        other => panic!("{other:?}"),
    }
    // An uncompressed message still works with the extension on.
    let mut p = with_deflate(server());
    let plain = frame(OP_TEXT, true, false, M, b"plain");
    assert_eq!(
        run_cut(&mut p, &plain, &[]),
        vec![Seen::Text(b"plain".to_vec())]
    );
}

#[test]
fn compression_bomb_stops_at_max_payload() {
    let mut d = Deflater::new(9, 15, true);
    let bomb = compressed(&mut d, &vec![b'a'; 20 << 20]);
    let wire = frame(OP_BINARY, true, true, M, &bomb);
    let cfg = Config {
        max_payload: 1 << 20,
        ..server()
    };
    let mut p = Parser::new(cfg, Some(Inflater::new(15, true)));
    assert_eq!(
        run_cut(&mut p, &wire, &[]),
        vec![Seen::Error("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH".into())]
    );
}

#[test]
fn corrupt_compressed_data_is_a_1007() {
    let wire = frame(OP_TEXT, true, true, M, &[0xff, 0xff, 0xff]);
    let mut p = with_deflate(server());
    let mut chunk = wire.clone();
    let err = p.feed(&mut chunk, &mut Vec::new()).unwrap_err();
    assert_eq!(err.code(), "Z_DATA_ERROR");
    assert_eq!(err.close_code(), 1007);
}

#[test]
fn compressed_invalid_utf8_is_caught() {
    let mut d = Deflater::new(6, 15, false);
    let wire = frame(
        OP_TEXT,
        true,
        true,
        M,
        &compressed(&mut d, &[b'o', b'k', 0xc0, 0x80]),
    );
    let mut p = with_deflate(server());
    assert_eq!(
        run_cut(&mut p, &wire, &[]),
        vec![Seen::Error("WS_ERR_INVALID_UTF8".into())]
    );
}

#[test]
fn errors_stop_the_parser_and_keep_earlier_events() {
    let mut wire = frame(OP_TEXT, true, false, M, b"before");
    wire.extend(frame(OP_TEXT, true, false, None, b"x"));
    let mut p = Parser::new(server(), None);
    assert_eq!(
        run_cut(&mut p, &wire, &[]),
        vec![
            Seen::Text(b"before".to_vec()),
            Seen::Error("WS_ERR_EXPECTED_MASK".into())
        ]
    );
    // Later input is ignored, never a panic.
    assert_eq!(run_cut(&mut p, b"\x81\x85abcd", &[]), vec![]);
}

/// A stream of many random frames, cut at random points (and a byte at a
/// time), yields the same events as the unsplit stream.
#[test]
fn random_chunking_gives_the_same_events() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..40 {
        let is_server = round % 2 == 0;
        let deflate = round % 4 < 2;
        let mut d = Deflater::new(6, 15, false);
        let mut wire = Vec::new();
        for _ in 0..60 {
            let mask = if is_server {
                Some([
                    rng.next() as u8,
                    rng.next() as u8,
                    rng.next() as u8,
                    rng.next() as u8,
                ])
            } else {
                None
            };
            let len = match rng.below(10) {
                0 => 0,
                1 => 126 + rng.below(1000),
                2 => 65536 + rng.below(5000),
                _ => rng.below(126),
            };
            let payload: Vec<u8> = (0..len).map(|_| b'a' + (rng.next() % 26) as u8).collect();
            match rng.below(5) {
                0 => wire.extend(frame(OP_PING, true, false, mask, &payload[..len.min(125)])),
                1 => {
                    // Fragmented text with a pong in the middle.
                    let cut = rng.below(len + 1);
                    wire.extend(frame(OP_TEXT, false, false, mask, &payload[..cut]));
                    wire.extend(frame(OP_PONG, true, false, mask, b"mid"));
                    wire.extend(frame(OP_CONTINUATION, true, false, mask, &payload[cut..]));
                }
                2 if deflate => {
                    let z = compressed(&mut d, &payload);
                    wire.extend(frame(OP_BINARY, true, true, mask, &z));
                }
                _ => wire.extend(frame(OP_BINARY, true, false, mask, &payload)),
            }
        }
        wire.extend(frame(
            OP_CLOSE,
            true,
            false,
            if is_server { M } else { None },
            &[0x0f, 0xa0, b'!'],
        ));
        let cfg = Config {
            is_server,
            ..Config::default()
        };
        let make = || Parser::new(cfg.clone(), deflate.then(|| Inflater::new(15, false)));
        let whole = run_cut(&mut make(), &wire, &[]);
        assert_eq!(whole.last(), Some(&Seen::Close(4000, b"!".to_vec())));
        assert!(
            !whole.iter().any(|s| matches!(s, Seen::Error(_))),
            "{:?}",
            whole.last()
        );
        for _ in 0..3 {
            let mut cuts: Vec<usize> = (0..rng.below(200)).map(|_| rng.below(wire.len())).collect();
            cuts.sort_unstable();
            assert_eq!(run_cut(&mut make(), &wire, &cuts), whole, "round {round}");
        }
        if round < 4 {
            let cuts: Vec<usize> = (1..wire.len()).collect();
            assert_eq!(
                run_cut(&mut make(), &wire, &cuts),
                whole,
                "bytewise, round {round}"
            );
        }
    }
}

/// Owned messages (inflated, or gathered from several frames or chunks)
/// carry no large spare allocation, which JS would keep alive with them.
#[test]
fn owned_messages_are_not_oversized() {
    let mut d = Deflater::new(6, 15, false);
    let mut wire = Vec::new();
    for n in [1usize, 100, 5000, 300_000] {
        let msg: Vec<u8> = (0..n).map(|i| b'a' + (i % 7) as u8).collect();
        wire.extend(frame(OP_BINARY, true, true, M, &compressed(&mut d, &msg)));
        // The same message in 7 fragments, uncompressed.
        let step = n.div_ceil(7);
        for (i, part) in msg.chunks(step).enumerate() {
            let op = if i == 0 { OP_BINARY } else { OP_CONTINUATION };
            wire.extend(frame(op, (i + 1) * step >= n, false, M, part));
        }
    }
    let mut p = with_deflate(server());
    let mut events = Vec::new();
    // Cut so that every message is gathered across chunks.
    for piece in wire.chunks(1000) {
        let mut chunk = piece.to_vec();
        p.feed(&mut chunk, &mut events).unwrap();
    }
    let mut owned = 0;
    for e in &events {
        if let Event::Message {
            data: Payload::Owned(v),
            ..
        } = e
        {
            owned += 1;
            assert!(
                v.capacity() <= v.len() + v.len() / 8 + 64,
                "{} bytes held for {}",
                v.capacity(),
                v.len()
            );
        }
    }
    // All but the 1-byte message sent as one fragment.
    assert_eq!(owned, 7);
}
