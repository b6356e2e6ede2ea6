//! The webhook client's name resolution: the system resolver, keeping only public addresses
//! (`coin_shared::webhook_target`), so the address a delivery connects to is one that was
//! checked — a name that resolves, or rebinds, to an inside address fails before any
//! connection is made.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves through the system, refusing inside addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public = coin_shared::webhook_target::public_addresses(&host, resolved)?;
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use reqwest::dns::{Name, Resolve};

    use crate::public_dns::PublicOnly;

    #[tokio::test]
    async fn localhost_resolves_to_nothing_it_may_connect_to() {
        let name = Name::from_str("localhost").expect("a name");
        let refused = match PublicOnly.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("localhost resolves to"), "{refused}");
    }
}
