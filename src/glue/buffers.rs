//! bufferutil's `mask`/`unmask` and utf-8-validate's `isValidUTF8`.

use napi::bindgen_prelude::BufferSlice;
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::protocol::{mask, utf8};

fn key(mask_bytes: &[u8]) -> Result<[u8; 4]> {
    match mask_bytes {
        [a, b, c, d, ..] => Ok([*a, *b, *c, *d]),
        _ => Err(Error::new(
            Status::InvalidArg,
            "The mask must be at least 4 bytes long",
        )),
    }
}

/// Writes `source[i] ^ mask[i & 3]` to `output[offset + i]` for `i` in
/// `0..length`, like bufferutil's `mask`.
#[napi(js_name = "mask", catch_unwind)]
pub fn mask_buffer(
    source: BufferSlice,
    mask_bytes: BufferSlice,
    mut output: BufferSlice,
    offset: u32,
    length: u32,
) -> Result<()> {
    let (offset, length) = (offset as usize, length as usize);
    let m = key(&mask_bytes)?;
    let dst = offset
        .checked_add(length)
        .and_then(|end| output.get_mut(offset..end));
    match (source.get(..length), dst) {
        (Some(src), Some(dst)) => {
            mask::mask_into(src, m, dst);
            Ok(())
        }
        _ => Err(Error::new(
            Status::InvalidArg,
            "The offset and length are out of range",
        )),
    }
}

/// XORs `buffer` in place with `mask`, like bufferutil's `unmask`.
#[napi(js_name = "unmask", catch_unwind)]
pub fn unmask_buffer(mut buffer: BufferSlice, mask_bytes: BufferSlice) -> Result<()> {
    let m = key(&mask_bytes)?;
    mask::apply_mask(&mut buffer, m, 0);
    Ok(())
}

/// Whether the bytes are valid UTF-8, like utf-8-validate's export.
#[napi(js_name = "isValidUTF8", catch_unwind)]
pub fn is_valid_utf8(buffer: BufferSlice) -> bool {
    utf8::is_valid(&buffer)
}
