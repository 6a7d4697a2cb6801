//! The Certificates tab over HTTP, as a browser (or someone crafting
//! requests) reaches it: every user of the account sees the certificates,
//! only the user who added one or an admin replaces or deletes it, other accounts and
//! cross-site requests get nothing, and the private key never comes back.
mod support;

use app::domain::testing::Snapshot;
use http::StatusCode;
use rcgen::{CertificateParams, DnType, KeyPair};
use serde_json::{json, Value};
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

/// A self-signed client certificate: (certificate PEM, key PEM).
fn certificate(common_name: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

fn form<'a>(domain: &'a str, cert: &'a str, key: &'a str) -> [(&'static str, &'a str); 3] {
    [("domain", domain), ("certificate", cert), ("private_key", key)]
}

fn fields(reply: &Value) -> Vec<String> {
    reply["Invalid"]
        .as_array()
        .unwrap_or_else(|| panic!("not a field error: {reply}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// The key's base64 body without the PEM lines, to look for in answers.
fn key_body(key: &str) -> String {
    key.lines().filter(|l| !l.starts_with("-----")).collect::<String>()[..48].to_owned()
}

#[test]
fn every_user_sees_the_accounts_certificates_and_only_the_adder_or_an_admin_deletes() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let bob = app.operator_adds_member(ADMIN, BOB).await;
        let carol = app.operator_adds_member(ADMIN, CAROL).await;
        let (cert, key) = certificate("Acme outbound");

        let added = app
            .call("add_certificate", &form("API.Partner.example", &cert, &key), Some(&bob))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let row = added.json();
        assert_eq!(
            (&row["domain"], &row["subject"], &row["added_by"], &row["can_delete"]),
            (
                &json!("api.partner.example"),
                &json!("CN=Acme outbound"),
                &json!("Bob Builder"),
                &json!(true)
            )
        );
        assert!(!added.body.contains(&key_body(&key)), "the key never comes back");
        let id = row["id"].to_string();

        // Carol, in the same account, sees it but may not delete it.
        let listed = app.call("list_certificates", &[], Some(&carol)).await;
        assert_eq!(listed.json()[0]["domain"], "api.partner.example");
        assert_eq!(listed.json()[0]["can_delete"], false);
        let page = app.page("/account/certificates", Some(&carol)).await;
        assert!(
            page.body.contains("api.partner.example") && page.body.contains("CN=Acme outbound")
        );
        assert!(!page.body.contains("Delete the certificate for"), "no Delete for Carol");
        let why = "Only the user who added a certificate, or an account admin, can replace or \
             delete it.";
        assert!(page.body.contains(why), "why Carol has no buttons");
        let bobs_page = app.page("/account/certificates", Some(&bob)).await;
        assert!(!bobs_page.body.contains(why), "Bob may change every row he sees");
        assert!(!page.body.contains(&key_body(&key)) && !page.body.contains("PRIVATE KEY"));
        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("delete_certificate", &[("id", &id)], Some(&carol)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("Only the user who added this certificate"));
        let (renewal, renewal_key) = certificate("Acme outbound 2");
        let renewing =
            [("id", id.as_str()), ("certificate", &renewal), ("private_key", &renewal_key)];
        let refused = app.call("replace_certificate", &renewing, Some(&carol)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;

        // Another account neither sees nor deletes it, nor learns that it exists.
        let eve = app.sign_up("eve@example.com").await;
        assert_eq!(app.call("list_certificates", &[], Some(&eve)).await.json(), json!([]));
        let page = app.page("/account/certificates", Some(&eve)).await;
        assert!(!page.body.contains("api.partner.example"));
        let before = Snapshot::take(&app.domain).await;
        let hidden = app.call("delete_certificate", &[("id", &id)], Some(&eve)).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        let replaced_elsewhere = app.call("replace_certificate", &renewing, Some(&eve)).await;
        assert_eq!(replaced_elsewhere.status, StatusCode::NOT_FOUND);
        let missing = app.call("delete_certificate", &[("id", "999999")], Some(&eve)).await;
        assert_eq!(missing.body, hidden.body, "someone else's and no one's look the same");
        before.assert_unchanged(&app.domain).await;
        // Eve may use the same domain in her own account.
        let (eves_cert, eves_key) = certificate("Globex outbound");
        let eves = app
            .call(
                "add_certificate",
                &form("api.partner.example", &eves_cert, &eves_key),
                Some(&eve),
            )
            .await;
        assert_eq!(eves.status, StatusCode::OK, "{}", eves.body);

        // Signed out, or sent from another site: refused, nothing stored or deleted.
        let (other_cert, other_key) = certificate("Forged");
        let args = form("forged.example", &other_cert, &other_key);
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(app.call("add_certificate", &args, None).await.status, StatusCode::UNAUTHORIZED);
        let cross_site =
            app.call_from("add_certificate", &args, Some(&admin), Some("cross-site"), None).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        let cross_site = app
            .call_from("delete_certificate", &[("id", &id)], Some(&admin), Some("cross-site"), None)
            .await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        let replace = "replace_certificate";
        let signed_out = app.call(replace, &renewing, None).await;
        assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED, "{}", signed_out.body);
        let cross_site =
            app.call_from(replace, &renewing, Some(&admin), Some("cross-site"), None).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;
        // Bob replaces his with its renewal: the same row, the new subject,
        // and never the key.
        let replaced = app.call(replace, &renewing, Some(&bob)).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        assert_eq!(
            (&replaced.json()["id"], &replaced.json()["subject"]),
            (&row["id"], &json!("CN=Acme outbound 2"))
        );
        assert!(!replaced.body.contains(&key_body(&renewal_key)));
        assert_eq!(
            app.call("list_certificates", &[], Some(&admin)).await.json().as_array().unwrap().len(),
            1
        );

        // The admin may delete Bob's certificate.
        let deleted = app.call("delete_certificate", &[("id", &id)], Some(&admin)).await;
        assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
        assert_eq!(app.call("list_certificates", &[], Some(&bob)).await.json(), json!([]));
        // Eve's is untouched.
        assert_eq!(
            app.call("list_certificates", &[], Some(&eve)).await.json().as_array().unwrap().len(),
            1
        );
    })
}

