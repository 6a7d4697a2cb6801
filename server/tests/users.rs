//! Manage Users over HTTP: only admins, only their own account.
mod support;

use app::domain::testing::Snapshot;
use http::StatusCode;
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
        assert!(invitation.body_text.contains("/activate?token="));
    })
}
