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
//! counted by its /64, as the per-address limits count it.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::core::quota::client_block;
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
    /// address it could open connections without end).
    pub per_client: usize,
    /// Addresses not bounded so: the reverse proxies (`TRUSTED_PROXIES`),
    /// whose connections carry everyone's requests.
    pub proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        // A browser opens about six connections to a host; an office behind
        // one address has many browsers.
        Limits { header_read: Duration::from_secs(10), per_client: 256, proxies: Vec::new() }
    }
}

/// Open connections per client address (an IPv6 one by its /64).
#[derive(Clone, Default)]
struct Open(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection's place in its address's count, given back on drop.
struct Place {
    open: Open,
    client: IpAddr,
}

impl Open {
    fn take(&self, client: IpAddr, most: usize) -> Option<Place> {
        let client = client_block(client);
        let mut counts = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(client).or_insert(0);
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(Place { open: self.clone(), client })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.open.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
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
        let most = if limits.proxies.contains(&peer.ip()) { usize::MAX } else { limits.per_client };
        let Some(place) = open.take(peer.ip(), most) else {
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
    fn an_ipv6_client_is_counted_by_its_64_and_an_ipv4_one_alone() {
        let open = Open::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let first = open.take(ip("2001:db8:1:2::1"), 2).unwrap();
        let _second = open.take(ip("2001:db8:1:2:ffff::9"), 2).unwrap();
        assert!(open.take(ip("2001:db8:1:2::3"), 2).is_none(), "a third from the same /64");
        assert!(open.take(ip("2001:db8:1:3::1"), 2).is_some(), "the next /64 is another client");
        drop(first);
        assert!(open.take(ip("2001:db8:1:2::3"), 2).is_some(), "a closed one gives its place back");
        let _a = open.take(ip("192.0.2.1"), 1).unwrap();
        assert!(open.take(ip("192.0.2.2"), 1).is_some(), "IPv4 addresses count alone");
        assert!(open.take(ip("192.0.2.1"), 1).is_none());
    }
}
