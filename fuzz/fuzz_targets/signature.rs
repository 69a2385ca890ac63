//! The webhook signature check on hostile headers and bodies: never panics,
//! and accepts only what was signed with the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_pipeline::signature::{SignedHeaders, WebhookSecret, verify};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_795_996_800;

fn text(part: Option<&[u8]>) -> Option<&str> {
    part.and_then(|b| std::str::from_utf8(b).ok())
}

fuzz_target!(|data: &[u8]| {
    // Three header values and a body, separated by newlines.
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let (id, timestamp, signature) = (parts.next(), parts.next(), parts.next());
    let body = parts.next().unwrap_or_default();
    let secret = WebhookSecret::parse(SECRET).expect("the fixed secret parses");
    let headers = SignedHeaders { id: text(id), timestamp: text(timestamp), signature: text(signature) };
    if verify(std::slice::from_ref(&secret), headers, body, NOW).is_ok() {
        // Accepted: it must carry the true signature of exactly this id, time and body.
        let (id, timestamp) = (headers.id.unwrap_or(""), headers.timestamp.unwrap_or("").parse().unwrap_or(0));
        let expected = secret.sign(id, timestamp, body);
        assert!(headers.signature.unwrap_or("").split(' ').any(|s| s == expected), "accepted a forged signature");
    }
});
