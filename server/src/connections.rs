//! The server's accept loop, in place of `axum::serve`: what a connection
//! may cost before it is a request. `axum::serve` gives hyper no timer, so
//! hyper's own deadline for a request head never fires (it logs that it has
//! none) and the request timeout starts only once a head has arrived: a
//! client sending its headers a byte at a time, or opening connections and
//! sending nothing, held them for ever, and a thousand of them from one
//! address used up the process's file descriptors. Here each connection has
//! [`Limits::header_read`] to send a whole request head (hyper's timer), and
//! each client address holds at most [`Limits::per_client`] connections at
//! once (one beyond is closed as soon as it is accepted); an IPv6 client is
//! counted by its /64 and its /56, as the per-address limits count it, and
//! everyone together holds at most [`Limits::total`].
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::core::quota::{client_block, network_block, GROUP_FACTOR};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// What one connection may take.
#[derive(Clone, Debug)]
pub struct Limits {
    /// From the connection's start (or the end of its last request) to the
    /// end of the next request head.
    pub header_read: Duration,
    /// Connections open at once from one client address (an IPv6 client by
    /// its /64: one subscriber holds the whole block, and counted address by
    /// address it could open connections without end). The /64s of one /56
    /// together hold [`GROUP_FACTOR`] times as many, as the per-address
    /// limits count them.
    pub per_client: usize,
    /// Connections open at once from everyone, below the process's file
    /// descriptors, so that a crowd of clients leaves the server the
    /// descriptors its database connections, backups and logs need.
    pub total: usize,
    /// Addresses not bounded so: the reverse proxies (`TRUSTED_PROXIES`),
    /// whose connections carry everyone's requests. The total still holds.
    pub proxies: Vec<IpAddr>,
}

/// Descriptors kept out of [`Limits::total`]: the database pools, the
/// listener, logs, backups and mail files.
const DESCRIPTORS_KEPT: usize = 256;

impl Default for Limits {
    fn default() -> Self {
        // A browser opens about six connections to a host; an office behind
        // one address has many browsers.
        Limits {
            header_read: Duration::from_secs(10),
            per_client: 256,
            total: open_files_allowed().saturating_sub(DESCRIPTORS_KEPT).max(64),
            proxies: Vec::new(),
        }
    }
}

/// How many files the process may open (its soft `RLIMIT_NOFILE`), first
/// raised as far as the hard limit allows: the soft limit is often 1,024,
/// a few clients' worth of connections.
pub fn open_files_allowed() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// What an open connection is counted against.
#[derive(Clone, Copy, Hash, PartialEq, Eq, Debug)]
enum Holder {
    /// The client address (an IPv6 one by its /64).
    Client(IpAddr),
    /// The /56 an IPv6 client's /64 is in.
    Network(IpAddr),
    Everyone,
}

/// Open connections per holder.
#[derive(Clone, Default)]
struct Open(Arc<Mutex<HashMap<Holder, usize>>>);

/// One open connection's places in its holders' counts, given back on drop.
struct Place {
    open: Open,
    holders: Vec<Holder>,
}

impl Open {
    /// A place for a connection from `client`, if none of its holders is
    /// full: `most` for the client (its /56 `GROUP_FACTOR` times that),
    /// `total` for everyone. A proxy's (`most: None`) counts in the total
    /// only, taking nothing from its neighbours' counts.
    fn take(&self, client: IpAddr, most: Option<usize>, total: usize) -> Option<Place> {
        let mut holders = vec![(Holder::Everyone, total)];
        if let Some(most) = most {
            holders.push((Holder::Client(client_block(client)), most));
            if let Some(network) = network_block(client) {
                let group = most.saturating_mul(GROUP_FACTOR as usize);
                holders.push((Holder::Network(IpAddr::V6(network)), group));
            }
        }
        let mut counts = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if holders.iter().any(|(holder, max)| counts.get(holder).copied().unwrap_or(0) >= *max) {
            return None;
        }
        for (holder, _) in &holders {
            *counts.entry(*holder).or_insert(0) += 1;
        }
        Some(Place { open: self.clone(), holders: holders.into_iter().map(|(h, _)| h).collect() })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.open.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for holder in &self.holders {
            if let Some(count) = counts.get_mut(holder) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(holder);
                }
            }
        }
    }
}

