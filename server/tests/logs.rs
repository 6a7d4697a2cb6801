//! What the logs say: one line per request with its id, and never a secret.
mod support;

use std::sync::{Arc, Mutex};

use app::domain::core::clock::Clock;
use app::domain::identity::two_factor::{code_at, step_of};
use app::domain::testing::{base32_decode, PASSWORD};
use axum::body::Body;
use http::{header, Request, StatusCode};
use server::logs::{subscriber, LogFormat, DEFAULT_FILTER};
use support::{execute_sql, newest_migration, run, TestApp};

/// Collects every line the server's subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs `test` with the server's subscriber (in `format`) writing into the
/// returned capture. The test runtime has one thread, so every request's
/// lines land here.
fn logged<F: std::future::Future<Output = ()>>(format: LogFormat, test: F) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing::subscriber::set_default(subscriber(format, DEFAULT_FILTER, move || {
        writer.clone()
    }));
    run(test);
    captured.text()
}

#[test]
fn every_request_is_one_json_line_with_its_id_route_status_and_latency() {
    let lines = logged(LogFormat::Json, async {
        let app = TestApp::new().await;
        let from_proxy = app
            .send(
                Request::get("/login?next=%2Faccount")
                    .header("x-request-id", "proxy-4f1c")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(from_proxy.status, StatusCode::OK);
        assert_eq!(from_proxy.headers["x-request-id"], "proxy-4f1c", "the proxy's id comes back");
        let made = app.send(Request::get("/no-such-page").body(Body::empty()).unwrap()).await;
        let id = made.headers["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID when no proxy sent one: {id}");
        // An id that is not a plain one, or too long, is replaced: a client
        // does not write what it likes into the log lines.
        for sent in ["x".repeat(65), "a b\"=injected".to_owned()] {
            let replaced = app
                .send(
                    Request::get("/login")
                        .header("x-request-id", sent.as_str())
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let id = replaced.headers["x-request-id"].to_str().unwrap();
            assert_eq!(id.len(), 36, "{sent:?} became a UUID: {id}");
        }
        // A path as long as the client likes is cut in its line, and
        // (longer than a file name) writes no error line.
        let long = format!("/{}", "a".repeat(5000));
        // So are a build file's name too long for the file system once the
        // file service adds `.br`, and a path of short names too long in all.
        let pkg = format!("/pkg/{}", "a".repeat(253));
        let deep = "/ab".repeat(1500);
        for path in [&long, &pkg, &deep] {
            let request = Request::get(path.as_str()).header("accept-encoding", "br, gzip");
            let answered = app.send(request.body(Body::empty()).unwrap()).await;
            assert_eq!(answered.status, StatusCode::NOT_FOUND, "{}", &path[..20]);
        }
    });
    let requests: Vec<serde_json::Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .filter(|line: &serde_json::Value| line["span"]["name"] == "request")
        .collect();
    assert_eq!(requests.len(), 7, "one line per request: {lines}");
    assert!(requests.iter().all(|line| line["level"] == "INFO"), "{lines}");
    assert!(!lines.contains("injected") && !lines.contains(&"x".repeat(65)), "{lines}");
    let first = &requests[0];
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["span"]["method"], "GET");
    assert_eq!(first["span"]["route"], "/login");
    assert_eq!(first["span"]["path"], "/login", "never the query string");
    assert_eq!(first["span"]["request_id"], "proxy-4f1c");
    assert_eq!(first["fields"]["status"], 200);
    assert!(first["fields"]["latency"].as_str().is_some_and(|l| l.ends_with("μs")), "{first}");
    assert_eq!(requests[1]["fields"]["status"], 404);
    assert_eq!(requests[1]["span"]["path"], "/no-such-page");
    assert_eq!(requests[1]["span"]["request_id"].as_str().unwrap().len(), 36);
    let cut = format!("/{}… (5001 bytes)", "a".repeat(server::logs::PATH_LOGGED - 1));
    assert_eq!(requests[4]["span"]["path"], cut.as_str());
}

#[test]
fn passwords_codes_keys_and_tokens_never_reach_the_logs() {
    let secrets = Arc::new(Mutex::new(Vec::<String>::new()));
    let kept = secrets.clone();
    let keep = move |secret: &str| kept.lock().unwrap().push(secret.to_owned());
    let text = logged(LogFormat::Text, async move {
        const EMAIL: &str = "grace@example.com";
        let app = TestApp::new().await;
        let session = app.sign_up(EMAIL).await;
        keep(PASSWORD);
        keep(&session);
        let wrong = "Wrong-Guess-Copper-31";
        keep(wrong);
        assert_eq!(app.log_in(EMAIL, wrong).await.status, StatusCode::UNPROCESSABLE_ENTITY);

        let made = app
            .call(
                "generate_developer_key",
                &[("name", "CI"), ("password", PASSWORD)],
                Some(&session),
            )
            .await;
        let key = made.json()["key"].as_str().unwrap().to_owned();
        keep(&key);
        let api = Request::get("/api/v1/me").header(header::AUTHORIZATION, format!("Bearer {key}"));
        assert_eq!(app.send(api.body(Body::empty()).unwrap()).await.status, StatusCode::OK);

        let setup = app.call("begin_two_factor", &[], Some(&session)).await.json();
        let secret_text = setup["secret"].as_str().unwrap().to_owned();
        keep(&secret_text);
        let secret = base32_decode(&secret_text);
        let code = format!("{:06}", code_at(&secret, step_of(app.clock.now())));
        keep(&code);
        let confirmed = app
            .call("confirm_two_factor", &[("code", &code), ("password", PASSWORD)], Some(&session))
            .await;
        let recovery: Vec<String> = serde_json::from_str(&confirmed.body).unwrap();
        assert!(!recovery.is_empty());
        recovery.iter().for_each(|c| keep(c));
        let first = app.log_in(EMAIL, PASSWORD).await;
        let challenge = first.cookie("console_login_challenge").expect("a challenge");
        keep(&challenge);
        let with_recovery = Request::post("/fn/log_in_code")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, format!("console_login_challenge={challenge}"))
            .body(Body::from(format!("code={}", recovery[0])))
            .unwrap();
        let second = app.send(with_recovery).await;
        keep(&second.session().expect("signed in with a recovery code"));

        app.call("request_password_reset", &[("email", EMAIL)], None).await;
        let token = app.link_token(EMAIL, "/reset-password").await;
        keep(&token);
        let opened = app.page(&format!("/reset-password?token={token}"), None).await;
        assert_eq!(opened.status, StatusCode::OK);
        let new_password = "Quartz-Harbor-Lantern-77";
        keep(new_password);
        let reset = app
            .call("reset_password", &[("token", &token), ("new_password", new_password)], None)
            .await;
        assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    });
    let lines = text.lines().filter(|l| l.contains("finished processing request")).count();
    assert!(lines >= 12, "the requests were logged ({lines} lines):\n{text}");
    for secret in secrets.lock().unwrap().iter() {
        assert!(!text.contains(secret.as_str()), "{secret:?} is in the logs:\n{text}");
    }
}

/// A readiness probe comes every few seconds, from a load balancer or from
/// anyone: what it finds is logged when it changes, not at every probe.
#[test]
fn readiness_is_logged_when_it_changes_not_at_every_probe() {
    let text = logged(LogFormat::Text, async {
        let app = TestApp::new().await;
        let probe = || app.send(Request::get("/readyz").body(Body::empty()).unwrap());
        assert_eq!(probe().await.status, StatusCode::OK);
        let db = &app.domain.db;
        let newest = newest_migration(db).await;
        execute_sql(db, &format!("DELETE FROM seaql_migrations WHERE version = '{newest}'")).await;
        for _ in 0..3 {
            assert_eq!(probe().await.status, StatusCode::SERVICE_UNAVAILABLE);
        }
        let restore =
            format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{newest}', 0)");
        execute_sql(db, &restore).await;
        for _ in 0..2 {
            assert_eq!(probe().await.status, StatusCode::OK);
        }
    });
    assert_eq!(text.matches("migrations not applied yet").count(), 1, "{text}");
    assert_eq!(text.matches("ready again").count(), 1, "{text}");
}
