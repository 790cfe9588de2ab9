//! The network policy for `?url=` (API.md §1, §5): which hosts may be asked for, and which
//! addresses may be connected to.
//!
//! A host name is checked twice: against the allow-list here, and, after DNS, every address
//! it resolves to by [`GuardedResolver`], which is the resolver the `?url=` client connects
//! through, so the address checked is the address connected to. Literal IPs never reach a
//! resolver, so [`Policy::check_url`] checks them itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

use crate::config::HostPattern;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Refusal {
    #[error("proxying by url is turned off (FERROTYPE_ALLOWED_HOSTS is empty)")]
    ProxyOff,
    #[error("host {0:?} is not in the allowed hosts")]
    HostNotAllowed(String),
    #[error("address {0} of {1:?} is not publicly routable")]
    PrivateAddress(IpAddr, String),
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    #[error("S3 bucket {0:?} is not in FERROTYPE_S3_BUCKETS")]
    Bucket(String),
}

#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub allowed_hosts: Vec<HostPattern>,
    pub allowed_networks: Vec<IpNet>,
}

impl Policy {
    /// Scheme, host allow-list and, for literal IPs, the address.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        if self.allowed_hosts.is_empty() {
            return Err(Refusal::ProxyOff);
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(Refusal::HostNotAllowed(String::new())),
        };
        if !self.allowed_hosts.iter().any(|p| p.matches(&host)) {
            return Err(Refusal::HostNotAllowed(host));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) => self.check_ip(ip, &host),
            // RFC 6761: `localhost` names are loopback whatever DNS says (or fails to say),
            // so they are judged as loopback before any lookup.
            None if is_localhost_name(&host) => {
                self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), &host)
            }
            None => Ok(()),
        }
    }

    /// Resolves `host` and refuses it if any of its addresses is forbidden: connecting to
    /// a "good" one of a mixed answer would leave the choice to the attacker's DNS server.
    /// A name that does not resolve gives no address (the connection attempt then fails).
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let lookup = host.to_owned();
        let addrs: Vec<SocketAddr> =
            tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                .await
                .ok()
                .and_then(Result::ok)
                .into_iter()
                .flatten()
                .collect();
        for addr in &addrs {
            self.check_ip(addr.ip(), host)?;
        }
        Ok(addrs)
    }

    /// [`Policy::check_url`], then, for a name, [`Policy::resolve`]: the check for a URL
    /// that something else (a browser) will connect to.
    pub async fn check_url_and_names(&self, url: &Url) -> Result<(), Refusal> {
        self.check_url(url)?;
        if let Some(Host::Domain(host)) = url.host() {
            self.resolve(host).await?;
        }
        Ok(())
    }

    pub fn check_ip(&self, ip: IpAddr, host: &str) -> Result<(), Refusal> {
        if self.allowed_networks.iter().any(|n| n.contains(&ip)) || is_public(ip) {
            Ok(())
        } else {
            Err(Refusal::PrivateAddress(ip, host.to_owned()))
        }
    }
}

fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether `ip` is an ordinary public unicast address, looking through the IPv6 forms that
/// embed an IPv4 address (mapped, compatible, 6to4, NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254, the cloud metadata address
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, includes fd00:ec2::254 (metadata)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: embeds an obfuscated IPv4
        || (s[0] == 0x2001 && s[1] == 0xdb8)) // documentation
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated); `::` and `::1` stay v6.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(v4(hi, lo)),
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(v4(hi, lo)),
        // 6to4: 2002:AABB:CCDD::/48
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        // NAT64 well-known prefix 64:ff9b::/96 and local-use 64:ff9b:1::/48
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x64, 0xff9b, 1, ..] => Some(v4(s[6], s[7])),
        _ => None,
    }
}

/// A DNS resolver that refuses names resolving to any address the policy forbids.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    pub policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&host).await?;
            if addrs.is_empty() {
                return Err(format!("{host:?} did not resolve").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &str, nets: &[&str]) -> Policy {
        Policy {
            allowed_hosts: hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(|h| HostPattern::Exact(h.to_owned()))
                .collect(),
            allowed_networks: nets.iter().map(|n| n.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn private_addresses_in_every_spelling() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "2002:7f00:1::",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_hosts_are_normalised_before_the_check() {
        let p = policy("127.0.0.1", &[]);
        for u in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            let url: Url = u.parse().unwrap();
            assert!(
                matches!(p.check_url(&url), Err(Refusal::PrivateAddress(..))),
                "{u}"
            );
        }
        let open = policy("127.0.0.1", &["127.0.0.0/8"]);
        assert_eq!(open.check_url(&"http://127.1:8/x".parse().unwrap()), Ok(()));
    }

    #[test]
    fn localhost_names_are_refused_by_name() {
        let p = Policy {
            allowed_hosts: ["localhost", "a.localhost", "localhost."]
                .iter()
                .map(|h| HostPattern::Exact((*h).to_owned()))
                .collect(),
            allowed_networks: vec![],
        };
        for u in [
            "http://localhost/",
            "http://LOCALHOST./",
            "http://a.localhost/",
        ] {
            let url: Url = u.parse().unwrap();
            assert!(
                matches!(p.check_url(&url), Err(Refusal::PrivateAddress(..))),
                "{u}"
            );
        }
        let open = Policy {
            allowed_networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..p
        };
        assert_eq!(
            open.check_url(&"http://localhost:8/".parse().unwrap()),
            Ok(())
        );
    }

    #[test]
    fn host_list_and_scheme() {
        let p = policy("example.com", &[]);
        assert_eq!(
            p.check_url(&"https://example.com/a".parse().unwrap()),
            Ok(())
        );
        assert!(matches!(
            p.check_url(&"https://other.com/a".parse().unwrap()),
            Err(Refusal::HostNotAllowed(_))
        ));
        assert!(matches!(
            p.check_url(&"ftp://example.com/a".parse().unwrap()),
            Err(Refusal::Scheme(_))
        ));
        assert_eq!(
            policy("", &[]).check_url(&"https://example.com/".parse().unwrap()),
            Err(Refusal::ProxyOff)
        );
    }
}
