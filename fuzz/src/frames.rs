//! Frame parsing, as a server and as a client, with arbitrary chunking.
//!
//! Input layout: four configuration bytes, a count and that many chunking
//! seeds, then the stream. The stream is either raw wire bytes or, when
//! the configuration says so, a list of frame descriptions that are built
//! (and masked and compressed) into wire bytes first, so the fuzzer reaches
//! deep into valid and nearly valid traffic.
//!
//! Invariants: the parser never panics; cutting the stream differently
//! (the seeds' cuts, one chunk, one byte per chunk) gives the same events
//! and the same error; every event respects the limits and the protocol
//! (sizes, UTF-8, close codes, fragment ends); nothing comes after a close
//! frame or an error; and a `maxBufferedChunks` limit only ever cuts the
//! same run short with its own error.

use wsrs::protocol::close::is_valid_status_code;
use wsrs::protocol::deflate::{Deflater, Inflater};
use wsrs::protocol::error::ProtocolError;
use wsrs::protocol::frame::{build_header, FrameSpec};
use wsrs::protocol::mask::mask_into;
use wsrs::protocol::parser::{Config, Event, Parser};

use super::bytes::{bytewise, cuts, split, Reader};

/// At most this much plain payload is generated in structured mode.
const MAX_PLAIN: usize = 256 << 10;
/// Streams up to this long are also fed one byte per chunk.
const BYTEWISE_MAX: usize = 2048;

/// What one run saw: its events, then the error it stopped on, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Events in order, with owned payloads.
    pub events: Vec<Event>,
    /// The error, if the parser failed.
    pub error: Option<ProtocolError>,
}

impl Outcome {
    /// The outcome with zlib's description of an inflate failure left out:
    /// zlib words one failure differently depending on how much input it
    /// had at hand. The code and errno (all ws exposes) still count.
    pub fn comparable(mut self) -> Self {
        if let Some(ProtocolError::Inflate(f)) = &mut self.error {
            f.message.clear();
        }
        self
    }
}

/// The parser settings a fuzz input chose.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The parser's limits and role.
    pub cfg: Config,
    /// Negotiated window bits when permessage-deflate is on.
    pub deflate: Option<u8>,
    /// No context takeover for the peer's compressor.
    pub no_context_takeover: bool,
}

impl Setup {
    fn parser(&self, max_buffered_chunks: u32) -> Parser {
        let cfg = Config {
            max_buffered_chunks,
            ..self.cfg.clone()
        };
        let inflater = self
            .deflate
            .map(|bits| Inflater::new(bits, self.no_context_takeover));
        Parser::new(cfg, inflater)
    }
}

const PAYLOAD_LIMITS: [u64; 8] = [0, 1, 16, 125, 126, 1000, 65_536, 1 << 20];
const FRAGMENT_LIMITS: [u32; 4] = [0, 1, 2, 5];

/// Runs every check on one fuzz input; `is_server` picks the role.
pub fn check(data: &[u8], is_server: bool) {
    let mut r = Reader::new(data);
    let flags = r.byte();
    let limits = r.byte();
    let window = r.byte();
    let buffered = r.byte();
    let seed_count = usize::from(r.byte() % 16);
    let seeds = r.take(seed_count).to_vec();

    let setup = Setup {
        cfg: Config {
            is_server,
            max_payload: PAYLOAD_LIMITS[usize::from(limits & 7)],
            max_fragments: FRAGMENT_LIMITS[usize::from((limits >> 3) & 3)],
            max_buffered_chunks: 0,
            skip_utf8_validation: flags & 2 != 0,
        },
        deflate: (flags & 1 != 0).then_some(8 + (window & 7)),
        no_context_takeover: window & 8 != 0,
    };
    let wire = if flags & 4 != 0 {
        build_wire(&setup, r)
    } else {
        r.rest().to_vec()
    };

    let a = run(&setup, &wire, &cuts(&seeds, wire.len()), 0).comparable();
    check_outcome(&setup, &a);
    let b = run(&setup, &wire, &[], 0).comparable();
    assert_eq!(a, b, "seeded cuts vs one chunk");
    if wire.len() <= BYTEWISE_MAX {
        let c = run(&setup, &wire, &bytewise(wire.len()), 0).comparable();
        assert_eq!(a, c, "seeded cuts vs one byte per chunk");
    }

    // A chunk limit can only stop the same run early, with its own error.
    let limit = u32::from(buffered % 8) + 1;
    let d = run(&setup, &wire, &cuts(&seeds, wire.len()), limit).comparable();
    if d.error == Some(ProtocolError::TooManyBufferedChunks) {
        assert!(d.events.len() <= a.events.len());
        assert_eq!(d.events[..], a.events[..d.events.len()]);
    } else {
        assert_eq!(
            a, d,
            "maxBufferedChunks {limit} changed a run it did not stop"
        );
    }
}