/// Serves the router `routers` holds on `listener` until `stop` turns true;
/// each request goes to the router current when it arrives (the process
/// swaps its start-up router for the application's once ready, and a
/// connection opened before keeps working). Once stopped, it accepts no more
/// connections, lets the requests in flight finish (an idle kept-alive
/// connection closes at once) and returns when every connection is closed.
/// Handlers see the peer as `ConnectInfo<SocketAddr>`, as with axum's
/// `into_make_service_with_connect_info`.
pub async fn serve(
    listener: TcpListener,
    routers: watch::Receiver<Router>,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let open = Open::default();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    loop {
        let mut stopping = stop.clone();
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %err, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // The watch's guard is dropped inside: it must not live in the loop.
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => break,
        };
        // On a dual-stack listener an IPv4 client comes as `::ffff:a.b.c.d`:
        // seen as the IPv4 address it is, here (a proxy's, the count) and
        // by every handler (limits and logs by client address).
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let most = (!limits.proxies.contains(&peer.ip())).then_some(limits.per_client);
        let Some(place) = open.take(peer.ip(), most, limits.total) else {
            metrics::counter!("console_connections_refused_total").increment(1);
            continue;
        };
        // Without TCP_NODELAY, responses written in pieces stall on delayed ACKs.
        let _ = stream.set_nodelay(true);
        let routers = routers.clone();
        let service = tower::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = routers.borrow().clone();
            router.oneshot(request.map(Body::new))
        });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(place);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::Open;
    use std::net::IpAddr;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_56_and_an_ipv4_one_alone() {
        let open = Open::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let first = open.take(ip("2001:db8:1:2::1"), Some(2), 100).unwrap();
        let _second = open.take(ip("2001:db8:1:2:ffff::9"), Some(2), 100).unwrap();
        assert!(
            open.take(ip("2001:db8:1:2::3"), Some(2), 100).is_none(),
            "a third from the same /64"
        );
        assert!(
            open.take(ip("2001:db8:1:3::1"), Some(2), 100).is_some(),
            "the next /64 is another client"
        );
        drop(first);
        assert!(
            open.take(ip("2001:db8:1:2::3"), Some(2), 100).is_some(),
            "a closed one gives its place back"
        );
        let _a = open.take(ip("192.0.2.1"), Some(1), 100).unwrap();
        assert!(open.take(ip("192.0.2.2"), Some(1), 100).is_some(), "IPv4 addresses count alone");
        assert!(open.take(ip("192.0.2.1"), Some(1), 100).is_none());
    }

    #[test]
    fn the_64s_of_one_56_share_a_few_times_one_clients_connections() {
        let open = Open::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let held: Vec<_> = (0..super::GROUP_FACTOR)
            .map(|n| open.take(ip(&format!("2001:db8:1:2{n:02x}::1")), Some(1), 100).unwrap())
            .collect();
        assert!(
            open.take(ip("2001:db8:1:2ff::1"), Some(1), 100).is_none(),
            "a fresh /64 of a full /56"
        );
        assert!(open.take(ip("2001:db8:1:300::1"), Some(1), 100).is_some(), "the next /56");
        drop(held);
        assert!(open.take(ip("2001:db8:1:2ff::1"), Some(1), 100).is_some());
    }

    #[test]
    fn a_proxy_counts_in_the_total_only() {
        let open = Open::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let _proxied: Vec<_> =
            (0..5).map(|_| open.take(ip("2001:db8:1:201::1"), None, 100).unwrap()).collect();
        assert!(open.take(ip("2001:db8:1:202::1"), Some(1), 100).is_some(), "a neighbour");
        assert!(open.take(ip("2001:db8:1:201::9"), Some(1), 100).is_some(), "its own /64");
        // The places taken above are given back as soon as they are checked.
        assert!(open.take(ip("192.0.2.1"), Some(1), 5).is_none(), "the total counts it");
    }

    #[test]
    fn everyone_together_holds_at_most_the_total() {
        let open = Open::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let first = open.take(ip("192.0.2.1"), Some(10), 2).unwrap();
        let _second = open.take(ip("198.51.100.1"), Some(10), 2).unwrap();
        assert!(
            open.take(ip("203.0.113.1"), Some(10), 2).is_none(),
            "a third client over the total"
        );
        drop(first);
        assert!(open.take(ip("203.0.113.1"), Some(10), 2).is_some());
    }
}
