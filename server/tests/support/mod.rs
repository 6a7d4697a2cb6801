//! Drives the whole router in process, as a browser would over HTTP.
#![allow(dead_code)]
use std::io::Cursor;

use app::api::web::{WebContext, WebSettings, SECURE_SESSION_COOKIE, SESSION_COOKIE};
use app::domain::core::clock::ManualClock;
use app::domain::core::Domain;
use app::domain::testing::fresh_domain;
use axum::body::{to_bytes, Body};
use axum::Router;
use http::{header, Request, Response, StatusCode};
use leptos::config::LeptosOptions;
use server::security::SecurityPolicy;
use tower::ServiceExt;

pub mod process;

/// The password of members added by [`TestApp::operator_adds_member`].
pub const MEMBER_PASSWORD: &str = "Maple-Canyon-Drift-19";

pub const ORIGIN: &str = "http://console.test";
/// `PUBLIC_URL` of a console served over HTTPS (see [`TestApp::over_https`]).
pub const HTTPS_ORIGIN: &str = "https://console.test";

pub struct TestApp {
    router: Router,
    pub domain: Domain,
    pub clock: ManualClock,
    https: bool,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
    /// The body as sent (compressed, when the request accepted it).
    pub raw: Vec<u8>,
}

impl Reply {
    /// The session token this reply sets, if any (under either cookie name).
    pub fn session(&self) -> Option<String> {
        self.cookie(SESSION_COOKIE).or_else(|| self.cookie(SECURE_SESSION_COOKIE))
    }

