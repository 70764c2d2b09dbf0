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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice, Uint32ArraySlice};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;

use super::{probe, POOL_THREAD_STREAMS};
use crate::protocol::deflate::{Decompressor, Inflater};
use crate::protocol::error::ProtocolError;
use crate::protocol::parser::{Config, Event, Parser, Payload};
use crate::protocol::streams;
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

/// What parsing needs, shared with a pool thread while it parses a chunk
/// (`feedAsync`).
struct Core {
    parser: Parser,
    pending: VecDeque<Event>,
    error: Option<ProtocolError>,
}

impl Core {
    fn feed(&mut self, chunk: &mut [u8]) {
        let mut events = Vec::new();
        probe(chunk);
        let result = self.parser.feed(chunk, &mut events);
        self.pending.extend(events);
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

/// The parser for one connection's incoming bytes.
#[napi]
pub struct NativeParser {
    core: Arc<Mutex<Core>>,
    owned: Vec<Buffer>,
    fragments: Vec<Vec<u32>>,
}

/// Parses one chunk on the libuv thread pool: a chunk that inflates to a
/// lot of data, off the JavaScript thread.
pub struct FeedTask {
    core: Arc<Mutex<Core>>,
    chunk: Buffer,
}

impl Task for FeedTask {
    type Output = ();
    type JsValue = ();

    // A panic here would abort the process: caught, and the parser is not
    // used again (its lock is poisoned).
    fn compute(&mut self) -> Result<()> {
        let (core, chunk) = (&self.core, &mut self.chunk);
        catch_unwind(AssertUnwindSafe(|| {
            // A pool thread inflates only the odd large message: it keeps
            // few zlib streams of its own.
            streams::limit_this_thread::<Decompressor>(POOL_THREAD_STREAMS);
            let mut core = core.lock().map_err(|_| poisoned())?;
            core.feed(chunk);
            Ok(())
        }))
        .unwrap_or_else(|_| {
            Err(Error::new(
                Status::GenericFailure,
                "wsrs: internal error in the frame parser",
            ))
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::new(
        Status::GenericFailure,
        "wsrs: the frame parser failed before",
    )
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
            core: Arc::new(Mutex::new(Core {
                parser: Parser::new(cfg, inflater),
                pending: VecDeque::new(),
                error: None,
            })),
            owned: Vec::new(),
            fragments: Vec::new(),
        }
    }

    /// Parses `chunk` (unmasking payloads in place) and writes as many
    /// records as fit into `tape`. Returns how many were written; when it
    /// equals the tape's capacity, call `more()` for the rest.
    #[napi(catch_unwind)]
    pub fn feed(&mut self, mut chunk: BufferSlice, mut tape: Uint32ArraySlice) -> Result<u32> {
        self.core()?.feed(&mut chunk);
        // SAFETY: JS is blocked in this call; nothing else touches the tape.
        self.write(unsafe { tape.as_mut() })
    }

    /// Parses `chunk` on the libuv thread pool; once it resolves, `more()`
    /// writes the records. The chunk must not be touched until then, nor
    /// the parser used.
    #[napi(catch_unwind)]
    pub fn feed_async(&self, chunk: Buffer) -> AsyncTask<FeedTask> {
        AsyncTask::new(FeedTask {
            core: Arc::clone(&self.core),
            chunk,
        })
    }

    /// Writes records left over by the last `feed` into `tape`.
    #[napi(catch_unwind)]
    pub fn more(&mut self, mut tape: Uint32ArraySlice) -> Result<u32> {
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
    pub fn total_payload_length(&self) -> Result<f64> {
        Ok(self.core()?.parser.total_payload() as f64)
    }

    /// A count that grows whenever the parser inflates: compare it before
    /// and after `feed()` to know whether a chunk carried compressed data.
    #[napi(getter, catch_unwind)]
    pub fn inflated(&self) -> Result<f64> {
        Ok(self.core()?.parser.inflated() as f64)
    }

    fn core(&self) -> Result<MutexGuard<'_, Core>> {
        self.core.lock().map_err(|_| poisoned())
    }

    fn write(&mut self, tape: &mut [u32]) -> Result<u32> {
        let core = Arc::clone(&self.core);
        let mut core = core.lock().map_err(|_| poisoned())?;
        // Owned indices count from 0 in every batch of records.
        self.owned.clear();
        self.fragments.clear();
        // Fragment lists are indexed by `extra`: at most that many records.
        let capacity = (tape.len() / 4).min(EXTRA_MAX);
        let mut n = 0;
        while n < capacity {
            let Some(event) = core.pending.pop_front() else {
                if let Some(e) = core.error.take() {
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
        Ok(word(n))
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
