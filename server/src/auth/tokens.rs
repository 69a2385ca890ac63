//! Signed, expiring topic tokens with permission lists.
//!
//! A token is `pt_<base64url(claims JSON)>.<base64url(HMAC-SHA256(key, claims))>`.
//! The server signs with a key kept in the database, so tokens survive restarts
//! and any node sharing the database can check them. Permissions name topics
//! with `*` wildcards (`room-subscribe-*`, `*-subscribe-*`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};

/// What a permission lets its holder do on matching topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Publish,
    Subscribe,
}

/// One entry of a token's permission list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Permission {
    pub topic: String,
    pub ops: Vec<Op>,
}

/// What a token's holder is, beyond its topic permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    User,
    /// May manage webhooks, revoke tokens and mint any token.
    Admin,
    /// A Parley component (the pipeline).
    Service,
}

/// What a token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The token's own id, by which it is revoked.
    #[serde(default)]
    pub jti: String,
    /// The user id, stamped on everything the holder publishes.
    pub sub: String,
    /// The display name, stamped likewise.
    pub name: String,
    #[serde(default)]
    pub role: Role,
    pub perms: Vec<Permission>,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The `jti`s of the tokens this one was minted from, oldest first:
    /// revoking any of them revokes this one.
    #[serde(default, rename = "par", skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
}

impl Claims {
    /// Claims with a fresh `jti`.
    pub fn new(sub: impl Into<String>, name: impl Into<String>, role: Role, perms: Vec<Permission>, exp: i64) -> Self {
        Self {
            jti: format!("tok_{}", ulid::Ulid::new().to_string().to_lowercase()),
            sub: sub.into(),
            name: name.into(),
            role,
            perms,
            exp,
            parents: Vec::new(),
        }
    }

    /// The key that rate limits and subscription caps count against: the
    /// subject, not the token, since tokens are free (every join or
    /// `POST /api/tokens` makes one) and would multiply the limits.
    pub fn limit_key(&self) -> String {
        format!("sub:{}", self.sub)
    }

    /// Whether `requested` grants nothing these claims do not hold: every
    /// topic a requested pattern can match is matched by one of ours with
    /// the same operation.
    pub fn covers(&self, requested: &Permission) -> bool {
        requested
            .ops
            .iter()
            .all(|op| self.perms.iter().any(|p| p.ops.contains(op) && pattern_covers(&p.topic, &requested.topic)))
    }

    /// Whether these claims allow `op` on `topic`.
    pub fn allows(&self, op: Op, topic: &str) -> bool {
        self.perms.iter().any(|p| p.ops.contains(&op) && topic_matches(&p.topic, topic))
    }
}

/// Checks a permission pattern: a topic name in which `*` may stand for any run.
///
/// # Errors
/// [`Error::BadRequest`] naming the rule.
pub fn validate_pattern(pattern: &str) -> Result<()> {
    let ok = (1..=128).contains(&pattern.len())
        && pattern.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'*'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest("topic patterns are 1–128 characters of A-Z a-z 0-9 _ . - *".into()))
    }
}

/// Matches a topic name against a pattern where `*` stands for any run of
/// characters. Greedy with one remembered star: a failed match resumes
/// after the last star only, so the time is at most the product of the two
/// lengths (128 × 128), never exponential (`*a*a*a…b` against `aaaa…`).
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), topic.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where the pattern resumes after the last star, and the topic position it covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((resume, covered)) = star {
            // Let the star take one more character and try again.
            star = Some((resume, covered + 1));
            pi = resume;
            ti = covered + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether every name `inner` matches is matched by `outer`. `*` is never
/// part of a topic name, so matching `outer` against `inner` with its `*`
/// taken literally is exact: only a `*` of `outer` can stand for one of `inner`.
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
    topic_matches(outer, inner)
}

/// Signs and checks tokens with one server key.
#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

const PREFIX: &str = "pt_";

