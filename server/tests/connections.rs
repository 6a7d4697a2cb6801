//! What a connection may cost before it is a request: a deadline for each
//! request head, and a bound on one client address's open connections.
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use server::connections::{serve, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A server whose one page says who is asking.
async fn start(limits: Limits) -> (SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router =
        Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                format!("hello {}", peer.ip())
            }),
        );
    let (stop, stopped) = watch::channel(false);
    let served = tokio::spawn(serve(listener, watch::channel(router).1, limits, stopped));
    (addr, stop, served)
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: console.test\r\nConnection: close\r\n\r\n";

/// What the server sends until it closes the connection, or `None` if it
/// keeps it open past `within`.
async fn answer(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut reply = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut reply)).await {
        Ok(_) => Some(String::from_utf8_lossy(&reply).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_loses_its_connection() {
    let limits = Limits { header_read: Duration::from_millis(500), ..Limits::default() };
    let (addr, _stop, _served) = start(limits).await;
    // A whole request is answered, with the peer's address.
    let mut quick = TcpStream::connect(addr).await.unwrap();
    quick.write_all(REQUEST).await.unwrap();
    let reply = answer(&mut quick, Duration::from_secs(5)).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("hello 127.0.0.1"), "{reply}");
    // Half a head, then nothing: closed once its time is up.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: console.test\r\n").await.unwrap();
    let reply = answer(&mut slow, Duration::from_secs(5)).await;
    assert!(reply.is_some(), "the connection was kept past the deadline");
    assert!(!reply.unwrap().contains("200 OK"), "a half head is not a request");
    // Connected and silent: closed as well.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(answer(&mut silent, Duration::from_secs(5)).await.is_some(), "kept while silent");
}

#[tokio::test]
async fn one_client_address_holds_a_bounded_number_of_connections() {
    let limits = Limits { per_client: 3, ..Limits::default() };
    let (addr, stop, served) = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The fourth is closed at once, without an answer.
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let _ = fourth.write_all(REQUEST).await;
    let reply = answer(&mut fourth, Duration::from_secs(5)).await;
    assert_eq!(reply.as_deref(), Some(""), "one connection too many is closed unanswered");
    // One of the three sends its request and is answered; once it has
    // closed, its place is free again.
    let mut first = held.remove(0);
    first.write_all(REQUEST).await.unwrap();
    assert!(answer(&mut first, Duration::from_secs(5)).await.unwrap().contains("hello"));
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let mut next = TcpStream::connect(addr).await.unwrap();
        let _ = next.write_all(REQUEST).await;
        let reply = answer(&mut next, Duration::from_secs(5)).await.unwrap_or_default();
        if reply.contains("hello") {
            again = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed connection's place is given back");

    // A reverse proxy's connections carry everyone's requests: not bounded.
    let (proxied, _stop, _served) =
        start(Limits { per_client: 1, proxies: vec![[127, 0, 0, 1].into()], ..Limits::default() })
            .await;
    let _held = TcpStream::connect(proxied).await.unwrap();
    let mut second = TcpStream::connect(proxied).await.unwrap();
    second.write_all(REQUEST).await.unwrap();
    assert!(answer(&mut second, Duration::from_secs(5)).await.unwrap().contains("hello"));

    // Stopping: idle connections close, and the server returns.
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), served).await.unwrap().unwrap();
    for mut idle in held {
        assert!(answer(&mut idle, Duration::from_secs(5)).await.is_some(), "closed on stop");
    }
}
