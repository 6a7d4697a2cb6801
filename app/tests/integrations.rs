//! Integrations: write-once credentials, sealed at rest, never shown again.
use std::sync::Arc;

use app::domain::core::actor::Operator;
use app::domain::core::Domain;
use app::domain::entity::integration;
use app::domain::features::integrations::{self, Credentials, NewIntegration, NAME_TAKEN};
use app::domain::operator;
use app::domain::testing::samples::{dialogflow_config, AWS_KEY, AWS_SECRET, PRIVATE_KEY_MATERIAL};
use app::domain::testing::{account_with_admin, add_user, domain_on, fresh_domain, Snapshot};
use app::model::{AppError, Service};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};

fn dynamodb(name: &str) -> NewIntegration {
    NewIntegration {
        service: "dynamodb".into(),
        name: name.into(),
        description: "Call records".into(),
        key: AWS_KEY.into(),
        secret: AWS_SECRET.into(),
        region: "eu-west-1".into(),
        ..Default::default()
    }
}

fn dialogflow(name: &str) -> NewIntegration {
    NewIntegration {
        service: "dialogflow".into(),
        name: name.into(),
        config: dialogflow_config(),
        ..Default::default()
    }
}

fn s3(name: &str) -> NewIntegration {
    NewIntegration {
        service: "s3".into(),
        name: name.into(),
        key: AWS_KEY.into(),
        secret: AWS_SECRET.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn admins_add_each_kind_and_every_user_of_the_account_sees_them_masked() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await;
    let member = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    let a = admin.admin().unwrap();
    let flow = integrations::add(&d, &a, dialogflow("Bot")).await.unwrap();
    let dynamo = integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let bucket = integrations::add(&d, &a, s3("Recordings")).await.unwrap();
    assert_eq!((flow.service, flow.hint.as_str()), (Service::Dialogflow, "voice-bot-123"));
    assert_eq!(
        (dynamo.service, dynamo.hint.as_str(), dynamo.region.as_deref()),
        (Service::DynamoDb, "…MPLE", Some("eu-west-1"))
    );
    assert_eq!((bucket.service, bucket.region.as_deref()), (Service::S3, None));

    let seen = integrations::list(&d, &member).await.unwrap();
    assert_eq!(
        seen.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["Bot", "Recordings", "Records"]
    );
    let shown = format!("{seen:?}");
    for secret in [AWS_SECRET, AWS_KEY, PRIVATE_KEY_MATERIAL] {
        assert!(!shown.contains(secret), "{secret} reached the list");
    }
    // The server itself can still use them, and a debug print of them shows no secret.
    let opened = integrations::credentials(&d, &a, dynamo.id).await.unwrap();
    assert!(!format!("{opened:?}").contains(AWS_SECRET), "{opened:?}");
    assert_eq!(
        integrations::credentials(&d, &a, dynamo.id).await.unwrap(),
        Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
    );
    assert_eq!(
        integrations::credentials(&d, &a, flow.id).await.unwrap(),
        Credentials::Dialogflow { config: dialogflow_config() }
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_beside_their_fields_and_nothing_is_stored() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let cases: Vec<(NewIntegration, &str, &str)> = vec![
        (NewIntegration { service: "ftp".into(), ..dynamodb("X") }, "service", "Select a service"),
        (NewIntegration { name: " ".into(), ..dynamodb("X") }, "name", "required"),
        (NewIntegration { key: "AKIA123".into(), ..dynamodb("X") }, "key", "starting with AKIA."),
        (NewIntegration { key: "ABCDIOSFODNN7EXAMPLE".into(), ..s3("X") }, "key", "with AKIA."),
        (NewIntegration { key: "akiaiosfodnn7example".into(), ..s3("X") }, "key", "with AKIA."),
        // Temporary: it needs a session token and expires within hours.
        (NewIntegration { key: "ASIAIOSFODNN7EXAMPLE".into(), ..s3("X") }, "key", "temporary"),
        (NewIntegration { secret: "short".into(), ..dynamodb("X") }, "secret", "40 characters"),
        (NewIntegration { key: " ".into(), ..s3("X") }, "key", "Key is required"),
        (NewIntegration { secret: "".into(), ..s3("X") }, "secret", "Secret is required"),
        (NewIntegration { region: "mars-north-1".into(), ..dynamodb("X") }, "region", "region"),
        (
            NewIntegration { config: "{not json".into(), ..dialogflow("X") },
            "config",
            "not valid JSON",
        ),
        (
            NewIntegration { config: r#"{"type":"user"}"#.into(), ..dialogflow("X") },
            "config",
            "service_account",
        ),
        (
            NewIntegration {
                config: dialogflow_config().replace("voice-bot-123", ""),
                ..dialogflow("X")
            },
            "config",
            "project_id",
        ),
        (
            NewIntegration {
                config: dialogflow_config().replace("voice-bot-123", "Call <b>now</b>"),
                ..dialogflow("X")
            },
            "config",
            "not a Google Cloud project ID",
        ),
        (
            NewIntegration {
                config: dialogflow_config().replace("voice-bot-123", &"a".repeat(101)),
                ..dialogflow("X")
            },
            "config",
            "not a Google Cloud project ID",
        ),
        (
            NewIntegration {
                config: dialogflow_config().replace("BEGIN PRIVATE KEY", "BEGIN SOMETHING"),
                ..dialogflow("X")
            },
            "config",
            "no valid PEM \"private_key\"",
        ),
        // Pasted from an environment variable: its line breaks written out.
        (
            NewIntegration {
                config: dialogflow_config().replace("\\n", "\\\\n"),
                ..dialogflow("X")
            },
            "config",
            "no valid PEM \"private_key\"",
        ),
        // Cut short: a PEM's lines, but not a key.
        (
            NewIntegration {
                config: dialogflow_config().replace(PRIVATE_KEY_MATERIAL, "AAAA"),
                ..dialogflow("X")
            },
            "config",
            "no valid PEM \"private_key\"",
        ),
        (
            NewIntegration { description: "d".repeat(501), ..dynamodb("X") },
            "description",
            "at most 500",
        ),
        // PostgreSQL cannot store a NUL: refused beside the field on both
        // databases, not failed in the write. Lines and tabs are kept.
        (
            NewIntegration { description: "Kept\u{0} 90 days".into(), ..dynamodb("X") },
            "description",
            "other than line breaks and tabs",
        ),
        // Every member reads it: nothing that shows the rest backwards.
        (
            NewIntegration { description: "Backup\u{202e}txt.exe".into(), ..dynamodb("X") },
            "description",
            "must not contain characters that reorder the text after them",
        ),
    ];
    let before = Snapshot::take(&d).await;
    for (input, field, expected) in cases {
        let err = integrations::add(&d, &a, input).await.err().unwrap();
        let message =
            err.message_for(field).unwrap_or_else(|| panic!("no {field} error in {err:?}"));
        assert!(message.contains(expected), "{field}: {message}");
    }
    before.assert_unchanged(&d).await;
    assert_eq!(integration::Entity::find().count(&d.db).await.unwrap(), 0);
    let lines = NewIntegration { description: "Kept 90 days\n\tthen archived".into(), ..s3("X") };
    integrations::add(&d, &a, lines).await.unwrap();
}

#[tokio::test]
async fn names_are_unique_within_an_account_only() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let other = account_with_admin(&d, "Other", "eve@other.example").await.admin().unwrap();
    integrations::add(&d, &a, s3("Recordings")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let err = integrations::add(&d, &a, s3(" recordings ")).await.err().unwrap();
    assert_eq!(err.message_for("name").unwrap(), NAME_TAKEN);
    before.assert_unchanged(&d).await;
    integrations::add(&d, &other, s3("Recordings")).await.unwrap();
    let second = integrations::add(&d, &a, s3("Archive")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let err = integrations::update(&d, &a, second.id, "RECORDINGS", "", None).await.err().unwrap();
    assert_eq!(err.message_for("name").unwrap(), NAME_TAKEN);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn an_update_changes_name_and_description_only() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let added = integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let updated =
        integrations::update(&d, &a, added.id, "Call records", "Kept 90 days", None).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.description.as_str()),
        ("Call records", "Kept 90 days")
    );
    assert_eq!(
        (updated.hint, updated.region, updated.service),
        (added.hint, added.region, added.service)
    );
    assert_eq!(
        integrations::credentials(&d, &a, added.id).await.unwrap(),
        Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
    );
    let before = Snapshot::take(&d).await;
    let err = integrations::update(&d, &a, added.id, "", "", None).await.err().unwrap();
    assert!(err.message_for("name").is_some());
    before.assert_unchanged(&d).await;
}

/// Two admins with Edit open on one integration: each saves only what they
/// changed, so one's rename keeps the other's new description; a field
/// both changed is refused beside it, and nothing is written.
#[tokio::test]
async fn two_admins_editing_one_integration_keep_each_others_changes() {
    use app::domain::features::integrations::Shown;
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let b = add_user(&d, a.account_id(), "bob@example.com", true).await.admin().unwrap();
    let added = integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let opened = Shown { name: "Records".into(), description: added.description.clone() };
    integrations::update(&d, &b, added.id, "Records", "Kept 90 days", Some(opened.clone()))
        .await
        .unwrap();
    let renamed = integrations::update(
        &d,
        &a,
        added.id,
        "Call records",
        &opened.description,
        Some(opened.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_str()),
        ("Call records", "Kept 90 days")
    );
    // The other admin's description change, from a form opened before the
    // rename (and before another integration took the old name), keeps the
    // new name and is not refused for a name it did not change.
    integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let opened = Shown { name: "Records".into(), description: "Kept 90 days".into() };
    let described =
        integrations::update(&d, &b, added.id, "Records", "Kept a year", Some(opened)).await;
    let described = described.unwrap();
    assert_eq!(
        (described.name.as_str(), described.description.as_str()),
        ("Call records", "Kept a year")
    );
    // Both renamed it, to different names: the second is refused.
    let before = Snapshot::take(&d).await;
    let opened = Shown { name: "Records".into(), description: "Kept a year".into() };
    let clash =
        integrations::update(&d, &b, added.id, "Archive", "Kept a year", Some(opened)).await;
    let message = clash.err().and_then(|e| e.message_for("name")).unwrap();
    assert!(
        message.starts_with("Another admin changed Name since you opened this form"),
        "{message}"
    );
    before.assert_unchanged(&d).await;
}

/// An edit's description is held to what an added one is: at most 500
/// characters, and no NUL (PostgreSQL cannot store one: refused beside the
/// field on both databases rather than failed in the write).
#[tokio::test]
async fn an_update_refuses_a_description_an_addition_would_refuse() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let added = integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let long = "d".repeat(501);
    let err = integrations::update(&d, &a, added.id, "Records", &long, None).await.err().unwrap();
    assert_eq!(err, AppError::field("description", "Description must be at most 500 characters."));
    let err = integrations::update(&d, &a, added.id, "Records", "Kept\u{0} 90 days", None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err,
        AppError::field(
            "description",
            "Description must not contain control characters other than line breaks and tabs."
        )
    );
    before.assert_unchanged(&d).await;
    let row = integration::Entity::find_by_id(added.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(row.description, "Call records");
    // Exactly 500 is allowed.
    let longest = "d".repeat(500);
    let kept = integrations::update(&d, &a, added.id, "Records", &longest, None).await.unwrap();
    assert_eq!(kept.description, longest);
    // A browser sends the text area's line breaks as CRLF: each counts as
    // one character, as the field showed it, and is kept as one.
    let lines = "d\r\n".repeat(250);
    let kept = integrations::update(&d, &a, added.id, "Records", &lines, None).await.unwrap();
    assert_eq!(kept.description, "d\n".repeat(250).trim_end());
}

#[tokio::test]
async fn another_accounts_integration_can_be_neither_read_nor_changed() {
    let (d, _) = fresh_domain().await;
    let ours = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let theirs = account_with_admin(&d, "Other", "eve@other.example").await;
    let added = integrations::add(&d, &ours, dynamodb("Records")).await.unwrap();
    let eve = theirs.admin().unwrap();
    assert!(integrations::list(&d, &theirs).await.unwrap().is_empty());
    let before = Snapshot::take(&d).await;
    assert_eq!(
        integrations::update(&d, &eve, added.id, "Mine", "", None).await,
        Err(AppError::NotFound)
    );
    assert_eq!(
        integrations::delete(&d, &eve, added.id, &app::domain::testing::used_by(&[], 0)).await,
        Err(AppError::NotFound)
    );
    assert_eq!(integrations::credentials(&d, &eve, added.id).await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;
    let still = integrations::list(&d, ours.member()).await.unwrap();
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].name, "Records");
    integrations::delete(&d, &ours, added.id, &app::domain::testing::used_by(&[], 0))
        .await
        .unwrap();
    assert!(integrations::list(&d, ours.member()).await.unwrap().is_empty());
}

#[tokio::test]
async fn no_plaintext_secret_is_in_the_database_file() {
    let path = std::env::temp_dir().join(format!("console-secrets-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (d, _) = domain_on(&format!("sqlite://{}?mode=rwc", path.display())).await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    integrations::add(&d, &a, dialogflow("Bot")).await.unwrap();
    // The last connection to close moves the write-ahead log into the file;
    // a log left behind is read too.
    d.read.close_by_ref().await.unwrap();
    d.db.close_by_ref().await.unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{}-wal", path.display())).unwrap_or_default());
    let haystack = String::from_utf8_lossy(&bytes);
    for secret in [AWS_SECRET, AWS_KEY, PRIVATE_KEY_MATERIAL, "bot@voice-bot-123"] {
        assert!(!haystack.contains(secret), "{secret} is in the database file");
    }
    assert!(haystack.contains("Records"), "the file is the one written");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_tampered_ciphertext_is_rejected() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let added = integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let other = integrations::add(&d, &a, s3("Other")).await.unwrap();
    let row = integration::Entity::find_by_id(added.id).one(&d.db).await.unwrap().unwrap();
    let mut flipped = row.ciphertext.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let mut active = row.into_active_model();
    active.ciphertext = Set(String::from_utf8(flipped).unwrap());
    active.update(&d.db).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(integrations::credentials(&d, &a, added.id).await, Err(AppError::Internal));
    before.assert_unchanged(&d).await;

    // A ciphertext moved from another row of another account does not open either.
    let theirs = account_with_admin(&d, "Other", "eve@other.example").await.admin().unwrap();
    let foreign = integrations::add(&d, &theirs, s3("Theirs")).await.unwrap();
    let source = integration::Entity::find_by_id(foreign.id).one(&d.db).await.unwrap().unwrap();
    let mut target = integration::Entity::find_by_id(other.id)
        .one(&d.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    target.ciphertext = Set(source.ciphertext);
    target.update(&d.db).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(integrations::credentials(&d, &a, other.id).await, Err(AppError::Internal));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn key_rotation_keeps_every_integration_readable() {
    let (d, _) = fresh_domain().await;
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let ids = [
        integrations::add(&d, &a, dynamodb("Records")).await.unwrap().id,
        integrations::add(&d, &a, dialogflow("Bot")).await.unwrap().id,
        integrations::add(&d, &a, s3("Recordings")).await.unwrap().id,
    ];
    let rotated = d.secrets.keyring().rotated();
    assert_eq!(
        operator::reseal_secrets(&d, &Operator::from_command_line(), &rotated).await.unwrap().count,
        3
    );
    let after = Domain {
        secrets: Arc::new(app::domain::core::secrets::Secrets::fixed(rotated.clone())),
        ..d.clone()
    };
    for row in integration::Entity::find().all(&d.db).await.unwrap() {
        assert_eq!(row.key_id, rotated.current_key_id());
    }
    assert!(integrations::credentials(&after, &a, ids[0]).await.is_ok());
    assert_eq!(
        integrations::credentials(&after, &a, ids[1]).await.unwrap(),
        Credentials::Dialogflow { config: dialogflow_config() }
    );
    assert!(integrations::credentials(&after, &a, ids[2]).await.is_ok());
    // The old keyring alone no longer opens them: they really were re-sealed.
    let before = Snapshot::take(&d).await;
    assert_eq!(integrations::credentials(&d, &a, ids[0]).await, Err(AppError::Internal));
    before.assert_unchanged(&d).await;
    assert_eq!(
        operator::reseal_secrets(&after, &Operator::from_command_line(), &rotated)
            .await
            .unwrap()
            .count,
        0,
        "nothing left to do"
    );
}

/// A name the account already has is refused before a change is counted:
/// retrying it spends none, and the next real change still goes through.
#[tokio::test]
async fn a_taken_name_spends_no_change() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("change.actor=3/60").unwrap();
    let a = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    integrations::add(&d, &a, dynamodb("Records")).await.unwrap();
    let other = integrations::add(&d, &a, dynamodb("Archive")).await.unwrap();
    let before = Snapshot::take(&d).await;
    for _ in 0..5 {
        let added = integrations::add(&d, &a, dynamodb(" RECORDS")).await.unwrap_err();
        assert_eq!(added.message_for("name").as_deref(), Some(NAME_TAKEN));
        let renamed =
            integrations::update(&d, &a, other.id, "records", "", None).await.unwrap_err();
        assert_eq!(renamed.message_for("name").as_deref(), Some(NAME_TAKEN));
    }
    before.assert_unchanged(&d).await;
    // The third change of the hour: still allowed.
    integrations::update(&d, &a, other.id, "Archive 2026", "", None).await.unwrap();
}
