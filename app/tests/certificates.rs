//! Client certificates: parsed and checked before storing, one per domain,
//! replaced or deleted by who added them or an admin, and really presented
//! by the outbound HTTPS client to a server that requires them.
use std::sync::Arc;

use app::domain::admin::users;
use app::domain::core::actor::Member;
use app::domain::core::outbound::Outbound;
use app::domain::core::Domain;
use app::domain::features::certificates::{self, NewCertificate, Renewal};
use app::domain::testing::{account_with_admin, add_user, fresh_domain, Snapshot};
use app::model::{AppError, Expiry};
use chrono::{Datelike, Duration};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;
use sea_orm::EntityTrait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Ca { cert: params.self_signed(&key).unwrap(), key }
}

/// A certificate signed by `ca`: (certificate PEM, key PEM, key pair).
fn issue(
    ca: &Ca,
    common_name: &str,
    hosts: &[&str],
    days: i64,
) -> (String, String, rcgen::Certificate, KeyPair) {
    issue_until(ca, common_name, hosts, chrono::Utc::now() + Duration::days(days))
}

fn issue_until(
    ca: &Ca,
    common_name: &str,
    hosts: &[&str],
    not_after: chrono::DateTime<chrono::Utc>,
) -> (String, String, rcgen::Certificate, KeyPair) {
    let long_ago = chrono::DateTime::from_timestamp(946_684_800, 0).unwrap(); // 2000-01-01
    issue_between(ca, common_name, hosts, long_ago, not_after)
}

/// Valid from the start of `not_before`'s day to the start of `not_after`'s.
fn issue_between(
    ca: &Ca,
    common_name: &str,
    hosts: &[&str],
    not_before: chrono::DateTime<chrono::Utc>,
    not_after: chrono::DateTime<chrono::Utc>,
) -> (String, String, rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    let day = |at: chrono::DateTime<chrono::Utc>| {
        rcgen::date_time_ymd(at.year(), at.month() as u8, at.day() as u8)
    };
    params.not_before = day(not_before);
    params.not_after = day(not_after);
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem(), cert, key)
}

/// A TLS server on loopback that requires a client certificate from `client_ca`.
async fn mtls_server(server_ca: &Ca, client_ca: &Ca) -> u16 {
    let (_, _, cert, key) = issue(server_ca, "localhost", &["localhost"], 30);
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buffer = vec![0u8; 4096];
                let _ = tls.read(&mut buffer).await;
                let who = tls.get_ref().1.peer_certificates().map(|c| c.len()).unwrap_or(0);
                let body = format!("hello, {who} certificate(s)");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn trusting(ca: &Ca) -> Arc<Outbound> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.cert.der().to_vec())).unwrap();
    Arc::new(Outbound::trusting(roots))
}

fn input(domain: &str, certificate: &str, key: &str) -> NewCertificate {
    NewCertificate {
        domain: domain.into(),
        certificate: certificate.into(),
        private_key: key.into(),
    }
}

/// A domain whose outbound client trusts a local TLS server that requires
/// client certificates issued by the returned authority; and that server's URL.
async fn with_mtls_server() -> (Domain, Ca, String) {
    let (mut d, _) = fresh_domain().await;
    let server_ca = ca("Server CA");
    let client_ca = ca("Client CA");
    d.outbound = trusting(&server_ca);
    let port = mtls_server(&server_ca, &client_ca).await;
    (d, client_ca, format!("https://localhost:{port}/ping"))
}

#[tokio::test]
async fn the_outbound_client_presents_the_accounts_certificate_for_the_host() {
    let (d, client_ca, url) = with_mtls_server().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;

    // Without a certificate the server refuses the handshake.
    refused_by_the_server(&d, ada.account_id(), &url).await;

    let (cert, key, ..) = issue(&client_ca, "Acme outbound", &[], 365);
    certificates::add(&d, &ada, input("localhost", &cert, &key)).await.unwrap();
    let answer = certificates::send_for_account(&d, ada.account_id(), "GET", &url, None, None)
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello, 1 certificate(s)"));
    // Another account's certificate is never presented for it.
    refused_by_the_server(&d, eve.account_id(), &url).await;
    // A certificate the server does not trust is refused too.
    let stranger_ca = ca("Someone else");
    let (cert, key, ..) = issue(&stranger_ca, "Globex outbound", &[], 365);
    certificates::add(&d, &eve, input("localhost", &cert, &key)).await.unwrap();
    refused_by_the_server(&d, eve.account_id(), &url).await;
}

