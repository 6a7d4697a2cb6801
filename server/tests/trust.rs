//! Trust and abuse over HTTP: an unverified sign-up is refused everything that
//! sends email to others or spends a shared resource, with the reason; limits
//! answer "try again in N minutes" and write no email.
mod support;

use app::domain::core::actor::{unverified_refusal, Operator};
use app::domain::operator;
use app::domain::testing::{Snapshot, PASSWORD};
use http::StatusCode;
use support::TestApp;

const GRACE: &str = "grace@example.com";

#[test]
fn an_unverified_sign_up_is_refused_every_gated_function_and_told_why() {
    support::run(async {
        let app = TestApp::new().await;
        app::domain::core::provisioning::stock_local_pool(
            &app.domain.db,
            &app::domain::core::provisioning::default_pool(),
        )
        .await
        .unwrap();
        let session = app.sign_up_unverified(GRACE).await;
        // Stripe on, so that the refusal of OAuth is the address's, not the plan's.
        operator::enable_stripe(&app.domain, &Operator::from_command_line(), GRACE).await.unwrap();
        let page = app.page("/account", Some(&session)).await;
        assert!(page.body.contains("Until you do, you cannot invite users"), "the page says why");
        // So does every other tab, before anything is refused there.
        for tab in ["/account/js-libraries", "/account/phone-numbers", "/account/users"] {
            let page = app.page(tab, Some(&session)).await;
            assert!(page.body.contains("Your email address is not verified yet"), "{tab}");
            assert!(page.body.contains("Until you do, you cannot invite users"), "{tab}");
        }

        let gated: [(&str, Vec<(&str, &str)>); 8] = [
            (
                "add_user",
                vec![("first_name", "Bob"), ("last_name", "B"), ("email", "bob@example.com")],
            ),
            ("request_phone_number", vec![]),
            (
                "add_integration",
                vec![
                    ("service", "dynamodb"),
                    ("name", "Calls"),
                    ("key", "AKIAIOSFODNN7EXAMPLE"),
                    ("secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                    ("region", "us-east-1"),
                ],
            ),
            (
                "add_certificate",
                vec![("domain", "api.example.com"), ("certificate", "x"), ("private_key", "y")],
            ),
            ("start_oauth", vec![("token_type", "test")]),
            ("generate_developer_key", vec![("name", "CI"), ("password", PASSWORD)]),
            ("add_js_library", vec![("name", "Helpers"), ("code", "export const a = 1;")]),
            ("create_application", vec![("name", "IVR")]),
        ];
        let before = Snapshot::take(&app.domain).await;
        for (function, form) in &gated {
            let reply = app.call(function, form, Some(&session)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{function}: {}", reply.body);
            assert!(reply.body.contains(&unverified_refusal()), "{function}: {}", reply.body);
        }
        before.assert_unchanged(&app.domain).await;

        // Verified, the same session may.
        let token = app.link_token(GRACE, "/verify-email").await;
        assert!(app.call("verify_email", &[("token", &token)], None).await.status.is_success());
        let number = app.call("request_phone_number", &[], Some(&session)).await;
        assert_eq!(number.status, StatusCode::OK, "{}", number.body);
        let page = app.page("/account/js-libraries", Some(&session)).await;
        assert!(!page.body.contains("Your email address is not verified yet"));
    })
}

#[test]
fn past_a_limit_the_reply_says_when_to_try_again_and_no_email_is_written() {
    support::run(async {
        let app = TestApp::new().await;
        app.sign_up(GRACE).await;
        for _ in 0..3 {
            let reply = app.call("request_password_reset", &[("email", GRACE)], None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
        let before = Snapshot::take(&app.domain).await;
        let reply = app.call("request_password_reset", &[("email", GRACE)], None).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(reply.body.contains("Try again in 60 minutes"), "{}", reply.body);
        before.assert_unchanged(&app.domain).await;
    })
}

#[test]
fn a_reset_link_leads_to_the_code_step_when_two_factor_is_on() {
    support::run(async {
        use app::domain::core::clock::Clock;
        use app::domain::identity::two_factor::{code_at, step_of};
        let app = TestApp::new().await;
        let session = app.sign_up(GRACE).await;
        let setup = app.call("begin_two_factor", &[], Some(&session)).await.json();
        let secret = app::domain::testing::base32_decode(setup["secret"].as_str().unwrap());
        let code = format!("{:06}", code_at(&secret, step_of(app.clock.now())));
        let on = app
            .call("confirm_two_factor", &[("code", &code), ("password", PASSWORD)], Some(&session))
            .await;
        assert_eq!(on.status, StatusCode::OK, "{}", on.body);
        app.call("request_password_reset", &[("email", GRACE)], None).await;
        let token = app.link_token(GRACE, "/reset-password").await;
        let reset = app
            .call(
                "reset_password",
                &[("token", &token), ("new_password", "Quartz-Harbor-Lantern-77")],
                None,
            )
            .await;
        assert!(reset.session().is_none(), "no session before the second factor");
        assert!(reset.cookie("console_login_challenge").is_some(), "the code step is next");
        // The code step says the new password waits for it; until then the
        // old one is still the password.
        let next = reset.location().expect("a redirect to the code step");
        assert!(
            next.starts_with("/login/two-factor?") && next.contains("password_link=1"),
            "{next}"
        );
        let page = app.page(next, None).await;
        assert!(page.body.contains(app::pages::PASSWORD_WAITS_FOR_CODE), "{}", page.body);
        let old = app.log_in(GRACE, PASSWORD).await;
        assert!(old.cookie("console_login_challenge").is_some(), "the old password still works");
        let plain = app.page(old.location().unwrap(), None).await;
        assert!(!plain.body.contains(app::pages::PASSWORD_WAITS_FOR_CODE));
    })
}
