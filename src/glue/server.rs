//! `NativeServer`: the JavaScript handle of the native I/O engine
//! (`src/engine/`). The engine wakes JavaScript with one thread-safe call
//! per batch; JavaScript then takes the batch with `poll()` and answers
//! with one `submit()` per turn.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, BufferSlice, Function, Uint32ArraySlice};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Error, Result, Status};
use napi_derive::napi;

use super::small;
use crate::engine::http::HeadLimits;
use crate::engine::inbox::Batch;
use crate::engine::{CommandBatch, Engine, EngineConfig, Notifier, Pinned};
use crate::protocol::parser::Config;
use crate::record::word;

/// Options of `new NativeServer()` (checked and defaulted in JS).
#[napi(object)]
pub struct NativeServerOptions {
    pub host: String,
    pub port: u32,
    pub backlog: u32,
    pub reuse_port: bool,
    pub max_payload: f64,
    pub max_fragments: u32,
    pub max_buffered_chunks: u32,
    #[napi(js_name = "skipUTF8Validation")]
    pub skip_utf8_validation: bool,
    pub deflate_level: u32,
    /// zlib's memLevel (1..=9) and strategy (0..=4) for permessage-deflate.
    pub deflate_mem_level: Option<u32>,
    pub deflate_strategy: Option<u32>,
    pub max_buffered_amount: f64,
    pub handshake_timeout: u32,
    pub max_header_size: u32,
    pub max_headers: u32,
}

type Wake = ThreadsafeFunction<(), (), (), Status, false>;

struct TsfnNotifier(Wake);

impl Notifier for TsfnNotifier {
    fn notify(&self) -> bool {
        self.0.call((), ThreadsafeFunctionCallMode::NonBlocking) != Status::Closing
    }
}

/// A listening native engine.
#[napi]
pub struct NativeServer {
    engine: Option<Engine>,
    address: String,
    family: String,
    port: u32,
    batch: Option<Batch>,
    owned: Vec<Vec<u8>>,
}

fn internal(what: &str) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("wsrs: internal error in {what}"),
    )
}

