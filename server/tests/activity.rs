//! The activity log over HTTP: the Activity tab's server function, the CSV
//! download and `GET /api/v1/activity` for admins only, each user's own
//! security events, and the client address a change came from.
mod support;

use app::domain::testing::{Snapshot, PASSWORD};
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{header, Request, StatusCode};
use support::{TestApp, MEMBER_PASSWORD};

const ADMIN: &str = "grace@acme.test";
const MEMBER: &str = "bob@acme.test";

fn kinds(reply: &serde_json::Value) -> Vec<String> {
    reply["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn admins_list_filter_download_and_query_their_accounts_activity() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;

        // A change sent from a client address is recorded with it.
        let request = Request::post("/fn/update_name")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .extension(ConnectInfo::<std::net::SocketAddr>("198.51.100.23:4000".parse().unwrap()))
            .body(Body::from("first_name=Grace&last_name=Murray"))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::OK);

        let listed = app.call("list_activity", &[], Some(&admin)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        let json = listed.json();
        assert_eq!(
            kinds(&json),
            [
                "profile.updated",
                "sign_in.succeeded",
                "operator.user_added",
                "email.verified",
                "sign_in.succeeded",
                "account.signed_up",
            ]
        );
        assert_eq!(json["rows"][0]["client_address"], "198.51.100.23");
        assert_eq!(json["rows"][0]["actor"], ADMIN);
        assert_eq!(json["rows"][1]["actor"], MEMBER);
        assert!(json["next"].is_null());

        let only = app.call("list_activity", &[("kind", "sign_in.succeeded")], Some(&admin)).await;
        assert_eq!(kinds(&only.json()), ["sign_in.succeeded", "sign_in.succeeded"]);
        // Refusals read nothing and change nothing (no download counted).
        let before = Snapshot::take(&app.domain).await;
        let bad = app.call("list_activity", &[("kind", "everything")], Some(&admin)).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A regular user is refused, and nothing of the account is in the answer.
        let refused = app.call("list_activity", &[], Some(&member)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!refused.body.contains(ADMIN));
        let csv = app.page("/account/activity.csv", Some(&member)).await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
        // Another site sending the admin to the download spends nothing.
        let sent = Request::get("/account/activity.csv")
            .header(header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(sent).await.status, StatusCode::FORBIDDEN);
        // A user filter that is no user is refused, not dropped.
        let garbled = app.page("/account/activity.csv?user=abc", Some(&admin)).await;
        assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
        before.assert_unchanged(&app.domain).await;
        // Another account's admin sees only their own account's events.
        let other = app.sign_up("eve@evil.test").await;
        let theirs = app.call("list_activity", &[], Some(&other)).await.json();
        let rows = theirs["rows"].as_array().unwrap();
        assert!(!rows.is_empty() && rows.iter().all(|r| r["actor"] == "eve@evil.test"));

        // Each user's own security events, and what others did to them
        // (the operator added this member).
        let mine = app.call("my_security_activity", &[], Some(&member)).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        assert_eq!(kinds(&mine.json()), ["sign_in.succeeded", "operator.user_added"]);

        // The CSV download, with the tab's filters.
        let csv =
            app.page("/account/activity.csv?kind=sign_in.succeeded&user=", Some(&admin)).await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(
            csv.headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"activity.csv\""
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines.len(), 3, "{}", csv.body);
        assert!(lines[0].starts_with("\u{feff}time,actor,kind"));
        assert!(lines[1].contains("\"bob@acme.test\",\"sign_in.succeeded\""), "{}", lines[1]);
        assert_eq!(
            app.page("/account/activity.csv", Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        let signed_out = app.page("/account/activity.csv", None).await;
        assert_eq!(signed_out.status, StatusCode::FOUND, "signed out: sent to log in");

        // The JSON API, read-only, for admin keys.
        let (key, _) = app.new_developer_key(&admin, PASSWORD).await;
        let (status, body) =
            app.api("/api/v1/activity?kind=developer_key.created", Some(&key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["target"], "Script");
        assert!(body["next"].is_null());
        assert!(!body.to_string().contains(&key), "the key is not in its event");
        let (status, _) = app.api("/api/v1/activity?before=1", Some(&key)).await;
        assert_eq!(status, StatusCode::OK);
        // Refused, a query changes nothing (each request is counted, as
        // every request with a right key is).
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        let (status, _) = app.api("/api/v1/activity?from=soon", Some(&key)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // A query that does not parse gets the API's JSON error too, and so
        // does a parameter the API does not know (paging by `page=` would
        // otherwise get the first page for ever).
        for (garbled, field) in [
            ("before=soon", "before"),
            ("user=abc", "user"),
            ("page=2", "query"),
            ("befor=5", "query"),
        ] {
            let (status, body) = app.api(&format!("/api/v1/activity?{garbled}"), Some(&key)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{garbled}");
            assert_eq!(body["error"]["fields"][0]["field"], field, "{garbled}: {body}");
        }
        let (status, body) = app.api("/api/v1/users?page=2", Some(&key)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["fields"][0]["message"].as_str().unwrap().contains("page"), "{body}");
        before.assert_unchanged(&app.domain).await;
        // Another account's user, named by id, has no events here.
        app.sign_up("mallory@evil.test").await;
        let mallory = app::domain::core::people::by_email(&app.domain.db, "mallory@evil.test")
            .await
            .unwrap()
            .unwrap();
        let theirs = format!("/api/v1/activity?user={}", mallory.id);
        let (status, body) = app.api(&theirs, Some(&key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["events"], serde_json::json!([]), "{body}");
        // The scheme's name in any case.
        let lower = Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, format!("bearer {key}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(lower).await.status, StatusCode::OK);
        let (member_key, _) = app.new_developer_key(&member, MEMBER_PASSWORD).await;
        let (status, body) = app.api("/api/v1/activity", Some(&member_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
        assert_eq!(app.api("/api/v1/activity", None).await.0, StatusCode::UNAUTHORIZED);
    })
}

/// The Activity tab keeps its filters in the address: a reload draws the
/// list filtered, the controls set and the user named; the name is told to
/// the account's admins only.
#[test]
fn the_activity_tabs_address_draws_its_filters_and_names_only_the_accounts_user() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let found = app.call("activity_user_choices", &[("search", "bob")], Some(&admin)).await;
        let bob = found.json()[0]["id"].as_i64().unwrap().to_string();
        let me = app.call("activity_user_choices", &[("search", "grace")], Some(&admin)).await;
        let grace = me.json()[0]["id"].as_i64().unwrap().to_string();

        let named = app.call("activity_user_choice", &[("id", &bob)], Some(&admin)).await;
        assert_eq!(named.status, StatusCode::OK, "{}", named.body);
        assert_eq!(named.json()["name"], "Bob Builder");
        assert_eq!(named.json()["email"], MEMBER);
        // A regular user is refused; another account's admin learns nothing.
        let refused = app.call("activity_user_choice", &[("id", &grace)], Some(&member)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!refused.body.contains(ADMIN), "{}", refused.body);
        let other = app.sign_up("eve@evil.test").await;
        let theirs = app.call("activity_user_choice", &[("id", &bob)], Some(&other)).await;
        assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
        assert_eq!(theirs.json(), serde_json::Value::Null);

        let address = format!(
            "/account/activity?user={bob}&kind=sign_in.succeeded&from=2000-01-01&to=2999-12-31"
        );
        let page = app.page(&address, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = &page.body;
        assert!(body.contains("placeholder=\"Bob Builder\""), "the user named: {body}");
        assert!(body.contains("value=\"2000-01-01\""), "From: {body}");
        assert!(body.contains("value=\"2999-12-31\""), "To: {body}");
        assert!(body.contains("<option value=\"sign_in.succeeded\" selected"), "Kind: {body}");
        // Bob's log-in is listed; Grace's own log-in and events are not.
        assert_eq!(body.matches("<td>Logged in</td>").count(), 1, "{body}");
        assert!(!body.contains("<td>Account signed up</td>"), "filtered: {body}");
        // An address the tab cannot read draws the whole list.
        let odd =
            app.page("/account/activity?user=bob&kind=everything&from=soon", Some(&admin)).await;
        assert_eq!(odd.status, StatusCode::OK);
        assert!(odd.body.contains("<td>Account signed up</td>"), "{}", odd.body);
        assert!(odd.body.contains("<option value=\"\" selected"), "{}", odd.body);
    })
}

/// The User filter offers every user of the account, a disabled one too
/// (whose doings an admin looks for most), though the phone numbers' owner
/// picker leaves them out; it offers nobody to a regular user, nor another
/// account's users to an admin.
#[test]
fn the_activity_user_filter_offers_disabled_users_to_the_accounts_admins_only() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        // Bob, a regular user, is refused (before he is disabled, which ends his session).
        let refused = app.call("activity_user_choices", &[("search", "")], Some(&member)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!refused.body.contains(ADMIN), "{}", refused.body);
        let bob = app.call("activity_user_choices", &[("search", "bob")], Some(&admin)).await;
        let bob_id = bob.json()[0]["id"].as_i64().unwrap().to_string();
        let disabled = app.call("disable_user", &[("id", &bob_id)], Some(&admin)).await;
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);

        let offered = app.call("activity_user_choices", &[("search", "bob")], Some(&admin)).await;
        assert_eq!(offered.status, StatusCode::OK);
        assert!(offered.body.contains(MEMBER), "the disabled user is offered: {}", offered.body);
        let owners = app.call("phone_owner_choices", &[("search", "")], Some(&admin)).await;
        assert_eq!(owners.status, StatusCode::OK, "{}", owners.body);
        assert!(owners.body.contains(ADMIN), "the enabled admin is: {}", owners.body);
        assert!(!owners.body.contains(MEMBER), "not as an owner: {}", owners.body);

        let anonymous = app.call("activity_user_choices", &[("search", "bob")], None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        let other = app.sign_up("eve@evil.test").await;
        let theirs = app.call("activity_user_choices", &[("search", "")], Some(&other)).await;
        assert_eq!(theirs.status, StatusCode::OK);
        let body = &theirs.body;
        assert!(!body.contains(MEMBER) && !body.contains(ADMIN), "{body}");
        assert!(body.contains("eve@evil.test"), "{body}");
    })
}

#[test]
fn ones_own_security_activity_pages_back_to_the_oldest_event() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        for _ in 0..21 {
            assert_eq!(app.log_in(MEMBER, MEMBER_PASSWORD).await.status, StatusCode::OK);
        }
        // The Account tab offers the older events a page at a time.
        let page = app.page("/account", Some(&member)).await;
        assert!(page.body.contains("aria-label=\"Pages of security activity\""), "{}", page.body);
        let first = app.call("my_security_activity", &[], Some(&member)).await.json();
        assert_eq!(first["rows"].as_array().unwrap().len(), 20);
        let next = first["next"].to_string();
        let older = app.call("my_security_activity", &[("before", &next)], Some(&member)).await;
        // 23 in all: the operator's add, then Bob's 22 log-ins.
        let older = older.json();
        assert_eq!(
            kinds(&older),
            ["sign_in.succeeded", "sign_in.succeeded", "operator.user_added"]
        );
        assert!(older["next"].is_null());
    })
}
