//! The server as a browser or an attacker meets it: pages, server functions,
//! cookies, headers, and every refusal.
mod support;

use app::domain::core::tokens::LINK_INVALID;
use app::domain::identity::log_in::WRONG_CREDENTIALS;
use app::domain::testing::{Snapshot, PASSWORD};
use http::StatusCode;
use support::{execute_sql, newest_migration, TestApp, ORIGIN};

const ADMIN: &str = "grace@example.com";
const ADMIN_TABS: [&str; 4] = [
    "/account/users",
    "/account/account-information",
    "/account/phone-numbers",
    "/account/activity",
];

#[test]
fn sign_up_sets_a_session_cookie_that_scripts_cannot_read() {
    support::run(async {
        let app = TestApp::new().await;
        let reply = app.sign_up_reply(ADMIN).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let cookie = reply.set_cookie();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain-HTTP development has no Secure flag");
        let token = reply.session().unwrap();
        assert!(token.len() >= 43, "a 256-bit token");

        let me = app.call("signed_in_user", &[], Some(&token)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["email"], ADMIN);
        assert_eq!(me.json()["is_admin"], true);
    })
}

#[test]
fn a_taken_email_is_a_clear_error_beside_the_email_field() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        // The attempt is counted against the sign-up limits (quota_counters).
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        let reply = app
            .call(
                "sign_up",
                &[
                    ("company_name", "B"),
                    ("first_name", "G"),
                    ("last_name", "H"),
                    ("email", " Grace@EXAMPLE.com"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.json()["Invalid"][0]["field"], "email");
        assert!(reply.session().is_none());
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn wrong_password_and_unknown_email_get_the_same_status_and_body() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        // Both are counted (login_failures); nothing else changes.
        let before =
            Snapshot::take_except(&app.domain, &["login_failures", "activity_events"]).await;
        let wrong = app.log_in(ADMIN, "Not-The-Password-1").await;
        let unknown = app.log_in("nobody@example.com", PASSWORD).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
        assert_eq!(wrong.json()["Invalid"][0]["message"], WRONG_CREDENTIALS);
        assert!(wrong.session().is_none() && unknown.session().is_none());
        before.assert_unchanged(&app.domain).await;
        assert_eq!(before.new_events(&app.domain).await, ["sign_in.failed grace@example.com"]);
    })
}

#[test]
fn log_in_returns_to_a_same_site_next_page_only() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let form = |next: &'static str| [("email", ADMIN), ("password", PASSWORD), ("next", next)];
        let reply = app.call("log_in", &form("/account/certificates"), None).await;
        assert_eq!(reply.location(), Some("/account/certificates"));
        let reply = app.call("log_in", &form("https://evil.example/"), None).await;
        assert_eq!(reply.location(), Some("/account"));
        let reply = app.call("log_in", &form("/account/users?search=ada&sort=email"), None).await;
        assert_eq!(reply.location(), Some("/account/users?search=ada&sort=email"));
    })
}

/// Log-in and sign-up opened in a browser that is signed in name who that is;
/// going on ends the session the cookie held (the browser's only key to it),
/// and no other session of that user.
#[test]
fn a_new_session_in_a_signed_in_browser_ends_the_one_it_replaces() {
    support::run(async {
        let app = TestApp::new().await;
        let here = app.sign_up(ADMIN).await;
        let elsewhere = app.log_in(ADMIN, PASSWORD).await.session().unwrap();
        let signed_in = "You are logged in as <strong>grace@example.com</strong>";
        for (path, then) in [
            ("/login", "logging in here ends this session."),
            ("/signup", "signing up for a new account ends this session."),
        ] {
            let page = app.page(path, Some(&here)).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(page.body.contains(signed_in) && page.body.contains(then), "{}", page.body);
            for visitor in [None, Some("forged-session-token")] {
                let page = app.page(path, visitor).await;
                assert_eq!(page.status, StatusCode::OK, "{path}");
                assert!(!page.body.contains("You are logged in as"), "{path} {visitor:?}");
            }
        }
        let me = async |session: &str| {
            let reply = app.call("signed_in_user", &[], Some(session)).await;
            (reply.status == StatusCode::OK).then(|| reply.json()["email"].clone())
        };

        // Ada, who has an account of her own, logs in on Grace's computer.
        let ada = "ada@example.com";
        app.sign_up(ada).await;
        let form = [("email", ada), ("password", PASSWORD)];
        let ada_here = app.call("log_in", &form, Some(&here)).await.session().unwrap();
        assert_eq!(me(&here).await, None, "the session the cookie held ended");
        assert_eq!(me(&elsewhere).await, Some(ADMIN.into()), "Grace's other one did not");
        assert_eq!(me(&ada_here).await, Some(ada.into()));

        // A failed log-in ends nothing: it is counted and recorded, no more.
        let wrong = [("email", ADMIN), ("password", "not the password")];
        let before =
            Snapshot::take_except(&app.domain, &["login_failures", "activity_events"]).await;
        let refused = app.call("log_in", &wrong, Some(&ada_here)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.json()["Invalid"][0]["message"], WRONG_CREDENTIALS);
        assert!(refused.session().is_none());
        assert_eq!(before.new_events(&app.domain).await, ["sign_in.failed grace@example.com"]);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(me(&ada_here).await, Some(ada.into()));

        // A reset link used in that browser: Ada's session there ends too.
        app.call("request_password_reset", &[("email", ADMIN)], None).await;
        let token = app.link_token(ADMIN, "/reset-password").await;
        let form = [("token", token.as_str()), ("new_password", "Quartz-Harbor-Lantern-77")];
        let reset = app.call("reset_password", &form, Some(&ada_here)).await;
        let grace_here = reset.session().expect("the reset logs Grace in");
        assert_eq!(me(&ada_here).await, None);
        assert_eq!(me(&grace_here).await, Some(ADMIN.into()));
        let ada_here = app.log_in(ada, PASSWORD).await.session().unwrap();

        // Signing up a new company from that browser ends Ada's session there.
        let sign_up = [
            ("company_name", "Beta Voice"),
            ("first_name", "Lin"),
            ("last_name", "Wu"),
            ("email", "lin@example.com"),
            ("password", PASSWORD),
        ];
        let lin = app.call("sign_up", &sign_up, Some(&ada_here)).await.session().unwrap();
        assert_eq!(me(&ada_here).await, None);
        assert_eq!(me(&lin).await, Some("lin@example.com".into()));
    })
}

