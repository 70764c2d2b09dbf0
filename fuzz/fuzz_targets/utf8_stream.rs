//! Incremental UTF-8 validation split arbitrarily.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsrs_fuzz::utf8::check(data));
