//! Email links and the flows behind them, over HTTP: opening a link changes
//! nothing; its page's button does.
mod support;

use app::domain::testing::Snapshot;
use app::domain::testing::PASSWORD;
use http::StatusCode;
use support::TestApp;

const ADMIN: &str = "grace@example.com";

async fn verified(app: &TestApp, session: &str) -> bool {
    app.call("signed_in_user", &[], Some(session)).await.json()["email_verified"].as_bool().unwrap()
}

#[test]
fn opening_a_verification_link_changes_nothing_and_its_button_verifies() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up_unverified(ADMIN).await;
        let account = app.page("/account", Some(&session)).await;
        assert!(account.body.contains("Your email address is not verified"));
        let token = app.link_token(ADMIN, "/verify-email").await;

        let before = Snapshot::take(&app.domain).await;
        for _ in 0..2 {
            let page = app.page(&format!("/verify-email?token={token}"), None).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.body.contains("Verify Email Address"));
            // It names the account, for the address's owner to tell a
            // stranger's sign-up from theirs.
            let text = page.body.replace("<!>", "");
            assert!(
                text.contains("verifies the address of <strong>Grace Hopper</strong>, who signed up for <strong>Acme Voice</strong> on "),
                "{}",
                page.body
            );
        }
        assert!(!verified(&app, &session).await, "a mail scanner's GET used up nothing");
        before.assert_unchanged(&app.domain).await;

        let reply = app.call("verify_email", &[("token", &token)], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(verified(&app, &session).await);
        let account = app.page("/account", Some(&session)).await;
        assert!(!account.body.contains("Your email address is not verified"));
        // Where a plain form lands after the button: it says so, and asks nothing more.
        let done = app.page(app::pages::EMAIL_VERIFIED, None).await;
        assert!(done.body.contains("Your email address is verified"), "{}", done.body);
        assert!(!done.body.contains("Verify Email Address"), "no button left to press");
        // The link again is told what is true, that the address is verified,
        // not to ask for another link; nothing changes.
        let before = Snapshot::take(&app.domain).await;
        let again = app.call("verify_email", &[("token", &token)], None).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        // Its page says so at once, with nothing to press.
        let page = app.page(&format!("/verify-email?token={token}"), None).await;
        assert!(page.body.contains("Your email address is verified"), "{}", page.body);
        assert!(!page.body.contains("Verify Email Address"), "{}", page.body);
        let made_up = app.page("/verify-email?token=not-a-token", None).await;
        assert!(made_up.body.contains("This link is not valid."), "{}", made_up.body);
        assert!(!made_up.body.contains("Verify Email Address"), "{}", made_up.body);
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn forgot_password_gives_the_same_reply_for_known_and_unknown_addresses() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let known = app.call("request_password_reset", &[("email", ADMIN)], None).await;
        let unknown =
            app.call("request_password_reset", &[("email", "nobody@example.com")], None).await;
        assert_eq!(known.status, StatusCode::OK);
        assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    })
}