/// Feeds `wire` cut at `cut_list` to a fresh parser.
pub fn run(setup: &Setup, wire: &[u8], cut_list: &[usize], max_buffered_chunks: u32) -> Outcome {
    let mut parser = setup.parser(max_buffered_chunks);
    let mut events = Vec::new();
    for piece in split(wire, cut_list) {
        let mut chunk = piece.to_vec();
        let mut out = Vec::new();
        let result = parser.feed(&mut chunk, &mut out);
        if parser.is_closed() || result.is_err() {
            assert!(
                result.is_err() || matches!(out.last(), Some(Event::Close { .. })),
                "closed without a close event"
            );
        }
        events.extend(out.into_iter().map(|e| e.into_owned(&chunk)));
        if let Err(error) = result {
            // A failed parser ignores whatever follows.
            let mut more = wire[..wire.len().min(64)].to_vec();
            let mut after = Vec::new();
            assert_eq!(parser.feed(&mut more, &mut after), Ok(()));
            assert!(after.is_empty(), "events after an error");
            return Outcome {
                events,
                error: Some(error),
            };
        }
        if parser.is_closed() {
            // So does a closed one.
            let mut more = wire[..wire.len().min(64)].to_vec();
            let mut after = Vec::new();
            assert_eq!(parser.feed(&mut more, &mut after), Ok(()));
            assert!(after.is_empty(), "events after a close frame");
            break;
        }
    }
    Outcome {
        events,
        error: None,
    }
}

/// Protocol and limit invariants of one run's events.
pub fn check_outcome(setup: &Setup, outcome: &Outcome) {
    let cfg = &setup.cfg;
    let max = if cfg.max_payload > 0 {
        cfg.max_payload as usize
    } else {
        usize::MAX
    };
    for (i, e) in outcome.events.iter().enumerate() {
        match e {
            Event::Message {
                binary: false,
                data,
                ..
            } => {
                let t = data.bytes(&[]);
                assert!(t.len() <= max, "text of {} over maxPayload {max}", t.len());
                if !cfg.skip_utf8_validation {
                    assert!(std::str::from_utf8(t).is_ok(), "invalid UTF-8 passed");
                }
            }
            Event::Message {
                binary: true,
                data,
                fragment_ends: ends,
            } => {
                let b = data.bytes(&[]);
                assert!(
                    b.len() <= max,
                    "binary of {} over maxPayload {max}",
                    b.len()
                );
                assert!(ends.len() != 1, "a single fragment end is reported");
                assert!(ends.windows(2).all(|w| w[0] < w[1]), "ends {ends:?}");
                if let Some(&last) = ends.last() {
                    assert_eq!(last, b.len(), "last fragment end");
                    if cfg.max_fragments > 0 {
                        assert!(ends.len() <= cfg.max_fragments as usize);
                    }
                }
            }
            Event::Ping(p) | Event::Pong(p) => assert!(p.bytes(&[]).len() <= 125),
            Event::Close { code, reason } => {
                let reason = reason.bytes(&[]);
                assert_eq!(i, outcome.events.len() - 1, "events after the close");
                assert!(outcome.error.is_none(), "an error after the close");
                assert!(reason.len() <= 123);
                if *code == 1005 {
                    assert!(reason.is_empty());
                } else {
                    assert!(is_valid_status_code(*code), "close code {code}");
                }
                if !cfg.skip_utf8_validation {
                    assert!(std::str::from_utf8(reason).is_ok(), "bad reason passed");
                }
            }
        }
    }
    if let Some(ProtocolError::Inflate(_)) = &outcome.error {
        assert!(setup.deflate.is_some(), "inflate error without deflate");
    }
    if outcome.error == Some(ProtocolError::TooManyFragments) {
        assert!(cfg.max_fragments > 0);
    }
}

