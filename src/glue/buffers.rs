//! bufferutil's `mask`/`unmask` and utf-8-validate's `isValidUTF8`.
//!
//! These are the hottest small calls in a WebSocket stack, so they are raw
//! Node-API callbacks: one `napi_get_cb_info`, one `napi_get_buffer_info` per
//! buffer and one number read per integer, the same work bufferutil's C
//! addon does. Arguments are checked here and bad ones throw a TypeError or
//! RangeError; the protocol work runs inside `catch_unwind`.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::{Env, Object};
use napi::sys;
use napi::{Error, JsValue, Result, Status};
use napi_derive::napi;

use super::probe;
use crate::protocol::{mask, utf8};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

enum Throw {
    Type(&'static CStr),
    Range(&'static CStr),
    Internal,
}

unsafe fn throw(env: sys::napi_env, t: Throw) -> sys::napi_value {
    // SAFETY: env is the live environment of the current callback.
    unsafe {
        match t {
            Throw::Type(m) => sys::napi_throw_type_error(env, ptr::null(), m.as_ptr()),
            Throw::Range(m) => sys::napi_throw_range_error(env, ptr::null(), m.as_ptr()),
            Throw::Internal => {
                sys::napi_throw_error(env, ptr::null(), c"wsrs: internal error".as_ptr())
            }
        };
    }
    ptr::null_mut()
}

/// Reads up to `N` arguments; missing ones are left null.
unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Option<[sys::napi_value; N]> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    // SAFETY: argv has room for argc values.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    (status == sys::Status::napi_ok).then_some(argv)
}

/// The bytes of a Buffer or other ArrayBuffer view, or None for any other
/// value (including a missing argument).
unsafe fn view<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a mut [u8]> {
    if value.is_null() {
        return None;
    }
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: Node fills data/len for views and fails for anything else.
    let status = unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut len) };
    if status != sys::Status::napi_ok {
        return None;
    }
    if len == 0 || data.is_null() {
        return Some(&mut []);
    }
    // SAFETY: Node guarantees `len` bytes at `data` for the call's duration.
    Some(unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) })
}

/// An integer argument read as Node-API's uint32 (as bufferutil reads it);
/// Err(true) if it is not a number at all.
unsafe fn index(env: sys::napi_env, value: sys::napi_value) -> std::result::Result<usize, bool> {
    if value.is_null() {
        return Err(true);
    }
    let mut n = 0u32;
    // SAFETY: fails with napi_number_expected for non-numbers.
    if unsafe { sys::napi_get_value_uint32(env, value, &mut n) } != sys::Status::napi_ok {
        return Err(true);
    }
    Ok(n as usize)
}

fn key(m: &[u8]) -> Option<[u8; 4]> {
    match m {
        [a, b, c, d, ..] => Some([*a, *b, *c, *d]),
        _ => None,
    }
}

fn guarded(work: impl FnOnce()) -> std::result::Result<(), Throw> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|_| Throw::Internal)
}

/// `mask(source, mask, output, offset, length)`
unsafe extern "C" fn mask_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node with a live env and callback info.
    let r = unsafe { mask_impl(env, info) };
    match r {
        Ok(()) => ptr::null_mut(),
        Err(t) => unsafe { throw(env, t) },
    }
}