/// `account_id`'s call to `url` reached the server and the TLS exchange failed
/// there: not a malformed URL, a missing certificate key or a timeout on our
/// side; and the refused call changed nothing.
async fn refused_by_the_server(d: &Domain, account_id: i32, url: &str) {
    let before = Snapshot::take(d).await;
    let result = certificates::send_for_account(d, account_id, "GET", url, None, None).await;
    let why = result.map(|r| r.status).unwrap_err().0;
    for ours in
        ["URL", "timed out", "answered in time", "could not be opened", "bad host", "plain http"]
    {
        assert!(!why.contains(ours), "refused for the wrong reason: {why}");
    }
    before.assert_unchanged(d).await;
}

/// The account's share of certificates (`limits::Holdings`); the other
/// kinds' are in holdings.rs.
#[tokio::test]
async fn an_account_keeps_at_most_its_share_of_certificates() {
    let (mut d, _) = fresh_domain().await;
    d.holdings.certificates = 1;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let (cert, key, ..) = issue(&authority, "Acme", &[], 365);
    let first = certificates::add(&d, &ada, input("api.example.com", &cert, &key)).await.unwrap();
    let before = Snapshot::take(&d).await;
    let full = certificates::add(&d, &ada, input("eu.example.com", &cert, &key)).await;
    assert!(
        matches!(&full, Err(AppError::Conflict(m)) if m.contains("1 certificates")),
        "{full:?}"
    );
    before.assert_unchanged(&d).await;
    certificates::delete(&d, &ada, first.id).await.unwrap();
    certificates::add(&d, &ada, input("eu.example.com", &cert, &key)).await.unwrap();
}

/// A full account's refusal says what its asker can do: an admin may delete
/// any certificate; a member only their own, so they are told how many are
/// theirs and to ask an admin about the others.
#[tokio::test]
async fn a_full_accounts_refusal_says_what_each_asker_can_delete() {
    let (mut d, _) = fresh_domain().await;
    d.holdings.certificates = 2;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", false).await;
    let authority = ca("CA");
    let (cert, key, ..) = issue(&authority, "Acme", &[], 365);
    certificates::add(&d, &ada, input("api.example.com", &cert, &key)).await.unwrap();
    certificates::add(&d, &bob, input("eu.example.com", &cert, &key)).await.unwrap();
    let refused = async |me: &Member| {
        let before = Snapshot::take(&d).await;
        let full = certificates::add(&d, me, input("us.example.com", &cert, &key)).await;
        before.assert_unchanged(&d).await;
        match full {
            Err(AppError::Conflict(message)) => message,
            other => panic!("not refused as full: {other:?}"),
        }
    };
    let to_ada = refused(&ada).await;
    assert!(to_ada.ends_with("One must be deleted before another is added."), "{to_ada}");
    let to_bob = refused(&bob).await;
    assert!(
        to_bob.ends_with(
            "You own 1 of them: delete one of yours, or ask an admin to delete one \
             that is no longer needed."
        ),
        "{to_bob}"
    );
    let to_cy = refused(&cy).await;
    assert!(
        to_cy.ends_with(
            "None of them is yours: ask an admin to delete one that is no longer \
             needed."
        ),
        "{to_cy}"
    );
}

