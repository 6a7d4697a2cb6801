//! Manage Users over HTTP: only admins, only their own account.
mod support;

use app::domain::testing::Snapshot;
use http::StatusCode;
use serde_json::json;
use support::{run, TestApp};

const ADMIN: &str = "grace@example.com";

fn user_form<'a>(first: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("first_name", first),
        ("last_name", "Doe"),
        ("email", email),
        ("is_admin", "no"),
        ("can_create", "on"),
    ]
}

#[test]
fn a_member_can_do_none_of_it_and_nothing_changes() {
    run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, "bob@example.com").await;
        let listed = app.call("list_users", &[], Some(&admin)).await.json();
        let grace_id =
            listed["rows"].as_array().unwrap().iter().find(|r| r["email"] == ADMIN).unwrap()["id"]
                .to_string();
        let bob_id = listed["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["email"] == "bob@example.com")
            .unwrap()["id"]
            .to_string();

        let before = Snapshot::take(&app.domain).await;
        assert_eq!(app.call("list_users", &[], Some(&member)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.call("add_user", &user_form("Eve", "eve@example.com"), Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        let mut promote_self = user_form("Bob", "bob@example.com");
        promote_self.push(("id", bob_id.as_str()));
        promote_self.retain(|(field, _)| *field != "is_admin");
        promote_self.push(("is_admin", "yes"));
        assert_eq!(
            app.call("update_user", &promote_self, Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        let demote = [
            ("id", grace_id.as_str()),
            ("first_name", "G"),
            ("last_name", "H"),
            ("email", ADMIN),
            ("is_admin", "no"),
        ];
        assert_eq!(
            app.call("update_user", &demote, Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.call("delete_user", &[("id", &grace_id)], Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.call("send_password_reset", &[("id", &grace_id)], Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.call("resend_invitation", &[("id", &bob_id)], Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        for (endpoint, id) in [("disable_user", &grace_id), ("enable_user", &bob_id)] {
            let refused = app.call(endpoint, &[("id", id)], Some(&member)).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{endpoint}");
        }
        // No row changed and no email (reset, invitation) went out.
        before.assert_unchanged(&app.domain).await;
        let after = app.call("list_users", &[], Some(&admin)).await.json();
        assert_eq!(after["rows"].as_array().unwrap().len(), 2);
        let grace =
            after["rows"].as_array().unwrap().iter().find(|r| r["email"] == ADMIN).unwrap().clone();
        assert_eq!(grace["is_admin"], true);
    })
}

#[test]
fn an_admin_of_another_account_gets_not_found() {
    run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let added = app.call("add_user", &user_form("Bob", "bob@example.com"), Some(&admin)).await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let bob_id = added.json()["id"].to_string();
        let intruder = app.sign_up("eve@other.example").await;
        let before = Snapshot::take(&app.domain).await;
        let rename = [
            ("id", bob_id.as_str()),
            ("first_name", "Hacked"),
            ("last_name", "X"),
            ("email", "bob@example.com"),
        ];
        assert_eq!(
            app.call("update_user", &rename, Some(&intruder)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call("delete_user", &[("id", &bob_id)], Some(&intruder)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call("resend_invitation", &[("id", &bob_id)], Some(&intruder)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call("send_password_reset", &[("id", &bob_id)], Some(&intruder)).await.status,
            StatusCode::NOT_FOUND
        );
        before.assert_unchanged(&app.domain).await;
        let listed = app.call("list_users", &[("search", "bob")], Some(&intruder)).await.json();
        assert_eq!(listed["rows"], serde_json::json!([]));
        let ours = app.call("list_users", &[("search", "bob")], Some(&admin)).await.json();
        assert_eq!(ours["rows"][0]["first_name"], "Bob");
        assert_eq!(ours["rows"][0]["invited"], true);
    })
}

/// Flags spelled otherwise than the form spells them are refused on their
/// field, not guessed: `is_admin=true` once read as No (a demotion) and
/// `can_share=off` as ticked (a grant).
#[test]
fn flags_spelled_otherwise_are_refused_not_guessed() {
    run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let added = app.call("add_user", &user_form("Bob", "bob@example.com"), Some(&admin)).await;
        let bob_id = added.json()["id"].to_string();
        let promoted = app.call("update_user", &promote(&bob_id), Some(&admin)).await;
        assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
        let before = Snapshot::take(&app.domain).await;
        let mut eve = user_form("Eve", "eve@example.com");
        eve.retain(|(field, _)| *field != "is_admin");
        eve.push(("is_admin", "true"));
        let refused = app.call("add_user", &eve, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.json()["Invalid"][0]["field"], "is_admin");
        assert_eq!(refused.json()["Invalid"][0]["message"], "Account Admin must be Yes or No.");
        let garbled = [
            ("id", bob_id.as_str()),
            ("first_name", "Bob"),
            ("last_name", "Doe"),
            ("email", "bob@example.com"),
            ("is_admin", "true"),
            ("can_create", "on"),
            ("can_share", "off"),
        ];
        let refused = app.call("update_user", &garbled, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        let fields: Vec<String> = refused.json()["Invalid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, ["is_admin", "can_share"]);
        before.assert_unchanged(&app.domain).await;
        let listed = app.call("list_users", &[("search", "bob")], Some(&admin)).await.json();
        assert_eq!(listed["rows"][0]["is_admin"], true);
        assert_eq!(listed["rows"][0]["can_share"], false);
    })
}

#[test]
fn the_admin_cannot_delete_themself_or_demote_the_last_admin() {
    run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let me = app.call("signed_in_user", &[], Some(&admin)).await.json()["id"].to_string();
        let before = Snapshot::take(&app.domain).await;
        let deleted = app.call("delete_user", &[("id", &me)], Some(&admin)).await;
        assert_eq!(deleted.status, StatusCode::FORBIDDEN);
        let demote = [
            ("id", me.as_str()),
            ("first_name", "G"),
            ("last_name", "H"),
            ("email", ADMIN),
            ("is_admin", "no"),
        ];
        let refused = app.call("update_user", &demote, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()["Invalid"][0]["field"], "is_admin");
        before.assert_unchanged(&app.domain).await;
        assert_eq!(app.call("signed_in_user", &[], Some(&admin)).await.json()["is_admin"], true);
    })
}

#[test]
fn an_operator_added_user_without_a_password_is_emailed_an_invitation() {
    run(async {
        use app::domain::entity::email_outbox as outbox;
        use sea_orm::EntityTrait;
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let args: Vec<String> = [
            "user",
            "add",
            "--account-of",
            ADMIN,
            "--email",
            "ivy@example.com",
            "--first-name",
            "Ivy",
            "--last-name",
            "Lee",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let said =
            server::cli::run(&app.domain, &args, &mut std::io::Cursor::new("")).await.unwrap();
        assert!(said.contains("invitation"), "{said}");
        let emails = outbox::Entity::find().all(&app.domain.db).await.unwrap();
        let invitation =
            emails.iter().find(|e| e.to_address == "ivy@example.com").expect("an invitation");
        let body = app::domain::testing::body_of(&app.domain, invitation);
        assert!(body.contains("/activate?token="));
    })
}

/// The id of the user with `email`, as the admin's table lists them.
async fn id_of(app: &TestApp, admin: &str, email: &str) -> String {
    let listed = app.call("list_users", &[("search", email)], Some(admin)).await.json();
    listed["rows"].as_array().unwrap().iter().find(|r| r["email"] == email).unwrap()["id"]
        .to_string()
}

#[test]
fn disabling_stops_a_users_key_session_and_log_in_at_once_and_enabling_restores_log_in() {
    run(async {
        use app::domain::core::people::DISABLED;
        use app::domain::identity::log_in::WRONG_CREDENTIALS;
        use support::MEMBER_PASSWORD;
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let bob = "bob@example.com";
        let session = app.operator_adds_member(ADMIN, bob).await;
        // A key made before the disable, and a second session.
        let (key, _) = app.new_developer_key(&session, MEMBER_PASSWORD).await;
        let other_session = app.log_in(bob, MEMBER_PASSWORD).await.session().unwrap();
        assert_eq!(app.api("/api/v1/me", Some(&key)).await.0, StatusCode::OK);
        assert_eq!(app.page("/account", Some(&session)).await.status, StatusCode::OK);
        let bob_id = id_of(&app, &admin, bob).await;

        let disabled = app.call("disable_user", &[("id", &bob_id)], Some(&admin)).await;
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
        assert_eq!(disabled.json()["disabled"], true);

        // Right after: the key gets 403 saying why, and is not counted
        // (nothing is written, the request counters included), both sessions
        // are sent to log in, and the server functions do not know him.
        let before = Snapshot::take(&app.domain).await;
        let (status, body) = app.api("/api/v1/me", Some(&key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["message"], DISABLED, "{body}");
        before.assert_unchanged(&app.domain).await;
        for token in [&session, &other_session] {
            let page = app.page("/account", Some(token)).await;
            assert_eq!(page.status, StatusCode::FOUND);
            assert_eq!(page.location(), Some("/login?next=/account"));
            let me = app.call("signed_in_user", &[], Some(token)).await;
            assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        }
        // Log-in: the right password is told why, and gets no session; a
        // wrong one gets the usual answer. Only the attempts are counted.
        let before =
            Snapshot::take_except(&app.domain, &["login_failures", "activity_events"]).await;
        let refused = app.log_in(bob, MEMBER_PASSWORD).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains(DISABLED), "{}", refused.body);
        assert_eq!(refused.session(), None);
        let wrong = app.log_in(bob, "Not-His-Password-1").await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains(WRONG_CREDENTIALS), "{}", wrong.body);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(before.new_events(&app.domain).await, ["sign_in.failed bob@example.com"]);

        // The table shows him disabled and filters by state, over the API too.
        let listed = app.call("list_users", &[("state", "disabled")], Some(&admin)).await.json();
        let rows = listed["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0]["email"].as_str(), &rows[0]["disabled"]), (Some(bob), &json!(true)));
        let enabled = app.call("list_users", &[("state", "enabled")], Some(&admin)).await.json();
        assert_eq!(enabled["rows"].as_array().unwrap().len(), 1);
        assert_eq!(enabled["rows"][0]["email"], ADMIN);
        let bad = app.call("list_users", &[("state", "asleep")], Some(&admin)).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let (admin_key, _) = app.new_developer_key(&admin, app::domain::testing::PASSWORD).await;
        let (status, api) = app.api("/api/v1/users?state=disabled", Some(&admin_key)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(api["users"].as_array().unwrap().len(), 1);
        assert_eq!(api["users"][0]["disabled"], true);

        // Enabled again: he logs in afresh, his key works again, his old
        // sessions stay ended.
        let enabled = app.call("enable_user", &[("id", &bob_id)], Some(&admin)).await;
        assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
        assert_eq!(enabled.json()["disabled"], false);
        assert_eq!(app.api("/api/v1/me", Some(&key)).await.0, StatusCode::OK);
        assert_eq!(app.page("/account", Some(&session)).await.status, StatusCode::FOUND);
        let again = app.log_in(bob, MEMBER_PASSWORD).await.session().expect("signs in again");
        assert_eq!(app.page("/account", Some(&again)).await.status, StatusCode::OK);
    })
}

#[test]
fn only_an_admin_of_the_same_account_disables_or_enables_and_never_themself() {
    run(async {
        use app::domain::admin::users::{LAST_ACTIVE_ADMIN, NOT_YOURSELF_DISABLE};
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, "bob@example.com").await;
        let intruder = app.sign_up("eve@other.example").await;
        let grace_id = id_of(&app, &admin, ADMIN).await;
        let bob_id = id_of(&app, &admin, "bob@example.com").await;

        let before = Snapshot::take(&app.domain).await;
        for function in ["disable_user", "enable_user"] {
            for id in [&grace_id, &bob_id] {
                let by_member = app.call(function, &[("id", id)], Some(&member)).await;
                assert_eq!(by_member.status, StatusCode::FORBIDDEN, "{function} by a member");
                let by_intruder = app.call(function, &[("id", id)], Some(&intruder)).await;
                assert_eq!(
                    by_intruder.status,
                    StatusCode::NOT_FOUND,
                    "{function} by another account"
                );
            }
            let signed_out = app.call(function, &[("id", &bob_id)], None).await;
            assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
        }
        // The only admin cannot disable themself: told it is the last active admin.
        let own = app.call("disable_user", &[("id", &grace_id)], Some(&admin)).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        assert!(own.body.contains(LAST_ACTIVE_ADMIN), "{}", own.body);
        before.assert_unchanged(&app.domain).await;

        // With a second admin, still not themself.
        let promoted = app.call("update_user", &promote(&bob_id), Some(&admin)).await;
        assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
        let before = Snapshot::take(&app.domain).await;
        let own = app.call("disable_user", &[("id", &grace_id)], Some(&admin)).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        assert!(own.body.contains(NOT_YOURSELF_DISABLE), "{}", own.body);
        before.assert_unchanged(&app.domain).await;
        let listed = app.call("list_users", &[], Some(&admin)).await.json();
        assert!(listed["rows"].as_array().unwrap().iter().all(|r| r["disabled"] == false));
    })
}

/// The Edit User form that makes Bob an admin.
fn promote(id: &str) -> Vec<(&str, &str)> {
    vec![
        ("id", id),
        ("first_name", "Bob"),
        ("last_name", "Builder"),
        ("email", "bob@example.com"),
        ("is_admin", "yes"),
    ]
}

/// Grace signs up and invites Cy: her session and Cy's activation token.
async fn cy_invited(app: &TestApp) -> (String, String) {
    let admin = app.sign_up(ADMIN).await;
    let added = app.call("add_user", &user_form("Cy", "cy@example.com"), Some(&admin)).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    (admin, app.link_token("cy@example.com", "/activate").await)
}

/// The invitation's page offers the decline beside the activation; declining
/// lands on the page that says so, and the admin hears why beside the email
/// field when inviting the address again.
#[test]
fn an_invitee_declines_from_the_links_page_and_the_admin_is_told_beside_the_email() {
    run(async {
        let app = TestApp::new().await;
        let (admin, token) = cy_invited(&app).await;
        let path = format!("/activate?token={token}");
        let page = app.page(&path, None).await;
        assert!(page.body.contains("Activate Account"), "{}", page.body);
        // Declining cannot be undone: its button stands on a step of its own,
        // which names what is declined and leads back.
        let decline_step = format!("{path}&amp;decline=1");
        assert!(page.body.contains(&decline_step), "{}", page.body);
        assert!(!page.body.contains(">Decline Invitation</button>"));
        let deciding = app.page(&format!("{path}&decline=1"), None).await;
        assert!(
            deciding.body.contains(">Decline Invitation</button>")
                && deciding.body.contains(&format!("href=\"{path}\""))
                && !deciding.body.contains("Activate Account"),
            "{}",
            deciding.body
        );
        assert!(deciding.body.contains("Acme Voice") && deciding.body.contains("cy@example.com"));
        // Before anything is pressed, the page names the account and the
        // address; opening it, twice, uses nothing up.
        assert!(page.body.contains("Acme Voice") && page.body.contains("cy@example.com"));
        let opened_again = app.page(&path, None).await;
        assert!(opened_again.body.contains("Activate Account"), "{}", opened_again.body);

        let declined = app
            .plain_post("decline_invitation", &[("token", &token)], &format!("{path}&decline=1"))
            .await;
        assert_eq!(declined.status, StatusCode::FOUND, "{}", declined.body);
        assert_eq!(declined.location(), Some(app::pages::INVITATION_DECLINED));
        let landed = app.page(app::pages::INVITATION_DECLINED, None).await;
        assert!(landed.body.contains("You declined the invitation"), "{}", landed.body);
        assert!(!landed.body.contains("Activate Account"), "nothing is left to press");
        // The link, opened again, says at once that it no longer works.
        let reopened = app.page(&path, None).await;
        assert!(
            reopened.body.contains(app::domain::admin::invitations::LINK_DECLINED),
            "{}",
            reopened.body
        );
        assert!(
            !reopened.body.contains("Activate Account")
                && !reopened.body.contains("cy@example.com")
        );

        let before = Snapshot::take(&app.domain).await;
        let again = app.call("add_user", &user_form("Cy", "cy@example.com"), Some(&admin)).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = &again.json()["Invalid"][0];
        assert_eq!(error["field"], "email");
        assert!(error["message"].as_str().unwrap().contains("declined an invitation"), "{error}");
        before.assert_unchanged(&app.domain).await;
    })
}

/// An admin who disables an invitee (instead of deleting them) puts the
/// invitation on hold: its page says so and offers only Decline, which
/// whoever holds the address can still press.
#[test]
fn a_disabled_invitees_page_offers_only_decline() {
    run(async {
        let app = TestApp::new().await;
        let (admin, token) = cy_invited(&app).await;
        let cy = id_of(&app, &admin, "cy@example.com").await;
        let disabled = app.call("disable_user", &[("id", &cy)], Some(&admin)).await;
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
        let path = format!("/activate?token={token}");
        let page = app.page(&path, None).await;
        assert!(
            page.body.contains("is on hold: an admin of the account disabled it"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("Activate Account"), "{}", page.body);
        assert!(page.body.contains(&format!("{path}&amp;decline=1")), "{}", page.body);
        let declined = app
            .plain_post("decline_invitation", &[("token", &token)], &format!("{path}&decline=1"))
            .await;
        assert_eq!(declined.status, StatusCode::FOUND, "{}", declined.body);
        assert_eq!(declined.location(), Some(app::pages::INVITATION_DECLINED));
    })
}

/// Grace opens Cy's invitation in her own browser: the page says she is
/// logged in, and activating logs Cy in there and ends Grace's session.
#[test]
fn activating_an_invitation_in_a_signed_in_browser_ends_that_session() {
    run(async {
        let app = TestApp::new().await;
        let (admin, token) = cy_invited(&app).await;
        let path = format!("/activate?token={token}");
        let page = app.page(&path, Some(&admin)).await;
        assert!(
            page.body.contains("You are logged in as <strong>grace@example.com</strong>")
                && page.body.contains("activating the invitation ends this session."),
            "{}",
            page.body
        );
        let grace_elsewhere = app.log_in(ADMIN, app::domain::testing::PASSWORD).await;
        let grace_elsewhere = grace_elsewhere.session().unwrap();
        // A refused activation ends nothing: no session, the link not used.
        let weak = [("token", token.as_str()), ("new_password", "password1")];
        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("activate", &weak, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        let grace = app.call("signed_in_user", &[], Some(&admin)).await;
        assert_eq!(grace.status, StatusCode::OK, "{}", grace.body);
        let form = [("token", token.as_str()), ("new_password", support::MEMBER_PASSWORD)];
        let cy = app.call("activate", &form, Some(&admin)).await;
        assert_eq!(cy.status, StatusCode::OK, "{}", cy.body);
        let cy = cy.session().expect("activation logs Cy in");
        let who = app.call("signed_in_user", &[], Some(&cy)).await;
        assert_eq!(who.json()["email"], "cy@example.com");
        let grace = app.call("signed_in_user", &[], Some(&admin)).await;
        assert_eq!(grace.status, StatusCode::UNAUTHORIZED, "{}", grace.body);
        // Only the session that browser held.
        let elsewhere = app.call("signed_in_user", &[], Some(&grace_elsewhere)).await;
        assert_eq!(elsewhere.json()["email"], ADMIN);
    })
}

/// A link that no longer works says so on its page before anything is
/// typed, with nothing to press; a made-up one too.
#[test]
fn an_expired_or_unknown_invitation_link_says_so_on_its_page() {
    run(async {
        let app = TestApp::new().await;
        let (_, token) = cy_invited(&app).await;
        app.clock.advance(chrono::Duration::hours(49));
        let expired = app.page(&format!("/activate?token={token}"), None).await;
        assert_eq!(expired.status, StatusCode::OK);
        let invitations = app::domain::admin::invitations::INVITATION_EXPIRED;
        assert!(expired.body.contains(invitations), "{}", expired.body);
        assert!(!expired.body.contains("Activate Account") && !expired.body.contains("Acme Voice"));
        // Its decline page says what declining would: nothing to decline.
        let declining = app.page(&format!("/activate?token={token}&decline=1"), None).await;
        let nothing = app::domain::admin::invitations::DECLINE_EXPIRED;
        assert!(declining.body.contains(nothing), "{}", declining.body);

        let made_up = app.page("/activate?token=not-a-token", None).await;
        let unknown = app::domain::admin::invitations::LINK_UNKNOWN;
        assert!(made_up.body.contains(unknown), "{}", made_up.body);
        assert!(!made_up.body.contains("Activate Account"));
    })
}
