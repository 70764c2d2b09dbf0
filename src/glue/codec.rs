//! `NativeDeflate` and `NativeInflate`: permessage-deflate compression for
//! `lib/permessage-deflate.js` (the Sender's compression, and the public
//! `compress`/`decompress` methods).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;

use super::probe;
use crate::protocol::deflate::{Compressor, DeflateOptions, Deflater, InflateError, Inflater};
use crate::protocol::streams;

use super::{small, POOL_THREAD_STREAMS};
use crate::protocol::error::ProtocolError;

/// Compresses one direction's messages. The compressor sits behind a
/// mutex so a large message can be compressed on the libuv thread pool;
/// the Sender never runs two compressions of one connection at once, so
/// the lock is never contended.
#[napi]
pub struct NativeDeflate {
    inner: Arc<Mutex<Deflater>>,
}

/// Runs one compression on the libuv thread pool.
pub struct CompressTask {
    deflater: Arc<Mutex<Deflater>>,
    data: Buffer,
    fin: bool,
}

impl Task for CompressTask {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    // napi-rs runs this on a pool thread without catching panics, and a
    // panic there would abort the process: catch it here. A panic while
    // the lock is held poisons it, as in `compress()`, so a compressor in
    // an unknown state is never used again.
    fn compute(&mut self) -> Result<Vec<u8>> {
        let (deflater, data, fin) = (&self.deflater, &self.data, self.fin);
        catch_unwind(AssertUnwindSafe(|| {
            let mut deflater = deflater
                .lock()
                .map_err(|_| Error::new(Status::GenericFailure, "the compressor is poisoned"))?;
            // A pool thread compresses only the odd large message: it keeps
            // few zlib streams of its own.
            streams::limit_this_thread::<Compressor>(POOL_THREAD_STREAMS);
            let mut out = Vec::new();
            probe(data);
            deflater.compress(data, fin, &mut out);
            Ok(out)
        }))
        .unwrap_or_else(|_| {
            Err(Error::new(
                Status::GenericFailure,
                "wsrs: internal error in compress",
            ))
        })
    }

    fn resolve(&mut self, _env: Env, output: Vec<u8>) -> Result<Buffer> {
        Ok(Buffer::from(output))
    }
}

#[napi]
impl NativeDeflate {
    /// `level` is zlib's 0..=9 (-1 means the default, 6); `mem_level`
    /// (1..=9, default 8) and `strategy` (0..=4, default 0) are zlib's too.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        level: i32,
        window_bits: u32,
        no_context_takeover: bool,
        mem_level: Option<u32>,
        strategy: Option<u32>,
    ) -> Self {
        let level = u32::try_from(level).ok().filter(|l| *l <= 9).unwrap_or(6);
        let options = DeflateOptions {
            mem_level: small(mem_level.unwrap_or(8), 1, 9),
            strategy: small(strategy.unwrap_or(0), 0, 4),
            ..DeflateOptions::new(level, small(window_bits, 8, 15))
        };
        let deflater = Deflater::with_options(options, no_context_takeover);
        Self {
            inner: Arc::new(Mutex::new(deflater)),
        }
    }

    /// Compresses a fragment in the calling thread; with `fin`, the
    /// sync-flush tail is removed.
    #[napi(catch_unwind)]
    pub fn compress(&mut self, data: BufferSlice, fin: bool) -> Result<Buffer> {
        let mut out = Vec::new();
        let mut deflater = self
            .inner
            .lock()
            .map_err(|_| Error::new(Status::GenericFailure, "the compressor is poisoned"))?;
        probe(&data);
        deflater.compress(&data, fin, &mut out);
        Ok(Buffer::from(out))
    }

    /// Compresses a fragment on the libuv thread pool; resolves to the
    /// compressed bytes. `data` must not change until then.
    #[napi(catch_unwind)]
    pub fn compress_async(&self, data: Buffer, fin: bool) -> AsyncTask<CompressTask> {
        AsyncTask::new(CompressTask {
            deflater: Arc::clone(&self.inner),
            data,
            fin,
        })
    }
}

/// Decompresses one direction's messages.
#[napi]
pub struct NativeInflate {
    inner: Inflater,
}

/// How an inflation ended when it did not succeed: the error's message is
/// its encoded form (see `ProtocolError::encoded`).
fn inflate_error(e: InflateError) -> Error {
    Error::new(Status::GenericFailure, ProtocolError::from(e).encoded())
}

#[napi]
impl NativeInflate {
    #[napi(constructor, catch_unwind)]
    pub fn new(window_bits: u32, no_context_takeover: bool) -> Self {
        Self {
            inner: Inflater::new(window_bits.clamp(8, 15) as u8, no_context_takeover),
        }
    }

    /// Inflates a fragment (with `fin`, the removed tail is put back).
    /// `limit` > 0 bounds the output size. Errors carry `code:message`, or
    /// the ws code for the size limit, for lib/permessage-deflate.js to map.
    #[napi(catch_unwind)]
    pub fn decompress(&mut self, data: BufferSlice, fin: bool, limit: f64) -> Result<Buffer> {
        let limit = if limit.is_finite() && limit > 0.0 {
            limit as usize
        } else {
            0
        };
        let mut out = Vec::new();
        probe(&data);
        self.inner
            .inflate(&data, &mut out, limit)
            .map_err(inflate_error)?;
        if fin {
            self.inner.finish(&mut out, limit).map_err(inflate_error)?;
        }
        Ok(Buffer::from(out))
    }
}
