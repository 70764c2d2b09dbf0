//! Frame parsing as a server (frames must be masked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsrs_fuzz::frames::check(data, true));
