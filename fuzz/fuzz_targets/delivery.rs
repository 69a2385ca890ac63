//! Webhook bodies and chat messages ([`parley_fuzz_checks::delivery`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_fuzz_checks::delivery(data));
