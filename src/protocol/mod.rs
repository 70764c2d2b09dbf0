//! The protocol core: no napi types here, only bytes in and events out.

pub mod close;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod history;
pub mod mask;
pub mod parser;
pub mod streams;
pub mod utf8;
#[cfg(target_arch = "x86_64")]
mod utf8_simd;

#[cfg(test)]
mod fuzz_regressions;
#[cfg(test)]
mod roundtrip_tests;
