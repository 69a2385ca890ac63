//! Who knocks, and how often: the client's address (through trusted
//! proxies) and the limits on logins, sign-ups and guests.
//!
//! Behind a reverse proxy every request comes from the proxy's address, so a
//! per-address limit would be one limit for everyone. With the proxies'
//! networks in `PARLEY_TRUSTED_PROXIES`, the client is the right-most
//! address of `X-Forwarded-For` that is not a trusted proxy (the left-most
//! entries are the client's own claims). IPv6 clients count per /64, the
//! block one machine usually holds, so rotating addresses within it gains
//! nothing. Logins are also limited per account, so spreading guesses over
//! many addresses does not help either.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use tokio::sync::Semaphore;

use crate::auth::AuthState;
use crate::error::{Error, Result};
use crate::limits::RateLimiter;
use crate::net::Cidr;

/// Argon2 hashes (19 MiB each) running at once; more wait their turn.
const CONCURRENT_HASHES: usize = 2;

/// The limits at the door, shared by the auth handlers.
pub struct Door {
    pub trusted_proxies: Vec<Cidr>,
    /// Login attempts per client address.
    pub logins_per_address: RateLimiter,
    /// Login attempts per account, whoever makes them.
    pub logins_per_account: RateLimiter,
    /// Sign-ups per client address.
    pub signups: RateLimiter,
    /// Guests created per client address.
    pub guests: RateLimiter,
    /// Password hashing slots: parallel sign-ups cannot exhaust memory.
    pub hashing: Arc<Semaphore>,
}

/// The door's limits, per minute (bursts of the same size).
#[derive(Debug, Clone, Copy)]
pub struct DoorLimits {
    pub logins_per_minute: u32,
    pub signups_per_minute: u32,
    pub guests_per_minute: u32,
}

impl Door {
    pub fn new(limits: DoorLimits, trusted_proxies: Vec<Cidr>) -> Self {
        let per_minute = |n: u32| RateLimiter::new(f64::from(n) / 60.0, n.max(1));
        Self {
            trusted_proxies,
            logins_per_address: per_minute(limits.logins_per_minute),
            logins_per_account: per_minute(limits.logins_per_minute),
            signups: per_minute(limits.signups_per_minute),
            guests: per_minute(limits.guests_per_minute),
            hashing: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
        }
    }

    /// The client behind `peer`, given the `X-Forwarded-For` header.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|c| c.contains(*ip));
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> =
            forwarded_for.unwrap_or("").split(',').filter_map(|hop| hop.trim().parse::<IpAddr>().ok()).collect();
        // Right to left: the first hop not added by a trusted proxy.
        hops.iter().rev().find(|ip| !trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
    }
}

/// The key a client's address counts under: itself, or its /64 for IPv6.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The calling client's address, as [`Door::client`] sees it.
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let app = AuthState::from_ref(state);
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(ClientAddr(app.door.client(peer, forwarded)))
    }
}

impl ClientAddr {
    pub fn key(&self) -> String {
        address_key(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn door(trusted: &[&str]) -> Door {
        let limits = DoorLimits { logins_per_minute: 10, signups_per_minute: 5, guests_per_minute: 20 };
        Door::new(limits, trusted.iter().map(|c| c.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_last_untrusted_hop() {
        let direct = door(&[]);
        assert_eq!(direct.client(ip("203.0.113.9"), Some("1.2.3.4")), ip("203.0.113.9"), "no proxy trusted: the peer");
        let proxied = door(&["10.0.0.0/8"]);
        assert_eq!(proxied.client(ip("10.0.0.2"), Some("198.51.100.7")), ip("198.51.100.7"));
        // A client's own forged entry comes first and is passed over.
        assert_eq!(proxied.client(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 10.0.0.3")), ip("198.51.100.7"));
        assert_eq!(proxied.client(ip("10.0.0.2"), None), ip("10.0.0.2"), "no header: the proxy itself");
        assert_eq!(
            proxied.client(ip("192.0.2.1"), Some("1.2.3.4")),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), address_key(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
