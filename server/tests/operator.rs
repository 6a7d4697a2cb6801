//! Operator subcommands, run in process as the binary runs them.
mod support;

use std::io::Cursor;
use std::sync::Arc;

use app::domain::core::mail::{self, Email};
use app::domain::core::secrets::{Keyring, Secrets};
use app::domain::core::Domain;
use app::domain::features::integrations::{self, Credentials};
use app::domain::testing::samples::{AWS_KEY, AWS_SECRET};
use app::domain::testing::{account_with_admin, s3_integration, Snapshot};
use support::{run, TestApp};

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn secrets_rotate_writes_a_new_key_and_reseals_every_integration() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let ada = account_with_admin(d, "Acme", "ada@example.com").await;
        let added = s3_integration(d, &ada, "Recordings").await;
        let admin = ada.admin().unwrap();
        let dir = std::env::temp_dir().join(format!("console-rotate-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);

        let said = server::cli::rotate_secrets(
            d,
            &words(&["secrets", "rotate", "--wait", "0"]),
            &key_file,
        )
        .await
        .unwrap();
        assert!(said.contains("sealed 1 secret"), "{said}");
        // The secret was re-sealed: the new key alone opens it (the old one
        // could now leave the key file), and the status names only the new key.
        let new_keys = Keyring::load_or_create(&key_file).unwrap();
        let restarted =
            Domain { secrets: Arc::new(Secrets::fixed(new_keys.current_only())), ..d.clone() };
        assert_eq!(
            integrations::credentials(&restarted, &admin, added).await.unwrap(),
            Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
        );
        let status =
            server::cli::rotate_secrets(&restarted, &words(&["secrets", "status"]), &key_file)
                .await
                .unwrap();
        assert_eq!(status, format!("integrations\t{} (current)\t1", new_keys.current_key_id()));
        let before = Snapshot::take(d).await;
        assert!(server::cli::rotate_secrets(d, &words(&["secrets", "spin"]), &key_file)
            .await
            .is_err());
        before.assert_unchanged(d).await;
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// `secrets retire` ends a rotation: refused, the file unchanged, while a
/// stored secret is sealed with a key other than the current one (a
/// rotation whose re-seal has not run); once it has, the old keys leave the
/// file, what is stored opens with the file alone, and a second retire has
/// nothing to do.
#[test]
fn secrets_retire_drops_old_keys_only_once_nothing_is_sealed_with_them() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let ada = account_with_admin(d, "Acme", "ada@example.com").await;
        let added = s3_integration(d, &ada, "Recordings").await;
        let admin = ada.admin().unwrap();
        let dir = std::env::temp_dir().join(format!("console-retire-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old_key = d.secrets.current_key_id();
        let retire = |d: Domain| {
            let key_file = key_file.clone();
            async move {
                server::cli::rotate_secrets(&d, &words(&["secrets", "retire"]), &key_file).await
            }
        };

        // A new key written, nothing re-sealed yet: the integration is still
        // under the old key, which must stay.
        let unsealed = d.secrets.keyring().rotated();
        unsealed.save(&key_file).unwrap();
        let before = Snapshot::take(d).await;
        let refused = retire(d.clone()).await.unwrap_err();
        assert!(refused.contains(&format!("integrations 1 under {old_key}")), "{refused}");
        assert!(refused.contains("secrets rotate"), "{refused}");
        before.assert_unchanged(d).await;
        assert_eq!(Keyring::read(&key_file).unwrap().unwrap().key_ids(), unsealed.key_ids());

        // A rotation re-seals everything: then the old keys go.
        server::cli::rotate_secrets(d, &words(&["secrets", "rotate", "--wait", "0"]), &key_file)
            .await
            .unwrap();
        let rotated = Keyring::read(&key_file).unwrap().unwrap();
        assert_eq!(rotated.key_ids().len(), 3);
        let said = retire(d.clone()).await.unwrap();
        assert!(said.contains(&old_key) && said.contains("backups"), "{said}");
        let left = Keyring::read(&key_file).unwrap().unwrap();
        assert_eq!(left.key_ids(), [rotated.current_key_id().to_owned()]);
        let restarted =
            Domain { secrets: Arc::new(Secrets::from_file(&key_file).unwrap()), ..d.clone() };
        assert_eq!(
            integrations::credentials(&restarted, &admin, added).await.unwrap(),
            Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
        );
        let again = retire(restarted.clone()).await.unwrap();
        assert!(again.contains("nothing to retire"), "{again}");
        // The next rotation starts from the one key left.
        let args = words(&["secrets", "rotate", "--wait", "0"]);
        server::cli::rotate_secrets(&restarted, &args, &key_file).await.unwrap();
        let next = Keyring::read(&key_file).unwrap().unwrap();
        assert_eq!(next.key_ids()[1..], [rotated.current_key_id().to_owned()]);
        // A file whose current key is not the servers' (another host's own
        // file, whose keys seal nothing here) retires nothing.
        let foreign = Keyring::generate().rotated();
        foreign.save(&key_file).unwrap();
        let refused = retire(restarted.clone()).await.unwrap_err();
        let servers =
            format!("the servers on this database seal with key {}", next.current_key_id());
        assert!(refused.contains(&servers), "{refused}");
        assert_eq!(Keyring::read(&key_file).unwrap().unwrap().key_ids(), foreign.key_ids());
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// A rotation starts from the key file as it is, not as this process read
/// it: a key another host's rotation added meanwhile stays in the file, and
/// what it sealed still opens.
#[test]
fn a_rotation_keeps_a_key_another_rotation_added_meanwhile() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let dir = std::env::temp_dir().join(format!("console-rotate-twice-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Another host rotated first: its new key is in the file, and a
        // secret it sealed is in the database (here, in hand).
        let other_host = d.secrets.keyring().rotated();
        other_host.save(&key_file).unwrap();
        let sealed_there = other_host.seal("sealed by the other host", "context");

        let said = server::cli::rotate_secrets(
            d,
            &words(&["secrets", "rotate", "--wait", "0"]),
            &key_file,
        )
        .await
        .unwrap();
        assert!(said.starts_with("New key "), "{said}");
        let after = Keyring::load_or_create(&key_file).unwrap();
        assert_ne!(after.current_key_id(), other_host.current_key_id());
        assert_ne!(after.current_key_id(), d.secrets.current_key_id());
        assert_eq!(after.open(&sealed_there, "context").unwrap(), "sealed by the other host");
        let sealed_here = d.secrets.seal("sealed by this process", "context");
        assert_eq!(after.open(&sealed_here, "context").unwrap(), "sealed by this process");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// A rotation reaches a server that is running on the same key file, with
/// no restart: what the rotation re-sealed opens there (an integration's
/// credentials, a queued email), and what it seals next uses the new key.
#[test]
fn a_running_server_opens_what_a_rotation_resealed() {
    run(async {
        let app = TestApp::new().await;
        let dir = std::env::temp_dir().join(format!("console-rotate-live-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        let on_file = || Arc::new(Secrets::from_file(&key_file).unwrap());
        let serving = Domain { secrets: on_file(), ..app.domain.clone() };
        let ada = account_with_admin(&serving, "Acme", "ada@example.com").await;
        let admin = ada.admin().unwrap();
        let added = s3_integration(&serving, &ada, "Recordings").await;
        let email =
            Email { to: "bob@example.com".into(), subject: "Hi".into(), body: "Hello Bob".into() };
        mail::enqueue(&serving.db, &serving.secrets, serving.clock.now(), email).await.unwrap();
        let old_key = serving.secrets.current_key_id();
        // The server's start recorded its key.
        server::cli::refuse_unknown_keys(&serving, &key_file, &[]).await.unwrap();
        let copy_before = Keyring::read(&key_file).unwrap().unwrap();

        let operator = Domain { secrets: on_file(), ..app.domain.clone() };
        let said = server::cli::rotate_secrets(
            &operator,
            &words(&["secrets", "rotate", "--wait", "0"]),
            &key_file,
        )
        .await
        .unwrap();
        assert!(said.contains("Running servers read it"), "{said}");
        let new_key = Keyring::read(&key_file).unwrap().unwrap().current_key_id().to_owned();
        assert_ne!(new_key, old_key);

        // The mail worker first: its pass reads the file before anything else has.
        let folder = dir.join("mail");
        let sender = "Console <no-reply@console.test>".parse().unwrap();
        let transport = mail::Transport::Folder(folder.clone());
        assert_eq!(mail::deliver_due(&serving, &transport, &sender, 10).await.unwrap(), 1);
        let delivered: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
        assert_eq!(delivered.len(), 1);
        assert_eq!(
            integrations::credentials(&serving, &admin, added).await.unwrap(),
            Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
        );
        assert_eq!(serving.secrets.seal("next", "c").key_id, new_key);

        // A host still holding the file as it was does not start (what was
        // re-sealed does not open there; with nothing sealed yet, the key
        // the rotation recorded stops it: app/tests/secrets.rs), and one
        // with the new file does.
        let behind =
            Domain { secrets: Arc::new(Secrets::fixed(copy_before)), ..app.domain.clone() };
        let refused = server::cli::refuse_unknown_keys(&behind, &key_file, &[]).await.unwrap_err();
        assert!(refused.contains(&format!("sealed with key {new_key}")), "{refused}");
        server::cli::refuse_unknown_keys(&serving, &key_file, &[]).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// A rotation records its new key before anything is sealed with it: a
/// host with a copy of the file from before it does not start, though
/// every secret it could meet would still open there, since it would seal
/// new ones with the key the others now replace.
#[test]
fn a_copy_of_the_key_file_from_before_a_rotation_does_not_start() {
    run(async {
        let app = TestApp::new().await;
        let dir = std::env::temp_dir().join(format!("console-rotate-copy-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        let d = Domain { secrets: Arc::new(Secrets::from_file(&key_file).unwrap()), ..app.domain };
        server::cli::refuse_unknown_keys(&d, &key_file, &[]).await.unwrap();
        let copy_before = Keyring::read(&key_file).unwrap().unwrap();
        let old_key = copy_before.current_key_id().to_owned();

        server::cli::rotate_secrets(&d, &words(&["secrets", "rotate", "--wait", "0"]), &key_file)
            .await
            .unwrap();
        let new_key = Keyring::read(&key_file).unwrap().unwrap().current_key_id().to_owned();
        // An email under a key no file holds, declared lost: a start refused
        // for its key file gives nothing up either.
        let lost = Secrets::fixed(Keyring::generate());
        let email = Email { to: "lost@example.com".into(), subject: "Hi".into(), body: "H".into() };
        mail::enqueue(&d.db, &lost, d.clock.now(), email).await.unwrap();
        let status = || async {
            use app::domain::entity::email_outbox as outbox;
            use sea_orm::EntityTrait;
            let rows = outbox::Entity::find().all(&d.db).await.unwrap();
            rows.into_iter().map(|row| row.status).collect::<Vec<_>>()
        };
        let declared = [lost.current_key_id()];
        let behind = Domain { secrets: Arc::new(Secrets::fixed(copy_before)), ..d.clone() };
        let refused = server::cli::refuse_unknown_keys(&behind, &key_file, &declared);
        let refused = refused.await.unwrap_err();
        assert!(
            refused.contains(&format!("seal with key {new_key}, and the current key"))
                && refused.contains(&format!("is {old_key}: a key the servers sealed with before")),
            "{refused}"
        );
        assert_eq!(status().await, [mail::PENDING], "a refused start gives nothing up");
        server::cli::refuse_unknown_keys(&d, &key_file, &declared).await.unwrap();
        assert_eq!(status().await, [mail::FAILED], "the start that goes on does");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// A secret sealed with the old key by a request that commits after the
/// new key is written (it sealed a moment before) is re-sealed too: the
/// rotation waits for such requests before its pass, so no row stays under
/// the key the operator means to retire.
#[test]
fn a_secret_sealed_with_the_old_key_and_committed_after_the_new_key_is_written_is_resealed() {
    use sea_orm::TransactionTrait;
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let dir = std::env::temp_dir().join(format!("console-rotate-late-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        let old_key = d.secrets.current_key_id();
        // A request seals an email's body with the current key and has not
        // committed when the rotation starts.
        let request = d.db.begin().await.unwrap();
        let email = Email { to: "bob@example.com".into(), subject: "Hi".into(), body: "Hi".into() };
        mail::enqueue(&request, &d.secrets, d.clock.now(), email).await.unwrap();

        let wait = std::time::Duration::from_secs(2);
        let started = std::time::Instant::now();
        let rotate_words = words(&["secrets", "rotate", "--wait", &wait.as_secs().to_string()]);
        let rotate = server::cli::rotate_secrets(d, &rotate_words, &key_file);
        let commit_late = async {
            // On SQLite the rotation writes the key file under the one write
            // lock, which this transaction holds: there it commits first.
            let waited = std::time::Instant::now();
            while !matches!(Keyring::read(&key_file), Ok(Some(_)))
                && waited.elapsed() < std::time::Duration::from_secs(1)
            {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            request.commit().await.unwrap();
        };
        let (said, ()) = tokio::join!(rotate, commit_late);
        assert!(said.unwrap().contains("sealed 1 secret"));
        // The pass came after the wait (on SQLite's one connection it would
        // otherwise wait for the commit and pass all the same).
        assert!(started.elapsed() >= wait);

        let new_key = Keyring::read(&key_file).unwrap().unwrap().current_key_id().to_owned();
        assert_ne!(new_key, old_key);
        let status = server::cli::rotate_secrets(d, &words(&["secrets", "status"]), &key_file)
            .await
            .unwrap();
        assert_eq!(status, format!("email_outbox\t{new_key}\t1"));
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// The default wait is the request timeout and a margin.
#[test]
fn rotation_waits_out_the_request_timeout_by_default() {
    let parsed = server::cli::parse(&words(&["secrets", "rotate"])).unwrap();
    let wait = server::cli::ROTATE_WAIT_SECONDS;
    assert!(wait > server::REQUEST_TIMEOUT.as_secs(), "{wait}");
    assert!(
        matches!(
            parsed,
            Some(server::cli::Command::Secrets(server::cli::SecretsCommand::Rotate { wait: w })) if w == wait
        ),
        "{parsed:?}"
    );
}

#[test]
fn mail_failed_lists_and_mail_retry_requeues() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let email =
            Email { to: "not an address".into(), subject: "Broken".into(), body: "x".into() };
        mail::enqueue(&d.db, &d.secrets, d.clock.now(), email).await.unwrap();
        let folder = std::env::temp_dir().join(format!("console-cli-mail-{}", std::process::id()));
        let sender = "Console <no-reply@console.test>".parse().unwrap();
        mail::deliver_due(d, &mail::Transport::Folder(folder), &sender, 10).await.unwrap();

        let mut stdin = Cursor::new("");
        let listed = server::cli::run(d, &words(&["mail", "failed"]), &mut stdin).await.unwrap();
        assert!(listed.contains("not an address") && listed.contains("bad recipient"), "{listed}");
        let retried =
            server::cli::run(d, &words(&["mail", "retry", "--all"]), &mut stdin).await.unwrap();
        assert_eq!(retried, "Queued 1 email(s) again.");
        let none = server::cli::run(d, &words(&["mail", "failed"]), &mut stdin).await.unwrap();
        assert_eq!(none, "No failed emails.");
        let before = Snapshot::take(d).await;
        assert!(
            server::cli::run(d, &words(&["mail", "retry"]), &mut stdin).await.is_err(),
            "needs --id or --all"
        );
        before.assert_unchanged(d).await;
    })
}

/// Retrying one email by id requeues it only if it failed: an email still
/// pending keeps its attempts and schedule, and one already sent is not
/// sent twice. Each answers "0 queued" and changes nothing.
#[test]
fn mail_retry_of_one_email_leaves_a_pending_or_sent_one_alone() {
    use app::domain::core::actor::Operator;
    use app::domain::entity::email_outbox as outbox;
    use app::domain::operator;
    use sea_orm::EntityTrait;
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let op = Operator::from_command_line();
        let enqueue = |to: &str| Email { to: to.into(), subject: "Hello".into(), body: "x".into() };
        mail::enqueue(&d.db, &d.secrets, d.clock.now(), enqueue("ada@example.com")).await.unwrap();
        mail::enqueue(&d.db, &d.secrets, d.clock.now(), enqueue("not an address")).await.unwrap();
        let folder = std::env::temp_dir().join(format!("console-retry-one-{}", std::process::id()));
        let sender = "Console <no-reply@console.test>".parse().unwrap();
        mail::deliver_due(d, &mail::Transport::Folder(folder.clone()), &sender, 10).await.unwrap();
        mail::enqueue(&d.db, &d.secrets, d.clock.now(), enqueue("bob@example.com")).await.unwrap();
        let rows = outbox::Entity::find().all(&d.db).await.unwrap();
        let id_of = |to: &str| rows.iter().find(|r| r.to_address == to).unwrap().id;
        let status_of = |to: &str| rows.iter().find(|r| r.to_address == to).unwrap().status.clone();
        let (sent, pending, failed) =
            (id_of("ada@example.com"), id_of("bob@example.com"), id_of("not an address"));
        assert_eq!(
            [
                status_of("ada@example.com"),
                status_of("bob@example.com"),
                status_of("not an address")
            ],
            [mail::SENT, mail::PENDING, mail::FAILED]
        );

        let before = Snapshot::take(d).await;
        for id in [sent, pending] {
            assert_eq!(operator::retry_mail(d, &op, Some(id)).await, Ok(0), "email {id}");
            // The command fails (exit 1), so a script tells a typo from done.
            let mut stdin = Cursor::new("");
            let id_text = id.to_string();
            let args = words(&["mail", "retry", "--id", &id_text]);
            let said = server::cli::run(d, &args, &mut stdin).await.unwrap_err();
            assert!(said.contains(&format!("Email {id} was not queued again")), "{said}");
        }
        before.assert_unchanged(d).await;
        // The failed one, by its id, is queued again.
        assert_eq!(operator::retry_mail(d, &op, Some(failed)).await, Ok(1));
        let _ = std::fs::remove_dir_all(&folder);
    })
}

#[test]
fn account_plan_moves_an_account_between_demo_and_full() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let admin = account_with_admin(d, "Acme", "ada@example.com").await;
        let mut stdin = Cursor::new(String::new());
        let plan =
            |p: &str| words(&["account", "plan", "--account-of", "ada@example.com", "--plan", p]);
        let said = server::cli::run(d, &plan("full"), &mut stdin).await.unwrap();
        assert!(said.contains("was on the demo plan and is now on the full plan"), "{said}");
        let current = app::domain::core::limits::plan(&d.db, admin.account_id()).await.unwrap();
        assert_eq!(current, app::domain::core::limits::Plan::Full);

        let before = Snapshot::take(d).await;
        let refused = server::cli::run(d, &plan("gold"), &mut stdin).await.unwrap_err();
        assert!(refused.contains("invalid value 'gold' for '--plan <demo|full>'"), "{refused}");
        let unknown =
            words(&["account", "plan", "--account-of", "nobody@example.com", "--plan", "demo"]);
        let refused = server::cli::run(d, &unknown, &mut stdin).await.unwrap_err();
        assert!(refused.contains("No user has the email address"), "{refused}");
        // The plan it is on already: said so, nothing written or logged.
        let said = server::cli::run(d, &plan("full"), &mut stdin).await.unwrap();
        assert_eq!(
            said,
            "The account of ada@example.com is on the full plan already; nothing was changed."
        );
        before.assert_unchanged(d).await;
    })
}

/// `account enable-stripe` enables Stripe once; again, it says nothing
/// changed and logs nothing.
#[test]
fn enable_stripe_says_whether_it_changed_anything() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        account_with_admin(d, "Acme", "ada@example.com").await;
        let mut stdin = Cursor::new(String::new());
        let enable = words(&["account", "enable-stripe", "--account-of", "ada@example.com"]);
        let said = server::cli::run(d, &enable, &mut stdin).await.unwrap();
        assert_eq!(said, "Stripe is enabled for the account of ada@example.com.");
        let before = Snapshot::take(d).await;
        let said = server::cli::run(d, &enable, &mut stdin).await.unwrap();
        assert_eq!(
            said,
            "Stripe is enabled for the account of ada@example.com already; nothing was changed."
        );
        before.assert_unchanged(d).await;
    })
}

#[test]
fn a_backup_taken_while_writes_go_on_restores_every_row() {
    run(async {
        use app::domain::core::db::connect_and_migrate;
        use app::domain::testing::{add_user, fresh_concurrent_domain};
        if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
            // PostgreSQL is refused with the pointer to pg_dump.
            let app = TestApp::new().await;
            let said = server::cli::run(
                &app.domain,
                &words(&["backup", "--to", "/tmp/never.db"]),
                &mut Cursor::new(""),
            )
            .await
            .unwrap_err();
            assert!(said.contains("pg_dump"), "{said}");
            return;
        }
        let (d, _) = fresh_concurrent_domain().await;
        let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
        let dir = std::env::temp_dir().join(format!("console-backup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();

        // Users keep arriving while the copy is taken.
        let writer = {
            let d = d.clone();
            tokio::spawn(async move {
                for n in 0..200 {
                    add_user(&d, ada.account_id(), &format!("user{n}@example.com"), false).await;
                }
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        use app::domain::entity::user;
        use sea_orm::{EntityTrait, PaginatorTrait};
        let committed = user::Entity::find().count(&d.db).await.unwrap();
        let during = dir.join("during.db");
        let to = during.to_str().unwrap();
        let said = server::cli::run(&d, &words(&["backup", "--to", to]), &mut Cursor::new(""))
            .await
            .unwrap();
        assert!(said.starts_with(&format!("Backed up the database to {to}")), "{said}");
        writer.await.unwrap();
        let copy = connect_and_migrate(&format!("sqlite://{to}?mode=rw")).await.unwrap();
        use sea_orm::{ConnectionTrait, Statement};
        let check = copy
            .query_one_raw(Statement::from_string(
                copy.get_database_backend(),
                "PRAGMA integrity_check",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
        let copied = user::Entity::find().count(&copy).await.unwrap();
        assert!(copied >= committed, "{copied} users copied, {committed} were committed before");

        // Restored, every row is there.
        let after = dir.join("after.db");
        let after = after.to_str().unwrap();
        server::cli::run(&d, &words(&["backup", "--to", after]), &mut Cursor::new(""))
            .await
            .unwrap();
        let everything = Snapshot::take(&d).await;
        let (restored, _) =
            app::domain::testing::domain_on(&format!("sqlite://{after}?mode=rw")).await;
        everything.assert_unchanged(&restored).await;

        // A second copy never overwrites a file.
        let kept = std::fs::read(after).unwrap();
        let again = server::cli::run(&d, &words(&["backup", "--to", after]), &mut Cursor::new(""))
            .await
            .unwrap_err();
        assert!(again.contains("already exists"), "{again}");
        assert!(std::fs::read(after).unwrap() == kept, "the first copy is as it was");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// A fresh data directory holding the key file of `d`, as the servers'
/// host has it: the directory and the file.
fn servers_key_file(d: &Domain, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("console-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("secret-keys");
    d.secrets.keyring().save(&key_file).unwrap();
    (dir, key_file)
}

/// `account merge` as an operator runs it: the server binary on the
/// database of a running console, with its key file.
#[test]
fn account_merge_on_the_command_line_merges_once_and_then_refuses() {
    run(async {
        use app::domain::testing::{domain_on, fresh_shared_database_url};
        use std::process::Command;
        let url = fresh_shared_database_url().await;
        let (d, _) = domain_on(&url).await;
        let (dir, key_file) = servers_key_file(&d, "merge");
        let grace = account_with_admin(&d, "Globex", "grace@globex.com").await;
        let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
        let added = s3_integration(&d, &ada, "Recordings").await;
        for owner in [&grace, &ada] {
            let library = app::domain::features::js_libraries::LibraryForm {
                name: "Helpers".into(),
                description: String::new(),
                code: "1".into(),
            };
            app::domain::features::js_libraries::add(&d, owner, library).await.unwrap();
        }
        let server = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_server"))
                .args(args)
                .env("DATA_DIR", &dir)
                .env("DATABASE_URL", &url)
                .env("SECRET_KEYS_FILE", &key_file)
                .env("RUST_LOG", "info")
                .env("LOG_FORMAT", "text")
                .output()
                .expect("run the server binary")
        };
        let merge = ["account", "merge", "--from", "ada@globex.eu", "--into", "grace@globex.com"];

        let done = server(&merge);
        let said = String::from_utf8_lossy(&done.stdout);
        assert_eq!(done.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&done.stderr));
        let (from, into) = (ada.account_id(), grace.account_id());
        assert!(
            said.contains(&format!("Merged account {from} into account {into} and removed it.")),
            "{said}"
        );
        assert!(said.contains("1 integrations") && said.contains("1 users"), "{said}");
        assert!(said.contains("No longer admins: ada@globex.eu."), "{said}");
        let renamed = "\"Helpers\" is now \"Helpers (from Globex Europe)\"";
        assert!(said.contains(renamed), "{said}");
        // The log line goes to stderr, leaving the answer alone on stdout.
        let logged = String::from_utf8_lossy(&done.stderr);
        assert!(logged.contains("operator merged two accounts"), "logged: {logged}");
        assert!(!said.contains("operator merged two accounts"), "{said}");
        // The credentials came along, re-sealed by the command's process.
        assert_eq!(
            integrations::credentials(&d, &grace.admin().unwrap(), added).await.unwrap(),
            Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
        );

        // Run again, both are users of one account: refused, nothing changes.
        let before = Snapshot::take(&d).await;
        let again = server(&merge);
        let err = String::from_utf8_lossy(&again.stderr);
        assert_eq!(again.status.code(), Some(1), "{err}");
        assert!(err.contains("are users of the same account"), "{err}");
        let unknown =
            words(&["account", "merge", "--from", "x@nowhere.com", "--into", "grace@globex.com"]);
        let said = server::cli::run(&d, &unknown, &mut Cursor::new("")).await.unwrap_err();
        assert_eq!(said, "--from: No user has the email address x@nowhere.com.");
        before.assert_unchanged(&d).await;
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// An operator command acts with the servers' recorded settings, not its
/// shell's: `account merge` run without `LIMITS` carries a per-account
/// count that the recorded week-long window still holds and the default
/// day-long one would have dropped.
#[test]
fn a_command_acts_with_the_servers_recorded_limits_not_its_shells() {
    run(async {
        use app::domain::core::actor::Operator;
        use app::domain::core::quota::QuotaPolicy;
        use app::domain::entity::quota_counter;
        use app::domain::testing::{domain_on, fresh_shared_database_url};
        use sea_orm::{EntityTrait, Set};
        let url = fresh_shared_database_url().await;
        let (mut d, _) = domain_on(&url).await;
        let (dir, key_file) = servers_key_file(&d, "recorded");
        let grace = account_with_admin(&d, "Globex", "grace@globex.com").await;
        let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
        d.quotas = QuotaPolicy::default().with_overrides("invitation.account=100/10080").unwrap();
        let op = Operator::from_command_line();
        app::domain::operator::adopt_settings(&d, &op).await.unwrap();
        // Seven invitations from Ada's account two days ago (the binary's
        // clock is the real one).
        let key = |account: i32| format!("invitation:account:{account}");
        quota_counter::Entity::insert(quota_counter::ActiveModel {
            key: Set(key(ada.account_id())),
            count: Set(7),
            window_started_at: Set(chrono::Utc::now() - chrono::Duration::days(2)),
        })
        .exec(&d.db)
        .await
        .unwrap();

        let done = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["account", "merge", "--from", "ada@globex.eu", "--into", "grace@globex.com"])
            .env("DATA_DIR", &dir)
            .env("DATABASE_URL", &url)
            .env("SECRET_KEYS_FILE", &key_file)
            .env("RUST_LOG", "warn")
            .env_remove("LIMITS")
            .output()
            .expect("run the server binary");
        let said = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(0), "{said}");
        let carried = quota_counter::Entity::find_by_id(key(grace.account_id())).one(&d.db).await;
        assert_eq!(carried.unwrap().map(|c| c.count), Some(7), "carried by the recorded window");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// `SECRET_KEYS_LOST` gives up only the keys the key file lacks, and only
/// once the start goes on: a key declared lost and found again (back in
/// the file) keeps its emails, and a start refused for a key still missing
/// fails none.
#[test]
fn only_keys_still_lost_are_given_up_and_only_by_a_start_that_goes_on() {
    use app::domain::entity::email_outbox as outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    run(async {
        let app = TestApp::new().await;
        let dir = std::env::temp_dir().join(format!("console-lost-keys-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);
        let d = Domain { secrets: Arc::new(Secrets::from_file(&key_file).unwrap()), ..app.domain };
        server::cli::refuse_unknown_keys(&d, &key_file, &[]).await.unwrap();
        let found_again = d.secrets.current_key_id();
        let (lost, missing) =
            (Secrets::fixed(Keyring::generate()), Secrets::fixed(Keyring::generate()));
        let email = |to: &str| Email { to: to.into(), subject: "Hi".into(), body: "Hello".into() };
        let now = d.clock.now();
        mail::enqueue(&d.db, &d.secrets, now, email("kept@example.com")).await.unwrap();
        mail::enqueue(&d.db, &lost, now, email("lost@example.com")).await.unwrap();
        mail::enqueue(&d.db, &missing, now, email("missing@example.com")).await.unwrap();
        let statuses = || async {
            let all = outbox::Entity::find().order_by_asc(outbox::Column::ToAddress).all(&d.db);
            let all = all.await.unwrap();
            all.into_iter().map(|e| (e.to_address, e.status)).collect::<Vec<_>>()
        };
        let pending = |to: &str| (to.to_owned(), mail::PENDING.to_owned());

        let declared = [lost.current_key_id(), found_again];
        let refused = server::cli::refuse_unknown_keys(&d, &key_file, &declared).await;
        let refused = refused.unwrap_err();
        assert!(refused.contains(&missing.current_key_id()), "{refused}");
        let all_pending = [
            pending("kept@example.com"),
            pending("lost@example.com"),
            pending("missing@example.com"),
        ];
        assert_eq!(statuses().await, all_pending, "a refused start gives nothing up");

        let gone = outbox::Entity::delete_many()
            .filter(outbox::Column::ToAddress.eq("missing@example.com"));
        gone.exec(&d.db).await.unwrap();
        server::cli::refuse_unknown_keys(&d, &key_file, &declared).await.unwrap();
        let failed = ("lost@example.com".to_owned(), mail::FAILED.to_owned());
        assert_eq!(statuses().await, [pending("kept@example.com"), failed]);
        std::fs::remove_dir_all(&dir).unwrap();
    })
}

/// `promote` says what it did: made an admin, enabled a disabled user too,
/// or nothing at all for an enabled admin (no event either).
#[test]
fn promote_says_whether_it_changed_anything() {
    use app::domain::admin::users;
    use app::domain::testing::add_user;
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let ada = account_with_admin(d, "Acme", "ada@example.com").await;
        add_user(d, ada.account_id(), "bob@example.com", false).await;
        let cy = add_user(d, ada.account_id(), "cy@example.com", false).await;
        users::disable(d, &ada.admin().unwrap(), cy.user_id()).await.unwrap();
        let mut stdin = Cursor::new(String::new());
        let promote = |email: &str| words(&["promote", "--email", email]);
        let account = ada.account_id();

        let said = server::cli::run(d, &promote("bob@example.com"), &mut stdin).await.unwrap();
        assert_eq!(said, format!("bob@example.com is now an admin of account {account}."));
        let said = server::cli::run(d, &promote("cy@example.com"), &mut stdin).await.unwrap();
        assert!(said.contains("An admin had disabled them: they are enabled again"), "{said}");
        assert!(said.starts_with("cy@example.com is now an admin of account"), "{said}");
        // A disabled admin is enabled, not promoted: said so.
        users::disable(d, &ada.admin().unwrap(), cy.user_id()).await.unwrap();
        let said = server::cli::run(d, &promote("cy@example.com"), &mut stdin).await.unwrap();
        assert!(
            said.starts_with(&format!("cy@example.com was an admin of account {account} already. An admin had disabled them")),
            "{said}"
        );

        let before = Snapshot::take(d).await;
        let said = server::cli::run(d, &promote("bob@example.com"), &mut stdin).await.unwrap();
        assert_eq!(
            said,
            format!(
                "bob@example.com is an admin of account {account} already; nothing was changed."
            )
        );
        // Not a row written, not an event recorded.
        before.assert_unchanged(d).await;
    })
}

/// `user add` names each refused field by the flag it came from, changes
/// nothing and fails; the account's user is named as stored.
#[test]
fn user_add_names_a_refused_field_by_its_flag() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        account_with_admin(d, "Acme", "ada@example.com").await;
        let before = Snapshot::take(d).await;
        let add = |account_of: &str, email: &str| {
            words(&[
                "user",
                "add",
                "--account-of",
                account_of,
                "--email",
                email,
                "--first-name",
                "Bob",
                "--last-name",
                "Builder",
                "--password-stdin",
            ])
        };
        let mut stdin = Cursor::new("12345678\n");
        let said = server::cli::run(d, &add("ada@example.com", "not an address"), &mut stdin)
            .await
            .unwrap_err();
        assert!(said.contains("--email: ") && said.contains("--password-stdin: "), "{said}");
        let mut stdin = Cursor::new("Maple-Canyon-Drift-19\n");
        let said = server::cli::run(d, &add(" Nobody@Example.com ", "bob@example.com"), &mut stdin)
            .await
            .unwrap_err();
        assert_eq!(said, "No user has the email address nobody@example.com.");
        before.assert_unchanged(d).await;
    })
}

/// `user reset-2fa` turns a user's 2FA off and says so; for a user without
/// it, or an address nobody has, it fails and changes nothing.
#[test]
fn reset_2fa_says_what_it_did_and_fails_when_there_is_nothing_to_reset() {
    use app::domain::testing::mark_two_factor_on;
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let ada = account_with_admin(d, "Acme", "ada@example.com").await;
        let mut stdin = Cursor::new(String::new());
        let reset = |email: &str| words(&["user", "reset-2fa", "--email", email]);

        let before = Snapshot::take(d).await;
        let said = server::cli::run(d, &reset("ada@example.com"), &mut stdin).await.unwrap_err();
        assert_eq!(
            said,
            "ada@example.com does not have two-factor authentication on; nothing was changed \
             and no email was sent."
        );
        let said = server::cli::run(d, &reset("nobody@example.com"), &mut stdin).await.unwrap_err();
        assert_eq!(said, "No user has the email address nobody@example.com.");
        before.assert_unchanged(d).await;

        mark_two_factor_on(d, ada.user_id()).await;
        let said = server::cli::run(d, &reset(" ADA@Example.com "), &mut stdin).await.unwrap();
        assert_eq!(
            said,
            "Two-factor authentication of ada@example.com is off; they were emailed about it."
        );
        let stored = app::domain::entity::user::Entity::find_by_id(ada.user_id());
        use sea_orm::EntityTrait;
        assert!(!stored.one(&d.db).await.unwrap().unwrap().two_factor_enabled);
    })
}
