//! The webhook signature check on hostile headers and bodies ([`parley_fuzz_checks::signature`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_fuzz_checks::signature(data));
