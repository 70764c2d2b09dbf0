//! wsrs: a WebSocket protocol engine for Node.js.
//!
//! [`protocol`] is the napi-free core, tested with `cargo test`; `glue` holds
//! the `#[napi]` items and is compiled only with the `node` feature;
//! [`engine`], the native I/O engine, only with the `engine` feature.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

#[cfg(feature = "engine")]
pub mod engine;
pub mod protocol;
pub mod record;

// The fuzz harnesses (fuzz/src/), replayed by the tests, name this crate.
#[cfg(test)]
extern crate self as wsrs;

#[cfg(feature = "node")]
mod glue;
