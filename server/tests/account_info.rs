//! Account Information over HTTP: admins only, each bad field named with
//! 422, nothing half-saved, the page rendered on the server.
mod support;

use app::domain::testing::Snapshot;
use http::StatusCode;
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";

#[test]
fn members_cannot_read_or_save_account_information() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let before = Snapshot::take(&app.domain).await;
        let save = vec![
            ("company_name", "Mine now"),
            ("address", ""),
            ("city", ""),
            ("state", ""),
            ("zip", ""),
            ("phone", ""),
        ];
        for (function, form) in [("load_account_info", vec![]), ("save_account_info", save)] {
            let reply = app.call(function, &form, Some(&member)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{function}: {}", reply.body);
        }
        let page = app.page("/account/account-information", Some(&member)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(!page.body.contains("Mine now"));
        assert_eq!(
            app.call("load_account_info", &[], Some(&admin)).await.json()["company_name"],
            "Acme Voice"
        );
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn account_information_is_saved_and_bad_fields_are_named() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let form = |zip: &'static str, phone: &'static str| {
            vec![
                ("company_name", "Acme Voice Ltd"),
                ("address", "10 Downing Street"),
                ("city", "London"),
                ("state", ""),
                ("zip", zip),
                ("phone", phone),
            ]
        };
        let before = Snapshot::take(&app.domain).await;
        let bad =
            app.call("save_account_info", &form("SW1A 2AA!", "020 7946 0958"), Some(&admin)).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body.contains("Zip may contain only letters, digits, spaces and dashes."),
            "{}",
            bad.body
        );
        assert!(bad.body.contains("Phone Number must be an international number"), "{}", bad.body);
        before.assert_unchanged(&app.domain).await;
        let good = app
            .call("save_account_info", &form("SW1A 2AA", "+44 20 7946 0958"), Some(&admin))
            .await;
        assert_eq!(good.status, StatusCode::OK, "{}", good.body);
        assert_eq!(good.json()["phone"], "+442079460958");
        let page = app.page("/account/account-information", Some(&admin)).await;
        assert!(page.body.contains("Acme Voice Ltd") && page.body.contains("+442079460958"));
    })
}
