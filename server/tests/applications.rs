//! JS libraries and applications over HTTP: permission refusals answer 403,
//! another account's things 404, and the pages render what is used where.
mod support;

use app::domain::testing::Snapshot;
use http::StatusCode;
use serde_json::json;
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";

#[test]
fn a_library_attached_to_an_application_shows_where_it_is_used() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let added = app
            .call(
                "add_js_library",
                &[("name", "Greeting"), ("description", "Says hi"), ("code", "function hi() {}")],
                Some(&admin),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let too_long = "x".repeat(4097);
        let before = Snapshot::take(&app.domain).await;
        let refused = app
            .call("add_js_library", &[("name", "Big"), ("code", too_long.as_str())], Some(&admin))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Code must be at most 4096 characters"), "{}", refused.body);
        before.assert_unchanged(&app.domain).await;

        let created = app.call("create_application", &[("name", "Main IVR")], Some(&admin)).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        let ivr = created.json();
        let attach =
            json!({ "id": ivr["id"], "library_ids": [added.json()["id"]], "integration_ids": [] });
        let attached = app.call_json("save_application_settings", attach, Some(&admin)).await;
        assert_eq!(attached.status, StatusCode::OK, "{}", attached.body);
        assert_eq!(attached.json()["libraries"][0]["name"], "Greeting");
        assert_eq!(attached.json()["name"], "Main IVR", "no name given: it stays");
        // A name refused beside its field changes nothing, the ticks neither.
        app.call("create_application", &[("name", "Backup IVR")], Some(&admin)).await;
        let before = Snapshot::take(&app.domain).await;
        let taken = json!({ "id": ivr["id"], "name": " backup ivr", "library_ids": [],
            "integration_ids": [] });
        let refused = app.call_json("save_application_settings", taken, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.json()["Invalid"][0]["field"], "name");
        before.assert_unchanged(&app.domain).await;

        let page = app.page("/account/js-libraries", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Greeting") && page.body.contains("Main IVR"), "used-by column");
        let apps_page = app.page("/account/applications", Some(&admin)).await;
        assert!(apps_page.body.contains("Main IVR") && apps_page.body.contains("Greeting"));

        // Deleting it without confirming names the application and keeps it.
        let before = Snapshot::take(&app.domain).await;
        let unconfirmed =
            json!({ "id": added.json()["id"], "detach_from": { "names": [], "others": 0 } });
        let asked = app.call_json("delete_js_library", unconfirmed, Some(&admin)).await;
        assert_eq!(asked.status, StatusCode::CONFLICT);
        assert!(asked.body.contains("Greeting is used by Main IVR"), "{}", asked.body);
        before.assert_unchanged(&app.domain).await;
        let confirm = json!({ "id": added.json()["id"], "detach_from": { "names": ["Main IVR"], "others": 0 } });
        let confirmed = app.call_json("delete_js_library", confirm, Some(&admin)).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        let listed = app.call("list_applications", &[], Some(&admin)).await.json();
        let rows = listed["rows"].as_array().unwrap();
        let main = rows.iter().find(|row| row["name"] == "Main IVR").expect("Main IVR listed");
        assert_eq!(main["libraries"], json!([]), "detached from the application that used it");
        let libraries = app.call("list_js_libraries", &[], Some(&admin)).await;
        assert_eq!(libraries.json(), json!([]), "{}", libraries.body);
    })
}