#[tokio::test]
async fn bad_input_is_named_beside_its_field_and_nothing_is_stored() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let (cert, key, ..) = issue(&authority, "Acme", &[], 365);
    let (_, other_key, ..) = issue(&authority, "Other", &[], 365);

    let before = Snapshot::take(&d).await;
    let err =
        certificates::add(&d, &ada, input("not a domain", "hello", "world")).await.unwrap_err();
    assert_eq!(
        err.message_for("domain").as_deref(),
        Some("Domain must be a host name like api.example.com.")
    );
    assert!(err
        .message_for("certificate")
        .unwrap()
        .starts_with("Certificate must be a PEM certificate"));
    assert!(err
        .message_for("private_key")
        .unwrap()
        .starts_with("Private Key must be a PEM private key"));
    let mismatch =
        certificates::add(&d, &ada, input("api.example.com", &cert, &other_key)).await.unwrap_err();
    assert_eq!(
        mismatch.message_for("private_key").as_deref(),
        Some("The private key does not belong to this certificate.")
    );
    // A chain pasted with its authority first: the certificate to move is
    // named, not the right key blamed.
    let reversed = format!("{}{cert}", authority.cert.pem());
    let reversed =
        certificates::add(&d, &ada, input("api.example.com", &reversed, &key)).await.unwrap_err();
    assert_eq!(
        reversed.message_for("certificate").as_deref(),
        Some(
            "The certificate for this private key must come first: it is number 2 of the 2 pasted."
        )
    );
    assert_eq!(reversed.message_for("private_key"), None);
    let truncated = cert.replace("\n", "").chars().take(120).collect::<String>();
    let cut = certificates::add(&d, &ada, input("api.example.com", &truncated, &key)).await;
    assert!(cut.unwrap_err().message_for("certificate").is_some(), "named beside the certificate");
    // A damaged certificate is named; its right key is not blamed for it.
    let body = cert.find("-----\n").unwrap() + 6;
    let damaged = format!("{}AAAA{}", &cert[..body], &cert[body + 4..]);
    let damaged =
        certificates::add(&d, &ada, input("api.example.com", &damaged, &key)).await.unwrap_err();
    assert_eq!(
        damaged.message_for("certificate").as_deref(),
        Some(
            "Certificate could not be read as X.509: paste the PEM file's whole text, from \
             -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----."
        )
    );
    assert_eq!(damaged.message_for("private_key"), None);
    // Past the fields' size, each says how much it takes.
    let padding = "\n".repeat(64 * 1024);
    let long = certificates::add(
        &d,
        &ada,
        input("api.example.com", &(cert.clone() + &padding), &(key.clone() + &padding)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        long.message_for("certificate").as_deref(),
        Some("Certificate is too long: at most 64 KB. Paste the certificate and its chain only.")
    );
    assert_eq!(
        long.message_for("private_key").as_deref(),
        Some("Private Key is too long: at most 64 KB. Paste the one key only.")
    );
    before.assert_unchanged(&d).await;
    assert!(certificates::list(&d, &ada).await.unwrap().is_empty());

    let added = certificates::add(&d, &ada, input("API.example.com", &cert, &key)).await.unwrap();
    assert_eq!(
        (added.domain.as_str(), added.subject.as_str(), added.issuer.as_str()),
        ("api.example.com", "CN=Acme", "CN=CA")
    );
    let before = Snapshot::take(&d).await;
    let again =
        certificates::add(&d, &ada, input("api.example.com", &cert, &key)).await.unwrap_err();
    assert!(again
        .message_for("domain")
        .unwrap()
        .contains("already has a certificate for api.example.com"));
    before.assert_unchanged(&d).await;
    // The key never comes back.
    let listed = serde_json::to_string(&certificates::list(&d, &ada).await.unwrap()).unwrap();
    assert!(!listed.contains("PRIVATE KEY") && !listed.contains(&key[40..80]));
}

#[tokio::test]
async fn a_passphrase_protected_key_is_named_as_such() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (cert, ..) = issue(&ca("CA"), "Acme", &[], 365);
    // The shape openssl writes for `openssl pkcs8 -topk8 -v2 aes256`; its content is never read.
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let before = Snapshot::take(&d).await;
    let err =
        certificates::add(&d, &ada, input("api.example.com", &cert, encrypted)).await.unwrap_err();
    assert_eq!(
        err.message_for("private_key").as_deref(),
        Some("Private Key is protected by a passphrase; remove it first (openssl pkey -in key.pem -out plain.pem).")
    );
    before.assert_unchanged(&d).await;
    assert!(certificates::list(&d, &ada).await.unwrap().is_empty());
}