/// The two-factor step's "Start again" goes back to the log-in page with
/// where the log-in was going, so a user whose step expired still lands
/// there; without a `next`, to the bare log-in page; after a password link,
/// to a new link.
#[test]
fn starting_the_log_in_again_from_the_code_step_keeps_where_it_was_going() {
    support::run(async {
        let app = TestApp::new().await;
        let step = app.page("/login/two-factor?next=/account/users", None).await;
        assert_eq!(step.status, StatusCode::OK);
        assert!(
            step.body.contains(r#"<a href="/login?next=/account/users">Start again</a>"#),
            "{}",
            step.body
        );
        let bare = app.page("/login/two-factor", None).await;
        assert!(bare.body.contains(r#"<a href="/login">Start again</a>"#), "{}", bare.body);
        // After a password link, whose user may not know the password the
        // log-in page asks for, the way on is a new link.
        let linked = app.page("/login/two-factor?next=/account&password_link=1", None).await;
        let new_link = r#"<a href="/forgot-password">Ask for a new password link</a>"#;
        assert!(linked.body.contains(new_link), "{}", linked.body);
        assert!(!linked.body.contains("Start again"), "{}", linked.body);
    })
}

#[test]
fn signed_out_visitors_are_sent_to_log_in_and_back() {
    support::run(async {
        let app = TestApp::new().await;
        let before = Snapshot::take(&app.domain).await;
        for path in ["/account", "/account/certificates", "/account/phone-numbers"] {
            let reply = app.page(path, None).await;
            assert_eq!(reply.status, StatusCode::FOUND, "{path}");
            assert_eq!(reply.location(), Some(format!("/login?next={path}").as_str()));
        }
        let reply = app.page("/account", Some("forged-session-token")).await;
        assert_eq!(reply.location(), Some("/login?next=/account"));
        // A link to a search or a filtered log keeps its query through the
        // log-in page's form, back to the page as it was sent.
        let searched = "/account/users?search=ada%20l&sort=email";
        let reply = app.page(searched, None).await;
        let to_log_in = "/login?next=/account/users%3Fsearch%3Dada%2520l%26sort%3Demail";
        assert_eq!(reply.location(), Some(to_log_in));
        // What a refused plain form added to its page's address is not kept.
        let refused = format!("{searched}&__path=%2Ffn%2Fupdate_user&__err=RXJy");
        assert_eq!(app.page(&refused, None).await.location(), Some(to_log_in));
        let form = app.page(to_log_in, None).await;
        let next = r#"name="next" value="/account/users?search=ada%20l&amp;sort=email""#;
        assert!(form.body.contains(next), "{}", form.body);
        assert_eq!(app.call("signed_in_user", &[], None).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.call("update_name", &[("first_name", "A"), ("last_name", "B")], None).await.status,
            StatusCode::UNAUTHORIZED
        );
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn every_tab_renders_on_the_server_and_admins_see_the_admin_tabs() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let tabs = [
            ("/account", "My Account"),
            ("/account/certificates", "Certificates · My Account"),
            ("/account/oauth-tokens", "OAuth Tokens · My Account"),
            ("/account/js-libraries", "JS Libraries · My Account"),
            ("/account/integrations", "Integrations · My Account"),
            ("/account/users", "Manage Users · My Account"),
            ("/account/account-information", "Account Information · My Account"),
            ("/account/phone-numbers", "Phone Numbers · My Account"),
        ];
        for (path, title) in tabs {
            let page = app.page(path, Some(&admin)).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            // Each tab's own title, in the HTML of a direct visit.
            assert!(
                page.body.contains(&format!("<title>{title} · Voice Console</title>")),
                "{path} is titled {title}"
            );
            assert!(page.body.contains("Grace Hopper"), "{path} renders the user on the server");
            for admin_tab in ADMIN_TABS {
                assert!(
                    page.body.contains(&format!("href=\"{admin_tab}\"")),
                    "{path} links {admin_tab}"
                );
            }
        }
        let activity = app.page("/account/activity", Some(&admin)).await;
        assert!(activity.body.contains("Download CSV") && activity.body.contains("All kinds"));
        let certificates = app.page("/account/certificates", Some(&admin)).await;
        assert!(certificates.body.contains("This account has no client certificates yet."));
        let account = app.page("/account", Some(&admin)).await;
        assert!(account.body.contains("value=\"Grace\"") && account.body.contains(ADMIN));
    })
}

#[test]
fn a_member_sees_no_admin_tab_and_the_server_refuses_admin_urls_and_functions() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, "bob@example.com").await;

        let before = Snapshot::take(&app.domain).await;
        let page = app.page("/account", Some(&member)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Bob Builder"));
        for admin_tab in ADMIN_TABS {
            assert!(
                !page.body.contains(&format!("href=\"{admin_tab}\"")),
                "member sees {admin_tab}"
            );
            let refused = app.page(admin_tab, Some(&member)).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{admin_tab}");
            assert!(refused.body.contains("Only an account admin"), "{admin_tab}");
            // Under the tab's own heading, so the member sees what refused them.
            let heading = ["Manage Users", "Account Information", "Phone Numbers", "Activity"]
                [ADMIN_TABS.iter().position(|tab| tab == &admin_tab).unwrap()];
            assert!(refused.body.contains(&format!("\">{heading}</h2>")), "{admin_tab}");
            assert!(!refused.body.contains("grace@example.com"), "{admin_tab} leaks the user list");
            // Only the refusal: none of the tab's tools either.
            for tool in ["Add User", "Download CSV", "All kinds", "Save"] {
                assert!(!refused.body.contains(tool), "{admin_tab} offers {tool}");
            }
        }
        let listed = app.call("list_users", &[], Some(&member)).await;
        assert_eq!(listed.status, StatusCode::FORBIDDEN);
        assert!(listed.json().get("Forbidden").is_some());
        assert!(!listed.body.contains("grace@example.com"));
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn admins_list_their_own_users_and_never_another_accounts() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        app.operator_adds_member(ADMIN, "bob@example.com").await;
        app.sign_up("eve@other.example").await;
        let listed = app.call("list_users", &[], Some(&admin)).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(listed.body.contains("bob@example.com") && listed.body.contains(ADMIN));
        assert!(!listed.body.contains("eve@other.example"));
        let page = app.page("/account/users", Some(&admin)).await;
        assert!(page.body.contains("bob@example.com") && !page.body.contains("eve@other.example"));
    })
}