#[test]
fn permissions_are_enforced_by_the_server() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        // Added by the operator command: a member without Can Create or Can Share.
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let before = Snapshot::take(&app.domain).await;
        let created = app.call("create_application", &[("name", "Sneaky")], Some(&member)).await;
        assert_eq!(created.status, StatusCode::FORBIDDEN, "{}", created.body);
        assert!(created.body.contains("Can Create"));
        let choices =
            app.call("share_choices", &[("id", "1"), ("search", "")], Some(&member)).await;
        assert_eq!(choices.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;

        let ivr =
            app.call("create_application", &[("name", "Main IVR")], Some(&admin)).await.json();
        let id = ivr["id"].to_string();
        // Not shared with the member: it does not exist for them.
        let before = Snapshot::take(&app.domain).await;
        let cloned = app.call("clone_application", &[("id", &id)], Some(&member)).await;
        assert_eq!(cloned.status, StatusCode::NOT_FOUND);
        before.assert_unchanged(&app.domain).await;
        let bob_id =
            app.call("share_choices", &[("id", &id), ("search", "bob")], Some(&admin)).await.json()
                [0]["id"]
                .to_string();
        let shared =
            app.call("share_application", &[("id", &id), ("user_id", &bob_id)], Some(&admin)).await;
        assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
        // Shared now: visible, but cloning, sharing and deleting stay the owner's.
        let seen = app.call("list_applications", &[], Some(&member)).await.json();
        assert_eq!(seen["rows"][0]["name"], "Main IVR");
        let before = Snapshot::take(&app.domain).await;
        for (function, form) in [
            ("clone_application", vec![("id", id.as_str())]),
            ("delete_application", vec![("id", id.as_str())]),
            ("share_application", vec![("id", id.as_str()), ("user_id", bob_id.as_str())]),
        ] {
            let reply = app.call(function, &form, Some(&member)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{function}: {}", reply.body);
        }
        let settings = json!({ "id": ivr["id"], "name": "Mine now", "library_ids": [],
            "integration_ids": [] });
        let reply =
            app.call_json("save_application_settings", settings.clone(), Some(&member)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;

        // Another account sees none of it.
        let other = app.sign_up("eve@example.com").await;
        let before = Snapshot::take(&app.domain).await;
        let reply = app.call("clone_application", &[("id", &id)], Some(&other)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        for (function, form) in [
            ("delete_application", vec![("id", id.as_str())]),
            ("share_application", vec![("id", id.as_str()), ("user_id", bob_id.as_str())]),
        ] {
            let reply = app.call(function, &form, Some(&other)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{function}: {}", reply.body);
        }
        let reply = app.call_json("save_application_settings", settings, Some(&other)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(
            app.call("list_applications", &[], Some(&other)).await.json()["rows"],
            json!([])
        );
        let page = app.page("/account/applications", Some(&other)).await;
        assert!(!page.body.contains("Main IVR"));
    })
}

/// An integration an application uses is deleted only once the admin
/// confirmed detaching it from that application: without it in
/// `detach_from`, the server answers 409 naming the application, and the
/// integration and its attachment stay.
#[test]
fn deleting_an_integration_in_use_asks_first_and_keeps_it() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let added = app
            .call(
                "add_integration",
                &[
                    ("service", "s3"),
                    ("name", "Recordings"),
                    ("key", app::domain::testing::samples::AWS_KEY),
                    ("secret", app::domain::testing::samples::AWS_SECRET),
                ],
                Some(&admin),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let ivr =
            app.call("create_application", &[("name", "Main IVR")], Some(&admin)).await.json();
        let attach =
            json!({ "id": ivr["id"], "library_ids": [], "integration_ids": [added.json()["id"]] });
        let attached = app.call_json("save_application_settings", attach, Some(&admin)).await;
        assert_eq!(attached.status, StatusCode::OK, "{}", attached.body);

        let before = Snapshot::take(&app.domain).await;
        let unconfirmed =
            json!({ "id": added.json()["id"], "detach_from": { "names": [], "others": 0 } });
        let asked = app.call_json("delete_integration", unconfirmed, Some(&admin)).await;
        assert_eq!(asked.status, StatusCode::CONFLICT, "{}", asked.body);
        assert!(asked.body.contains("Recordings is used by Main IVR"), "{}", asked.body);
        before.assert_unchanged(&app.domain).await;
        let listed = app.call("list_applications", &[], Some(&admin)).await.json();
        assert_eq!(listed["rows"][0]["integrations"][0]["name"], "Recordings");
    })
}

/// Another account's phone number does not exist for a user: deploying it
/// to their own application, taking it off its application or giving it a
/// token all answer 404 and change nothing.
#[test]
fn another_accounts_number_is_not_found_for_deploying() {
    use app::domain::core::provisioning::{self, default_pool};
    support::run(async {
        let app = TestApp::new().await;
        provisioning::stock_local_pool(&app.domain.db, &default_pool()).await.unwrap();
        let admin = app.sign_up(ADMIN).await;
        let number = app.call("request_phone_number", &[], Some(&admin)).await;
        assert_eq!(number.status, StatusCode::OK, "{}", number.body);
        let number_id = number.json()["id"].to_string();
        let ivr =
            app.call("create_application", &[("name", "Main IVR")], Some(&admin)).await.json();
        let ivr_id = ivr["id"].to_string();
        let deployed = app
            .call(
                "deploy_number",
                &[("number_id", &number_id), ("application_id", &ivr_id)],
                Some(&admin),
            )
            .await;
        assert_eq!(deployed.status, StatusCode::OK, "{}", deployed.body);

        let other = app.sign_up("eve@example.com").await;
        let theirs =
            app.call("create_application", &[("name", "Their IVR")], Some(&other)).await.json();
        let theirs_id = theirs["id"].to_string();
        let before = Snapshot::take(&app.domain).await;
        for (function, form) in [
            (
                "deploy_number",
                vec![("number_id", number_id.as_str()), ("application_id", theirs_id.as_str())],
            ),
            ("deploy_number", vec![("number_id", number_id.as_str())]),
            ("assign_deployment_token", vec![("number_id", number_id.as_str())]),
        ] {
            let reply = app.call(function, &form, Some(&other)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{function} {form:?}: {}", reply.body);
        }
        before.assert_unchanged(&app.domain).await;
        let mine = app.call("my_phone_numbers", &[], Some(&admin)).await.json();
        assert_eq!(mine[0]["deployed_to"]["name"], "Main IVR", "{mine}");
    })
}

/// Can Share taken away after sharing: the owner can still stop sharing
/// (always allowed), so the row still offers the dialog, which then only
/// stops sharing; once nobody is left, the row offers nothing.
#[test]
fn an_owner_without_can_share_can_still_stop_sharing() {
    use app::domain::entity::user;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let permit = |can_share: bool| {
            let app = &app;
            async move {
                let found = user::Entity::find().all(&app.domain.db).await.unwrap();
                let bob = found.into_iter().find(|u| u.email == MEMBER).unwrap();
                let mut bob: user::ActiveModel = bob.into();
                bob.can_create = Set(true);
                bob.can_share = Set(can_share);
                bob.update(&app.domain.db).await.unwrap();
            }
        };
        permit(true).await;
        let ivr = app.call("create_application", &[("name", "Main IVR")], Some(&member)).await;
        let id = ivr.json()["id"].to_string();
        let search = [("id", id.as_str()), ("search", "grace")];
        let grace_id =
            app.call("share_choices", &search, Some(&member)).await.json()[0]["id"].to_string();
        let form = [("id", id.as_str()), ("user_id", grace_id.as_str())];
        assert_eq!(
            app.call("share_application", &form, Some(&member)).await.status,
            StatusCode::OK
        );
        let page = app.page("/account/applications", Some(&member)).await;
        assert!(
            page.body.contains(r#"aria-label="Share Main IVR">Share</button>"#),
            "{}",
            page.body
        );

        permit(false).await;
        let page = app.page("/account/applications", Some(&member)).await;
        assert!(
            page.body.contains(r#"aria-label="Sharing of Main IVR">Sharing</button>"#),
            "{}",
            page.body
        );
        let stopped = app.call("unshare_application", &form, Some(&member)).await;
        assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
        let page = app.page("/account/applications", Some(&member)).await;
        assert!(page.body.contains("Main IVR") && !page.body.contains("Sharing of Main IVR"));
    })
}