/// People often paste a combined .pem file (certificate and key) into both
/// fields: the key must end up sealed only, never in the stored certificate.
#[tokio::test]
async fn a_key_pasted_with_the_certificate_is_not_stored_in_the_clear() {
    use app::domain::entity::certificate;
    let (d, client_ca, url) = with_mtls_server().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (cert, key, ..) = issue(&client_ca, "Acme outbound", &[], 365);
    let combined = format!("{key}{cert}");
    certificates::add(&d, &ada, input("localhost", &combined, &combined)).await.unwrap();

    let stored = certificate::Entity::find().all(&d.db).await.unwrap().remove(0);
    assert!(!stored.cert_pem.contains("PRIVATE KEY"), "{}", stored.cert_pem);
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!stored.cert_pem.replace('\n', "").contains(&key_body[..40]));
    assert_eq!(stored.cert_pem.replace('\n', ""), cert.replace(['\n', '\r'], ""));
    // Sealed is the key as read, not what was pasted around it.
    let sealed = app::domain::core::secrets::Sealed {
        key_id: stored.key_id.clone(),
        ciphertext: stored.key_ciphertext.clone(),
    };
    let context = certificates::seal_context(ada.account_id());
    let opened = d.secrets.open(&sealed, &context).unwrap();
    assert!(!opened.contains("CERTIFICATE"), "{opened}");
    assert_eq!(opened.replace('\n', ""), key.replace(['\n', '\r'], ""));
    // What was stored still authenticates the account's calls.
    let answer = certificates::send_for_account(&d, ada.account_id(), "GET", &url, None, None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn expiry_is_flagged_by_the_domain_clock() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    // Dates relative to the domain's clock, which the flags are judged by.
    for (domain, days, expected) in
        [("long.example.com", 365, Expiry::Valid), ("soon.example.com", 20, Expiry::Soon)]
    {
        let (cert, key, ..) =
            issue_until(&authority, domain, &[], d.clock.now() + Duration::days(days));
        let row = certificates::add(&d, &ada, input(domain, &cert, &key)).await.unwrap();
        assert_eq!(row.expiry, expected, "{domain}");
    }
    clock.advance(Duration::days(30 * 13));
    let rows = certificates::list(&d, &ada).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.expiry == Expiry::Expired), "{rows:?}");
}

/// A renewal stored before its validity starts is listed as not yet valid,
/// with the day it starts, until the domain's clock reaches that day.
#[tokio::test]
async fn a_certificate_whose_validity_starts_later_is_flagged_until_then() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let now = d.clock.now();
    let (starts, ends) = (now + Duration::days(10), now + Duration::days(400));
    let (cert, key, ..) = issue_between(&authority, "renewal", &[], starts, ends);
    let row = certificates::add(&d, &ada, input("renewal.example.com", &cert, &key)).await.unwrap();
    assert_eq!(row.expiry, Expiry::NotYetValid, "{row:?}");
    // To the minute, in UTC (these start and end at midnight).
    assert_eq!(row.valid_from, starts.format("%Y-%m-%d 00:00 UTC").to_string());
    assert_eq!(row.expires, ends.format("%Y-%m-%d 00:00 UTC").to_string());
    clock.advance(Duration::days(9));
    let rows = certificates::list(&d, &ada).await.unwrap();
    assert_eq!(rows[0].expiry, Expiry::NotYetValid, "{rows:?}");
    clock.advance(Duration::days(2));
    let rows = certificates::list(&d, &ada).await.unwrap();
    assert_eq!(rows[0].expiry, Expiry::Valid, "{rows:?}");
}

/// Certificates stored before their start was kept beside them have it read
/// from their PEM when the column is added.
#[tokio::test]
async fn the_start_migration_reads_the_certificates_already_stored() {
    use app::domain::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let now = d.clock.now();
    let (starts, ends) = (now + Duration::days(10), now + Duration::days(400));
    let (cert, key, ..) = issue_between(&authority, "renewal", &[], starts, ends);
    certificates::add(&d, &ada, input("renewal.example.com", &cert, &key)).await.unwrap();
    let since = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261208_000032_certificate_start")
        .expect("the migration is listed");
    Migrator::down(&d.db, Some(since as u32 + 1)).await.unwrap();
    Migrator::up(&d.db, None).await.unwrap();
    let rows = certificates::list(&d, &ada).await.unwrap();
    assert_eq!(rows[0].valid_from, starts.format("%Y-%m-%d 00:00 UTC").to_string(), "{rows:?}");
    assert_eq!(rows[0].expiry, Expiry::NotYetValid, "{rows:?}");
    // One added by an earlier build still running beside this one (a
    // rolling deploy) has no start stored: the list reads it from the PEM.
    use sea_orm::ConnectionTrait;
    d.db.execute_unprepared("UPDATE certificates SET not_before = NULL").await.unwrap();
    let rows = certificates::list(&d, &ada).await.unwrap();
    assert_eq!(rows[0].valid_from, starts.format("%Y-%m-%d 00:00 UTC").to_string(), "{rows:?}");
    assert_eq!(rows[0].expiry, Expiry::NotYetValid, "{rows:?}");
}

