//! Frame parsing as a client (frames must not be masked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsrs_fuzz::frames::check(data, false));
