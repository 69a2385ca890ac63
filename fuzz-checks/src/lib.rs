//! The properties Parley's parsers must keep on any input, one function per
//! fuzz target. `fuzz/` runs them under libFuzzer (`scripts/fuzz.sh`); the
//! test suite replays the corpus kept in `fuzz/corpus.tar.gz` through them
//! (`tests/corpus.rs`), so every input a fuzzer once found stays a test.
//!
//! Each function panics when a property breaks, which is what both runners
//! look for.

use parley::auth::{Claims, Op, Permission, Role, TokenKey};
use parley_pipeline::envelope::{ChatMessage, Delivery};
use parley_pipeline::moderate::lists::LANGUAGES;
use parley_pipeline::moderate::{Policy, Reading, RoomWords, find, moderate, normalize};
use parley_pipeline::signature::{SignedHeaders, WebhookSecret, verify};

/// A header value, if it is text.
fn text(part: Option<&[u8]>) -> Option<&str> {
    part.and_then(|b| std::str::from_utf8(b).ok())
}

/// The time every check runs at (tokens and signatures are checked against it).
const NOW: i64 = 1_795_996_800;

/// One target's checks, run on one input.
pub type Check = fn(&[u8]);

/// The targets, by the name of their corpus directory.
pub const TARGETS: [(&str, Check); 4] =
    [("signature", signature), ("delivery", delivery), ("token", token), ("moderation", moderation)];

/// The webhook signature check on hostile headers and bodies: never panics,
/// and accepts only what was signed with the secret. The input is three
/// header values and a body, separated by newlines.
pub fn signature(data: &[u8]) {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let (id, timestamp, signature) = (parts.next(), parts.next(), parts.next());
    let body = parts.next().unwrap_or_default();
    let Ok(secret) = WebhookSecret::parse(SECRET) else { panic!("the fixed secret parses") };
    let headers = SignedHeaders { id: text(id), timestamp: text(timestamp), signature: text(signature) };
    if verify(std::slice::from_ref(&secret), headers, body, NOW).is_ok() {
        // Accepted: it must carry the true signature of exactly this id, time and body.
        let (id, timestamp) = (headers.id.unwrap_or(""), headers.timestamp.unwrap_or("").parse().unwrap_or(0));
        let expected = secret.sign(id, timestamp, body);
        assert!(headers.signature.unwrap_or("").split(' ').any(|s| s == expected), "accepted a forged signature");
    }
}

/// Webhook bodies and chat messages as the server checks them and the
/// pipeline decodes them: any bytes give a value or an error, never a panic,
/// and a message that passes the check reads back the same.
pub fn delivery(data: &[u8]) {
    if let Ok(delivery) = serde_json::from_slice::<Delivery>(data) {
        let _ = ChatMessage::parse(&delivery.value);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(message) = ChatMessage::parse(&value)
    {
        let Ok(again) = serde_json::to_value(&message) else { panic!("a chat message serializes") };
        assert!(ChatMessage::parse(&again).is_ok(), "a checked message stays valid: {again}");
    }
}

/// Topic tokens as the server reads them from a header or a query string:
/// never a panic; nothing but a token signed with the key verifies; and a
/// signed token changed anywhere never verifies as other claims (forgery).
pub fn token(data: &[u8]) {
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
}

/// The moderation normaliser, matcher and masker on arbitrary text in every
/// language: never a panic, spans stay on character boundaries inside the
/// text, and a masked text keeps its length in characters.
pub fn moderation(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let spans = normalize::words(text).into_iter().map(|t| t.span).chain(normalize::cjk_string(text).1);
    for span in spans {
        assert!(span.start <= span.end && span.end <= text.len());
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    }
    let room = RoomWords::new(["banana"], ["scunthorpe"]);
    let readings = LANGUAGES.iter().map(|lang| Reading::own(lang)).chain([Reading::everyone()]);
    for reading in readings {
        for range in find(text, reading, &room) {
            assert!(range.end <= text.len() && text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        }
        let (masked, _) = moderate(text, reading, Policy::Mask, &room);
        assert_eq!(masked.chars().count(), text.chars().count(), "masking changed the length");
    }
}
