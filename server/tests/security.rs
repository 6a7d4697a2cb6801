//! Personal security over HTTP: the JSON API with developer keys, the
//! two-step log-in, throttling by client address behind a trusted proxy.
mod support;

use app::domain::core::clock::Clock;
use app::domain::core::quota::QuotaPolicy;
use app::domain::entity::session;
use app::domain::identity::two_factor::{code_at, step_of};
use app::domain::testing::{Snapshot, PASSWORD};
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{header, Request, StatusCode};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;
use support::{TestApp, TRUSTED_PROXY};

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";

#[test]
fn the_api_acts_as_the_keys_user_with_their_current_rights() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let (admin_key, admin_key_id) = app.new_developer_key(&admin, PASSWORD).await;
        let (member_key, _) = app.new_developer_key(&member, support::MEMBER_PASSWORD).await;

        let (status, me) = app.api("/api/v1/me", Some(&admin_key)).await;
        assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some(ADMIN)));
        let (status, users) = app.api("/api/v1/users?sort=email", Some(&admin_key)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(users["users"].as_array().unwrap().len(), 2);
        let (status, numbers) = app.api("/api/v1/phone-numbers", Some(&member_key)).await;
        assert_eq!((status, &numbers["phone_numbers"]), (StatusCode::OK, &serde_json::json!([])));

        // A member's key gets the member's refusal, as JSON with a stable
        // code. Each request is counted (`api_request`); nothing else moves.
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        let (status, body) = app.api("/api/v1/users", Some(&member_key)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        let (status, body) = app.api("/api/v1/users?sort=age", Some(&admin_key)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
        );
        assert_eq!(body["error"]["fields"][0]["field"], "sort");
        // The server function parses the sort by the same rule: refused, not ignored.
        let listed = app.call("list_users", &[("sort", "age")], Some(&admin)).await;
        assert_eq!(listed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(listed.json()["Invalid"][0]["message"], app::model::SORT_KEYS);
        let by_email = app.call("list_users", &[("sort", "email")], Some(&admin)).await;
        assert_eq!(by_email.status, StatusCode::OK);
        // No key, a made-up key, or a session cookie instead of a key: 401.
        for key in [None, Some("vk_not-a-real-key")] {
            let (status, body) = app.api("/api/v1/me", key).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
            );
        }
        let cookie_only = Request::get("/api/v1/me")
            .header(header::COOKIE, format!("console_session={admin}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(cookie_only).await.status, StatusCode::UNAUTHORIZED);
        let (status, _) = app.api("/api/v1/nothing-here", Some(&admin_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        before.assert_unchanged(&app.domain).await;

        // Demoting the admin shrinks what the key may do at once.
        let choices = app.call("list_users", &[("search", "bob")], Some(&admin)).await.json();
        let bob_id = choices["rows"][0]["id"].to_string();
        let promote = [
            ("id", bob_id.as_str()),
            ("first_name", "Bob"),
            ("last_name", "Builder"),
            ("email", MEMBER),
            ("is_admin", "yes"),
        ];
        let promoted = app.call("update_user", &promote, Some(&admin)).await;
        assert_eq!(promoted.json()["is_admin"], true, "{}", promoted.body);
        let (me_json, _) = (app.api("/api/v1/me", Some(&admin_key)).await.1, ());
        let grace_id = me_json["id"].to_string();
        let demote = [
            ("id", grace_id.as_str()),
            ("first_name", "Grace"),
            ("last_name", "Hopper"),
            ("email", ADMIN),
        ];
        let bob_session = member;
        let demoted = app.call("update_user", &demote, Some(&bob_session)).await;
        assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.body);
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        let (status, _) = app.api("/api/v1/users", Some(&admin_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a demoted admin's key loses admin routes");
        before.assert_unchanged(&app.domain).await;

        // Revoked: refused at once, counted as any wrong key (nothing else).
        let revoked =
            app.call("revoke_developer_key", &[("id", &admin_key_id)], Some(&admin)).await;
        assert_eq!(revoked.status, StatusCode::OK);
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        assert_eq!(app.api("/api/v1/me", Some(&admin_key)).await.0, StatusCode::UNAUTHORIZED);
        before.assert_unchanged(&app.domain).await;

        let spec =
            app.send(Request::get("/api/v1/openapi.json").body(Body::empty()).unwrap()).await;
        let spec: Value = serde_json::from_str(&spec.body).unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in ["/me", "/users", "/phone-numbers"] {
            assert!(spec["paths"][path]["get"].is_object(), "{path} is described");
        }
    })
}

/// `GET path` with `key`, from the client address `peer`.
async fn api_from(app: &TestApp, path: &str, key: &str, peer: &str) -> support::Reply {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .extension(ConnectInfo::<std::net::SocketAddr>(format!("{peer}:4000").parse().unwrap()));
    app.send(request.body(Body::empty()).unwrap()).await
}

#[test]
fn the_api_counts_requests_per_user_and_per_address_and_says_when_to_come_back() {
    support::run(async {
        let mut app = TestApp::new().await;
        app.configure(|d| {
            d.quotas = QuotaPolicy::default()
                .with_overrides(
                    "api_request.actor=3/1,api_request.client=5/1,\
                     wrong_api_key.client=3/1,wrong_api_key.total=5/1",
                )
                .unwrap()
        });
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let (admin_key, _) = app.new_developer_key(&admin, PASSWORD).await;
        let (member_key, _) = app.new_developer_key(&member, support::MEMBER_PASSWORD).await;
        let office = "192.0.2.1";
        for i in 0..3 {
            let reply = api_from(&app, "/api/v1/me", &admin_key, office).await;
            assert_eq!(reply.status, StatusCode::OK, "request {i}: {}", reply.body);
            assert!(reply.headers.get(header::RETRY_AFTER).is_none());
        }
        // The user's fourth within the minute is refused, from any address,
        // on any route, with when to come back; nothing is written.
        let before = Snapshot::take(&app.domain).await;
        for (path, peer) in [("/api/v1/me", office), ("/api/v1/users", "198.51.100.9")] {
            let refused = api_from(&app, path, &admin_key, peer).await;
            assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{path}: {}", refused.body);
            assert_eq!(refused.json()["error"]["code"], "too_many_requests");
            assert_eq!(
                refused.json()["error"]["message"],
                "Too many API requests for now. Try again in 1 minute."
            );
            assert_eq!(refused.headers[header::RETRY_AFTER], "60");
        }
        before.assert_unchanged(&app.domain).await;

        // Another user has a count of their own, until the address's runs
        // out: five from one address in the minute, whoever makes them.
        for i in 0..2 {
            let reply = api_from(&app, "/api/v1/me", &member_key, office).await;
            assert_eq!(reply.status, StatusCode::OK, "member's request {i}: {}", reply.body);
        }
        let before = Snapshot::take(&app.domain).await;
        let crowded = api_from(&app, "/api/v1/me", &member_key, office).await;
        assert_eq!(crowded.status, StatusCode::TOO_MANY_REQUESTS, "{}", crowded.body);
        before.assert_unchanged(&app.domain).await;
        let elsewhere = api_from(&app, "/api/v1/me", &member_key, "198.51.100.9").await;
        assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
        // An address with no count left is refused before any key is
        // looked up, a wrong one too; nothing is written.
        let before = Snapshot::take(&app.domain).await;
        let wrong = api_from(&app, "/api/v1/me", "vk_not-a-real-key", office).await;
        assert_eq!(wrong.status, StatusCode::TOO_MANY_REQUESTS, "{}", wrong.body);
        before.assert_unchanged(&app.domain).await;

        // Half a minute on, the wait is half as long; at the minute, the
        // count starts again.
        app.clock.advance(chrono::Duration::seconds(30));
        let waiting = api_from(&app, "/api/v1/me", &admin_key, office).await;
        assert_eq!(waiting.headers[header::RETRY_AFTER], "30");
        app.clock.advance(chrono::Duration::seconds(30));
        let again = api_from(&app, "/api/v1/me", &admin_key, office).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);

        // Wrong keys are counted per address and in total, apart from the
        // API's requests: past either count they are refused by reads
        // alone, and they spend no user's or address's API count.
        let wrong_from = |peer: &'static str, i: i32| {
            let app = &app;
            async move { api_from(app, "/api/v1/me", &format!("vk_made-up-{i}"), peer).await }
        };
        let guesser = "203.0.113.7";
        for i in 0..3 {
            let wrong = wrong_from(guesser, i).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "wrong key {i}: {}", wrong.body);
        }
        let before = Snapshot::take(&app.domain).await;
        let flooding = wrong_from(guesser, 3).await;
        assert_eq!(flooding.status, StatusCode::TOO_MANY_REQUESTS, "{}", flooding.body);
        assert_eq!(flooding.headers[header::RETRY_AFTER], "60");
        // Not even a key lookup's worth: no key at all costs nothing.
        let not_a_key = api_from(&app, "/api/v1/me", "password123", guesser).await;
        assert_eq!(not_a_key.status, StatusCode::UNAUTHORIZED);
        before.assert_unchanged(&app.domain).await;
        let right = api_from(&app, "/api/v1/me", &admin_key, guesser).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.body);
        // The wrong keys spent none of the address's five API requests:
        // two more right ones (the member's) make four.
        for i in 0..2 {
            let right = api_from(&app, "/api/v1/me", &member_key, guesser).await;
            assert_eq!(right.status, StatusCode::OK, "right key {i}: {}", right.body);
        }
        // The total: two more from elsewhere spend it. The next wrong key
        // is still told it is wrong (no Retry-After to wait for) and writes
        // nothing, while a right key from there still works.
        let crowd = "203.0.113.8";
        for i in 4..6 {
            assert_eq!(wrong_from(crowd, i).await.status, StatusCode::UNAUTHORIZED);
        }
        let before = Snapshot::take(&app.domain).await;
        for peer in [crowd, "198.51.100.20"] {
            let wrong = wrong_from(peer, 6).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{peer}: {}", wrong.body);
            assert!(wrong.headers.get(header::RETRY_AFTER).is_none());
        }
        before.assert_unchanged(&app.domain).await;
        let right = api_from(&app, "/api/v1/me", &admin_key, crowd).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    })
}