#[test]
fn bad_input_is_a_422_naming_each_field_and_one_domain_holds_one_certificate() {
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let (cert, key) = certificate("Acme");
        let (_, other_key) = certificate("Other");

        let before = Snapshot::take(&app.domain).await;
        let bad =
            app.call("add_certificate", &form("not a host", "hello", "world"), Some(&admin)).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&bad.json()), ["domain", "certificate", "private_key"]);
        // The key is pasted as the certificate and the other way round.
        let swapped =
            app.call("add_certificate", &form("a.example", &key, &cert), Some(&admin)).await;
        assert_eq!(fields(&swapped.json()), ["certificate", "private_key"]);
        let mismatch =
            app.call("add_certificate", &form("a.example", &cert, &other_key), Some(&admin)).await;
        assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(mismatch.body.contains("The private key does not belong to this certificate."));
        assert!(
            !mismatch.body.contains(&key_body(&other_key)),
            "a refusal does not echo the key either"
        );
        before.assert_unchanged(&app.domain).await;
        assert_eq!(app.call("list_certificates", &[], Some(&admin)).await.json(), json!([]));

        let first =
            app.call("add_certificate", &form("a.example", &cert, &key), Some(&admin)).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let before = Snapshot::take(&app.domain).await;
        let again =
            app.call("add_certificate", &form("A.example.", &cert, &key), Some(&admin)).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&again.json()), ["domain"]);
        assert!(again.body.contains("already has a certificate for a.example"));
        let bad_id = app.call("delete_certificate", &[("id", "x")], Some(&admin)).await;
        assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
        before.assert_unchanged(&app.domain).await;
    })
}
