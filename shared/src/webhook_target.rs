//! Where a webhook may be delivered: never inside. A URL with credentials, a `localhost` name,
//! or an address that is loopback, private, link-local (cloud metadata at 169.254.169.254),
//! shared (100.64/10), unique-local, multicast or unspecified is refused, in every spelling the
//! URL parser accepts (`0x7f000001`, `2130706433`, `[::ffff:127.0.0.1]`). The API checks a URL
//! when it is registered; the worker checks it again at each delivery and resolves names
//! through [`public_addresses`], so a name that resolves (or rebinds) to such an address is
//! never connected to. `WEBHOOK_ALLOW_PRIVATE=true` turns this off for tests and local work.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why `url` may not receive webhooks, or `None` when it may (a name is resolved later).
pub fn refusal(url: &str) -> Option<String> {
    let Ok(parsed) = Url::parse(url) else {
        return Some("is not a URL".to_owned());
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry credentials (user:password@)".to_owned());
    }
    // The parser normalises every IPv4 spelling to dotted decimal and brackets IPv6.
    let Some(host) = parsed.host_str() else {
        return Some("has no host".to_owned());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return forbidden(ip).map(|why| format!("is {why}"));
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost"))
        .then(|| format!("names {name}, this machine"))
}

/// What kind of inside address `ip` is, or `None` for a public one.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// The public ones of `resolved`; an error naming the host when none is left.
pub fn public_addresses(
    host: &str,
    resolved: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, String> {
    let mut refused = None;
    let public: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| match forbidden(addr.ip()) {
            Some(why) => {
                refused = Some((addr.ip(), why));
                false
            }
            None => true,
        })
        .collect();
    match (public.is_empty(), refused) {
        (false, _) => Ok(public),
        (true, Some((ip, why))) => Err(format!(
            "{host} resolves to {ip}, {why}: webhooks are not delivered inside"
        )),
        (true, None) => Err(format!("{host} resolves to no address")),
    }
}

#[cfg(test)]
mod tests {
    use crate::webhook_target::{public_addresses, refusal};

    #[test]
    fn inside_addresses_are_refused_in_every_spelling() {
        let refused = [
            "http://127.0.0.1:9/hook",
            "http://0x7f000001/hook",
            "http://2130706433/hook",
            "http://0177.0.0.1/hook",
            "http://127.1/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/hook",
            "http://0.0.0.0/hook",
            "http://[fd00:ec2::254]/hook",
            "http://[fe80::1]/hook",
            "http://localhost:8080/hook",
            "http://api.localhost/hook",
            "https://user:secret@example.org/hook",
            "https://user@example.org/hook",
        ];
        for url in refused {
            assert!(refusal(url).is_some(), "{url} was accepted");
        }
        for url in [
            "https://example.org/hook",
            "http://93.184.215.14:8080/hook",
            "https://[2606:4700::1111]/hook",
        ] {
            assert_eq!(refusal(url), None, "{url}");
        }
    }

    #[test]
    fn a_name_resolving_inside_keeps_only_its_public_addresses() {
        let inside = "127.0.0.1:443".parse().expect("addr");
        let outside = "93.184.215.14:443".parse().expect("addr");
        assert_eq!(
            public_addresses("mixed.example", [inside, outside]),
            Ok(vec![outside])
        );
        let refused = public_addresses("rebound.example", [inside]).expect_err("refused");
        assert!(refused.contains("127.0.0.1"), "{refused}");
    }
}