    /// The value this reply sets for `name`, if it sets one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
            .filter(|token| !token.is_empty())
    }

    pub fn set_cookie(&self) -> String {
        self.headers
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The address the test router believes `X-Forwarded-For` from.
pub const TRUSTED_PROXY: &str = "10.0.0.1";

fn router(domain: &Domain, https: bool) -> Router {
    router_with(domain, https, test_options())
}

fn policy(https: bool) -> SecurityPolicy {
    SecurityPolicy::new(if https { HTTPS_ORIGIN } else { ORIGIN }, None)
}

/// The site the test routers serve.
pub fn test_options() -> LeptosOptions {
    LeptosOptions::builder().output_name("console").site_root("target/site").build()
}

/// The router serving the site the `options` describe (its static files).
pub fn router_with(domain: &Domain, https: bool, options: LeptosOptions) -> Router {
    router_with_policy(domain, https, options, policy(https))
}

fn router_with_policy(
    domain: &Domain,
    https: bool,
    options: LeptosOptions,
    policy: SecurityPolicy,
) -> Router {
    let web = WebContext::new(WebSettings {
        domain: domain.clone(),
        secure_cookies: https,
        trusted_proxies: vec![TRUSTED_PROXY.parse().unwrap()],
    });
    server::build_router(options, web, policy)
}

impl TestApp {
    pub async fn new() -> Self {
        let (domain, clock) = fresh_domain().await;
        TestApp { router: router(&domain, false), domain, clock, https: false }
    }

    /// The console with its security policy changed (a shorter request
    /// timeout, a smaller room for bodies).
    #[allow(dead_code)] // not every test binary changes it
    pub async fn with_policy(change: impl FnOnce(&mut SecurityPolicy)) -> Self {
        let (domain, clock) = fresh_domain().await;
        let mut policy = policy(false);
        change(&mut policy);
        let router = router_with_policy(&domain, false, test_options(), policy);
        TestApp { router, domain, clock, https: false }
    }

    /// The console as configured with an `https://` `PUBLIC_URL`.
    pub async fn over_https() -> Self {
        let (domain, clock) = fresh_domain().await;
        TestApp { router: router(&domain, true), domain, clock, https: true }
    }

    /// The session cookie's name as this console sets it.
    pub fn session_cookie(&self) -> &'static str {
        if self.https {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// Changes the domain's configuration (e.g. the OAuth provider) before use.
    #[allow(dead_code)] // not every test binary configures
    pub fn configure(&mut self, change: impl FnOnce(&mut Domain)) {
        change(&mut self.domain);
        self.router = router(&self.domain, self.https);
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response: Response<Body> = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            raw: bytes.to_vec(),
        }
    }

    /// A same-origin POST of a form to a server function, as the browser sends it.
    pub async fn call(
        &self,
        function: &str,
        form: &[(&str, &str)],
        session: Option<&str>,
    ) -> Reply {
        self.call_from(function, form, session, Some("same-origin"), None).await
    }

    pub async fn call_from(
        &self,
        function: &str,
        form: &[(&str, &str)],
        session: Option<&str>,
        sec_fetch_site: Option<&str>,
        origin: Option<&str>,
    ) -> Reply {
        let body = form_body(form);
        let mut request = Request::post(format!("/fn/{function}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("{}={token}", self.session_cookie()));
        }
        if let Some(site) = sec_fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// A form posted by a browser running no script, from the page `referer`:
    /// it asks for HTML, so the server answers with a redirect.
    #[allow(dead_code)] // not every test binary posts plain forms
    pub async fn plain_post(&self, function: &str, form: &[(&str, &str)], referer: &str) -> Reply {
        let body = form_body(form);
        let request = Request::post(format!("/fn/{function}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, format!("{ORIGIN}{referer}"))
            .header("sec-fetch-site", "same-origin");
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// A same-origin POST of a JSON body, for server functions that take JSON.
    pub async fn call_json(
        &self,
        function: &str,
        body: serde_json::Value,
        session: Option<&str>,
    ) -> Reply {
        let mut request = Request::post(format!("/fn/{function}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin");
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("{}={token}", self.session_cookie()));
        }
        self.send(request.body(Body::from(body.to_string())).unwrap()).await
    }

    /// A GET of the JSON API with a developer key; the body is `null` when
    /// it is not JSON.
    #[allow(dead_code)] // not every test binary uses the API
    pub async fn api(&self, path: &str, key: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut request = Request::get(path);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let reply = self.send(request.body(Body::empty()).unwrap()).await;
        (reply.status, serde_json::from_str(&reply.body).unwrap_or(serde_json::Value::Null))
    }

    /// A new developer key of the session's user: (the key, its row id).
    #[allow(dead_code)]
    pub async fn new_developer_key(&self, session: &str, password: &str) -> (String, String) {
        let made = self
            .call(
                "generate_developer_key",
                &[("name", "Script"), ("password", password)],
                Some(session),
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        let json = made.json();
        (json["key"].as_str().unwrap().to_owned(), json["row"]["id"].to_string())
    }

    pub async fn page(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("{}={token}", self.session_cookie()));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Signs up a new account (Grace Hopper of Acme Voice) through the server
    /// function; returns the reply as the browser gets it.
    pub async fn sign_up_reply(&self, email: &str) -> Reply {
        self.call(
            "sign_up",
            &[
                ("company_name", "Acme Voice"),
                ("first_name", "Grace"),
                ("last_name", "Hopper"),
                ("email", email),
                ("password", app::domain::testing::PASSWORD),
            ],
            None,
        )
        .await
    }

    /// Signs up a new account through the server function and verifies its
    /// address with the emailed link, as a new user does before anything that
    /// needs trust; returns the admin's session.
    pub async fn sign_up(&self, email: &str) -> String {
        let session = self.sign_up_unverified(email).await;
        let token = self.link_token(email, "/verify-email").await;
        let reply = self.call("verify_email", &[("token", &token)], None).await;
        assert!(reply.status.is_success(), "verification failed: {} {}", reply.status, reply.body);
        session
    }

    /// Signs up a new account and leaves its address unverified.
    pub async fn sign_up_unverified(&self, email: &str) -> String {
        let reply = self.sign_up_reply(email).await;
        assert!(reply.status.is_success(), "sign-up failed: {} {}", reply.status, reply.body);
        reply.session().expect("sign-up sets the session cookie")
    }

    /// The token of the `path` link in the newest email to `to` that has one.
    pub async fn link_token(&self, to: &str, path: &str) -> String {
        app::domain::testing::link_token(&self.domain, to, path).await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Reply {
        self.call("log_in", &[("email", email), ("password", password)], None).await
    }

    /// Adds a non-admin with the operator command, as the README documents it,
    /// and logs them in; returns their session.
    pub async fn operator_adds_member(&self, account_of: &str, email: &str) -> String {
        let password = MEMBER_PASSWORD;
        let args: Vec<String> = [
            "user",
            "add",
            "--account-of",
            account_of,
            "--email",
            email,
            "--first-name",
            "Bob",
            "--last-name",
            "Builder",
            "--password-stdin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut stdin = Cursor::new(format!("{password}\n"));
        server::cli::run(&self.domain, &args, &mut stdin).await.expect("operator user add");
        self.log_in(email, password).await.session().expect("the new member logs in")
    }
}

/// `form` as `application/x-www-form-urlencoded`.
fn form_body(form: &[(&str, &str)]) -> String {
    form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `sql` on `db`, for a test that puts the database in a state no
/// request can (a migration forgotten, one from a newer build).
pub async fn execute_sql(db: &sea_orm::DatabaseConnection, sql: &str) {
    use sea_orm::{ConnectionTrait, Statement};
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
}

/// The newest migration `db` has applied.
pub async fn newest_migration(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let query = "SELECT max(version) AS version FROM seaql_migrations";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), query));
    row.await.unwrap().unwrap().try_get::<String>("", "version").unwrap()
}

/// Runs a test on a runtime of its own, on the test's thread.
///
/// Not one shared multi-threaded runtime: leptos 0.8.23 still has a rare race
/// between parallel `<Suspense>`s on different threads that stalls a server
/// render (about one run of this file in fifty stalled that way; see leptos
/// #4851 for the family). The server guards against it with a request timeout.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(test)
}