/// A certificate may name itself at any length its PEM holds: the list,
/// which every member is sent, shows the start.
#[tokio::test]
async fn a_very_long_subject_is_shown_cut_short() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca(&"Issuer ".repeat(100));
    let (cert, key, ..) = issue(&authority, &"x".repeat(2000), &[], 30);
    let row = certificates::add(&d, &ada, input("long.example.com", &cert, &key)).await.unwrap();
    let most = certificates::NAME_SHOWN_MAX;
    for name in [&row.subject, &row.issuer] {
        assert_eq!(name.chars().count(), most + 1, "{name}");
        assert!(name.ends_with('…'), "{name}");
    }
    assert!(row.subject.starts_with("CN=xxx"), "{}", row.subject);
    let listed = certificates::list(&d, &ada).await.unwrap();
    assert_eq!((&listed[0].subject, &listed[0].issuer), (&row.subject, &row.issuer));
}

/// A name that reorders itself or holds a control character (a NUL, which
/// PostgreSQL would refuse to store) is shown with those characters as
/// their codes, not as they would act.
#[tokio::test]
async fn a_subject_with_control_or_reordering_characters_is_shown_with_their_codes() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("Issuer\u{2028}Two");
    let (cert, key, ..) = issue(&authority, "Ann\u{202e}gpj.exe\u{0}\n", &[], 30);
    let row = certificates::add(&d, &ada, input("codes.example.com", &cert, &key)).await.unwrap();
    assert_eq!(row.subject, "CN=Ann\\u{202e}gpj.exe\\u{0}\\u{a}");
    assert_eq!(row.issuer, "CN=Issuer\\u{2028}Two");
    let listed = certificates::list(&d, &ada).await.unwrap();
    assert_eq!((&listed[0].subject, &listed[0].issuer), (&row.subject, &row.issuer));
}

#[tokio::test]
async fn the_adder_or_an_admin_deletes_and_other_accounts_see_nothing() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let carol = add_user(&d, ada.account_id(), "carol@example.com", false).await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let authority = ca("CA");
    let add = |domain: &'static str, who: app::domain::core::actor::Member| {
        let (cert, key, ..) = issue(&authority, domain, &[], 365);
        let d = &d;
        async move { certificates::add(d, &who, input(domain, &cert, &key)).await.unwrap() }
    };
    let bobs = add("bob.example.com", bob.clone()).await;
    let second = add("two.example.com", bob.clone()).await;
    // Every user of the account sees it; only Bob and admins may delete it.
    let seen = certificates::list(&d, &carol).await.unwrap();
    assert_eq!((seen.len(), seen[0].can_delete), (2, false));
    assert!(certificates::list(&d, &eve).await.unwrap().is_empty());
    // Dan was an admin when he opened the page, and is one no more.
    let dan = add_user(&d, ada.account_id(), "dan@example.com", true).await;
    let demoted = users::UserForm {
        first_name: "Dan".into(),
        last_name: "Doe".into(),
        email: "dan@example.com".into(),
        ..Default::default()
    };
    users::update(&d, &ada.admin().unwrap(), dan.user_id(), demoted).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert!(matches!(certificates::delete(&d, &carol, bobs.id).await, Err(AppError::Forbidden(_))));
    assert_eq!(certificates::delete(&d, &eve, bobs.id).await, Err(AppError::NotFound));
    let not_admin = Err(AppError::Forbidden(app::domain::core::actor::NOT_ADMIN.into()));
    assert_eq!(certificates::delete(&d, &dan, bobs.id).await, not_admin);
    // Nor may they replace it.
    let (cert, key, ..) = issue(&authority, "bob.example.com", &[], 400);
    let replaced = |who: app::domain::core::actor::Member| {
        let (d, renewal) = (&d, renewal(&cert, &key));
        async move { certificates::replace(d, &who, bobs.id, renewal).await.map(|_| ()) }
    };
    assert!(matches!(replaced(carol.clone()).await, Err(AppError::Forbidden(_))));
    assert_eq!(replaced(eve.clone()).await, Err(AppError::NotFound));
    assert_eq!(replaced(dan.clone()).await, not_admin);
    before.assert_unchanged(&d).await;
    certificates::delete(&d, &bob, bobs.id).await.unwrap();
    // Deleting Bob hands his certificate to the admin who deleted him.
    users::delete(&d, &grace.admin().unwrap(), bob.user_id()).await.unwrap();
    let rows = certificates::list(&d, &carol).await.unwrap();
    assert_eq!((rows.len(), rows[0].added_by.as_str()), (1, "Grace Lovelace"));
    let stored = app::domain::entity::certificate::Entity::find_by_id(second.id)
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.added_by, grace.user_id());
    certificates::delete(&d, &ada, second.id).await.unwrap();
    assert!(certificates::list(&d, &ada).await.unwrap().is_empty());
}

