//! Topic tokens as the server reads them from a header or a query string:
//! never a panic; nothing but a token signed with the key verifies; and a
//! signed token changed anywhere never verifies as other claims (forgery).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley::auth::{Claims, Op, Permission, Role, TokenKey};

const NOW: i64 = 1_795_996_800;

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::new(b"fuzzing key, thirty-two bytes!!!".to_vec());
    // As raw text, the way an attacker would send it.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(claims) = key.verify(text, NOW)
    {
        // Only our own signature verifies: re-signing the claims gives a token that verifies too.
        assert!(key.verify(&key.sign(&claims), NOW).is_ok());
    }
    // As edits to a token the key signed: the first bytes make its claims,
    // the rest are (two-byte position, byte) changes. Random text almost never gets
    // past the prefix and the separator; this reaches the MAC and JSON checks.
    let (head, edits) = data.split_at(data.len().min(24));
    let name = String::from_utf8_lossy(head).into_owned();
    let ops = if head.first().is_some_and(|b| b & 1 == 1) { vec![Op::Publish] } else { vec![Op::Subscribe] };
    let claims = Claims::new("u_fuzz", name.clone(), Role::User, vec![Permission { topic: name, ops }], NOW + 60);
    let token = key.sign(&claims);
    let mut bytes = token.clone().into_bytes();
    for edit in edits.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % bytes.len();
        bytes[at] = edit[2];
    }
    if let Ok(edited) = std::str::from_utf8(&bytes)
        && let Ok(verified) = key.verify(edited, NOW)
    {
        assert_eq!(verified, claims, "an edited token verified as other claims: {edited} (signed {token})");
    }
});
