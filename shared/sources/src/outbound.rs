//! The deployment's outbound policy for URLs tenants set (status-sync callbacks,
//! Alertmanager, PagerDuty): by default no loopback, link-local (the instance metadata
//! service at 169.254.169.254 among them), private or otherwise internal address, so a
//! tenant cannot make the worker call into the deployment's own network. The operator allows
//! what a deployment needs with `WARROOM_OUTBOUND_ALLOW` (CIDRs and host names,
//! comma-separated), e.g. a self-hosted Alertmanager at `10.0.12.0/24` or `am.internal`.
//!
//! The check is made on the address actually connected to: the HTTP client resolves names
//! through [`PolicyResolver`], which drops refused addresses (a name that resolves to
//! 127.0.0.1 is refused like 127.0.0.1, and a name cannot be re-pointed between the check
//! and the connect: there is one lookup). IP literals, which the client does not resolve,
//! are checked by [`OutboundPolicy::check_url`] before the request. Redirects are never
//! followed (see `http::client`). See docs/outbound.md.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// What an operator allows beyond public addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    nets: Vec<IpNet>,
    /// Lowercase host names allowed whatever they resolve to.
    hosts: Vec<String>,
}

/// `WARROOM_OUTBOUND_ALLOW` could not be read: the deployment stops at start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("WARROOM_OUTBOUND_ALLOW: {entry:?} is neither a CIDR (10.0.0.0/8, fd00::/8), an address nor a host name")]
pub struct PolicyError {
    pub entry: String,
}

/// A target the policy refuses, and why; never retried (the policy will not change by
/// itself), and shown in the incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{address} is {class}; the deployment's outbound policy refuses it (an operator can allow it with WARROOM_OUTBOUND_ALLOW)")]
pub struct Refused {
    pub address: IpAddr,
    pub class: &'static str,
}

impl OutboundPolicy {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Also the loopback range: what the local stack and tests need (their peers are on
    /// this machine).
    pub fn allowing_loopback() -> Self {
        Self::parse("127.0.0.0/8,::1/128").expect("valid CIDRs")
    }

    /// `10.0.0.0/8, am.internal, 192.168.1.5` (spaces and empty entries ignored).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut policy = Self::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                policy.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                policy.nets.push(IpNet::from(ip));
            } else if is_host_name(entry) {
                policy.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(PolicyError { entry: entry.to_owned() });
            }
        }
        Ok(policy)
    }

    /// The policy as the operator wrote it, for the startup log.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.nets.iter().map(ToString::to_string).collect();
        parts.extend(self.hosts.iter().cloned());
        if parts.is_empty() {
            "public addresses only".into()
        } else {
            format!("public addresses and {}", parts.join(", "))
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether `address` may be connected to (for a name not allowed as such).
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        // An IPv4-mapped address is the IPv4 host: an IPv4 CIDR allows it too.
        let mapped = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |a: &IpAddr| self.nets.iter().any(|n| n.contains(a));
        match classify(address) {
            Some(class) if !allowed(&address) && !mapped.as_ref().is_some_and(allowed) => Err(Refused { address, class }),
            _ => Ok(()),
        }
    }

    /// For a URL whose host is an IP literal (not resolved, so not seen by the resolver).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        // `host_str` writes an IPv6 literal in brackets.
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(ip) => self.check(ip),
            Err(_) => Ok(()),
        }
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The class of a non-public address, `None` for a public one.
pub fn classify(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address written as IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96,
            // compatible ::a.b.c.d below) reaches the IPv4 host: judged as that host.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let s = v6.segments();
            let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return classify_v4(embedded);
            }
            if v6.is_unspecified() {
                return Some("the unspecified address");
            }
            if v6.is_loopback() {
                return Some("a loopback address");
            }
            // IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks).
            if s[..6] == [0; 6] {
                return classify_v4(embedded);
            }
            if v6.is_unicast_link_local() {
                Some("a link-local address")
            } else if v6.is_unique_local() {
                Some("a private (unique local) address")
            } else if s[0] & 0xffc0 == 0xfec0 {
                // fec0::/10, deprecated site-local: private in effect where still in use.
                Some("a private (site-local) address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("a link-local address (the instance metadata service)")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 0 {
        Some("an address of this network (0.0.0.0/8)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_broadcast() || a >= 240 {
        Some("a reserved address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

type Lookup = dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> + Send + Sync;

/// The HTTP client's resolver: the system's lookup, then the policy on every address.
#[derive(Clone)]
pub struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
    lookup: Arc<Lookup>,
}

impl PolicyResolver {
    pub fn new(policy: OutboundPolicy) -> Self {
        let lookup: Arc<Lookup> = Arc::new(|host: String| Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) }));
        Self { policy: Arc::new(policy), lookup }
    }

    /// With another lookup (tests: a name that resolves to what the test says).
    pub fn with_lookup(mut self, lookup: impl Fn(&str) -> Vec<IpAddr> + Send + Sync + 'static) -> Self {
        let lookup = Arc::new(lookup);
        self.lookup = Arc::new(move |host: String| {
            let found: Vec<SocketAddr> = lookup(&host).into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Box::pin(async move { Ok(found) })
        });
        self
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (policy, lookup, host) = (self.policy.clone(), self.lookup.clone(), name.as_str().to_owned());
        Box::pin(async move {
            let found = lookup(host.clone()).await?;
            if policy.allows_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| policy.check(a.ip()).map_err(|r| refused = Some(r)).is_ok()).collect();
            match (allowed.is_empty(), refused) {
                (true, Some(r)) => Err(Box::new(r) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