/// A domain the account already has a certificate for is refused before a
/// change is counted: retrying it spends none.
#[tokio::test]
async fn a_taken_domain_spends_no_change() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("change.actor=2/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let (cert, key, ..) = issue(&authority, "Acme", &[], 365);
    certificates::add(&d, &ada, input("api.example.com", &cert, &key)).await.unwrap();
    let before = Snapshot::take(&d).await;
    for _ in 0..5 {
        let again = certificates::add(&d, &ada, input("API.example.com", &cert, &key)).await;
        let refused = again.unwrap_err().message_for("domain").unwrap();
        assert!(refused.contains("already has a certificate for api.example.com"), "{refused}");
    }
    before.assert_unchanged(&d).await;
    // The second change of the hour: still allowed.
    certificates::add(&d, &ada, input("sip.example.com", &cert, &key)).await.unwrap();
}

fn renewal(certificate: &str, key: &str) -> Renewal {
    Renewal { certificate: certificate.into(), private_key: key.into() }
}

/// A renewal takes the stored certificate's place in one step: the same row
/// and domain, the new certificate and key, presented at once. Who may
/// delete it may replace it; every refusal leaves the current one.
#[tokio::test]
async fn the_adder_or_an_admin_replaces_a_certificate_with_its_renewal() {
    let (d, client_ca, url) = with_mtls_server().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let carol = add_user(&d, ada.account_id(), "carol@example.com", false).await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let (cert, key, ..) = issue(&client_ca, "Acme 2025", &[], 30);
    let bobs = certificates::add(&d, &bob, input("localhost", &cert, &key)).await.unwrap();
    let (new_cert, new_key, ..) = issue(&client_ca, "Acme 2026", &[], 400);
    let (_, other_key, ..) = issue(&client_ca, "Other", &[], 400);

    let before = Snapshot::take(&d).await;
    let refused = certificates::replace(&d, &carol, bobs.id, renewal(&new_cert, &new_key)).await;
    assert!(
        matches!(&refused, Err(AppError::Forbidden(m)) if m.starts_with("Only the user who added")),
        "{refused:?}"
    );
    let refused = certificates::replace(&d, &eve, bobs.id, renewal(&new_cert, &new_key)).await;
    assert_eq!(refused, Err(AppError::NotFound));
    let mismatch =
        certificates::replace(&d, &bob, bobs.id, renewal(&new_cert, &other_key)).await.unwrap_err();
    assert_eq!(
        mismatch.message_for("private_key").as_deref(),
        Some("The private key does not belong to this certificate.")
    );
    let garbage = certificates::replace(&d, &bob, bobs.id, renewal("hello", "")).await.unwrap_err();
    assert!(garbage.message_for("certificate").unwrap().starts_with("Certificate must be a PEM"));
    assert_eq!(garbage.message_for("private_key").as_deref(), Some("Private Key is required."));
    before.assert_unchanged(&d).await;

    let replaced =
        certificates::replace(&d, &bob, bobs.id, renewal(&new_cert, &new_key)).await.unwrap();
    assert_eq!(
        (replaced.id, replaced.domain.as_str(), replaced.subject.as_str()),
        (bobs.id, "localhost", "CN=Acme 2026")
    );
    assert_eq!(replaced.expiry, Expiry::Valid, "{replaced:?}");
    assert_eq!(before.new_events(&d).await, ["certificate.replaced localhost"]);
    // Carol sees one row, the new one (which is not hers to change).
    let listed = certificates::list(&d, &carol).await.unwrap();
    assert_eq!(listed, [app::model::CertificateRow { can_delete: false, ..replaced.clone() }]);
    // The new key is the one sealed and presented.
    let stored = app::domain::entity::certificate::Entity::find_by_id(bobs.id)
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.cert_pem.replace('\n', ""), new_cert.replace(['\n', '\r'], ""));
    let answer = certificates::send_for_account(&d, ada.account_id(), "GET", &url, None, None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);

    // An admin replaces another user's, which is then theirs.
    let (third_cert, third_key, ..) = issue(&client_ca, "Acme 2027", &[], 800);
    certificates::replace(&d, &ada, bobs.id, renewal(&third_cert, &third_key)).await.unwrap();
    let rows = certificates::list(&d, &bob).await.unwrap();
    assert_eq!(
        (rows.len(), rows[0].added_by.as_str(), rows[0].can_delete),
        (1, "Ada Lovelace", false)
    );
    let before = Snapshot::take(&d).await;
    let refused = certificates::replace(&d, &bob, bobs.id, renewal(&new_cert, &new_key)).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    before.assert_unchanged(&d).await;
    // A renewal is a new key pair stored, as an add is: not by a user whose
    // verification lapsed, even one who may replace it.
    app::domain::testing::mark_unverified(&d, ada.user_id()).await;
    let before = Snapshot::take(&d).await;
    let lapsed = certificates::replace(&d, &ada, bobs.id, renewal(&new_cert, &new_key)).await;
    let unverified = app::domain::core::actor::unverified_refusal();
    assert_eq!(lapsed.err(), Some(AppError::Forbidden(unverified)));
    before.assert_unchanged(&d).await;
}

