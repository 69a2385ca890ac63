//! Standard Webhooks signatures: signing outgoing deliveries and verifying incoming ones.
//!
//! The scheme (<https://www.standardwebhooks.com/>) signs the raw bytes
//! `"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256 and sends
//! `webhook-signature: v1,<base64>` (several space-separated signatures are
//! allowed so a secret can be rotated without downtime). Secrets are
//! `whsec_<base64 key>`. Verification is constant-time and rejects timestamps
//! outside a tolerance window to stop replays.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a `webhook-timestamp` may be from the receiver's clock.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;

/// The prefix of a secret in its text form.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a delivery's signature was refused. Every variant maps to 401 at the
/// intake: the sender must not learn which check failed beyond this code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    #[error("timestamp outside the tolerance window")]
    StaleTimestamp,
    #[error("no signature matches")]
    NoMatch,
    #[error("malformed secret")]
    BadSecret,
}

/// A webhook signing key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` (the prefix is optional, as in the spec's libraries).
    ///
    /// # Errors
    /// [`SignatureError::BadSecret`] when the key is not base64 or is empty.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let raw = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = B64.decode(raw).map_err(|_| SignatureError::BadSecret)?;
        if key.is_empty() {
            return Err(SignatureError::BadSecret);
        }
        Ok(Self { key })
    }

    /// A fresh random 24-byte secret.
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut key = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// The secret in its `whsec_…` text form.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", B64.encode(&self.key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header value for one delivery: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

/// The three Standard Webhooks headers of one request, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Verifies a delivery against any of `secrets` (more than one during a rotation).
///
/// # Errors
/// A [`SignatureError`] saying which check failed; callers answer 401 to all.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: SignedHeaders<'_>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let id = headers.id.ok_or(SignatureError::MissingHeader("webhook-id"))?;
    let timestamp = headers.timestamp.ok_or(SignatureError::MissingHeader("webhook-timestamp"))?;
    let signature = headers.signature.ok_or(SignatureError::MissingHeader("webhook-signature"))?;
    if id.is_empty() || id.len() > 256 {
        return Err(SignatureError::MalformedHeader("webhook-id"));
    }
    let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::MalformedHeader("webhook-timestamp"))?;
    // Checked: a timestamp near i64::MIN must be stale, not an overflow.
    if now_unix.checked_sub(timestamp).is_none_or(|skew| skew.unsigned_abs() > WEBHOOK_TOLERANCE_SECS.unsigned_abs()) {
        return Err(SignatureError::StaleTimestamp);
    }
    for candidate in signature.split(' ') {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(tag) = B64.decode(encoded) else {
            continue;
        };
        for secret in secrets {
            // `verify_slice` compares in constant time.
            if secret.mac(id, timestamp, body).verify_slice(&tag).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's test suite.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(sig: &'a str, ts: &'a str) -> SignedHeaders<'a> {
        SignedHeaders { id: Some(SPEC_ID), timestamp: Some(ts), signature: Some(sig) }
    }

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SPEC_SECRET).unwrap()
    }

    #[test]
    fn signs_the_known_vector() {
        assert_eq!(secret().sign(SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes()), SPEC_SIG);
    }

    #[test]
    fn verifies_the_known_vector() {
        let ts = SPEC_TS.to_string();
        verify(&[secret()], headers(SPEC_SIG, &ts), SPEC_BODY.as_bytes(), SPEC_TS).unwrap();
    }

    #[test]
    fn rejects_tampered_body_bare_prefix_and_other_versions() {
        let ts = SPEC_TS.to_string();
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(verify(&[secret()], headers(SPEC_SIG, &ts), tampered, SPEC_TS), Err(SignatureError::NoMatch));
        for sig in ["v1,", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "", "garbage"] {
            assert_eq!(
                verify(&[secret()], headers(sig, &ts), SPEC_BODY.as_bytes(), SPEC_TS),
                Err(SignatureError::NoMatch),
                "{sig:?}"
            );
        }
    }

    #[test]
    fn one_valid_signature_among_several_passes() {
        let ts = SPEC_TS.to_string();
        let other = WebhookSecret::generate().sign(SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes());
        let header = format!("{other} v1,AAAA {SPEC_SIG}");
        verify(&[secret()], headers(&header, &ts), SPEC_BODY.as_bytes(), SPEC_TS).unwrap();
        let none = format!("{other} v1,AAAA");
        assert!(verify(&[secret()], headers(&none, &ts), SPEC_BODY.as_bytes(), SPEC_TS).is_err());
    }

    #[test]
    fn either_secret_verifies_during_rotation() {
        let ts = SPEC_TS.to_string();
        let secrets = [WebhookSecret::generate(), secret()];
        verify(&secrets, headers(SPEC_SIG, &ts), SPEC_BODY.as_bytes(), SPEC_TS).unwrap();
    }

    #[test]
    fn replay_window_is_enforced_on_both_sides() {
        let ts = SPEC_TS.to_string();
        let body = SPEC_BODY.as_bytes();
        for now in [SPEC_TS + WEBHOOK_TOLERANCE_SECS + 1, SPEC_TS - WEBHOOK_TOLERANCE_SECS - 1] {
            assert_eq!(verify(&[secret()], headers(SPEC_SIG, &ts), body, now), Err(SignatureError::StaleTimestamp));
        }
        for now in [SPEC_TS + WEBHOOK_TOLERANCE_SECS - 1, SPEC_TS - WEBHOOK_TOLERANCE_SECS + 1] {
            verify(&[secret()], headers(SPEC_SIG, &ts), body, now).unwrap();
        }
        // Far-off timestamps are stale, not an arithmetic overflow.
        for far in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let far = far.to_string();
            assert_eq!(
                verify(&[secret()], headers(SPEC_SIG, &far), body, SPEC_TS),
                Err(SignatureError::StaleTimestamp)
            );
        }
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let ts = SPEC_TS.to_string();
        let mut h = headers(SPEC_SIG, &ts);
        h.id = None;
        assert_eq!(verify(&[secret()], h, b"", SPEC_TS), Err(SignatureError::MissingHeader("webhook-id")));
        let h = headers(SPEC_SIG, "yesterday");
        assert_eq!(verify(&[secret()], h, b"", SPEC_TS), Err(SignatureError::MalformedHeader("webhook-timestamp")));
    }

    #[test]
    fn secret_round_trips_and_rejects_garbage() {
        let s = WebhookSecret::generate();
        let again = WebhookSecret::parse(&s.to_text()).unwrap();
        assert_eq!(s.sign("a", 1, b"b"), again.sign("a", 1, b"b"));
        assert_eq!(WebhookSecret::parse("whsec_!!!").err(), Some(SignatureError::BadSecret));
        assert_eq!(WebhookSecret::parse("whsec_").err(), Some(SignatureError::BadSecret));
    }
}
