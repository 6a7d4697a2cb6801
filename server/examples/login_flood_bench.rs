//! Does a flood of log-ins starve everyone else? Password hashing is bounded
//! (one argon2 at a time per core, off the async runtime), so other pages
//! should stay fast while attackers hammer the log-in.
//!
//!     cargo run --release --example login_flood_bench --features app/testing -- --flooders 32 --samples 300
//!
//! Serves the whole router on a loopback port, measures a signed-in page
//! (GET /account) alone, then again while `--flooders` connections post
//! wrong passwords as fast as they can (each from its own forwarded address
//! and email, so throttling does not cut the work short), and prints both.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::web::{WebContext, WebSettings, SESSION_COOKIE};
use app::domain::testing::{account_with_admin, fresh_concurrent_domain, PASSWORD};
use leptos::config::LeptosOptions;
use server::security::SecurityPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(clap::Parser)]
struct Args {
    /// Connections posting wrong passwords
    #[arg(long, default_value_t = 32)]
    flooders: usize,
    /// Timed requests of the signed-in page, alone and during the flood
    #[arg(long, default_value_t = 300)]
    samples: usize,
}

/// One HTTP/1.1 request on a fresh connection; returns the status and the raw response.
async fn request(addr: SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let text = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn page_latencies(addr: SocketAddr, cookie: &str, samples: usize) -> Vec<Duration> {
    let head =
        format!("GET /account HTTP/1.1\r\nAccept: text/html\r\nCookie: {SESSION_COOKIE}={cookie}");
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let (status, _) = request(addr, &head, "").await;
        assert_eq!(status, 200);
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn report(label: &str, times: &[Duration]) {
    println!(
        "{label:<34} p50 {:>8.2} ms   p99 {:>8.2} ms",
        percentile(times, 0.5).as_secs_f64() * 1000.0,
        percentile(times, 0.99).as_secs_f64() * 1000.0
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let flooders = args.flooders;
    let samples = args.samples;
    let (d, _) = fresh_concurrent_domain().await;
    account_with_admin(&d, "Bench", "admin@bench.example").await;
    let options = LeptosOptions::builder().output_name("console").site_root("target/site").build();
    let web = WebContext::new(WebSettings {
        domain: d.clone(),
        secure_cookies: false,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
    });
    let policy = SecurityPolicy::new("http://bench.test", None);
    let router = server::build_router(options, web, policy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });

    let log_in = "POST /fn/log_in HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin";
    let (_, response) =
        request(addr, log_in, &format!("email=admin%40bench.example&password={PASSWORD}")).await;
    let cookie = response
        .lines()
        .find_map(|l| l.strip_prefix(&format!("set-cookie: {SESSION_COOKIE}=")))
        .and_then(|rest| rest.split(';').next())
        .expect("log in")
        .to_owned();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let hashing = cores.saturating_sub(1).max(1);
    println!("cores: {cores} (argon2 runs on at most {hashing} at once)   flooders: {flooders}   samples: {samples}");

    page_latencies(addr, &cookie, samples.min(20)).await; // warm up
    let quiet = page_latencies(addr, &cookie, samples).await;
    report("GET /account, no flood", &quiet);

    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for f in 0..flooders {
        let (stop, attempts) = (stop.clone(), attempts.clone());
        flood.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let head = format!(
                    "{log_in}\r\nX-Forwarded-For: 10.{}.{}.{}",
                    f % 250,
                    (i / 250) % 250,
                    i % 250
                );
                let body = format!("email=victim{f}x{i}%40bench.example&password=wrong-{i}");
                let (status, _) = request(addr, &head, &body).await;
                assert!(status == 422 || status == 429, "log-in answered {status}");
                attempts.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let before = attempts.load(Ordering::Relaxed);
    let busy = page_latencies(addr, &cookie, samples).await;
    let rate = (attempts.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await.unwrap();
    }
    report("GET /account, during the flood", &busy);
    println!("failed log-ins answered during the flood: {rate:.0} per second");
}