/// The page sends its set-up's `setup_id` with the code: a set-up started
/// again in another window is refused as replaced (409, nothing turned on),
/// and the newest one's code turns 2FA on.
#[test]
fn a_two_factor_setup_replaced_in_another_window_is_refused_as_such() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up(ADMIN).await;
        let first = app.call("begin_two_factor", &[], Some(&session)).await.json();
        let second = app.call("begin_two_factor", &[], Some(&session)).await.json();
        let code_of = |setup: &Value| {
            let secret = app::domain::testing::base32_decode(setup["secret"].as_str().unwrap());
            format!("{:06}", code_at(&secret, step_of(app.clock.now())))
        };
        let confirm = |setup: &Value, code: String| {
            let id = setup["setup_id"].as_str().unwrap().to_owned();
            let app = &app;
            let session = session.clone();
            async move {
                let form = [("code", code.as_str()), ("password", PASSWORD), ("setup_id", &id)];
                app.call("confirm_two_factor", &form, Some(&session)).await
            }
        };
        let before = Snapshot::take(&app.domain).await;
        let refused = confirm(&first, code_of(&first)).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(
            refused.body.contains("Set-up was started again in another window"),
            "{}",
            refused.body
        );
        before.assert_unchanged(&app.domain).await;
        let on = confirm(&second, code_of(&second)).await;
        assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    })
}