/// A renewal servers would refuse now (expired, or valid only from later)
/// is refused while the current certificate works, before a change is
/// counted; one valid later is taken once it has started, or while the
/// current one has expired or not started itself.
#[tokio::test]
async fn a_renewal_servers_would_refuse_waits_while_the_current_one_works() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, clock) = fresh_domain().await;
    // Four changes an hour: the refusals below, were they counted, would
    // run out of them and be refused as too many.
    d.quotas = QuotaPolicy::default().with_overrides("change.actor=4/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let authority = ca("CA");
    let now = d.clock.now();
    let (cert, key, ..) = issue_until(&authority, "current", &[], now + Duration::days(5));
    let current = certificates::add(&d, &ada, input("api.example.com", &cert, &key)).await.unwrap();
    let starts = now + Duration::days(3);
    let (later, later_key, ..) =
        issue_between(&authority, "renewal", &[], starts, now + Duration::days(400));

    let (old, old_key, ..) =
        issue_between(&authority, "old", &[], now - Duration::days(400), now - Duration::days(2));
    let before = Snapshot::take(&d).await;
    for _ in 0..5 {
        let early = certificates::replace(&d, &ada, current.id, renewal(&later, &later_key)).await;
        let why = early.unwrap_err().message_for("certificate").unwrap();
        let from = starts.format("%Y-%m-%d 00:00 UTC").to_string();
        assert!(why.starts_with(&format!("This certificate is valid only from {from}")), "{why}");
        let expired = certificates::replace(&d, &ada, current.id, renewal(&old, &old_key)).await;
        let why = expired.unwrap_err().message_for("certificate").unwrap();
        assert!(why.starts_with("This certificate expired on "), "{why}");
    }
    before.assert_unchanged(&d).await;

    clock.advance(Duration::days(4));
    let taken = certificates::replace(&d, &ada, current.id, renewal(&later, &later_key)).await;
    assert_eq!(taken.unwrap().expiry, Expiry::Valid);

    // Once the current one has expired, a later one is no worse: taken.
    let now = d.clock.now();
    let (cert, key, ..) = issue_until(&authority, "short", &[], now + Duration::days(2));
    let short = certificates::add(&d, &ada, input("sip.example.com", &cert, &key)).await.unwrap();
    clock.advance(Duration::days(3));
    let starts = d.clock.now() + Duration::days(10);
    let (later, later_key, ..) =
        issue_between(&authority, "next", &[], starts, starts + Duration::days(300));
    let taken = certificates::replace(&d, &ada, short.id, renewal(&later, &later_key)).await;
    assert_eq!(taken.unwrap().expiry, Expiry::NotYetValid);
    // That one has not started either: a corrected one is no worse, taken.
    let (fixed, fixed_key, ..) =
        issue_between(&authority, "fixed", &[], starts, starts + Duration::days(365));
    let taken = certificates::replace(&d, &ada, short.id, renewal(&fixed, &fixed_key)).await;
    assert_eq!(taken.unwrap().subject, "CN=fixed");
}
