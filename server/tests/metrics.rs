//! Prometheus metrics: what the console counts, served apart from it.
mod support;

use app::domain::core::actor::Operator;
use app::domain::core::mail::{self, Transport};
use app::domain::core::quota::QuotaPolicy;
use app::domain::operator;
use axum::body::{to_bytes, Body};
use http::{Request, StatusCode};
use support::{run, TestApp};
use tower::ServiceExt;

/// The value of the series `name{labels}` (labels as rendered), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn requests_mail_log_ins_and_pools_are_counted_and_served_apart() {
    run(async {
        // The one recorder of this test binary (a recorder is process-wide).
        let handle = server::prometheus::install().unwrap();
        let mut app = TestApp::new().await;
        app.configure(|d| {
            d.quotas = QuotaPolicy::default()
                .with_overrides("password_reset.recipient=1/60,wrong_api_key.total=1/1")
                .unwrap()
        });
        let metrics = server::prometheus::router(handle, app.domain.clone());
        let scrape = || async {
            let reply = metrics
                .clone()
                .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            String::from_utf8(to_bytes(reply.into_body(), usize::MAX).await.unwrap().to_vec())
                .unwrap()
        };

        assert_eq!(app.page("/login", None).await.status, StatusCode::OK);
        assert_eq!(app.page("/login", None).await.status, StatusCode::OK);
        assert_eq!(app.page("/no/such/page", None).await.status, StatusCode::NOT_FOUND);
        app.sign_up_unverified("grace@example.com").await; // queues the verification email
        for _ in 0..10 {
            // Past each slow-down, so every guess is checked until the lock.
            app.clock.advance(chrono::Duration::seconds(61));
            let wrong = app.log_in("grace@example.com", "Wrong-Guess-Copper-31").await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
        }
        app.clock.advance(chrono::Duration::seconds(61));
        let locked = app.log_in("grace@example.com", "Wrong-Guess-Copper-31").await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
        for _ in 0..2 {
            app.call("request_password_reset", &[("email", "grace@example.com")], None).await;
        }

        // Wrong developer keys past everyone's count are still answered 401,
        // only no longer counted: no refusal for the limits' metric.
        for _ in 0..2 {
            let peer: std::net::SocketAddr = "192.0.2.1:4000".parse().unwrap();
            let wrong = Request::get("/api/v1/me")
                .header(http::header::AUTHORIZATION, "Bearer vk_made-up")
                .extension(axum::extract::ConnectInfo(peer));
            let wrong = app.send(wrong.body(Body::empty()).unwrap()).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        }

        let text = scrape().await;
        assert_eq!(value(&text, r#"console_limit_refusals_total{action="wrong_api_key"}"#), None);
        let get_login = r#"console_http_requests_total{method="GET",route="/login",status="200"}"#;
        assert_eq!(value(&text, get_login), Some(2.0), "{text}");
        let not_found =
            r#"console_http_requests_total{method="GET",route="(fallback)",status="404"}"#;
        assert_eq!(value(&text, not_found), Some(1.0), "unknown paths share one label");
        let fast =
            r#"console_http_request_duration_seconds_bucket{method="GET",route="/login",le="10"}"#;
        assert_eq!(value(&text, fast), Some(2.0), "a latency histogram per route");
        assert_eq!(value(&text, r#"console_login_failures_total{step="password"}"#), Some(10.0));
        assert_eq!(value(&text, r#"console_login_locks_total{kind="log_in_email"}"#), Some(1.0));
        assert_eq!(value(&text, "console_throttle_refusals_total"), Some(1.0));
        let limited = r#"console_limit_refusals_total{action="password_reset"}"#;
        assert_eq!(value(&text, limited), Some(1.0), "{text}");
        assert_eq!(value(&text, "console_mail_queue_depth"), Some(2.0), "verification and reset");
        // The verification email has waited since the sign-up: 11 steps of 61 s.
        assert_eq!(value(&text, "console_mail_oldest_pending_seconds"), Some(671.0));
        let open: f64 = ["idle", "busy"]
            .iter()
            .filter_map(|state| {
                value(
                    &text,
                    &format!(r#"console_db_pool_connections{{pool="write",state="{state}"}}"#),
                )
            })
            .sum();
        assert!(open >= 1.0, "the pool's connections, idle and busy: {text}");

        let folder = std::env::temp_dir().join(format!("console-metrics-{}", std::process::id()));
        let sender = "Voice Console <no-reply@console.test>".parse().unwrap();
        mail::deliver_due(&app.domain, &Transport::Folder(folder.clone()), &sender, 10)
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(&folder);
        let text = scrape().await;
        assert_eq!(value(&text, r#"console_mail_deliveries_total{outcome="sent"}"#), Some(2.0));
        assert_eq!(value(&text, "console_mail_queue_depth"), Some(0.0));
        assert_eq!(value(&text, "console_mail_oldest_pending_seconds"), Some(0.0));
        assert_eq!(value(&text, "console_mail_queue_read"), Some(1.0));
        // A queue that cannot be read says so, beside the last values read.
        support::execute_sql(&app.domain.db, "ALTER TABLE email_outbox RENAME TO outbox_away")
            .await;
        let text = scrape().await;
        assert_eq!(value(&text, "console_mail_queue_read"), Some(0.0), "{text}");
        support::execute_sql(&app.domain.db, "ALTER TABLE outbox_away RENAME TO email_outbox")
            .await;
        assert_eq!(value(&scrape().await, "console_mail_queue_read"), Some(1.0));

        // Whether this process runs with the servers' settings and key: so
        // far nothing is recorded; then its own are, then another process's
        // settings are adopted and another host's rotation recorded (this
        // one has neither until restarted or given the file).
        assert_eq!(value(&text, "console_settings_differing"), Some(0.0), "{text}");
        assert_eq!(value(&text, "console_secret_key_differs"), Some(0.0), "{text}");
        let (d, op) = (&app.domain, Operator::from_command_line());
        assert_eq!(operator::agree_on_settings(d, &op).await.unwrap(), []);
        let own = operator::agree_on_current_key(d, &op, &d.secrets, &[]).await.unwrap();
        assert_eq!(own, operator::KeyAgreement::Agreed);
        let text = scrape().await;
        assert_eq!(value(&text, "console_settings_differing"), Some(0.0), "{text}");
        assert_eq!(value(&text, "console_secret_key_differs"), Some(0.0), "{text}");
        let mut other = d.clone();
        other.quotas = QuotaPolicy::default();
        other.sessions.idle = chrono::Duration::minutes(90);
        assert_eq!(operator::adopt_settings(&other, &op).await.unwrap().len(), 2);
        let rotated = d.secrets.keyring().rotated();
        operator::record_rotation(d, &op, &rotated, || Ok(())).await.unwrap();
        let text = scrape().await;
        assert_eq!(value(&text, "console_settings_differing"), Some(2.0), "{text}");
        assert_eq!(value(&text, "console_secret_key_differs"), Some(1.0), "{text}");
        // Unread, each says so rather than keep a value an alert would trust.
        support::execute_sql(&d.db, "ALTER TABLE shared_settings RENAME TO settings_away").await;
        let text = scrape().await;
        assert_eq!(value(&text, "console_settings_differing"), Some(-1.0), "{text}");
        assert_eq!(value(&text, "console_secret_key_differs"), Some(1.0), "{text}");
        support::execute_sql(&d.db, "ALTER TABLE settings_away RENAME TO shared_settings").await;
        support::execute_sql(&d.db, "ALTER TABLE secret_keys RENAME TO keys_away").await;
        let text = scrape().await;
        assert_eq!(value(&text, "console_settings_differing"), Some(2.0), "{text}");
        assert_eq!(value(&text, "console_secret_key_differs"), Some(-1.0), "{text}");
        support::execute_sql(&d.db, "ALTER TABLE keys_away RENAME TO secret_keys").await;

        // A clean-up job that fails is counted by name; the others are not.
        // Each job's series is there from the start, so the first failure is
        // an increase an alert sees.
        let failed = |text: &str, job: &str| {
            value(text, &format!(r#"console_job_failures_total{{job="{job}"}}"#))
        };
        for job in ["mail", "unverified_accounts", "expired_records", "old_activity"] {
            assert_eq!(failed(&text, job), Some(0.0), "{job}: {text}");
        }
        support::execute_sql(&app.domain.db, "DROP TABLE login_challenges").await;
        app::domain::jobs::clean_up(&app.domain, &app::domain::testing::unused_mail_folder()).await;
        let text = scrape().await;
        assert_eq!(failed(&text, "expired_records"), Some(1.0), "{text}");
        assert_eq!(failed(&text, "old_activity"), Some(0.0), "{text}");

        // The console itself does not serve them.
        assert_eq!(app.page("/metrics", None).await.status, StatusCode::NOT_FOUND);
    })
}