#[test]
fn names_are_saved_and_bad_names_are_refused_beside_their_fields() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let saved = app
            .call("update_name", &[("first_name", "Amazing"), ("last_name", "Grace")], Some(&admin))
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert_eq!(
            app.call("signed_in_user", &[], Some(&admin)).await.json()["first_name"],
            "Amazing"
        );
        // A page rendered after the change shows it too: the user a render
        // takes from the session check is read afresh for every request.
        let page = app.page("/account", Some(&admin)).await;
        assert!(page.body.contains("Amazing Grace"), "the top bar shows the new name");
        assert!(page.body.contains("value=\"Amazing\""), "the form shows the new name");

        let long = "x".repeat(101);
        let before = Snapshot::take(&app.domain).await;
        let refused = app
            .call("update_name", &[("first_name", ""), ("last_name", &long)], Some(&admin))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<_> = refused.json()["Invalid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert_eq!(fields, ["first_name", "last_name"]);
        assert_eq!(
            app.call("signed_in_user", &[], Some(&admin)).await.json()["last_name"],
            "Grace"
        );

        // Bytes that are not UTF-8 (sent by hand: browsers encode UTF-8) are
        // not stored as "��".
        let request = http::Request::post("/fn/update_name")
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from("first_name=%FF%FE&last_name=Grace"))
            .unwrap();
        let unreadable = app.send(request).await;
        assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unreadable.body);
        assert_eq!(unreadable.json()["Invalid"][0]["field"], "first_name");
        assert!(unreadable.body.contains("could not be read"), "{}", unreadable.body);

        let missing = app.call("update_name", &[("first_name", "Only")], Some(&admin)).await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);
        before.assert_unchanged(&app.domain).await;
    })
}

/// Said as every other refusal is, so the page shows it by the form.
fn assert_too_large(refused: support::Reply) {
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.body);
    assert_eq!(refused.json()["Invalid"][0]["field"], "form", "{}", refused.body);
    assert!(refused.body.contains("too large: at most 1 MB"), "{}", refused.body);
}

#[test]
fn a_body_over_the_limit_is_refused_before_it_is_read_and_changes_nothing() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        let name = "x".repeat(server::security::BODY_MAX);
        let body = format!("first_name={name}&last_name=Grace");
        let request = http::Request::post("/fn/update_name")
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::CONTENT_LENGTH, body.len())
            .header(http::header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from(body))
            .unwrap();
        assert_too_large(app.send(request).await);
        before.assert_unchanged(&app.domain).await;
    })
}

/// A body sent in chunks declares no length, so the limit can only stop it
/// while it is read: it is refused the same way, and nothing is written.
#[test]
fn a_chunked_body_over_the_limit_is_refused_as_it_is_read_and_changes_nothing() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        let chunk = "x".repeat(64 * 1024);
        let chunks = server::security::BODY_MAX / chunk.len() + 2;
        let parts = std::iter::once("first_name=".to_owned())
            .chain(std::iter::repeat_n(chunk, chunks))
            .chain(std::iter::once("&last_name=Grace".to_owned()))
            .map(|part| Ok::<_, std::io::Error>(axum::body::Bytes::from(part)));
        let request = http::Request::post("/fn/update_name")
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from_stream(futures::stream::iter(parts)))
            .unwrap();
        assert_too_large(app.send(request).await);
        before.assert_unchanged(&app.domain).await;
    })
}

