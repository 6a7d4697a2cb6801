//! Benchmark of the admin's user table through the same entry point the
//! browser uses (POST /fn/list_users through the whole router).
//!
//!     cargo run --release --example user_table_bench --features app/testing -- --users 100000
//!     scripts/with-postgres.sh cargo run --release --example user_table_bench --features app/testing -- --users 100000
//!
//! Seeds one account with `--users` users by batch insert, then prints p50 and
//! p99 of the first page, a deep page (90% of the way) and a search.
use std::time::{Duration, Instant};

use app::api::web::{WebContext, WebSettings, SESSION_COOKIE};
use app::domain::testing::{account_with_admin, domain_on, fresh_domain, seed_users, PASSWORD};
use axum::body::{to_bytes, Body};
use http::{header, Request};
use leptos::config::LeptosOptions;
use server::security::SecurityPolicy;
use tower::ServiceExt;

#[derive(clap::Parser)]
struct Args {
    /// Users seeded into the account
    #[arg(long, default_value_t = 100000)]
    users: usize,
    /// Timed requests per kind of page
    #[arg(long, default_value_t = 200)]
    samples: usize,
}

async fn post(
    router: &axum::Router,
    path: &str,
    body: String,
    cookie: Option<&str>,
) -> (u16, http::HeaderMap, String) {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(token) = cookie {
        request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={token}"));
    }
    let response = router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(label: &str, samples: usize, mut call: impl AsyncFnMut() -> usize) {
    let mut times = Vec::with_capacity(samples);
    let mut rows = 0;
    for _ in 0..samples {
        let start = Instant::now();
        rows = call().await;
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{label:<28} p50 {:>8.2} ms   p99 {:>8.2} ms   ({rows} rows a page, {samples} samples)",
        percentile(&times, 0.50).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let users = args.users;
    let samples = args.samples;
    let postgres =
        std::env::var("DATABASE_URL").map(|u| u.starts_with("postgres")).unwrap_or(false);
    let (d, _) = if postgres {
        fresh_domain().await
    } else {
        let path = std::env::temp_dir().join(format!("user-table-bench-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        domain_on(&format!("sqlite://{}?mode=rwc", path.display())).await
    };
    let admin = account_with_admin(&d, "Bench", "admin@bench.example").await;

    let seed_start = Instant::now();
    let people = (1..users).map(|i| {
        (format!("First{}", i % 997), format!("Last{i:06}"), format!("user{i:06}@bench.example"))
    });
    seed_users(&d, admin.account_id(), people).await;
    if postgres {
        sea_orm::ConnectionTrait::execute_unprepared(&d.db, "ANALYZE users").await.unwrap();
    }
    println!(
        "database: {}   users: {users}   seeded in {:.1} s",
        if postgres { "PostgreSQL" } else { "SQLite (file)" },
        seed_start.elapsed().as_secs_f64()
    );

    let options = LeptosOptions::builder().output_name("console").site_root("target/site").build();
    let web = WebContext::new(WebSettings {
        domain: d.clone(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
    });
    let policy = SecurityPolicy::new("http://bench.test", None);
    let router = server::build_router(options, web, policy);
    let (_, headers, _) = post(
        &router,
        "/fn/log_in",
        format!("email=admin%40bench.example&password={PASSWORD}"),
        None,
    )
    .await;
    let cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix(&format!("{SESSION_COOKIE}="))?
                .split(';')
                .next()
                .map(str::to_owned)
        })
        .expect("log in");

    let page = |body: String| {
        let (router, cookie) = (router.clone(), cookie.clone());
        async move {
            let (status, _, text) = post(&router, "/fn/list_users", body, Some(&cookie)).await;
            assert_eq!(status, 200, "{text}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };
    // Walk to a page 90% of the way through, as a user paging on would.
    let deep_target = (users as f64 * 0.9 / 25.0) as usize;
    let mut after = String::new();
    for _ in 0..deep_target {
        let json = page(format!("sort=name&after={after}")).await;
        match json["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    let rows = |json: serde_json::Value| json["rows"].as_array().map(Vec::len).unwrap_or(0);
    measure("first page (by name)", samples, async || rows(page("sort=name".into()).await)).await;
    measure("first page (by status)", samples, async || rows(page("sort=status".into()).await))
        .await;
    let deep = format!("sort=name&after={after}");
    measure(&format!("deep page (#{deep_target})"), samples, async || {
        rows(page(deep.clone()).await)
    })
    .await;
    measure("search \"zzzz\" (none)", samples, async || {
        rows(page("search=zzzz&sort=name".into()).await)
    })
    .await;
    measure("search \"last0421\"", samples, async || {
        rows(page("search=last0421&sort=name".into()).await)
    })
    .await;
    measure("search \"first12 \" (common)", samples, async || {
        rows(page("search=first12+&sort=name".into()).await)
    })
    .await;
}
