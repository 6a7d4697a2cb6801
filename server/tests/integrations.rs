//! Integrations over HTTP: secrets never come back, only admins manage, and
//! another account's integration is not found.
mod support;

use app::domain::testing::samples::{dialogflow_config, AWS_KEY, AWS_SECRET, PRIVATE_KEY_MATERIAL};
use app::domain::testing::Snapshot;
use http::StatusCode;
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const SECRETS: [&str; 3] = [AWS_SECRET, AWS_KEY, PRIVATE_KEY_MATERIAL];

/// A delete that names no application to detach from; `id` is JSON text.
fn unconfirmed(id: &str) -> serde_json::Value {
    let id: serde_json::Value = serde_json::from_str(id).unwrap();
    serde_json::json!({ "id": id, "detach_from": { "names": [], "others": 0 } })
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} contains {secret}");
    }
}

async fn add_dynamodb(
    app: &TestApp,
    session: &str,
    name: &str,
) -> (StatusCode, serde_json::Value, String) {
    let reply = app
        .call(
            "add_integration",
            &[
                ("service", "dynamodb"),
                ("name", name),
                ("description", "Call records"),
                ("key", AWS_KEY),
                ("secret", AWS_SECRET),
                ("region", "us-east-1"),
            ],
            Some(session),
        )
        .await;
    let json = serde_json::from_str(&reply.body).unwrap_or_default();
    (reply.status, json, reply.body)
}

#[test]
fn secrets_never_come_back_in_responses_or_pages() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let (status, added, body) = add_dynamodb(&app, &admin, "Records").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(added["hint"], "…MPLE");
        assert_no_secret("the add response", &body);
        let config = dialogflow_config();
        let flow = app
            .call(
                "add_integration",
                &[("service", "dialogflow"), ("name", "Bot"), ("config", &config)],
                Some(&admin),
            )
            .await;
        assert_eq!(flow.status, StatusCode::OK, "{}", flow.body);
        assert_no_secret("the add response", &flow.body);

        let listed = app.call("list_integrations", &[], Some(&admin)).await;
        assert_eq!(listed.json().as_array().unwrap().len(), 2);
        assert_no_secret("the list", &listed.body);
        let page = app.page("/account/integrations", Some(&admin)).await;
        assert!(page.body.contains("Records") && page.body.contains("voice-bot-123"));
        assert_no_secret("the rendered page", &page.body);

        let id = added["id"].to_string();
        let updated = app
            .call(
                "update_integration",
                &[("id", &id), ("name", "Renamed"), ("description", "")],
                Some(&admin),
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK);
        assert_no_secret("the update response", &updated.body);
    })
}

#[test]
fn members_see_integrations_read_only_and_are_refused_changes() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let (_, added, _) = add_dynamodb(&app, &admin, "Records").await;
        let member = app.operator_adds_member(ADMIN, "bob@example.com").await;
        let id = added["id"].to_string();

        let listed = app.call("list_integrations", &[], Some(&member)).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.json()[0]["name"], "Records");
        let page = app.page("/account/integrations", Some(&member)).await;
        assert!(page.body.contains("Records"));
        assert!(!page.body.contains("Add Integration"), "no admin controls for members");

        let before = Snapshot::take(&app.domain).await;
        let (status, _, _) = add_dynamodb(&app, &member, "Mine").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let renamed = app
            .call("update_integration", &[("id", &id), ("name", "Hijacked")], Some(&member))
            .await;
        assert_eq!(renamed.status, StatusCode::FORBIDDEN);
        let deleted = app.call_json("delete_integration", unconfirmed(&id), Some(&member)).await;
        assert_eq!(deleted.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;
        let after = app.call("list_integrations", &[], Some(&admin)).await.json();
        assert_eq!(after.as_array().unwrap().len(), 1);
        assert_eq!(after[0]["name"], "Records");
    })
}

#[test]
fn another_accounts_admin_gets_not_found_and_changes_nothing() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let (_, added, _) = add_dynamodb(&app, &admin, "Records").await;
        let intruder = app.sign_up("eve@other.example").await;
        let id = added["id"].to_string();

        assert_eq!(
            app.call("list_integrations", &[], Some(&intruder)).await.json(),
            serde_json::json!([])
        );
        let before = Snapshot::take(&app.domain).await;
        let renamed = app
            .call("update_integration", &[("id", &id), ("name", "Hijacked")], Some(&intruder))
            .await;
        assert_eq!(renamed.status, StatusCode::NOT_FOUND);
        let deleted = app.call_json("delete_integration", unconfirmed(&id), Some(&intruder)).await;
        assert_eq!(deleted.status, StatusCode::NOT_FOUND);
        assert_eq!(app.call("list_integrations", &[], None).await.status, StatusCode::UNAUTHORIZED);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(
            app.call("list_integrations", &[], Some(&admin)).await.json()[0]["name"],
            "Records"
        );
    })
}

#[test]
fn bad_input_is_a_422_with_the_field_named() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        let reply = app
            .call(
                "add_integration",
                &[("service", "s3"), ("name", "X"), ("key", "AKIA1"), ("secret", "x")],
                Some(&admin),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<_> = reply.json()["Invalid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert_eq!(fields, ["key", "secret"]);
        let bad_id = app.call_json("delete_integration", unconfirmed("\"x\""), Some(&admin)).await;
        assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
        before.assert_unchanged(&app.domain).await;
    })
}
