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
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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

use crate::budget::Budget;

/// What one connection may take.
#[derive(Clone, Debug)]
pub struct Limits {
    /// From the connection's start (or the end of its last request) to the
    /// end of the next request head.
    pub header_read: Duration,
    /// Connections open at once from one client address, an IPv6 client by
    /// its /64 and its /56 as [`Budget`] counts them.
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
    let open = Budget::new(limits.per_client, limits.total);
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
        let client = (!limits.proxies.contains(&peer.ip())).then_some(peer.ip());
        let Ok(place) = open.take(client, 1) else {
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
