//! Key rotation covers every sealed value: after `secrets rotate` no row of
//! any sealed table is under an old key, and every value still opens.
use std::collections::BTreeSet;

use app::domain::core::actor::Operator;
use app::domain::core::mail::{self, Email};
use app::domain::core::secrets::Sealed;
use app::domain::entity::{certificate, email_outbox, integration, oauth_token, two_factor};
use app::domain::features::{certificates, integrations, oauth_tokens};
use app::domain::identity::two_factor as totp;
use app::domain::operator::{self, SealedCount, SEALED_TABLES};
use app::domain::testing::{account_with_admin, fresh_domain, tables_whose_entity_has};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

#[test]
fn every_sealed_table_is_rotated() {
    let rotated: BTreeSet<String> = SEALED_TABLES.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        tables_whose_entity_has("pub key_id:"),
        rotated,
        "a table with a sealed column must be in operator::SEALED_TABLES and re-sealed by reseal_secrets"
    );
}

fn under(counts: &[SealedCount], key_id: &str) -> Vec<(&'static str, i64)> {
    counts.iter().filter(|c| c.key_id == key_id).map(|c| (c.table, c.count)).collect()
}

#[tokio::test]
async fn rotation_reseals_every_table_and_everything_still_opens() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (account, user) = (ada.account_id(), ada.user_id());
    let now = d.clock.now();
    let old_key = d.secrets.current_key_id().to_owned();
    let seal = |text: &str, context: String| d.secrets.seal(text, &context);

    let s = seal("integration secret", integrations::seal_context(account));
    let integration = integration::ActiveModel {
        account_id: Set(account),
        name: Set("S3".into()),
        name_key: Set("s3".into()),
        service: Set("s3".into()),
        description: Set(String::new()),
        hint: Set(String::new()),
        key_id: Set(s.key_id),
        ciphertext: Set(s.ciphertext),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    let s = seal("certificate key", certificates::seal_context(account));
    let cert = certificate::ActiveModel {
        account_id: Set(account),
        added_by: Set(user),
        domain: Set("api.example.com".into()),
        subject: Set("CN=api".into()),
        issuer: Set("CN=ca".into()),
        not_after: Set(now),
        cert_pem: Set(String::new()),
        key_id: Set(s.key_id),
        key_ciphertext: Set(s.ciphertext),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    let s = seal("oauth token", oauth_tokens::seal_context(account, user));
    let token = oauth_token::ActiveModel {
        account_id: Set(account),
        owner_id: Set(user),
        provider: Set("stripe".into()),
        livemode: Set(false),
        provider_account_id: Set("acct_1".into()),
        key_id: Set(s.key_id),
        ciphertext: Set(s.ciphertext),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    let s = seal("totp secret", totp::seal_context(user));
    two_factor::ActiveModel {
        user_id: Set(user),
        key_id: Set(s.key_id),
        ciphertext: Set(s.ciphertext),
        enabled_at: Set(Some(now)),
        last_step: Set(0),
        created_at: Set(now),
    }
    .insert(&d.db)
    .await
    .unwrap();

    // The outbox: an email waiting (sealed), one queued before bodies were
    // sealed (clear text, no key) and one delivered (its body gone).
    let email = |to: &str| Email { to: to.into(), subject: "Hi".into(), body: format!("To {to}") };
    mail::enqueue(&d.db, &d.secrets, now, email("bob@example.com")).await.unwrap();
    let legacy = outbox_row("cy@example.com", "To cy@example.com", mail::PENDING);
    let legacy = legacy.insert(&d.db).await.unwrap();
    let delivered = outbox_row("dee@example.com", mail::DELIVERED_BODY, mail::SENT);
    let delivered = delivered.insert(&d.db).await.unwrap();

    let op = Operator::from_command_line();
    let before = operator::secrets_status(&d, &op).await.unwrap();
    let every_table: Vec<(&str, i64)> = SEALED_TABLES.iter().map(|t| (*t, 1)).collect();
    assert_eq!(under(&before, &old_key), every_table);

    let rotated = d.secrets.keyring().rotated();
    let new_key = rotated.current_key_id().to_owned();
    // A row a transaction: every batch is taken, in turn.
    assert_eq!(operator::reseal_secrets_in_batches(&d, &op, &rotated, 1).await.unwrap().count, 6);
    let after = operator::secrets_status(&d, &op).await.unwrap();
    assert_eq!(under(&after, &old_key), vec![], "nothing stays under the old key");
    let mut sealed_now = every_table.clone();
    sealed_now.iter_mut().find(|(t, _)| *t == "email_outbox").unwrap().1 = 2;
    assert_eq!(under(&after, &new_key), sealed_now, "the clear body is sealed too");
    // Running it again finds nothing left to do.
    assert_eq!(operator::reseal_secrets(&d, &op, &rotated).await.unwrap().count, 0);

    // Every value opens with the new key alone: the old one could be dropped.
    let only_new = rotated.current_only();
    let open = |key_id: String, ciphertext: String, context: String| {
        only_new.open(&Sealed { key_id, ciphertext }, &context).unwrap()
    };
    let i = integration::Entity::find_by_id(integration.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        open(i.key_id, i.ciphertext, integrations::seal_context(account)),
        "integration secret"
    );
    let c = certificate::Entity::find_by_id(cert.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        open(c.key_id, c.key_ciphertext, certificates::seal_context(account)),
        "certificate key"
    );
    let t = oauth_token::Entity::find_by_id(token.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        open(t.key_id, t.ciphertext, oauth_tokens::seal_context(account, user)),
        "oauth token"
    );
    let f = two_factor::Entity::find_by_id(user).one(&d.db).await.unwrap().unwrap();
    assert_eq!(open(f.key_id, f.ciphertext, totp::seal_context(user)), "totp secret");
    for row in email_outbox::Entity::find().all(&d.db).await.unwrap() {
        if row.id == delivered.id {
            assert_eq!(row, delivered, "a delivered email has nothing to seal");
        } else {
            if row.id == legacy.id {
                assert_ne!(row.body_text, legacy.body_text, "no longer in clear text");
            }
            let text = mail::body(&only_new, &row).unwrap();
            assert_eq!(text, format!("To {}", row.to_address));
        }
    }
}

/// An outbox row as written before bodies were sealed.
fn outbox_row(to: &str, body: &str, status: &str) -> email_outbox::ActiveModel {
    let at = chrono::Utc::now();
    email_outbox::ActiveModel {
        to_address: Set(to.into()),
        subject: Set("Hi".into()),
        body_text: Set(body.into()),
        key_id: Set(None),
        status: Set(status.into()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        created_at: Set(at),
        ..Default::default()
    }
}

/// A secret written while a rotation runs keeps its new value: the rotation
/// reads each row it re-seals locked, so it waits for the writer and re-seals
/// what was committed. Without the lock, on PostgreSQL, the rotation wrote
/// back the secret it had read before, re-sealed (a new 2FA set-up or an
/// OAuth reconnect lost). SQLite has one writer, so there the rotation
/// waits for the writer anyway: the test can fail on PostgreSQL only (CI
/// runs every test on both).
#[tokio::test]
async fn a_secret_written_while_the_rotation_runs_is_not_overwritten() {
    use sea_orm::TransactionTrait;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let user = ada.user_id();
    let now = d.clock.now();
    let s = d.secrets.seal("first secret", &totp::seal_context(user));
    two_factor::ActiveModel {
        user_id: Set(user),
        key_id: Set(s.key_id),
        ciphertext: Set(s.ciphertext),
        enabled_at: Set(None),
        last_step: Set(0),
        created_at: Set(now),
    }
    .insert(&d.db)
    .await
    .unwrap();

    // A set-up begun again, by a process still sealing with the old key:
    // written, not yet committed, when the rotation starts.
    let writer = d.db.begin().await.unwrap();
    let s = d.secrets.seal("second secret", &totp::seal_context(user));
    two_factor::ActiveModel {
        user_id: Set(user),
        key_id: Set(s.key_id),
        ciphertext: Set(s.ciphertext),
        ..Default::default()
    }
    .update(&writer)
    .await
    .unwrap();
    let rotated = d.secrets.keyring().rotated();
    let op = Operator::from_command_line();
    let (resealed, ()) = tokio::join!(operator::reseal_secrets(&d, &op, &rotated), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        writer.commit().await.unwrap();
    });
    assert_eq!(resealed.unwrap().count, 1);

    let f = two_factor::Entity::find_by_id(user).one(&d.db).await.unwrap().unwrap();
    assert_eq!(f.key_id, rotated.current_key_id());
    let opened = rotated
        .current_only()
        .open(&Sealed { key_id: f.key_id, ciphertext: f.ciphertext }, &totp::seal_context(user));
    assert_eq!(opened.unwrap(), "second secret");
}

/// A value sealed with a key given up (`SECRET_KEYS_LOST`) opens with no
/// key: the rotation leaves it as it is and names it, and re-seals every
/// other value, before it and after it, with the new key.
#[tokio::test]
async fn a_value_that_opens_with_no_key_does_not_stop_the_rotation() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let account = ada.account_id();
    let now = d.clock.now();
    let integration_sealed =
        |name: &str, key_id: String, ciphertext: String| integration::ActiveModel {
            account_id: Set(account),
            name: Set(name.into()),
            name_key: Set(name.to_lowercase()),
            service: Set("s3".into()),
            description: Set(String::new()),
            hint: Set(String::new()),
            key_id: Set(key_id),
            ciphertext: Set(ciphertext),
            created_at: Set(now),
            ..Default::default()
        };
    let context = integrations::seal_context(account);
    let mut ids = Vec::new();
    for name in ["Before", "Lost", "After"] {
        let s = d.secrets.seal(&format!("{name} secret"), &context);
        let (key_id, ciphertext) = match name {
            "Lost" => ("k-given-up".to_owned(), s.ciphertext),
            _ => (s.key_id, s.ciphertext),
        };
        ids.push(integration_sealed(name, key_id, ciphertext).insert(&d.db).await.unwrap().id);
    }
    let rotated = d.secrets.keyring().rotated();
    let op = Operator::from_command_line();
    let done = operator::reseal_secrets_in_batches(&d, &op, &rotated, 1).await.unwrap();
    assert_eq!(done.count, 2);
    assert_eq!(done.left, vec![format!("integrations {}", ids[1])]);
    let rows = integration::Entity::find().all(&d.db).await.unwrap();
    for row in rows {
        let expected = if row.id == ids[1] { "k-given-up" } else { rotated.current_key_id() };
        assert_eq!(row.key_id, expected, "{}", row.name);
    }
    // Run again, it has nothing more to do and names the same value.
    let again = operator::reseal_secrets(&d, &op, &rotated).await.unwrap();
    assert_eq!((again.count, again.left), (0, vec![format!("integrations {}", ids[1])]));
}

/// Processes on one database must seal with one key: each start checks its
/// key file's current key against the last one recorded, and only a
/// rotation records one after another.
#[tokio::test]
async fn a_process_sealing_with_a_key_the_others_lack_is_refused() {
    use app::domain::core::secrets::{Keyring, Secrets};
    use app::domain::operator::KeyAgreement::{Agreed, Differs};
    use app::domain::operator::KeyDiffers::{Older, Own, Unrecorded};
    let (d, _) = fresh_domain().await;
    let op = Operator::from_command_line();
    let (dr, opr) = (&d, &op);
    let agree = move |keyring: &Keyring, lost: &[&str]| {
        let lost: Vec<String> = lost.iter().map(|k| k.to_string()).collect();
        let secrets = Secrets::fixed(keyring.clone());
        async move { operator::agree_on_current_key(dr, opr, &secrets, &lost).await.unwrap() }
    };
    let recorded = || async {
        app::domain::entity::secret_key::Entity::find()
            .all(&d.db)
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.position, k.id))
            .collect::<BTreeSet<_>>()
    };
    let differs = |ours: &Keyring, theirs: &Keyring, why| Differs {
        ours: ours.current_key_id().to_owned(),
        theirs: theirs.current_key_id().to_owned(),
        why,
    };
    let first = Keyring::generate();
    let first_id = first.current_key_id().to_owned();
    assert_eq!(agree(&first, &[]).await, Agreed, "the first start records its key");
    assert_eq!(agree(&first, &[]).await, Agreed);
    assert_eq!(recorded().await, BTreeSet::from([(1, first_id.clone())]));

    // A host whose start made a key file of its own; the same with the
    // servers' key appended below its own.
    let own = Keyring::generate();
    assert_eq!(agree(&own, &[]).await, differs(&own, &first, Own));
    let appended = own.joined(&first);
    assert_eq!(agree(&appended, &[]).await, differs(&appended, &first, Unrecorded));
    // A rotation that was written and not recorded is not taken either.
    let unrecorded = first.rotated();
    assert_eq!(agree(&unrecorded, &[]).await, differs(&unrecorded, &first, Unrecorded));
    assert_eq!(recorded().await, BTreeSet::from([(1, first_id.clone())]), "nothing recorded");

    // A rotation records its key as it writes it; a write that fails
    // records nothing; a copy of the file from before it is older.
    let rotated = first.rotated();
    let failed = operator::record_rotation(&d, &op, &rotated, || Err("disk full".into())).await;
    assert_eq!(failed, Err("disk full".to_owned()));
    assert_eq!(recorded().await, BTreeSet::from([(1, first_id.clone())]), "nothing recorded");
    let mut wrote = false;
    let write = || {
        wrote = true;
        Ok(())
    };
    assert_eq!(operator::record_rotation(&d, &op, &rotated, write).await, Ok(Agreed));
    assert!(wrote);
    assert_eq!(agree(&rotated, &[]).await, Agreed);
    assert_eq!(agree(&first, &[]).await, differs(&first, &rotated, Older));
    let rotated_id = rotated.current_key_id().to_owned();
    assert_eq!(recorded().await, BTreeSet::from([(1, first_id.clone()), (2, rotated_id.clone())]));
    // Another host's rotation, from a file without the servers' key, is
    // refused before it writes.
    let elsewhere = first.rotated();
    let refused = operator::record_rotation(&d, &op, &elsewhere, || panic!("written")).await;
    assert_eq!(refused, Ok(differs(&elsewhere, &rotated, Own)));

    // With the servers' key declared lost, a new key file takes over; the
    // old file, found again, is older than it.
    assert_eq!(agree(&own, &[&rotated_id]).await, Agreed);
    assert_eq!(agree(&rotated, &[]).await, differs(&rotated, &own, Older));
    assert_eq!(agree(&own, &[]).await, Agreed);
}

/// Two first starts at once on an empty database: one key is recorded and
/// the other process is refused, whichever wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_starts_at_once_record_one_key() {
    use app::domain::core::secrets::{Keyring, Secrets};
    use app::domain::operator::KeyAgreement::{Agreed, Differs};
    use app::domain::operator::KeyDiffers::Own;
    let url = app::domain::testing::fresh_shared_database_url().await;
    let (a, _) = app::domain::testing::domain_on(&url).await;
    let (b, _) = app::domain::testing::domain_on(&url).await;
    let op = Operator::from_command_line();
    let (ka, kb) = (Secrets::fixed(Keyring::generate()), Secrets::fixed(Keyring::generate()));
    let (ra, rb) = tokio::join!(
        operator::agree_on_current_key(&a, &op, &ka, &[]),
        operator::agree_on_current_key(&b, &op, &kb, &[])
    );
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| **o == Agreed).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, Differs { why: Own, .. })), "{outcomes:?}");
}
