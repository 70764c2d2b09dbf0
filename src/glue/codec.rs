//! `NativeDeflate` and `NativeInflate`: permessage-deflate compression for
//! `lib/permessage-deflate.js` (the Sender's compression, and the public
//! `compress`/`decompress` methods).

use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::protocol::deflate::{Deflater, InflateError, Inflater};

/// Compresses one direction's messages.
#[napi]
pub struct NativeDeflate {
    inner: Deflater,
}

#[napi]
impl NativeDeflate {
    /// `level` is zlib's 0..=9 (-1 means the default, 6).
    #[napi(constructor)]
    pub fn new(level: i32, window_bits: u32, no_context_takeover: bool) -> Self {
        let level = if (0..=9).contains(&level) {
            level as u32
        } else {
            6
        };
        Self {
            inner: Deflater::new(level, window_bits.clamp(8, 15) as u8, no_context_takeover),
        }
    }

    /// Compresses a fragment; with `fin`, the sync-flush tail is removed.
    #[napi(catch_unwind)]
    pub fn compress(&mut self, data: BufferSlice, fin: bool) -> Buffer {
        let mut out = Vec::new();
        self.inner.compress(&data, fin, &mut out);
        Buffer::from(out)
    }
}

/// Decompresses one direction's messages.
#[napi]
pub struct NativeInflate {
    inner: Inflater,
}

/// How an inflation ended when it did not succeed.
fn inflate_error(e: InflateError) -> Error {
    match e {
        InflateError::LimitExceeded => {
            Error::new(Status::GenericFailure, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH")
        }
        InflateError::Corrupt(f) => {
            Error::new(Status::GenericFailure, format!("{}:{}", f.code, f.message))
        }
    }
}

#[napi]
impl NativeInflate {
    #[napi(constructor)]
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
        self.inner
            .inflate(&data, &mut out, limit)
            .map_err(inflate_error)?;
        if fin {
            self.inner.finish(&mut out, limit).map_err(inflate_error)?;
        }
        Ok(Buffer::from(out))
    }
}