/// A POST to a server function from `peer` with a body of `length` bytes
/// that never ends; `reading` hears once the server has taken those bytes.
fn stalled_call(
    peer: &str,
    length: usize,
    reading: tokio::sync::mpsc::UnboundedSender<()>,
) -> http::Request<axum::body::Body> {
    let sent = futures::stream::iter([Ok(axum::body::Bytes::from(vec![b'a'; length]))]);
    let stalled = futures::stream::once(async move {
        let _ = reading.send(());
        futures::future::pending::<Result<axum::body::Bytes, std::io::Error>>().await
    });
    http::Request::post("/fn/log_in")
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .extension(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            format!("{peer}:4000").parse().unwrap(),
        ))
        .body(axum::body::Body::from_stream(futures::StreamExt::chain(sent, stalled)))
        .unwrap()
}

/// `signed_in_user` from `peer`, with no session and a body of `length`
/// bytes it ignores: 401 once it runs.
fn who_am_i_from(peer: &str, length: usize) -> http::Request<axum::body::Body> {
    http::Request::post("/fn/signed_in_user")
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::CONTENT_LENGTH, length)
        .header("sec-fetch-site", "same-origin")
        .extension(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            format!("{peer}:4000").parse().unwrap(),
        ))
        .body(axum::body::Body::from(format!("x={}", "a".repeat(length - 2))))
        .unwrap()
}

/// `update_name` for `session` from `peer`, padded to `length` bytes with a
/// field it ignores: the name changes once it runs.
fn rename_from(
    app: &TestApp,
    peer: &str,
    session: &str,
    length: usize,
) -> http::Request<axum::body::Body> {
    let form = "first_name=Renamed&last_name=Later&x=";
    http::Request::post("/fn/update_name")
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::CONTENT_LENGTH, length)
        .header(http::header::COOKIE, format!("{}={session}", app.session_cookie()))
        .header("sec-fetch-site", "same-origin")
        .extension(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            format!("{peer}:4000").parse().unwrap(),
        ))
        .body(axum::body::Body::from(format!("{form}{}", "a".repeat(length - form.len()))))
        .unwrap()
}

/// Bodies are held in memory until their function answers: one client
/// address's together hold at most its room, and everyone's at most
/// theirs, every byte counted; the next body over is refused at once (not
/// queued), while forms and other addresses go on while they fit.
#[test]
fn slow_bodies_hold_at_most_their_addresss_and_everyones_room() {
    use server::security::BODY_MAX;
    support::run(async {
        // Two slow megabytes fill one address's room, three everyone's.
        let app = TestApp::with_policy(|policy| {
            policy.bodies = server::budget::Budget::new(2 * BODY_MAX + 1000, 3 * BODY_MAX + 1000)
        })
        .await;
        let session = app.sign_up(ADMIN).await;
        let (office, elsewhere) = ("192.0.2.1", "198.51.100.9");
        let (reading, mut started) = tokio::sync::mpsc::unbounded_channel();
        let slow: Vec<_> = [office, office, elsewhere]
            .into_iter()
            .map(|peer| app.send(stalled_call(peer, BODY_MAX, reading.clone())))
            .collect();
        let upload = 200 * 1024;
        let checks = async {
            for _ in 0..3 {
                started.recv().await.unwrap();
            }
            // Refused before the function runs: the name stays.
            let before = Snapshot::take(&app.domain).await;
            let refused = app.send(rename_from(&app, office, &session, upload)).await;
            assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
            assert!(refused.json()["TooManyRequests"].as_str().unwrap().contains("your network"));
            assert_eq!(refused.headers[http::header::RETRY_AFTER], "5");
            before.assert_unchanged(&app.domain).await;
            // A form fits in the room left.
            let form = app.send(who_am_i_from(office, 3)).await;
            assert_eq!(form.status, StatusCode::UNAUTHORIZED, "{}", form.body);
            // Elsewhere has room of its own, but everyone's is full.
            let busy = app.send(who_am_i_from(elsewhere, upload)).await;
            assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS, "{}", busy.body);
            assert!(busy.json()["TooManyRequests"].as_str().unwrap().contains("server is busy"));
            // Everyone's room counts every byte: 64 KB is refused there,
            // a form still fits.
            let small = app.send(who_am_i_from(elsewhere, 64 * 1024)).await;
            assert_eq!(small.status, StatusCode::TOO_MANY_REQUESTS, "{}", small.body);
            let form = app.send(who_am_i_from(elsewhere, 3)).await;
            assert_eq!(form.status, StatusCode::UNAUTHORIZED, "{}", form.body);
        };
        tokio::select! {
            _ = futures::future::join_all(slow) => panic!("a stalled body was answered"),
            () = checks => {}
        }
        // The stalled requests are gone (dropped with their connections):
        // their room is given back.
        let again = app.send(rename_from(&app, office, &session, upload)).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        let me = app.call("signed_in_user", &[], Some(&session)).await.json();
        assert_eq!(me["first_name"], "Renamed", "{me}");
    })
}

/// What a body holds is its buffer, which doubles as the bytes come: a
/// body of 65 KB sent in chunks without its length needs room for twice its
/// first chunk of 60 KB; with its length declared, for no more than that.
#[test]
fn a_body_is_counted_by_the_buffer_that_holds_it() {
    support::run(async {
        let app = TestApp::with_policy(|policy| {
            policy.bodies = server::budget::Budget::new(100 * 1024, 1024 * 1024)
        })
        .await;
        let session = app.sign_up(ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        let length = 65 * 1024;
        // Sent in two chunks, 60 KB and the rest: the buffer doubles to 120 KB.
        let (mut parts, body) = rename_from(&app, "192.0.2.1", &session, length).into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let mut bytes = axum::body::to_bytes(body, length).await.unwrap();
        let rest = bytes.split_off(60 * 1024);
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes), Ok(rest)]);
        let chunked = http::Request::from_parts(parts, axum::body::Body::from_stream(chunks));
        let over = app.send(chunked).await;
        assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
        before.assert_unchanged(&app.domain).await;
        let declared = app.send(rename_from(&app, "192.0.2.1", &session, length)).await;
        assert_eq!(declared.status, StatusCode::OK, "{}", declared.body);
    })
}

