//! `NativeParser`: the frame parser for one connection, fed a socket chunk
//! at a time from `lib/receiver.js`.
//!
//! One call per chunk. Events are written into a `Uint32Array` ("tape")
//! that JS allocated once, so no JS object is created per event. They are
//! the records both engines write (`crate::record`), with id 0:
//!
//! - a payload inside the chunk is an `a..b` range of it (already unmasked
//!   in place);
//! - a payload gathered across chunks or inflated is an `OWNED` Buffer,
//!   fetched with `takeOwned()` after the records that name it, as is an
//!   error's encoded form;
//! - a binary message of several fragments has the `FRAGMENTS` flag, its
//!   ends fetched with `takeFragments()`.

use std::collections::VecDeque;

use napi::bindgen_prelude::{Buffer, BufferSlice, Uint32ArraySlice};
use napi::Result;
use napi_derive::napi;

use super::probe;
use crate::protocol::deflate::Inflater;
use crate::protocol::error::ProtocolError;
use crate::protocol::parser::{Config, Event, Parser, Payload};
use crate::record::{
    head, word, EV_BINARY, EV_CLOSE, EV_ERROR, EV_PING, EV_PONG, EV_TEXT, EXTRA_MAX, FRAGMENTS,
    OWNED,
};

/// Options for a parser; numbers follow ws's options (0 disables a limit).
#[napi(object)]
pub struct ParserOptions {
    pub is_server: bool,
    pub max_payload: f64,
    pub max_fragments: u32,
    pub max_buffered_chunks: u32,
    #[napi(js_name = "skipUTF8Validation")]
    pub skip_utf8_validation: bool,
    /// Window bits of the peer's compressor when permessage-deflate was
    /// negotiated; absent otherwise.
    pub inflate_window_bits: Option<u32>,
    /// Whether the peer resets its compressor after each message.
    pub inflate_no_context_takeover: Option<bool>,
}

/// The parser for one connection's incoming bytes.
#[napi]
pub struct NativeParser {
    parser: Parser,
    pending: VecDeque<Event>,
    owned: Vec<Buffer>,
    fragments: Vec<Vec<u32>>,
    error: Option<ProtocolError>,
}

#[napi]
impl NativeParser {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: ParserOptions) -> Self {
        let max_payload = if options.max_payload.is_finite() && options.max_payload > 0.0 {
            options.max_payload as u64
        } else {
            0
        };
        let cfg = Config {
            is_server: options.is_server,
            max_payload,
            max_fragments: options.max_fragments,
            max_buffered_chunks: options.max_buffered_chunks,
            skip_utf8_validation: options.skip_utf8_validation,
        };
        let inflater = options.inflate_window_bits.map(|bits| {
            Inflater::new(
                bits.clamp(8, 15) as u8,
                options.inflate_no_context_takeover.unwrap_or(false),
            )
        });
        Self {
            parser: Parser::new(cfg, inflater),
            pending: VecDeque::new(),
            owned: Vec::new(),
            fragments: Vec::new(),
            error: None,
        }
    }

    /// Parses `chunk` (unmasking payloads in place) and writes as many
    /// records as fit into `tape`. Returns how many were written; when it
    /// equals the tape's capacity, call `more()` for the rest.
    #[napi(catch_unwind)]
    pub fn feed(&mut self, mut chunk: BufferSlice, mut tape: Uint32ArraySlice) -> Result<u32> {
        let mut events = Vec::new();
        probe(&chunk);
        let result = self.parser.feed(&mut chunk, &mut events);
        self.pending.extend(events);
        if let Err(e) = result {
            self.error = Some(e);
        }
        // SAFETY: JS is blocked in this call; nothing else touches the tape.
        Ok(self.write(unsafe { tape.as_mut() }))
    }

    /// Writes records left over by the last `feed` into `tape`.
    #[napi(catch_unwind)]
    pub fn more(&mut self, mut tape: Uint32ArraySlice) -> u32 {
        // SAFETY: JS is blocked in this call; nothing else touches the tape.
        self.write(unsafe { tape.as_mut() })
    }

    /// The owned payloads named by the last batch of records, in order.
    #[napi(catch_unwind)]
    pub fn take_owned(&mut self) -> Vec<Buffer> {
        std::mem::take(&mut self.owned)
    }

    /// Fragment end offsets named by records (`FRAGMENTS`, at `extra`).
    #[napi(catch_unwind)]
    pub fn take_fragments(&mut self) -> Vec<Vec<u32>> {
        std::mem::take(&mut self.fragments)
    }

    /// ws's `_totalPayloadLength`: payload bytes of the data message in
    /// progress.
    #[napi(getter, catch_unwind)]
    pub fn total_payload_length(&self) -> f64 {
        self.parser.total_payload() as f64
    }

    /// A count that grows whenever the parser inflates: compare it before
    /// and after `feed()` to know whether a chunk carried compressed data.
    #[napi(getter, catch_unwind)]
    pub fn inflated(&self) -> f64 {
        self.parser.inflated() as f64
    }

    fn write(&mut self, tape: &mut [u32]) -> u32 {
        // Owned indices count from 0 in every batch of records.
        self.owned.clear();
        self.fragments.clear();
        // Fragment lists are indexed by `extra`: at most that many records.
        let capacity = (tape.len() / 4).min(EXTRA_MAX);
        let mut n = 0;
        while n < capacity {
            let Some(event) = self.pending.pop_front() else {
                if let Some(e) = self.error.take() {
                    let (flag, a, b) = self.payload(Payload::Owned(e.encoded().into_bytes()));
                    tape[n * 4..n * 4 + 4].copy_from_slice(&[head(EV_ERROR, flag, 0), 0, a, b]);
                    n += 1;
                }
                break;
            };
            let record = self.record(event);
            tape[n * 4..n * 4 + 4].copy_from_slice(&record);
            n += 1;
        }
        word(n)
    }

    fn payload(&mut self, p: Payload) -> (u32, u32, u32) {
        match p {
            Payload::Input(r) => (0, word(r.start), word(r.end)),
            Payload::Owned(v) => {
                let len = word(v.len());
                self.owned.push(Buffer::from(v));
                (OWNED, word(self.owned.len() - 1), len)
            }
        }
    }

    fn record(&mut self, event: Event) -> [u32; 4] {
        let (kind, flag, extra, data) = match event {
            Event::Message {
                binary,
                data,
                fragment_ends,
            } => {
                if !binary {
                    (EV_TEXT, 0, 0, data)
                } else if fragment_ends.is_empty() {
                    (EV_BINARY, 0, 0, data)
                } else {
                    self.fragments
                        .push(fragment_ends.iter().map(|&e| word(e)).collect());
                    let index = word(self.fragments.len() - 1);
                    (EV_BINARY, FRAGMENTS, index, data)
                }
            }
            Event::Ping(p) => (EV_PING, 0, 0, p),
            Event::Pong(p) => (EV_PONG, 0, 0, p),
            Event::Close { code, reason } => (EV_CLOSE, 0, u32::from(code), reason),
        };
        let (owned, a, b) = self.payload(data);
        [head(kind, flag | owned, extra), 0, a, b]
    }
}
