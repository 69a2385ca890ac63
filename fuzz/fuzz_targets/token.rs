//! Topic tokens as the server reads them from a header or a query string:
//! never a panic, and nothing but a token signed with the key verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley::auth::TokenKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = TokenKey::new(b"fuzzing key, thirty-two bytes!!!".to_vec());
    if let Ok(claims) = key.verify(text, 1_795_996_800) {
        // Only our own signature verifies: re-signing the claims gives a token that verifies too.
        assert!(key.verify(&key.sign(&claims), 1_795_996_800).is_ok());
    }
});