/// A request that stalls is answered 503 at the request timeout, with the
/// headers every answer has (no caching, the CSP, nosniff).
#[test]
fn a_stalled_request_is_answered_with_the_usual_headers() {
    support::run(async {
        let app = TestApp::with_policy(|policy| {
            policy.request_timeout = std::time::Duration::from_millis(100)
        })
        .await;
        let (reading, _started) = tokio::sync::mpsc::unbounded_channel();
        let reply = app.send(stalled_call("192.0.2.1", 10, reading)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
        // Outside the JSON API the status says it all (the page reports a
        // server it could not reach).
        assert!(reply.body.is_empty(), "{}", reply.body);
        assert_eq!(reply.headers[http::header::CACHE_CONTROL], "no-store");
        assert_eq!(reply.headers[http::header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(reply.headers.contains_key(http::header::CONTENT_SECURITY_POLICY));
    })
}

/// The JSON API says it in its own documented format, not the limit
/// layer's plain text, which a client could not parse as an error.
#[test]
fn an_api_request_over_the_limit_is_refused_in_the_apis_error_format() {
    support::run(async {
        let app = TestApp::new().await;
        let body = "x".repeat(server::security::BODY_MAX + 1);
        let request = http::Request::get("/api/v1/users")
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(axum::body::Body::from(body))
            .unwrap();
        let refused = app.send(request).await;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.body);
        let error = &refused.json()["error"];
        assert_eq!(error["code"], "invalid", "{}", refused.body);
        assert_eq!(error["fields"][0]["field"], "body", "{}", refused.body);
        assert!(error["message"].as_str().unwrap().contains("too large: at most 1 MB"));
    })
}

#[test]
fn a_password_change_needs_the_current_password_and_ends_other_sessions() {
    support::run(async {
        let app = TestApp::new().await;
        let here = app.sign_up(ADMIN).await;
        let elsewhere = app.log_in(ADMIN, PASSWORD).await.session().unwrap();
        let new_password = "Quartz-Harbor-Lantern-77";
        // The form names its account, unseen and unsent, so that a password
        // manager files the new password under the right login.
        let page = app.page("/account", Some(&here)).await;
        let form = page.body.split("Change Password</h2>").nth(1).unwrap();
        let form = form.split("</form>").next().unwrap();
        assert!(
            form.contains(r#"<input type="email" autocomplete="username" value="grace@example.com" readonly hidden"#),
            "{form}"
        );

        // The wrong password counts against the user's re-checks (login_failures);
        // nothing else changes.
        let before = Snapshot::take_except(&app.domain, &["login_failures"]).await;
        let refused = app
            .call(
                "change_password",
                &[("current_password", "wrong"), ("new_password", new_password)],
                Some(&here),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()["Invalid"][0]["field"], "current_password");
        assert_eq!(app.call("signed_in_user", &[], Some(&elsewhere)).await.status, StatusCode::OK);
        before.assert_unchanged(&app.domain).await;

        let changed = app
            .call(
                "change_password",
                &[("current_password", PASSWORD), ("new_password", new_password)],
                Some(&here),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(app.call("signed_in_user", &[], Some(&here)).await.status, StatusCode::OK);
        assert_eq!(
            app.call("signed_in_user", &[], Some(&elsewhere)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert!(app.log_in(ADMIN, new_password).await.session().is_some());
    })
}

/// Ending the other sessions keeps the one that asked and ends the user's
/// others; another user's sessions are untouched. A session id of another
/// user's is not found (404) and ends nothing.
#[test]
fn ending_sessions_reaches_only_ones_own() {
    support::run(async {
        let app = TestApp::new().await;
        let here = app.sign_up(ADMIN).await;
        let elsewhere = app.log_in(ADMIN, PASSWORD).await.session().unwrap();
        let third = app.log_in(ADMIN, PASSWORD).await.session().unwrap();
        let bob = app.operator_adds_member(ADMIN, "bob@example.com").await;
        let bobs = app.call("list_sessions", &[], Some(&bob)).await.json();
        assert_eq!(bobs.as_array().unwrap().len(), 1, "{bobs}");
        let bobs_id = bobs[0]["id"].as_str().unwrap().to_owned();

        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("end_session", &[("id", &bobs_id)], Some(&here)).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(app.call("signed_in_user", &[], Some(&bob)).await.status, StatusCode::OK);

        let ended = app.call("end_other_sessions", &[], Some(&here)).await;
        assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
        let signed_in =
            async |token: &str| app.call("signed_in_user", &[], Some(token)).await.status;
        assert_eq!(signed_in(&here).await, StatusCode::OK, "the asking session stays");
        assert_eq!(signed_in(&elsewhere).await, StatusCode::UNAUTHORIZED);
        assert_eq!(signed_in(&third).await, StatusCode::UNAUTHORIZED);
        assert_eq!(signed_in(&bob).await, StatusCode::OK, "another user's session stays");
        let left = app.call("list_sessions", &[], Some(&here)).await.json();
        assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
        assert_eq!(left[0]["current"], true);
    })
}

#[test]
fn log_out_clears_the_cookie_and_ends_the_session() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        // A plain form: the log-in page it leads to is loaded afresh, and
        // the app's memory of the user goes with the page.
        let page = app.page("/account", Some(&admin)).await;
        let form = r#"<form method="post" action="/fn/log_out" class="logout">"#;
        assert!(page.body.contains(form), "{}", page.body);
        let reply = app.call("log_out", &[], Some(&admin)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.set_cookie().contains("Max-Age=0"));
        assert_eq!(reply.location(), Some(app::pages::LOGGED_OUT));
        let page = app.page(app::pages::LOGGED_OUT, None).await;
        assert!(page.body.contains("You have logged out."), "{}", page.body);
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(
            app.call("signed_in_user", &[], Some(&admin)).await.status,
            StatusCode::UNAUTHORIZED
        );
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn state_changing_requests_from_another_site_are_refused_and_change_nothing() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let form = [("first_name", "Mallory"), ("last_name", "Evil")];
        let before = Snapshot::take(&app.domain).await;
        let cross_site =
            app.call_from("update_name", &form, Some(&admin), Some("cross-site"), None).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        let same_site =
            app.call_from("update_name", &form, Some(&admin), Some("same-site"), None).await;
        assert_eq!(
            same_site.status,
            StatusCode::FORBIDDEN,
            "a sibling subdomain is another origin"
        );
        let foreign_origin = app
            .call_from("update_name", &form, Some(&admin), None, Some("https://evil.example"))
            .await;
        assert_eq!(foreign_origin.status, StatusCode::FORBIDDEN);
        // "Same-origin" with a host name rebound to this server's address
        // (DNS rebinding): the origin it names is not the console's.
        let rebound = app
            .call_from(
                "update_name",
                &form,
                Some(&admin),
                Some("same-origin"),
                Some("http://evil.example"),
            )
            .await;
        assert_eq!(rebound.status, StatusCode::FORBIDDEN);
        let log_out = app.call_from("log_out", &[], Some(&admin), Some("cross-site"), None).await;
        assert_eq!(log_out.status, StatusCode::FORBIDDEN);
        let me = app.call("signed_in_user", &[], Some(&admin)).await.json();
        assert_eq!(
            (me["first_name"].as_str(), me["last_name"].as_str()),
            (Some("Grace"), Some("Hopper"))
        );
        before.assert_unchanged(&app.domain).await;

        let own_origin =
            app.call_from("update_name", &form, Some(&admin), None, Some(ORIGIN)).await;
        assert_eq!(own_origin.status, StatusCode::OK, "an older browser sending only Origin");
    })
}

#[test]
fn pages_carry_security_headers_and_their_scripts_the_csp_nonce() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        for (path, session) in [("/login", None), ("/account", Some(admin.as_str()))] {
            let page = app.page(path, session).await;
            let csp = page.headers["content-security-policy"].to_str().unwrap().to_owned();
            let nonce =
                csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
            assert!(
                csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
                "{csp}"
            );
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            assert!(
                page.body.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: scripts carry the header's nonce"
            );
            assert_eq!(page.headers["x-content-type-options"], "nosniff");
            assert_eq!(page.headers["x-frame-options"], "DENY");
            assert!(page.headers.contains_key("referrer-policy"));
            let other = app.page(path, session).await;
            assert!(
                !other.headers["content-security-policy"].to_str().unwrap().contains(nonce),
                "fresh per request"
            );
        }
    })
}