#[test]
fn a_reset_link_signs_in_with_the_new_password_and_ends_old_sessions() {
    support::run(async {
        let app = TestApp::new().await;
        let old = app.sign_up(ADMIN).await;
        app.call("request_password_reset", &[("email", ADMIN)], None).await;
        let token = app.link_token(ADMIN, "/reset-password").await;
        let page = app.page(&format!("/reset-password?token={token}"), None).await;
        assert!(page.body.contains("New Password"));
        assert!(!page.body.contains("You are logged in as"));
        // Opened in a browser signed in as someone else, the page says that
        // a new password here ends that session.
        let eve = app.sign_up("eve@other.example").await;
        let page = app.page(&format!("/reset-password?token={token}"), Some(&eve)).await;
        assert!(
            page.body.contains("You are logged in as <strong>eve@other.example</strong>")
                && page.body.contains("setting a new password here ends this session."),
            "{}",
            page.body
        );

        let new_password = "Quartz-Harbor-Lantern-77";
        let reply = app
            .call("reset_password", &[("token", &token), ("new_password", new_password)], None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.location(), Some("/account"));
        let fresh = reply.session().expect("signed in");
        assert_eq!(app.call("signed_in_user", &[], Some(&fresh)).await.status, StatusCode::OK);
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(
            app.call("signed_in_user", &[], Some(&old)).await.status,
            StatusCode::UNAUTHORIZED
        );
        before.assert_unchanged(&app.domain).await;
        assert!(app.log_in(ADMIN, new_password).await.session().is_some());

        let before = Snapshot::take(&app.domain).await;
        let reused = app
            .call("reset_password", &[("token", &token), ("new_password", new_password)], None)
            .await;
        assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reused.session().is_none());
        // Its page, opened again, says so at once and asks for no password.
        let page = app.page(&format!("/reset-password?token={token}"), None).await;
        assert!(page.body.contains("This link has already been used."), "{}", page.body);
        assert!(!page.body.contains("Set New Password"));
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn an_email_change_needs_a_session_and_the_password_and_waits_for_the_new_address() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up(ADMIN).await;
        let form = |password: &'static str| {
            [("current_password", password), ("new_email", "new@example.com")]
        };
        // A wrong password counts against the user's re-checks, and nothing else.
        let before = Snapshot::take_except(&app.domain, &["login_failures"]).await;
        assert_eq!(
            app.call("request_email_change", &form(PASSWORD), None).await.status,
            StatusCode::UNAUTHORIZED
        );
        let wrong = app.call("request_email_change", &form("wrong"), Some(&session)).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let cross = app
            .call_from(
                "request_email_change",
                &form(PASSWORD),
                Some(&session),
                Some("cross-site"),
                None,
            )
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        // No link went out, to either address, and nothing else changed.
        before.assert_unchanged(&app.domain).await;

        let asked = app.call("request_email_change", &form(PASSWORD), Some(&session)).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        assert_eq!(app.call("signed_in_user", &[], Some(&session)).await.json()["email"], ADMIN);
        // The change waits, shown to its user only, with no token in sight.
        let pending = app.call("pending_email_change", &[], None).await;
        assert_eq!(pending.status, StatusCode::UNAUTHORIZED);
        let pending = app.call("pending_email_change", &[], Some(&session)).await;
        assert_eq!(pending.json()["new_email"], "new@example.com", "{}", pending.body);
        assert!(!pending.body.contains("token"), "{}", pending.body);
        let before = Snapshot::take(&app.domain).await;
        let cancel = app.call("cancel_email_change", &[], None).await;
        assert_eq!(cancel.status, StatusCode::UNAUTHORIZED);
        let cancel = app
            .call_from("cancel_email_change", &[], Some(&session), Some("cross-site"), None)
            .await;
        assert_eq!(cancel.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;
        let token = app.link_token("new@example.com", "/confirm-email").await;
        // Opening the link changes nothing; its page names the new address,
        // and the account by the address it has now.
        let page = app.page(&format!("/confirm-email?token={token}"), None).await;
        assert!(
            page.body.contains(r#"<strong class="to">new@example.com</strong>"#),
            "{}",
            page.body
        );
        assert!(page.body.contains(&format!(r#"<strong class="from">{ADMIN}</strong>"#)));
        assert!(page.body.contains("Confirm New Email Address"));
        assert_eq!(app.call("signed_in_user", &[], Some(&session)).await.json()["email"], ADMIN);
        let confirmed = app.call("confirm_email_change", &[("token", &token)], None).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        assert_eq!(
            app.call("signed_in_user", &[], Some(&session)).await.json()["email"],
            "new@example.com"
        );
    })
}

/// An email-change link that no longer works says why on its page, with no
/// button to press: cancelled, used, or made up.
#[test]
fn a_cancelled_or_used_email_change_link_says_why_on_its_page() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up(ADMIN).await;
        let ask = [("current_password", PASSWORD), ("new_email", "new@example.com")];
        let asked = app.call("request_email_change", &ask, Some(&session)).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        let cancelled = app.link_token("new@example.com", "/confirm-email").await;
        let cancel = app.call("cancel_email_change", &[], Some(&session)).await;
        assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);

        let before = Snapshot::take(&app.domain).await;
        let page = app.page(&format!("/confirm-email?token={cancelled}"), None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("the email change was cancelled"), "{}", page.body);
        assert!(!page.body.contains("Confirm New Email Address"), "{}", page.body);
        assert!(!page.body.contains("new@example.com"), "{}", page.body);
        let made_up = app.page("/confirm-email?token=not-a-token", None).await;
        assert!(made_up.body.contains("This link is not valid."), "{}", made_up.body);
        before.assert_unchanged(&app.domain).await;

        let asked = app.call("request_email_change", &ask, Some(&session)).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        let token = app.link_token("new@example.com", "/confirm-email").await;
        let confirmed = app.call("confirm_email_change", &[("token", &token)], None).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        let page = app.page(&format!("/confirm-email?token={token}"), None).await;
        assert!(page.body.contains("This link has already been used."), "{}", page.body);
        assert!(!page.body.contains("Confirm New Email Address"), "{}", page.body);
    })
}