/// Builds wire bytes from frame descriptions. Each description is a flag
/// byte (low nibble opcode; 0x10 FIN; 0x20 RSV1; 0x40 wrong masking for
/// the role; 0x80 an extension byte follows), the optional extension byte
/// (0x01 compress the message; 0x0e repeat the payload 4^n times; 0x10
/// append the payload raw, unframed; 0x20 write the length in the 8-byte
/// form; 0x40 claim one byte more than is sent, ending the stream), a
/// length byte and the payload, and for masked frames the 4-byte key.
pub fn build_wire(setup: &Setup, mut r: Reader<'_>) -> Vec<u8> {
    let masked = setup.cfg.is_server;
    let mut deflater = setup
        .deflate
        .map(|bits| Deflater::new(6, bits, setup.no_context_takeover));
    let mut compressing = false;
    let mut plain_total = 0usize;
    let mut wire = Vec::new();
    while !r.is_empty() && plain_total <= MAX_PLAIN {
        let f = r.byte();
        let ext = if f & 0x80 != 0 { r.byte() } else { 0 };
        let len = usize::from(r.byte());
        let unit = r.take(len);
        let repeat = 1usize << (2 * usize::from((ext >> 1) & 7));
        let mut payload = Vec::with_capacity(unit.len() * repeat);
        for _ in 0..repeat {
            payload.extend_from_slice(unit);
        }
        plain_total += payload.len();
        if ext & 0x10 != 0 {
            wire.extend_from_slice(&payload);
            continue;
        }
        let opcode = f & 0x0f;
        let fin = f & 0x10 != 0;
        let mut rsv1 = f & 0x20 != 0;
        if matches!(opcode, 1 | 2) {
            compressing = ext & 1 != 0 && deflater.is_some();
            rsv1 |= compressing;
        }
        if opcode < 8 && compressing {
            if let Some(d) = deflater.as_mut() {
                let mut z = Vec::new();
                d.compress(&payload, fin, &mut z);
                payload = z;
            }
        }
        if opcode < 8 && fin {
            compressing = false;
        }
        let key = if masked != (f & 0x40 != 0) {
            let k = r.take(4);
            let mut key = [0u8; 4];
            key[..k.len()].copy_from_slice(k);
            Some(key)
        } else {
            None
        };
        let truncate = ext & 0x40 != 0;
        let claimed = payload.len() as u64 + u64::from(truncate);
        let spec = FrameSpec {
            opcode,
            fin,
            rsv1,
            mask: key,
        };
        if ext & 0x20 != 0 {
            // The 8-byte length form even for short payloads (allowed).
            let mut h = vec![(f & 0x0f) | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 }];
            h.push(if key.is_some() { 0x80 | 127 } else { 127 });
            h.extend_from_slice(&claimed.to_be_bytes());
            if let Some(k) = key {
                h.extend_from_slice(&k);
            }
            wire.extend_from_slice(&h);
        } else {
            wire.extend_from_slice(build_header(spec, claimed).as_bytes());
        }
        let start = wire.len();
        wire.resize(start + payload.len(), 0);
        match key {
            Some(k) => mask_into(&payload, k, &mut wire[start..]),
            None => wire[start..].copy_from_slice(&payload),
        }
        if truncate {
            break;
        }
    }
    wire
}