unsafe fn mask_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> std::result::Result<(), Throw> {
    const BAD_VIEW: &CStr = c"The source, mask and output arguments must be Buffers or TypedArrays";
    let a = unsafe { args::<5>(env, info) }.ok_or(Throw::Internal)?;
    let source = unsafe { view(env, a[0]) }.ok_or(Throw::Type(BAD_VIEW))?;
    let m = unsafe { view(env, a[1]) }.ok_or(Throw::Type(BAD_VIEW))?;
    let output = unsafe { view(env, a[2]) }.ok_or(Throw::Type(BAD_VIEW))?;
    let num = |e| match e {
        true => Throw::Type(c"The offset and length arguments must be numbers"),
        false => Throw::Range(c"The offset and length arguments must be non-negative integers"),
    };
    let offset = unsafe { index(env, a[3]) }.map_err(num)?;
    let length = unsafe { index(env, a[4]) }.map_err(num)?;
    let k = key(m).ok_or(Throw::Range(c"The mask must be 4 bytes long"))?;
    let range = Throw::Range(c"The offset and length are out of range of the buffers");
    let src = source.get(..length).ok_or(range)?;
    let dst = offset
        .checked_add(length)
        .and_then(|end| output.get_mut(offset..end))
        .ok_or(Throw::Range(
            c"The offset and length are out of range of the buffers",
        ))?;
    guarded(|| {
        probe(src);
        mask::mask_into(src, k, dst)
    })
}

/// `unmask(buffer, mask)`
unsafe extern "C" fn unmask_cb(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node with a live env and callback info.
    let r = unsafe { unmask_impl(env, info) };
    match r {
        Ok(()) => ptr::null_mut(),
        Err(t) => unsafe { throw(env, t) },
    }
}

unsafe fn unmask_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> std::result::Result<(), Throw> {
    const BAD_VIEW: &CStr = c"The buffer and mask arguments must be Buffers or TypedArrays";
    let a = unsafe { args::<2>(env, info) }.ok_or(Throw::Internal)?;
    let buffer = unsafe { view(env, a[0]) }.ok_or(Throw::Type(BAD_VIEW))?;
    let m = unsafe { view(env, a[1]) }.ok_or(Throw::Type(BAD_VIEW))?;
    let k = key(m).ok_or(Throw::Range(c"The mask must be 4 bytes long"))?;
    guarded(|| {
        probe(buffer);
        mask::apply_mask(buffer, k, 0)
    })
}

/// `isValidUTF8(buffer)`
unsafe extern "C" fn utf8_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node with a live env and callback info.
    let r = unsafe { utf8_impl(env, info) };
    match r {
        Ok(v) => v,
        Err(t) => unsafe { throw(env, t) },
    }
}

unsafe fn utf8_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> std::result::Result<sys::napi_value, Throw> {
    let a = unsafe { args::<1>(env, info) }.ok_or(Throw::Internal)?;
    let bytes = unsafe { view(env, a[0]) }.ok_or(Throw::Type(
        c"The buffer argument must be a Buffer or TypedArray",
    ))?;
    let mut valid = false;
    guarded(|| {
        probe(bytes);
        valid = utf8::is_valid(bytes)
    })?;
    let mut out = ptr::null_mut();
    // SAFETY: env is live; napi_get_boolean cannot fail for a valid env.
    unsafe { sys::napi_get_boolean(env, valid, &mut out) };
    Ok(out)
}

fn define(env: sys::napi_env, exports: sys::napi_value, name: &CStr, cb: Callback) -> Result<()> {
    let mut f = ptr::null_mut();
    // SAFETY: env and exports come from module registration.
    let status = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr(),
            name.count_bytes() as isize,
            Some(cb),
            ptr::null_mut(),
            &mut f,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "napi_create_function failed",
        ));
    }
    // SAFETY: as above.
    let status = unsafe { sys::napi_set_named_property(env, exports, name.as_ptr(), f) };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "napi_set_named_property failed",
        ));
    }
    Ok(())
}

/// Adds the raw helpers to the module's exports. (`module_exports` takes
/// no `catch_unwind`; the body is guarded by hand.)
#[napi(module_exports)]
pub fn register_buffer_helpers(exports: Object, env: Env) -> Result<()> {
    let (env, exports) = (env.raw(), exports.raw());
    catch_unwind(|| {
        define(env, exports, c"mask", mask_cb)?;
        define(env, exports, c"unmask", unmask_cb)?;
        define(env, exports, c"isValidUTF8", utf8_cb)
    })
    .unwrap_or_else(|_| {
        Err(Error::new(
            Status::GenericFailure,
            "wsrs: internal error while registering the buffer helpers",
        ))
    })
}
