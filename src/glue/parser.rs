//! `NativeParser`: the frame parser for one connection, fed a socket chunk
//! at a time from `lib/receiver.js`.
//!
//! One call per chunk. Events are written as records of four u32 into a
//! `Uint32Array` ("tape") that JS allocated once, so no JS object is created
//! per event:
//!
//! | word 0 (kind)  | word 1 | word 2 | word 3 |
//! |---|---|---|---|
//! | TEXT / BINARY / PING / PONG / CLOSE, plus OWNED flag | start, or owned index | end | close code, or 1 + owned index of fragment ends |
//! | ERROR | 0 | 0 | 0 |
//!
//! A payload inside the chunk is a `start..end` range of it (already
//! unmasked in place); a payload gathered across chunks or inflated is an
//! owned Buffer, fetched with `takeOwned()` after the records that name it.

use std::collections::VecDeque;

use napi::bindgen_prelude::{Buffer, BufferSlice, Uint32ArraySlice};
use napi::Result;
use napi_derive::napi;

use super::probe;
use crate::protocol::deflate::Inflater;
use crate::protocol::error::ProtocolError;
use crate::protocol::parser::{Config, Event, Parser, Payload};
use crate::record::word;

const TEXT: u32 = 1;
const BINARY: u32 = 2;
const PING: u32 = 3;
const PONG: u32 = 4;
const CLOSE: u32 = 5;
const ERROR: u32 = 0xff;
const OWNED: u32 = 0x100;

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

    /// Fragment end offsets named by records (word 3 = 1 + index).
    #[napi(catch_unwind)]
    pub fn take_fragments(&mut self) -> Vec<Vec<u32>> {
        std::mem::take(&mut self.fragments)
    }

    /// The error an ERROR record stands for, encoded as every error crossing
    /// into JavaScript is (see `ProtocolError::encoded`).
    #[napi(catch_unwind)]
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take().map(|e| e.encoded())
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
        let capacity = tape.len() / 4;
        let mut n = 0;
        while n < capacity {
            let Some(event) = self.pending.pop_front() else {
                if self.error.is_some() && n < capacity {
                    tape[n * 4..n * 4 + 4].copy_from_slice(&[ERROR, 0, 0, 0]);
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
        match event {
            Event::Message {
                binary,
                data,
                fragment_ends,
            } => {
                let (flag, a, b) = self.payload(data);
                let extra = if fragment_ends.is_empty() {
                    0
                } else {
                    self.fragments
                        .push(fragment_ends.iter().map(|&e| word(e)).collect());
                    word(self.fragments.len())
                };
                let kind = if binary { BINARY } else { TEXT };
                [kind | flag, a, b, extra]
            }
            Event::Ping(p) => {
                let (flag, a, b) = self.payload(p);
                [PING | flag, a, b, 0]
            }
            Event::Pong(p) => {
                let (flag, a, b) = self.payload(p);
                [PONG | flag, a, b, 0]
            }
            Event::Close { code, reason } => {
                let (flag, a, b) = self.payload(reason);
                [CLOSE | flag, a, b, u32::from(code)]
            }
        }
    }
}
