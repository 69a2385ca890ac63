//! Outbound address policy: webhooks may not reach private networks.
//!
//! A webhook URL is chosen by an admin, but an admin account can be stolen,
//! and a URL can resolve to anything. Deliveries to loopback, private,
//! link-local and similar addresses are refused, at DNS resolution time (so a
//! name cannot be re-pointed after it was checked) and for literal IPs, unless
//! an allow-list (`PARLEY_WEBHOOK_ALLOW`, CIDRs) names them. The embedded
//! pipeline is reached through a separate client without this policy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::net::Cidr;

/// Addresses no webhook may reach without an allow-list entry.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            // IPv6 forms that carry an IPv4 address a gateway may forward to:
            // mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64
            // (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002:AABB:CCDD::/48).
            if let Some(v4) = embedded_v4(v6) {
                return is_private_v4(v4);
            }
            let s = v6.segments();
            v6 == Ipv6Addr::LOCALHOST
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed in places)
                || (s[0] & 0xff00) == 0xff00 // multicast
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32: an IPv4 tunnel
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard 100::/64
        }
    }
}

/// The IPv4 address an IPv6 address carries, for the forms a gateway translates.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let low = Ipv4Addr::from(((u32::from(s[6])) << 16) | u32::from(s[7]));
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low); // IPv4-compatible ::a.b.c.d (not :: or ::1)
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(low); // NAT64, well-known and local-use prefixes
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2]))); // 6to4
    }
    None
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || a >= 240 // reserved 240.0.0.0/4
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF protocol, documentation
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
}

/// The policy: private addresses refused unless allow-listed.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    pub allow: Vec<Cidr>,
}

impl OutboundPolicy {
    pub fn allows(&self, ip: IpAddr) -> bool {
        !is_private(ip) || self.allow.iter().any(|c| c.contains(ip))
    }

    /// Checks a URL's scheme, and its host when it is a literal IP (names
    /// are checked when resolved).
    ///
    /// # Errors
    /// A message saying why the URL is refused.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not allowed: use http or https", url.scheme()));
        }
        match url.host() {
            None => Err("the URL has no host".into()),
            Some(url::Host::Ipv4(ip)) if !self.allows(IpAddr::V4(ip)) => {
                Err(format!("{ip} is a private address; allow it with PARLEY_WEBHOOK_ALLOW"))
            }
            Some(url::Host::Ipv6(ip)) if !self.allows(IpAddr::V6(ip)) => {
                Err(format!("{ip} is a private address; allow it with PARLEY_WEBHOOK_ALLOW"))
            }
            // Names are checked when they are resolved, at every delivery.
            _ => Ok(()),
        }
    }
}

/// A DNS resolver that drops addresses the policy refuses.
struct GuardedResolver(Arc<OutboundPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to private addresses").into();
                return Err(refused);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for external webhooks that enforces `policy`.
///
/// # Errors
/// The client cannot be built (TLS initialisation).
pub fn guarded_client(policy: Arc<OutboundPolicy>) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        // HTTP(S)_PROXY in the environment would carry the request past
        // the address check: the proxy resolves and connects, not us.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_private_loopback_and_link_local() {
        let policy = OutboundPolicy::default();
        for bad in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "192.168.1.1",
            "172.16.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",       // NAT64 to 10.0.0.1
            "64:ff9b::7f00:1",      // NAT64 to 127.0.0.1
            "64:ff9b:1::a9fe:a9fe", // local-use NAT64 to 169.254.169.254
            "::7f00:1",             // IPv4-compatible 127.0.0.1
            "::a00:1",              // IPv4-compatible 10.0.0.1
            "2002:7f00:1::1",       // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::",     // 6to4 of the metadata address
            "2001:0:4136:e378::1",  // Teredo
            "fec0::1",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "255.255.255.254",
            "192.0.0.8",
            "192.0.2.1",
        ] {
            assert!(!policy.allows(ip(bad)), "{bad}");
        }
        for good in
            ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1", "64:ff9b::5db8:d822", "2002:5db8:d822::1"]
        {
            assert!(policy.allows(ip(good)), "{good}");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_its_networks() {
        let policy = OutboundPolicy { allow: vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()] };
        assert!(policy.allows(ip("127.0.0.1")));
        assert!(policy.allows(ip("127.255.0.9")));
        assert!(policy.allows(ip("fd12::1")));
        assert!(!policy.allows(ip("10.0.0.1")));
        assert!(!policy.allows(ip("::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn checks_literal_urls_and_schemes() {
        let policy = OutboundPolicy::default();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(policy.check_url(&url("http://127.0.0.1:9/hook")).is_err());
        assert!(policy.check_url(&url("http://[::1]/hook")).is_err());

        assert!(policy.check_url(&url("ftp://example.com/")).is_err());
        assert!(policy.check_url(&url("https://example.com/hook")).is_ok());
    }
}
