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