impl TokenKey {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// Encodes and signs `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let tag = B64.encode(mac.finalize().into_bytes());
        format!("{PREFIX}{payload}.{tag}")
    }

    /// Checks a token's signature and expiry against `now` (Unix seconds).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for anything malformed or forged,
    /// [`Error::TokenExpired`] past its `exp`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims> {
        let body = token.strip_prefix(PREFIX).ok_or(Error::InvalidToken)?;
        let (payload, tag) = body.split_once('.').ok_or(Error::InvalidToken)?;
        let tag = B64.decode(tag).map_err(|_| Error::InvalidToken)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag).map_err(|_| Error::InvalidToken)?;
        let json = B64.decode(payload).map_err(|_| Error::InvalidToken)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| Error::InvalidToken)?;
        if claims.exp <= now {
            return Err(Error::TokenExpired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims::new(
            "u_1",
            "Ana",
            Role::User,
            vec![perm("lobby-publish", &[Op::Publish]), perm("lobby-subscribe-pt", &[Op::Subscribe])],
            exp,
        )
    }

    fn perm(topic: &str, ops: &[Op]) -> Permission {
        Permission { topic: topic.into(), ops: ops.to_vec() }
    }

    #[test]
    fn covers_never_grants_more_than_held() {
        let holder = Claims::new(
            "u",
            "U",
            Role::User,
            vec![perm("lobby-subscribe-*", &[Op::Subscribe]), perm("lobby-publish", &[Op::Publish])],
            10,
        );
        assert!(holder.covers(&perm("lobby-subscribe-en", &[Op::Subscribe])));
        assert!(holder.covers(&perm("lobby-subscribe-*", &[Op::Subscribe])));
        assert!(holder.covers(&perm("lobby-subscribe-e*", &[Op::Subscribe])));
        assert!(holder.covers(&perm("lobby-publish", &[Op::Publish])));
        assert!(!holder.covers(&perm("lobby-*", &[Op::Subscribe])));
        assert!(!holder.covers(&perm("*", &[Op::Subscribe])));
        assert!(!holder.covers(&perm("lobby-subscribe-en", &[Op::Publish])));
        assert!(!holder.covers(&perm("lobby-publish", &[Op::Publish, Op::Subscribe])));
        assert!(!holder.covers(&perm("other-subscribe-en", &[Op::Subscribe])));
        let wide = Claims::new("a", "A", Role::Admin, vec![perm("*-subscribe-*", &[Op::Subscribe])], 10);
        assert!(wide.covers(&perm("lobby-subscribe-*", &[Op::Subscribe])));
        assert!(!wide.covers(&perm("lobby-*", &[Op::Subscribe])));
    }

    #[test]
    fn round_trips_and_checks_permissions() {
        let key = TokenKey::new(b"k".to_vec());
        let c = key.verify(&key.sign(&claims(100)), 50).unwrap();
        assert!(c.allows(Op::Publish, "lobby-publish"));
        assert!(c.allows(Op::Subscribe, "lobby-subscribe-pt"));
        assert!(!c.allows(Op::Subscribe, "lobby-publish"));
        assert!(!c.allows(Op::Subscribe, "lobby-subscribe-en"));
        assert!(!c.allows(Op::Publish, "lobby-subscribe-pt"));
    }

    #[test]
    fn rejects_expired_forged_and_garbage_tokens() {
        let key = TokenKey::new(b"k".to_vec());
        assert!(matches!(key.verify(&key.sign(&claims(100)), 100), Err(Error::TokenExpired)));
        let other = TokenKey::new(b"other".to_vec()).sign(&claims(100));
        assert!(matches!(key.verify(&other, 50), Err(Error::InvalidToken)));
        for bad in ["", "pt_", "pt_abc", "pt_abc.def", "xx_abc.def"] {
            assert!(matches!(key.verify(bad, 50), Err(Error::InvalidToken)), "{bad}");
        }
        // A payload edited to grant more is caught by the signature.
        let token = key.sign(&claims(100));
        let (payload, tag) = token.trim_start_matches("pt_").split_once('.').unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        json["perms"][1]["topic"] = "lobby-subscribe-*".into();
        let forged = format!("pt_{}.{tag}", B64.encode(json.to_string()));
        assert!(matches!(key.verify(&forged, 50), Err(Error::InvalidToken)));
    }

    #[test]
    fn wildcards_match_anywhere() {
        assert!(topic_matches("lobby-subscribe-*", "lobby-subscribe-en"));
        assert!(!topic_matches("lobby-subscribe-*", "lobby-publish"));
        assert!(topic_matches("*-subscribe-*", "a-subscribe-en"));
        assert!(!topic_matches("*-subscribe-*", "a-publish"));
        assert!(topic_matches("*", "anything"));
        assert!(!topic_matches("exact", "exactly"));
        assert!(topic_matches("a*b*c", "aXbYc") && topic_matches("a*b*c", "abc") && !topic_matches("a*b*c", "acb"));
        assert!(topic_matches("**", "") && topic_matches("*x", "xx") && !topic_matches("x*", "y"));
    }

    #[test]
    fn a_pathological_pattern_is_matched_in_linear_time() {
        // 64 stars between `a`s against 128 `a`s and no `b`: exponential
        // for a backtracking matcher, a few thousand steps for this one.
        let pattern = format!("{}b", "*a".repeat(63));
        let topic = "a".repeat(128);
        let started = std::time::Instant::now();
        for _ in 0..10 {
            assert!(!topic_matches(&pattern, &topic));
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(10), "{:?}", started.elapsed());
    }
}