/// The pages before signing in, and "not found".
const PLAIN_PAGES: [&str; 9] = [
    "/login",
    "/login/two-factor",
    "/signup",
    "/forgot-password",
    "/verify-email?token=t",
    "/reset-password?token=t",
    "/confirm-email?token=t",
    "/activate?token=t",
    "/no/such/page",
];

#[test]
fn only_the_signed_in_console_loads_the_app_the_pages_before_it_are_plain_html() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let console = app.page("/account/users", Some(&admin)).await;
        assert!(console.body.contains(".wasm"), "the console hydrates");
        assert!(!console.body.contains("form[action^="), "and needs no plain-form script");
        for path in PLAIN_PAGES {
            let page = app.page(path, None).await;
            assert!(
                !page.body.contains(".wasm") && !page.body.contains("modulepreload"),
                "{path}: no app code"
            );
            // The script that sends their forms in place is inlined, with the nonce.
            let csp = page.headers["content-security-policy"].to_str().unwrap();
            let nonce =
                csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
            let script = page.body.split(&format!("<script nonce=\"{nonce}\">")).nth(1);
            assert!(
                script.is_some_and(|script| script.contains(r#"form[action^="/fn/"]"#)),
                "{path}: {}",
                page.body
            );
        }
    })
}

#[test]
fn the_forms_before_signing_in_work_as_plain_posts_and_say_how_they_went() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up_unverified(ADMIN).await;
        let token = app.link_token(ADMIN, "/verify-email").await;
        let link = format!("/verify-email?token={token}");
        let verified = "Your email address is verified.";
        assert!(!app.page(&link, None).await.body.contains(verified));

        // A refusal goes back to the page with the error, and changes nothing.
        let before = Snapshot::take(&app.domain).await;
        let refused = app.plain_post("verify_email", &[("token", "not-a-token")], &link).await;
        assert_eq!(refused.status, StatusCode::FOUND);
        let back = refused.location().unwrap().strip_prefix(support::ORIGIN).unwrap().to_owned();
        assert!(back.starts_with("/verify-email?token=") && back.contains("__err="), "{back}");
        let page = app.page(&back, None).await;
        assert!(page.body.contains(LINK_INVALID), "{}", page.body);
        assert!(!page.body.contains(verified));
        before.assert_unchanged(&app.domain).await;

        let done = app.plain_post("verify_email", &[("token", &token)], &link).await;
        assert_eq!(
            (done.status, done.location()),
            (StatusCode::FOUND, Some("/verify-email?verified=1"))
        );
        assert!(app.page("/verify-email?verified=1", None).await.body.contains(verified));

        let sent = "we have sent it a link to reset the password";
        assert!(!app.page("/forgot-password", None).await.body.contains(sent));
        for email in [ADMIN, "nobody@example.com"] {
            let reply = app
                .plain_post("request_password_reset", &[("email", email)], "/forgot-password")
                .await;
            assert_eq!(reply.location(), Some("/forgot-password?sent=1"), "the same for {email}");
        }
        assert!(app.page("/forgot-password?sent=1", None).await.body.contains(sent));
    })
}

