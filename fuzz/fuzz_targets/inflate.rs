//! permessage-deflate inflation under a size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsrs_fuzz::inflate::check(data));
