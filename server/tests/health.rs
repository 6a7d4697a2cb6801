//! Readiness as a load balancer sees it.
mod support;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use sea_orm::TransactionTrait;
use support::{run, TestApp};

/// On PostgreSQL `/readyz` asks on a connection of its own: a process whose
/// pool is taken by slow requests is busy, not unready (a load balancer
/// would move its load to the others, which would fill in turn).
#[test]
fn a_process_whose_pool_is_busy_is_still_ready() {
    run(async {
        let app = TestApp::new().await;
        if app.domain.read.get_database_backend() != sea_orm::DbBackend::Postgres {
            eprintln!("SQLite: the probe reads the local file on the read pool");
            return;
        }
        let mut held = Vec::new();
        let take = || tokio::time::timeout(Duration::from_millis(500), app.domain.read.begin());
        while let Ok(Ok(txn)) = take().await {
            held.push(txn);
        }
        assert!(held.len() >= 2, "the pool is full with {} held", held.len());
        let probe = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
        assert_eq!(probe.status, StatusCode::OK, "{}", probe.body);
    })
}