#[test]
fn unknown_pages_are_not_found() {
    support::run(async {
        let app = TestApp::new().await;
        let before = Snapshot::take(&app.domain).await;
        let reply = app.page("/no/such/page", None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(reply.body.contains("<title>Page not found · Voice Console</title>"));
        let log_in = app.page("/login", None).await;
        assert!(log_in.body.contains("<title>Log in · Voice Console</title>"));
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn over_https_the_session_cookie_is_host_prefixed_and_hsts_is_sent() {
    support::run(async {
        let app = TestApp::over_https().await;
        let reply = app.sign_up_reply(ADMIN).await;
        let cookie = reply.set_cookie();
        assert!(cookie.starts_with("__Host-console_session="), "{cookie}");
        for attribute in ["; Secure", "; Path=/", "; HttpOnly", "; SameSite=Lax"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
        let session = reply.session().unwrap();

        let page = app.page("/account", Some(&session)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        assert_eq!(
            app.page("/login", None).await.headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        // The unprefixed name (which a sibling subdomain could set) is not a session here.
        let request = http::Request::get("/account")
            .header(http::header::ACCEPT, "text/html")
            .header(http::header::COOKIE, format!("console_session={session}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let unprefixed = app.send(request).await;
        assert_eq!(unprefixed.location(), Some("/login?next=/account"), "sent to log in");
    })
}

#[test]
fn over_plain_http_there_is_no_hsts_and_no_secure_cookie() {
    support::run(async {
        let app = TestApp::new().await;
        let reply = app.log_in("nobody@example.com", PASSWORD).await;
        assert!(reply.headers.get("strict-transport-security").is_none());
        app.sign_up(ADMIN).await;
        let cookie = app.log_in(ADMIN, PASSWORD).await.set_cookie();
        assert!(cookie.starts_with("console_session=") && !cookie.contains("Secure"), "{cookie}");
    })
}

/// A form whose answer is a secret shown once, posted as a plain form (the
/// button pressed before the page's code loaded): server_fn would make the
/// key and redirect back, dropping it. Refused before anything is made,
/// back to the page, which says why above the form.
#[test]
fn a_secret_asked_for_by_a_plain_form_post_is_refused_and_said_on_the_page() {
    use server::security::SECRET_FORM_TOO_EARLY;
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        let request = http::Request::post("/fn/generate_developer_key")
            .header(http::header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(http::header::ORIGIN, ORIGIN)
            // Refused once before (a second early press): that refusal goes.
            .header(
                http::header::REFERER,
                format!(
                    "{ORIGIN}/account?tab=keys&__path=%2Ffn%2Fgenerate_developer_key&__err=b2xk"
                ),
            )
            .header(http::header::COOKIE, format!("{}={admin}", app.session_cookie()))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("name=Script&password={PASSWORD}")))
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let back = reply.location().unwrap().to_owned();
        assert!(
            back.starts_with("/account?tab=keys&__path=%2Ffn%2Fgenerate_developer_key&__err="),
            "{back}"
        );
        assert_eq!(back.matches("__err=").count(), 1, "{back}");
        before.assert_unchanged(&app.domain).await;
        let page = app.page(&back, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        let said = SECRET_FORM_TOO_EARLY.split(" (").next().unwrap();
        assert!(page.body.contains(said), "the page says why");
        // The page's own code asks for JSON, and is answered with the key.
        let made = app
            .call(
                "generate_developer_key",
                &[("name", "Script"), ("password", PASSWORD)],
                Some(&admin),
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        assert!(made.json()["key"].as_str().is_some(), "{}", made.body);
    })
}

#[test]
fn a_state_change_with_cookies_but_no_origin_and_no_fetch_site_is_refused() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let form = [("first_name", "Mallory"), ("last_name", "Replayed")];
        let before = Snapshot::take(&app.domain).await;
        let bare = app.call_from("update_name", &form, Some(&admin), None, None).await;
        assert_eq!(bare.status, StatusCode::FORBIDDEN);
        let me = app.call("signed_in_user", &[], Some(&admin)).await.json();
        assert_eq!(me["first_name"], "Grace", "nothing changed");
        before.assert_unchanged(&app.domain).await;
        // Without cookies there is nothing to ride on: a bare log-in is answered.
        let log_in =
            app.call_from("log_in", &[("email", ADMIN), ("password", PASSWORD)], None, None, None);
        let log_in = log_in.await;
        assert_eq!(log_in.status, StatusCode::OK, "{}", log_in.body);
        assert!(log_in.session().is_some(), "a session cookie is set");
    })
}

#[test]
fn health_and_readiness_answer_without_a_session_and_say_nothing_more() {
    support::run(async {
        let app = TestApp::new().await;
        let health = app.page("/healthz", None).await;
        assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
        let ready = app.page("/readyz", None).await;
        assert_eq!((ready.status, ready.body.as_str()), (StatusCode::OK, "ready"));
        // A newer build migrated the database (a rolling deploy): this one
        // stays ready, since migrations only add.
        let db = &app.domain.db;
        let newest = newest_migration(db).await;
        let newer = "INSERT INTO seaql_migrations (version, applied_at) \
                     VALUES ('m20991231_000001_from_a_newer_build', 0)";
        execute_sql(db, newer).await;
        let ready = app.page("/readyz", None).await;
        assert_eq!((ready.status, ready.body.as_str()), (StatusCode::OK, "ready"));
        // One of this build's own not applied: not ready.
        execute_sql(db, &format!("DELETE FROM seaql_migrations WHERE version = '{newest}'")).await;
        let ready = app.page("/readyz", None).await;
        assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
        // A database that no longer answers: not ready, and nothing more is said.
        app.domain.db.clone().close().await.unwrap();
        let ready = app.page("/readyz", None).await;
        assert_eq!(
            (ready.status, ready.body.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        );
        let health = app.page("/healthz", None).await;
        assert_eq!(health.status, StatusCode::OK, "the process still answers");
    })
}

#[test]
fn pages_render_while_another_router_is_being_built() {
    // Building a router walks the app once with resource loads suppressed
    // process-wide (leptos #4773); a page whose resource first ran in that
    // window used to wait for ever (a 503 after the request timeout).
    let (domain, _clock) = support::run(app::domain::testing::fresh_domain());
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Stops the builder however the test ends (a failed assertion too).
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let stop = Stop(building.clone());
    let builder = std::thread::spawn({
        let (domain, building) = (domain.clone(), building.clone());
        move || {
            while building.load(std::sync::atomic::Ordering::Relaxed) {
                drop(support::router_with(&domain, false, support::test_options()));
            }
        }
    });
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        for _ in 0..200 {
            let page = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                app.page("/account/users", Some(&admin)),
            )
            .await
            .expect("the page rendered within 5 s");
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.body.contains("Grace Hopper"));
        }
    });
    drop(stop);
    builder.join().unwrap();
}

#[test]
fn edit_user_saves_only_the_fields_the_form_changed_from_what_it_opened_with() {
    use app::domain::entity::user;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        app.operator_adds_member(ADMIN, "bob@example.com").await;
        let find = || async {
            user::Entity::find()
                .filter(user::Column::Email.eq("bob@example.com"))
                .one(&app.domain.db)
                .await
                .unwrap()
                .unwrap()
        };
        let bob = find().await;
        assert!(!bob.can_share);
        let id = bob.id.to_string();
        // The form opened with Bob as he was; another admin then lets him
        // share and renames him.
        let mut meanwhile: user::ActiveModel = bob.clone().into();
        meanwhile.can_share = Set(true);
        meanwhile.first_name = Set("Robert".into());
        meanwhile.update(&app.domain.db).await.unwrap();
        let opened_with = [
            ("was", "yes"),
            ("was_first_name", "Bob"),
            ("was_last_name", "Builder"),
            ("was_email", "bob@example.com"),
            ("was_is_admin", "no"),
            ("was_can_create", if bob.can_create { "on" } else { "off" }),
            ("was_can_share", "off"),
        ];
        let form = |first_name, last_name| {
            let mut form = vec![
                ("id", id.as_str()),
                ("first_name", first_name),
                ("last_name", last_name),
                ("email", "bob@example.com"),
                ("is_admin", "no"),
            ];
            if bob.can_create {
                form.push(("can_create", "on"));
            }
            form.extend(opened_with);
            form
        };

        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("update_user", &form("Rob", "Builder"), Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.json()["Invalid"][0]["field"], "first_name");
        before.assert_unchanged(&app.domain).await;

        let saved = app.call("update_user", &form("Bob", "Bauer"), Some(&admin)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let bob = find().await;
        assert_eq!((bob.first_name.as_str(), bob.last_name.as_str()), ("Robert", "Bauer"));
        assert!(bob.can_share, "the unticked box the form opened with does not undo the change");

        // A page from before the `was_` fields sets every field as sent.
        let old_page = app.call("update_user", &form("Bob", "Bauer")[..5], Some(&admin)).await;
        assert_eq!(old_page.status, StatusCode::OK, "{}", old_page.body);
        let bob = find().await;
        assert_eq!(bob.first_name, "Bob");
        assert!(!bob.can_share);
    })
}

#[test]
fn account_information_saves_only_the_fields_the_form_changed() {
    use app::domain::entity::account;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let acme = account::Entity::find().one(&app.domain.db).await.unwrap().unwrap();
        // The tab opened; then another admin sets the city.
        let mut meanwhile: account::ActiveModel = acme.clone().into();
        meanwhile.city = Set("Oslo".into());
        meanwhile.update(&app.domain.db).await.unwrap();
        let mut form = vec![("was".to_owned(), "yes".to_owned())];
        for (field, value) in [
            ("company_name", acme.company_name.as_str()),
            ("address", ""),
            ("city", ""),
            ("state", ""),
            ("zip", ""),
            ("phone", ""),
        ] {
            // Only the state is changed here.
            let sent = if field == "state" { "Viken" } else { value };
            form.push((field.to_owned(), sent.to_owned()));
            form.push((format!("was_{field}"), value.to_owned()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
        let saved = app.call("save_account_info", &form, Some(&admin)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert_eq!(
            (saved.json()["city"].as_str(), saved.json()["state"].as_str()),
            (Some("Oslo"), Some("Viken"))
        );
    })
}
