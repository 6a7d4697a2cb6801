//! Phone numbers over HTTP: admins only, JSON errors with the right status,
//! pages rendered on the server.
mod support;

use app::domain::core::provisioning::{self, default_pool};
use app::domain::features::phone_numbers;
use app::domain::testing::Snapshot;
use http::StatusCode;
use serde_json::json;
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";

async fn stocked_app() -> TestApp {
    let app = TestApp::new().await;
    provisioning::stock_local_pool(&app.domain.db, &default_pool()).await.unwrap();
    app
}

#[test]
fn an_admin_requests_assigns_and_releases_a_number() {
    support::run(async {
        let mut app = stocked_app().await;
        app.configure(|d| d.support_email = Some("help@voice.example".into()));
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let requested = app.call("request_phone_number", &[], Some(&admin)).await;
        assert_eq!(requested.status, StatusCode::OK, "{}", requested.body);
        let number = requested.json();
        assert_eq!(number["e164"], "+18005550100");
        assert_eq!(number["owner"]["email"], ADMIN);

        // Sign-ups are on the demo plan: a second number is refused with 409.
        let before = Snapshot::take(&app.domain).await;
        let again = app.call("request_phone_number", &[], Some(&admin)).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(again.body.contains("A demo account can hold one phone number"), "{}", again.body);
        before.assert_unchanged(&app.domain).await;

        // The picker finds Bob; saving makes him the owner, which he sees.
        let found = app.call("phone_owner_choices", &[("search", "bob")], Some(&admin)).await;
        let bob_id = found.json()[0]["id"].as_i64().unwrap();
        let changes = json!({ "changes": [{ "number_id": number["id"], "from_owner_id": number["owner"]["id"], "owner_id": bob_id }] });
        let saved = app.call_json("save_phone_owners", changes, Some(&admin)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert_eq!(saved.json()["numbers"]["rows"][0]["owner"]["email"], MEMBER);
        // A body that is not what the function takes is the caller's mistake
        // (422, saying what is missing), not the server's (it was a 500).
        let before = Snapshot::take(&app.domain).await;
        let garbled = json!({ "changes": [{ "id": number["id"], "owner_id": bob_id }] });
        let refused = app.call_json("save_phone_owners", garbled, Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains("missing field `number_id`"), "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        let mine = app.call("my_phone_numbers", &[], Some(&member)).await;
        assert_eq!(mine.json()[0]["e164"], "+18005550100");
        let account_page = app.page("/account", Some(&member)).await;
        assert!(account_page.body.contains("(800) 555-0100"), "the member's Account tab lists it");

        let page = app.page("/account/phone-numbers", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("(800) 555-0100") && page.body.contains("Request a Phone Number")
        );
        assert!(
            page.body.contains("A demo account can hold one phone number"),
            "the limit is explained"
        );
        // What a request gives, and where to ask for what it does not.
        // (Without the markers hydration puts between pieces of text.)
        let other_numbers = "A request adds a toll-free number. For a local, specific or vanity \
             number, or to move a number of yours here (RESPORG), contact support at \
             <a href=\"mailto:help@voice.example\">help@voice.example</a>";
        assert!(page.body.replace("<!>", "").contains(other_numbers), "{}", page.body);
        // The Activity tab names the number as this tab does.
        let activity = app.page("/account/activity", Some(&admin)).await;
        let requested = activity.body.find("Phone number requested").expect("the event is listed");
        assert!(activity.body[requested..].contains("(800) 555-0100"), "{}", activity.body);

        let id = number["id"].to_string();
        let released = app.call("release_phone_number", &[("id", &id)], Some(&admin)).await;
        assert_eq!(released.status, StatusCode::OK, "{}", released.body);
        assert_eq!(app.call("my_phone_numbers", &[], Some(&member)).await.json(), json!([]));
    })
}

#[test]
fn members_cannot_list_request_reassign_or_release_numbers() {
    support::run(async {
        let app = stocked_app().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let number = app.call("request_phone_number", &[], Some(&admin)).await.json();
        let id = number["id"].to_string();
        let before = Snapshot::take(&app.domain).await;
        for (function, form) in [
            ("list_phone_numbers", vec![]),
            ("request_phone_number", vec![]),
            ("release_phone_number", vec![("id", id.as_str())]),
            ("phone_owner_choices", vec![("search", "")]),
        ] {
            let reply = app.call(function, &form, Some(&member)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{function}: {}", reply.body);
        }
        let member_id =
            app.call("phone_owner_choices", &[("search", "bob")], Some(&admin)).await.json()[0]
                ["id"]
                .clone();
        let grab = json!({ "changes": [{ "number_id": number["id"], "from_owner_id": number["owner"]["id"], "owner_id": member_id }] });
        let reply = app.call_json("save_phone_owners", grab, Some(&member)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        // Nothing changed: the number is still the admin's.
        let listed = app.call("list_phone_numbers", &[], Some(&admin)).await.json();
        assert_eq!(listed["rows"][0]["owner"]["email"], ADMIN);
        let page = app.page("/account/phone-numbers", Some(&member)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(!page.body.contains("(800) 555-0100"));
        // Signed out, the functions answer 401.
        assert_eq!(
            app.call("list_phone_numbers", &[], None).await.status,
            StatusCode::UNAUTHORIZED
        );
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn another_accounts_number_is_not_found() {
    support::run(async {
        let app = stocked_app().await;
        let admin = app.sign_up(ADMIN).await;
        let other = app.sign_up("eve@example.com").await;
        let number = app.call("request_phone_number", &[], Some(&admin)).await.json();
        let id = number["id"].to_string();
        let before = Snapshot::take(&app.domain).await;
        let reply = app.call("release_phone_number", &[("id", &id)], Some(&other)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let eve_id = app.call("phone_owner_choices", &[("search", "")], Some(&other)).await.json()
            [0]["id"]
            .clone();
        let steal = json!({ "changes": [{ "number_id": number["id"], "from_owner_id": number["owner"]["id"], "owner_id": eve_id }] });
        // Refused at the number, as one released meanwhile is: nothing
        // tells that it is another account's.
        let refused = app.call_json("save_phone_owners", steal, Some(&other)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains(phone_numbers::NUMBER_GONE), "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        let theirs = app.call("list_phone_numbers", &[], Some(&other)).await.json();
        assert_eq!(theirs["rows"], json!([]));
        assert_eq!(
            app.call("list_phone_numbers", &[], Some(&admin)).await.json()["rows"][0]["owner"]
                ["email"],
            ADMIN
        );
    })
}

/// Over the API as in the tab: Bob's key lists the one number the admin
/// gave him, not the one she kept; the admin's key lists both. Listing
/// changes nothing.
#[test]
fn a_members_key_lists_only_their_own_numbers() {
    support::run(async {
        use app::domain::core::actor::Operator;
        use app::domain::core::limits::Plan;
        let app = stocked_app().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let operator = Operator::from_command_line();
        app::domain::operator::set_plan(&app.domain, &operator, ADMIN, Plan::Full).await.unwrap();
        let kept = app.call("request_phone_number", &[], Some(&admin)).await.json();
        let given = app.call("request_phone_number", &[], Some(&admin)).await.json();
        let found = app.call("phone_owner_choices", &[("search", "bob")], Some(&admin)).await;
        let bob_id = found.json()[0]["id"].as_i64().unwrap();
        let changes = json!({ "changes": [{ "number_id": given["id"], "from_owner_id": given["owner"]["id"], "owner_id": bob_id }] });
        let saved = app.call_json("save_phone_owners", changes, Some(&admin)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let (admin_key, _) = app.new_developer_key(&admin, app::domain::testing::PASSWORD).await;
        let (member_key, _) = app.new_developer_key(&member, support::MEMBER_PASSWORD).await;
        // A key's first use writes its "last used" time (then at most once a
        // minute, and the clock stands still): used once before the
        // snapshot, so the whole database is compared around the listings.
        for key in [&admin_key, &member_key] {
            assert_eq!(app.api("/api/v1/me", Some(key)).await.0, StatusCode::OK);
        }
        let listed = |key: String| {
            let app = &app;
            async move {
                let (status, body) = app.api("/api/v1/phone-numbers", Some(&key)).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                let numbers = body["phone_numbers"].as_array().unwrap().clone();
                numbers.iter().map(|n| n["e164"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        let (kept, given) = (kept["e164"].as_str().unwrap(), given["e164"].as_str().unwrap());
        assert_ne!(kept, given);
        // Each API request is counted (`api_request`); nothing else moves.
        let before = Snapshot::take_except(&app.domain, &["quota_counters"]).await;
        assert_eq!(listed(member_key).await, [given]);
        let mut all = listed(admin_key).await;
        all.sort();
        let mut expected = vec![kept.to_owned(), given.to_owned()];
        expected.sort();
        assert_eq!(all, expected);
        before.assert_unchanged(&app.domain).await;
    })
}
