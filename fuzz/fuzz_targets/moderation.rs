//! The moderation normaliser, matcher and masker ([`parley_fuzz_checks::moderation`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_fuzz_checks::moderation(data));
