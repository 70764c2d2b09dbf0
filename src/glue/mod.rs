//! The `#[napi]` items: thin wrappers that move bytes between Node and the
//! protocol core. Argument types are checked in JS (`bufferutil.js`,
//! `utf-8-validate.js`) so that the errors are TypeErrors with ws-style
//! messages; the checks here only guarantee that nothing out of bounds is
//! ever touched. Every export catches panics, so none can cross into Node.

// napi registers the exports at load time; test builds never load them.
#![cfg_attr(test, allow(dead_code))]

mod buffers;
mod codec;
mod parser;
#[cfg(feature = "engine")]
mod server;

/// The first bytes of an input that makes a `panic-probe` build panic.
#[cfg(feature = "panic-probe")]
const PROBE: &[u8] = b"\xffwsrs-panic-probe";

/// zlib streams a libuv pool thread keeps between the large messages it
/// compresses or inflates (the JavaScript thread keeps the full cache).
const POOL_THREAD_STREAMS: usize = 2;

/// A small numeric option (window bits, memLevel, strategy) brought into
/// `lo..=hi` as a byte.
fn small(n: u32, lo: u32, hi: u32) -> u8 {
    u8::try_from(n.clamp(lo, hi)).unwrap_or(u8::MAX)
}

/// In builds with the `panic-probe` feature (tests only, never shipped), an
/// input that starts with [`PROBE`] panics inside the export that got it,
/// so a test can check that the panic surfaces as a JavaScript error and
/// that the process and its other connections carry on. No input can
/// cause a panic otherwise.
#[cfg(feature = "panic-probe")]
fn probe(input: &[u8]) {
    if input.starts_with(PROBE) {
        panic!("wsrs panic probe");
    }
}

#[cfg(not(feature = "panic-probe"))]
#[inline(always)]
fn probe(_input: &[u8]) {}
