//! Room that client addresses share: each holds at most so much at once,
//! an IPv6 client by its /64 (one subscriber holds the whole block, and
//! counted address by address it could take without end) with the /64s of
//! one /56 together [`GROUP_FACTOR`] times as much, as the per-address
//! limits count them; and everyone together at most a total. Open
//! connections are counted so ([`crate::connections`]), and the bytes of
//! request bodies held in memory ([`crate::security`]). In memory, not in
//! the database: both are this process's own resources.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use app::domain::core::quota::{client_block, network_block, GROUP_FACTOR};

/// What a share is counted against.
#[derive(Clone, Copy, Hash, PartialEq, Eq, Debug)]
pub enum Holder {
    /// The client address (an IPv6 one by its /64).
    Client(IpAddr),
    /// The /56 an IPv6 client's /64 is in.
    Network(IpAddr),
    Everyone,
}

/// At most `per_client` for one client address and `total` for everyone.
#[derive(Clone, Debug)]
pub struct Budget {
    held: Arc<Mutex<HashMap<Holder, usize>>>,
    per_client: usize,
    total: usize,
}

/// What one user of the budget holds, given back on drop.
#[derive(Debug)]
pub struct Share {
    budget: Budget,
    holders: Vec<(Holder, usize)>,
    amount: usize,
}

impl Budget {
    pub fn new(per_client: usize, total: usize) -> Self {
        Budget { held: Arc::default(), per_client, total }
    }

    /// A share of `amount` for `client`, unless one of its holders would go
    /// over its most (the first such is the error). Without a client (a
    /// reverse proxy's connection, which carries everyone's requests) it
    /// counts in the total only, taking nothing from its neighbours' room.
    pub fn take(&self, client: Option<IpAddr>, amount: usize) -> Result<Share, Holder> {
        // The client's own first: a refusal names the narrowest that is full.
        let mut holders = Vec::with_capacity(3);
        if let Some(client) = client {
            holders.push((Holder::Client(client_block(client)), self.per_client));
            if let Some(network) = network_block(client) {
                let group = self.per_client.saturating_mul(GROUP_FACTOR as usize);
                holders.push((Holder::Network(IpAddr::V6(network)), group));
            }
        }
        holders.push((Holder::Everyone, self.total));
        let mut share = Share { budget: self.clone(), holders, amount: 0 };
        share.grow(amount)?;
        Ok(share)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<Holder, usize>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Share {
    /// Takes `more` into this share, unless a holder has no room for it
    /// (the error; nothing is taken then).
    pub fn grow(&mut self, more: usize) -> Result<(), Holder> {
        let mut held = self.budget.held();
        let over = |(holder, most): &&(Holder, usize)| {
            held.get(holder).copied().unwrap_or(0).saturating_add(more) > *most
        };
        if let Some((full, _)) = self.holders.iter().find(over) {
            return Err(*full);
        }
        for (holder, _) in &self.holders {
            *held.entry(*holder).or_insert(0) += more;
        }
        self.amount += more;
        Ok(())
    }

    pub fn amount(&self) -> usize {
        self.amount
    }
}

impl Holder {
    /// Its name as a metric's label.
    pub fn label(self) -> &'static str {
        match self {
            Holder::Client(_) => "client",
            Holder::Network(_) => "network",
            Holder::Everyone => "everyone",
        }
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.budget.held();
        for (holder, _) in &self.holders {
            if let Some(count) = held.get_mut(holder) {
                *count -= self.amount;
                if *count == 0 {
                    held.remove(holder);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Budget;
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_56_and_an_ipv4_one_alone() {
        let budget = Budget::new(2, 100);
        let first = budget.take(ip("2001:db8:1:2::1"), 1).expect("room");
        let _second = budget.take(ip("2001:db8:1:2:ffff::9"), 1).expect("room");
        assert!(budget.take(ip("2001:db8:1:2::3"), 1).is_err(), "a third from the same /64");
        assert!(budget.take(ip("2001:db8:1:3::1"), 1).is_ok(), "the next /64 is another client");
        drop(first);
        assert!(budget.take(ip("2001:db8:1:2::3"), 1).is_ok(), "a share dropped is given back");
        let _a = budget.take(ip("192.0.2.1"), 2).expect("room");
        assert!(budget.take(ip("192.0.2.2"), 2).is_ok(), "IPv4 addresses count alone");
        assert!(budget.take(ip("192.0.2.1"), 1).is_err());
    }

    #[test]
    fn the_64s_of_one_56_share_a_few_times_one_clients_room() {
        let budget = Budget::new(1, 100);
        let held: Vec<_> = (0..super::GROUP_FACTOR)
            .map(|n| budget.take(ip(&format!("2001:db8:1:2{n:02x}::1")), 1).expect("room"))
            .collect();
        let full = budget.take(ip("2001:db8:1:2ff::1"), 1).unwrap_err();
        assert_eq!(full.label(), "network", "a fresh /64 of a full /56");
        assert!(budget.take(ip("2001:db8:1:300::1"), 1).is_ok(), "the next /56");
        drop(held);
        assert!(budget.take(ip("2001:db8:1:2ff::1"), 1).is_ok());
    }

    #[test]
    fn a_proxy_counts_in_the_total_only() {
        let budget = Budget::new(1, 6);
        let _proxied: Vec<_> = (0..5).map(|_| budget.take(None, 1).expect("room")).collect();
        let _neighbour = budget.take(ip("2001:db8:1:202::1"), 1).expect("room");
        assert!(budget.take(ip("192.0.2.1"), 1).is_err(), "the total counts the proxy's");
    }

    #[test]
    fn a_share_grows_while_there_is_room_and_gives_all_of_it_back() {
        let budget = Budget::new(10, 15);
        let mut share = budget.take(ip("192.0.2.1"), 4).expect("room");
        assert!(share.grow(6).is_ok());
        assert_eq!(share.grow(1).unwrap_err().label(), "client", "over the client's most");
        assert_eq!(share.amount(), 10, "a refused growth takes nothing");
        let mut other = budget.take(ip("198.51.100.1"), 5).expect("room");
        assert_eq!(other.grow(1).unwrap_err().label(), "everyone", "over the total");
        drop(share);
        assert!(other.grow(5).is_ok(), "the room the dropped share held");
        assert!(budget.take(ip("203.0.113.1"), 6).is_err(), "over the total");
        assert!(budget.take(ip("203.0.113.1"), 5).is_ok());
    }
}