#[napi]
impl NativeServer {
    /// Binds and starts the engine; `onWake` is called (with no arguments)
    /// whenever events are waiting. Bind errors are thrown with the OS
    /// error's `code` in the message (`"EADDRINUSE: ..."`).
    #[napi(constructor)]
    pub fn new(options: NativeServerOptions, on_wake: Function<(), ()>) -> Result<Self> {
        let wake: Wake = on_wake
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(|_| Ok(()))?;
        let max_payload = if options.max_payload.is_finite() && options.max_payload > 0.0 {
            options.max_payload as u64
        } else {
            0
        };
        let max_buffered =
            if options.max_buffered_amount.is_finite() && options.max_buffered_amount > 0.0 {
                options.max_buffered_amount.min(usize::MAX as f64) as usize
            } else {
                0
            };
        let cfg = EngineConfig {
            host: options.host,
            port: options.port.min(65535) as u16,
            backlog: options.backlog,
            reuse_port: options.reuse_port,
            parser: Config {
                is_server: true,
                max_payload,
                max_fragments: options.max_fragments,
                max_buffered_chunks: options.max_buffered_chunks,
                skip_utf8_validation: options.skip_utf8_validation,
            },
            deflate_level: options.deflate_level.min(9),
            deflate_mem_level: small(options.deflate_mem_level.unwrap_or(8), 1, 9),
            deflate_strategy: small(options.deflate_strategy.unwrap_or(0), 0, 4),
            max_buffered_amount: max_buffered,
            handshake_timeout: Duration::from_millis(u64::from(options.handshake_timeout.max(1))),
            head_limits: HeadLimits {
                max_bytes: options.max_header_size.max(256) as usize,
                max_headers: options.max_headers.max(1) as usize,
            },
        };
        let started = catch_unwind(AssertUnwindSafe(|| {
            Engine::start(cfg, Box::new(TsfnNotifier(wake)))
        }))
        .map_err(|_| internal("NativeServer"))?;
        let (engine, addr) = started.map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::AddrInUse => "EADDRINUSE",
                std::io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
                std::io::ErrorKind::PermissionDenied => "EACCES",
                _ => "ELISTEN",
            };
            Error::new(Status::GenericFailure, format!("{code}: {e}"))
        })?;
        Ok(Self {
            engine: Some(engine),
            address: addr.ip().to_string(),
            family: if addr.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
            port: u32::from(addr.port()),
            batch: None,
            owned: Vec::new(),
        })
    }

    /// The bound address.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// `"IPv4"` or `"IPv6"`.
    #[napi(getter)]
    pub fn family(&self) -> String {
        self.family.clone()
    }

    /// The bound port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Takes the waiting events: records go to `tape` from index 4 (four
    /// words each), `tape[0]` = record count, `tape[1]` = owned buffers
    /// (fetch them with `takeOwned()`). Returns the bytes the records point
    /// into, or `null` with `tape[0]` = the records needed if the tape is
    /// too small (call again with a larger one).
    #[napi(catch_unwind)]
    pub fn poll(&mut self, mut tape: Uint32ArraySlice) -> Option<Buffer> {
        // SAFETY: JS is blocked in this call; nothing else touches the tape.
        let tape = unsafe { tape.as_mut() };
        if tape.len() < 4 {
            return None;
        }
        let batch = match self.batch.take() {
            Some(b) => b,
            None => self.engine.as_ref()?.poll(),
        };
        let n = batch.len();
        if 4 + batch.recs.len() > tape.len() {
            tape[0] = word(n);
            tape[1] = u32::MAX;
            self.batch = Some(batch);
            return None;
        }
        tape[0] = word(n);
        tape[1] = word(batch.owned.len());
        tape[4..4 + batch.recs.len()].copy_from_slice(&batch.recs);
        self.owned = batch.owned;
        Some(Buffer::from(batch.data))
    }

    /// The owned payloads of the last `poll()`, in index order.
    #[napi(catch_unwind)]
    pub fn take_owned(&mut self) -> Vec<Buffer> {
        std::mem::take(&mut self.owned)
            .into_iter()
            .map(Buffer::from)
            .collect()
    }

    /// Queues `count` command records from `tape` (four words each, from
    /// index 0), whose payloads are in `data[0..dataLength]` or in `bigs`.
    #[napi(catch_unwind)]
    pub fn submit(
        &mut self,
        tape: Uint32ArraySlice,
        count: u32,
        data: BufferSlice,
        data_length: u32,
        bigs: Option<Vec<Buffer>>,
    ) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let words = (count as usize * 4).min(tape.len());
        let used = (data_length as usize).min(data.len());
        engine.submit(CommandBatch {
            recs: tape[..words].to_vec(),
            data: data[..used].to_vec(),
            // SAFETY: lib/native/connection.js keeps each of these Buffers
            // referenced until the engine reports its frame written or the
            // connection closed (see `Pinned`).
            bigs: bigs
                .unwrap_or_default()
                .iter()
                .map(|b| unsafe { Pinned::new(b.as_ptr(), b.len()) })
                .collect(),
        });
    }

    /// Stops accepting connections (open ones carry on).
    #[napi(catch_unwind)]
    pub fn close(&self) {
        if let Some(engine) = self.engine.as_ref() {
            engine.close();
        }
    }

    /// Stops the engine now, dropping every connection, and waits for its
    /// thread. Called once the server has closed, or on teardown.
    #[napi(catch_unwind)]
    pub fn destroy(&mut self) {
        self.engine = None;
    }

    /// Whether the engine's thread has ended.
    #[napi(getter, catch_unwind)]
    pub fn finished(&self) -> bool {
        self.engine.as_ref().is_none_or(Engine::is_finished)
    }
}
