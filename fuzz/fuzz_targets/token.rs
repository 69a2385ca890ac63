//! Topic tokens as the server reads them ([`parley_fuzz_checks::token`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_fuzz_checks::token(data));
