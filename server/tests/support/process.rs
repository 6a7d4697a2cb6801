//! Real server processes for the tests that need one (signals, several
//! processes on one database): the binary cargo built for the tests, a raw
//! HTTP/1.1 client, and an SMTP server that counts what it accepts.
#![allow(dead_code)]
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `server serve` on `port` with `data_dir`, `database_url` (empty: the
/// SQLite file in `data_dir`), mail by SMTP to `smtp_port`, and `env` on top;
/// returns once it is ready (`/readyz`).
pub async fn start_server(
    data_dir: &Path,
    database_url: &str,
    port: u16,
    smtp_port: u16,
    env: &[(&str, &str)],
) -> Child {
    let child = spawn_server(data_dir, database_url, port, smtp_port, env).await;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    for _ in 0..600 {
        if status_of(addr, "/readyz").await == 200 {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not become ready");
}

/// [`start_server`], returning as soon as the server accepts connections:
/// before it has opened its database.
pub async fn spawn_server(
    data_dir: &Path,
    database_url: &str,
    port: u16,
    smtp_port: u16,
    env: &[(&str, &str)],
) -> Child {
    let mut child = server_command(data_dir, database_url, port, smtp_port, env)
        .spawn()
        .expect("start the server binary");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    for _ in 0..600 {
        if TcpStream::connect(addr).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Not left running behind the failed test.
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server on port {port} did not start");
}

/// The command [`spawn_server`] runs.
pub fn server_command(
    data_dir: &Path,
    database_url: &str,
    port: u16,
    smtp_port: u16,
    env: &[(&str, &str)],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .arg("serve")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "console")
        .env("LEPTOS_SITE_ROOT", data_dir.join("site"))
        .env("DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("MAIL_FROM", "Voice Console <no-reply@console.test>")
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", smtp_port.to_string())
        .env("SMTP_SECURITY", "none")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    command
}

/// A GET of `path` on a connection of its own; the status, or 0 when refused.
pub async fn status_of(addr: SocketAddr, path: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return 0 };
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Sends the head and the first `sent` bytes of a form POST, leaving the
/// rest for [`finish`]: the request is in flight until then.
pub async fn begin_post(
    addr: SocketAddr,
    path: &str,
    body: &str,
    cookie: Option<&str>,
    sent: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Site: same-origin\r\n\
         {cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..sent]).await.unwrap();
    stream
}

/// Like [`begin_post`] without a cookie, but returns only once the server is
/// reading the body: the request asks `Expect: 100-continue` and the server
/// answers `100 Continue` when the handler first reads. Before that the
/// connection may still wait in the listener's backlog, and a stop signal
/// then closes it unanswered instead of finding a request in flight.
pub async fn begin_held_post(addr: SocketAddr, path: &str, body: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Site: same-origin\r\n\
         Expect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Byte by byte, so nothing after the interim answer is taken from the stream.
    let mut interim = Vec::new();
    let read = async {
        while !interim.ends_with(b"\r\n\r\n") {
            interim.push(stream.read_u8().await.expect("the server answers 100 Continue"));
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read).await.expect("100 Continue in 20 s");
    let interim = String::from_utf8_lossy(&interim);
    assert!(interim.starts_with("HTTP/1.1 100"), "the server reads the body: {interim}");
    stream.write_all(&body.as_bytes()[..sent]).await.unwrap();
    stream
}

/// Sends the rest of a request begun by [`begin_post`]; returns the whole response.
pub async fn finish(mut stream: TcpStream, rest: &[u8]) -> String {
    stream.write_all(rest).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// A form POST to a server function; returns the status and the whole response.
pub async fn post(addr: SocketAddr, path: &str, form: &str, cookie: Option<&str>) -> (u16, String) {
    let response = finish(begin_post(addr, path, form, cookie, 0).await, form.as_bytes()).await;
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

/// The value of the cookie `name` a response sets.
pub fn set_cookie(response: &str, name: &str) -> Option<String> {
    response.lines().find_map(|line| {
        let value = line.strip_prefix("set-cookie: ")?.strip_prefix(name)?.strip_prefix('=')?;
        Some(value.split(';').next()?.to_owned()).filter(|v| !v.is_empty())
    })
}

/// What an [`Smtp`] server accepted: messages per recipient.
#[derive(Clone, Default)]
pub struct Accepted(Arc<Mutex<HashMap<String, usize>>>);

impl Accepted {
    pub fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }
    pub fn to(&self, recipient: &str) -> usize {
        self.0.lock().unwrap().get(recipient).copied().unwrap_or(0)
    }
    pub fn counts(&self) -> HashMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

/// A minimal SMTP server on a free port. It reports each message on
/// `arrived` as soon as its data is in, then waits `delay` before accepting it.
pub async fn smtp(delay: Duration, arrived: mpsc::UnboundedSender<()>) -> (u16, Accepted) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Accepted::default();
    let counts = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (counts, arrived) = (counts.clone(), arrived.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 smtp.test ready\r\n").await.unwrap();
                let (mut in_data, mut recipient) = (false, String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        let _ = arrived.send(());
                        tokio::time::sleep(delay).await;
                        *counts.0.lock().unwrap().entry(recipient.clone()).or_default() += 1;
                        b"250 queued\r\n"
                    } else if line.starts_with("EHLO") {
                        b"250-smtp.test\r\n250 8BITMIME\r\n"
                    } else if let Some(to) = line.strip_prefix("RCPT TO:") {
                        recipient = to.trim().trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

/// How `server` ended, once it has, polled so that one that does not end
/// within `seconds` of `signalled` is killed and fails the test.
pub async fn exit_within(
    server: &mut std::process::Child,
    signalled: std::time::Instant,
    seconds: u64,
) -> std::process::ExitStatus {
    loop {
        if let Some(exit) = server.try_wait().unwrap() {
            return exit;
        }
        if signalled.elapsed() > Duration::from_secs(seconds) {
            let _ = server.kill();
            panic!("the server was still running {seconds} s later");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `server serve` where it must refuse to start: asserts it exits with
/// status 1 and returns what it said on stderr. One that starts anyway is
/// killed after a minute and fails the test.
pub async fn refused_start(
    data_dir: &Path,
    database_url: &str,
    port: u16,
    smtp_port: u16,
    env: &[(&str, &str)],
) -> String {
    let mut refused = server_command(data_dir, database_url, port, smtp_port, env)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let status = exit_within(&mut refused, std::time::Instant::now(), 60).await;
    let said = std::io::read_to_string(refused.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{said}");
    said
}
