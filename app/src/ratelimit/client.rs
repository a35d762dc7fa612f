//! Who the client is: the socket's peer, unless that peer is a proxy the operator trusts
//! (`SELLOUT_TRUSTED_PROXIES`); then the right-most address in `X-Forwarded-For` (or, without
//! it, RFC 7239 `Forwarded`) that is not one of those proxies. Every per-address rate limit
//! and the request log read the result, `ClientAddr`, which the server's edge puts on each
//! request once.
//!
//! Right-most, not left-most: each proxy appends the address it saw, so everything left of the
//! last trusted hop was written by the client and may be forged; the first untrusted address
//! from the right is the one a trusted proxy itself saw. A header that cannot be read in full
//! counts as absent (the peer is the client), never as an error.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed: addresses and CIDR ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `127.0.0.1,10.0.0.0/8,::1`: comma-separated addresses and ranges (empty: none).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => part.parse::<IpAddr>().map(IpNet::from).map_err(|_| format!("\"{part}\" is neither an address nor a range such as 10.0.0.0/8"))?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`, reading the forwarding headers only when `peer` is trusted.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let Some(hops) = forwarded_for(headers) else { return peer };
        // From the right: the first hop that is not a trusted proxy; all trusted: the first.
        hops.iter().rev().copied().find(|ip| !self.trusts(*ip)).or_else(|| hops.first().copied()).unwrap_or(peer)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The addresses the request passed through, client first: `X-Forwarded-For` if it is sent,
/// else `Forwarded`'s `for=`. None when neither is sent or what is sent cannot be read in full.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let xff: Vec<&str> = headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().ok()).collect::<Option<_>>()?;
    if !xff.is_empty() {
        return xff.iter().flat_map(|v| v.split(',')).map(|hop| address(hop.trim())).collect::<Option<Vec<_>>>().filter(|hops| !hops.is_empty());
    }
    let forwarded: Vec<&str> = headers.get_all("forwarded").iter().map(|v| v.to_str().ok()).collect::<Option<_>>()?;
    let mut hops = Vec::new();
    for element in forwarded.iter().flat_map(|v| v.split(',')) {
        let value = element.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim().eq_ignore_ascii_case("for").then_some(value.trim())
        })?;
        hops.push(address(value.trim_matches('"'))?);
    }
    (!hops.is_empty()).then_some(hops)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`; nothing else
/// (`unknown`, an obfuscated `_name`, garbage).
fn address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse::<Ipv6Addr>().ok()).map(|v6| canonical(IpAddr::V6(v6)))
}

/// The client's address, as the server's edge worked it out for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key of the address's rate-limit buckets: the address for IPv4, its /64 for IPv6
    /// (one home or phone is given a whole /64, and can pick any address in it).
    pub fn bucket(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// From the request: what the edge found, else the socket's peer (a router without the edge's
/// layer, as in some tests), else the unspecified address.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<ClientAddr>() {
            return Ok(*found);
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| canonical(c.0.ip()));
        Ok(ClientAddr(peer.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_list_reads_addresses_and_ranges_and_refuses_the_rest() {
        let t = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8,::1 ,fd00::/8").unwrap();
        assert!(t.trusts(ip("127.0.0.1")) && t.trusts(ip("10.200.3.4")) && t.trusts(ip("::1")) && t.trusts(ip("fd12::9")));
        assert!(!t.trusts(ip("11.0.0.1")) && !t.trusts(ip("2001:db8::1")));
        assert!(t.trusts(ip("::ffff:10.1.1.1")), "an IPv4 address written as IPv6");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "localhost", "10.0.0", "1.2.3.4/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_the_rightmost_untrusted_hop_is_the_client() {
        let none = TrustedProxies::default();
        let lb = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let forged = headers(&[("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(none.client_of(ip("203.0.113.9"), &forged), ip("203.0.113.9"), "no proxy trusted: the header is ignored");
        assert_eq!(lb.client_of(ip("203.0.113.9"), &forged), ip("203.0.113.9"), "an untrusted peer's header is ignored");
        assert_eq!(lb.client_of(ip("10.0.0.2"), &forged), ip("6.6.6.6"));
        // The client put a forged hop first; the balancer appended what it saw.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(lb.client_of(ip("10.0.0.2"), &chain), ip("198.51.100.7"), "two proxies: the right-most untrusted hop");
        // Two header lines are one list.
        let split = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(lb.client_of(ip("10.0.0.2"), &split), ip("198.51.100.8"));
        // Every hop trusted: the first.
        assert_eq!(lb.client_of(ip("10.0.0.2"), &headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")])), ip("10.9.9.9"));
        // Malformed: as if absent.
        for bad in ["", "not-an-ip", "1.1.1.1,,2.2.2.2", "unknown", "1.1.1.1; drop"] {
            assert_eq!(lb.client_of(ip("10.0.0.2"), &headers(&[("x-forwarded-for", bad)])), ip("10.0.0.2"), "{bad:?}");
        }
        assert_eq!(lb.client_of(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_and_ipv6_are_read() {
        let lb = TrustedProxies::parse("10.0.0.0/8,fd00::/8").unwrap();
        let h = headers(&[("forwarded", r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#)]);
        assert_eq!(lb.client_of(ip("10.0.0.2"), &h), ip("2001:db8:cafe::17"));
        assert_eq!(lb.client_of(ip("fd00::1"), &headers(&[("x-forwarded-for", "2001:db8::5, fd00::9")])), ip("2001:db8::5"));
        assert_eq!(lb.client_of(ip("10.0.0.2"), &headers(&[("x-forwarded-for", "[2001:db8::6]:443")])), ip("2001:db8::6"));
        assert_eq!(lb.client_of(ip("10.0.0.2"), &headers(&[("x-forwarded-for", "192.0.2.1:5678")])), ip("192.0.2.1"));
        for bad in ["for=unknown", "for=_hidden", "proto=https", r#"for="[2001:db8::1""#] {
            assert_eq!(lb.client_of(ip("10.0.0.2"), &headers(&[("forwarded", bad)])), ip("10.0.0.2"), "{bad}");
        }
        // X-Forwarded-For wins when both are sent.
        let both = headers(&[("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=198.51.100.2")]);
        assert_eq!(lb.client_of(ip("10.0.0.2"), &both), ip("198.51.100.1"));
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1")).bucket();
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, ClientAddr(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")).bucket());
        assert_ne!(a, ClientAddr(ip("2001:db8:1:3::1")).bucket());
        assert_eq!(ClientAddr(ip("192.0.2.1")).bucket(), "192.0.2.1");
    }
}