#[test]
fn log_in_with_two_factor_takes_two_steps() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up(ADMIN).await;
        let setup = app.call("begin_two_factor", &[], Some(&session)).await.json();
        let secret = app::domain::testing::base32_decode(setup["secret"].as_str().unwrap());
        assert!(
            !setup["qr_svg"].as_str().unwrap().contains("style="),
            "the CSP allows no inline styles"
        );
        // A session opened elsewhere with the password alone.
        let elsewhere =
            app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().expect("a session");
        assert_eq!(app.call("signed_in_user", &[], Some(&elsewhere)).await.status, StatusCode::OK);
        let code = format!("{:06}", code_at(&secret, step_of(app.clock.now())));
        let confirmed = app
            .call(
                "confirm_two_factor",
                &[("code", &code), ("password", app::domain::testing::PASSWORD)],
                Some(&session),
            )
            .await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        // Turning 2FA on ends it; the session that turned it on goes on.
        let ended = app.call("signed_in_user", &[], Some(&elsewhere)).await;
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.call("signed_in_user", &[], Some(&session)).await.status, StatusCode::OK);
        app.clock.advance(chrono::Duration::seconds(30));

        // The password alone sets no session, only the challenge cookie.
        let first = app.log_in(ADMIN, app::domain::testing::PASSWORD).await;
        assert!(first.session().is_none(), "no session before the second factor");
        let challenge = first.cookie("console_login_challenge").expect("a challenge cookie");
        assert!(first.set_cookie().contains("HttpOnly"));
        let code = format!("{:06}", code_at(&secret, step_of(app.clock.now())));
        // The browser also holds the session it had before (from sign-up).
        let call = |code: String, challenge: Option<String>| {
            let app = &app;
            let held = format!("{}={session}", app.session_cookie());
            async move {
                let mut request = Request::post("/fn/log_in_code")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header("sec-fetch-site", "same-origin");
                let cookies = match challenge {
                    Some(c) => format!("console_login_challenge={c}; {held}"),
                    None => held,
                };
                request = request.header(header::COOKIE, cookies);
                app.send(request.body(Body::from(format!("code={code}"))).unwrap()).await
            }
        };
        // A refused code counts against the challenge and the user's codes
        // (login_challenges, login_failures) and is a failed sign-in
        // (activity_events); nothing else changes.
        let counts = ["login_challenges", "login_failures", "activity_events"];
        let before = Snapshot::take_except(&app.domain, &counts).await;
        let no_challenge = call(code.clone(), None).await;
        assert_eq!(no_challenge.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_challenge.session().is_none(), "no session without the challenge");
        let sessions_before = session::Entity::find().count(&app.domain.db).await.unwrap();
        let wrong = call("000000".into(), Some(challenge.clone())).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.session().is_none(), "a wrong code sets no session cookie");
        assert_eq!(
            session::Entity::find().count(&app.domain.db).await.unwrap(),
            sessions_before,
            "and opens no session"
        );
        before.assert_unchanged(&app.domain).await;
        let held_before = app.call("signed_in_user", &[], Some(&session)).await;
        assert_eq!(held_before.status, StatusCode::OK, "refusals ended nothing");
        let second = call(code.clone(), Some(challenge.clone())).await;
        let fresh = second.session();
        assert!(fresh.is_some(), "{} {}", second.status, second.body);
        // The new session takes the place of the one the browser held.
        let held_after = app.call("signed_in_user", &[], Some(&session)).await;
        assert_eq!(held_after.status, StatusCode::UNAUTHORIZED);
        let me = app.call("signed_in_user", &[], fresh.as_deref()).await;
        assert_eq!(me.json()["email"], ADMIN);
        // Replaying the same code with the same challenge: refused.
        let before = Snapshot::take_except(&app.domain, &counts).await;
        assert_eq!(call(code, Some(challenge)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn forwarded_addresses_count_only_behind_the_trusted_proxy() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let attempt = |peer: &'static str, forwarded: String, email: String| {
            let app = &app;
            async move {
                let mut request = Request::post("/fn/log_in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header("sec-fetch-site", "same-origin")
                    .header("x-forwarded-for", forwarded);
                request = request.extension(ConnectInfo::<std::net::SocketAddr>(
                    format!("{peer}:4000").parse().unwrap(),
                ));
                let body = format!("email={email}&password=wrong");
                app.send(request.body(Body::from(body)).unwrap()).await.status
            }
        };
        // Every refused log-in is counted (login_failures); none changes anything else.
        let before = Snapshot::take_except(&app.domain, &["login_failures"]).await;
        // Behind the proxy, one client trying fifty emails gets locked...
        for i in 0..50 {
            let status =
                attempt(TRUSTED_PROXY, "203.0.113.5".into(), format!("guess{i}%40example.com"))
                    .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
        }
        let locked =
            attempt(TRUSTED_PROXY, "203.0.113.5".into(), "other%40example.com".into()).await;
        assert_eq!(locked, StatusCode::TOO_MANY_REQUESTS);
        // ...while another client behind the same proxy is not.
        let other =
            attempt(TRUSTED_PROXY, "203.0.113.6".into(), "other%40example.com".into()).await;
        assert_eq!(other, StatusCode::UNPROCESSABLE_ENTITY);
        // A client talking directly cannot choose its address by header:
        // its own address is counted, whatever it forwards.
        for i in 0..50 {
            let forged = format!("198.51.100.{i}");
            attempt("192.0.2.77", forged, format!("direct{i}%40example.com")).await;
        }
        let direct =
            attempt("192.0.2.77", "198.51.100.200".into(), "fresh%40example.com".into()).await;
        assert_eq!(direct, StatusCode::TOO_MANY_REQUESTS);
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn the_api_lists_only_the_keys_own_account() {
    support::run(async {
        use app::domain::core::provisioning::{self, default_pool};
        let app = TestApp::new().await;
        provisioning::stock_local_pool(&app.domain.db, &default_pool()).await.unwrap();
        let admin = app.sign_up(ADMIN).await;
        app.operator_adds_member(ADMIN, MEMBER).await;
        let requested = app.call("request_phone_number", &[], Some(&admin)).await;
        assert_eq!(requested.status, StatusCode::OK, "{}", requested.body);
        let (admin_key, _) = app.new_developer_key(&admin, PASSWORD).await;
        let other = app.sign_up("eve@other.example").await;
        let (other_key, _) = app.new_developer_key(&other, PASSWORD).await;
        let (status, users) = app.api("/api/v1/users?search=example", Some(&other_key)).await;
        assert_eq!(status, StatusCode::OK);
        let emails: Vec<_> =
            users["users"].as_array().unwrap().iter().map(|u| u["email"].clone()).collect();
        assert_eq!(emails, [serde_json::json!("eve@other.example")]);
        let (_, numbers) = app.api("/api/v1/phone-numbers", Some(&other_key)).await;
        assert_eq!(numbers["phone_numbers"], serde_json::json!([]));
        // The account that holds the number sees it: the list above was
        // empty because it is another account's, not because none exists.
        let (_, numbers) = app.api("/api/v1/phone-numbers", Some(&admin_key)).await;
        assert_eq!(numbers["phone_numbers"].as_array().unwrap().len(), 1, "{numbers}");
    })
}

/// Over HTTP as in the domain: the Developer Keys tab of Ada, an admin,
/// lists her own key, and neither the name nor the prefix of the key that
/// Grace, a member of the same account, made.
#[test]
fn each_user_lists_only_their_own_keys() {
    support::run(async {
        const ADA: &str = "ada@example.com";
        let app = TestApp::new().await;
        let ada = app.sign_up(ADA).await;
        let grace = app.operator_adds_member(ADA, "grace@example.com").await;
        let generate = async |session: &str, name: &str, password: &str| {
            let form = [("name", name), ("password", password)];
            let made = app.call("generate_developer_key", &form, Some(session)).await;
            assert_eq!(made.status, StatusCode::OK, "{}", made.body);
            made.json()["row"].clone()
        };
        let graces = generate(&grace, "Grace's deploys", support::MEMBER_PASSWORD).await;
        let adas = generate(&ada, "Ada's reports", PASSWORD).await;
        let before = Snapshot::take(&app.domain).await;
        let listed = app.call("list_developer_keys", &[], Some(&ada)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        assert_eq!(listed.json(), serde_json::json!([adas]));
        for secret in [&graces["name"], &graces["prefix"]] {
            let secret = secret.as_str().unwrap();
            assert!(!listed.body.contains(secret), "{secret} in {}", listed.body);
        }
        // Grace's own tab lists it: it was there to be left out.
        let hers = app.call("list_developer_keys", &[], Some(&grace)).await;
        assert_eq!(hers.json(), serde_json::json!([graces]));
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn js_libraries_over_http_stay_in_their_account_and_with_their_author() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let added = app
            .call("add_js_library", &[("name", "Helpers"), ("code", "let a = 1;")], Some(&admin))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let id = added.json()["id"].to_string();
        let other = app.sign_up("eve@other.example").await;

        let before = Snapshot::take(&app.domain).await;
        for session in [&other, &member] {
            let update = [("id", id.as_str()), ("name", "Taken over"), ("code", "evil()")];
            let reply = app.call("update_js_library", &update, Some(session)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
            let delete = serde_json::json!({ "id": added.json()["id"], "detach_from": { "names": [], "others": 0 } });
            let reply = app.call_json("delete_js_library", delete, Some(session)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
            let listed = app.call("list_js_libraries", &[], Some(session)).await.json();
            assert_eq!(listed, serde_json::json!([]));
            let code = app.call("js_library_code", &[("id", id.as_str())], Some(session)).await;
            assert_eq!(code.status, StatusCode::NOT_FOUND, "{}", code.body);
            assert!(!code.body.contains("let a"), "{}", code.body);
        }
        before.assert_unchanged(&app.domain).await;
        // The author's list leaves the code out, and their Edit dialog loads it.
        let listed = app.call("list_js_libraries", &[], Some(&admin)).await.json();
        assert_eq!(listed[0]["name"], "Helpers");
        assert!(listed[0].get("code").is_none(), "{listed}");
        let code = app.call("js_library_code", &[("id", id.as_str())], Some(&admin)).await;
        assert_eq!(code.json(), serde_json::json!("let a = 1;"));
    })
}
