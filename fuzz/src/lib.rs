//! Fuzz harnesses for the wsrs protocol core.
//!
//! Each harness takes the fuzzer's bytes, derives a configuration, an input
//! and several ways of cutting it into chunks from them, and panics when an
//! invariant breaks. The fuzz targets in `fuzz_targets/` only call these;
//! the root crate's `src/protocol/fuzz_regressions.rs` includes this module tree
//! too, and replays the seed corpus and every input that once failed, so
//! each crash found stays a `cargo test` regression test.
//!
//! Modules refer to each other through `super::`, never `crate::`, so that
//! the tree works both as this crate's root and as an included module.

pub mod bytes;
pub mod frames;
pub mod inflate;
pub mod utf8;
