//! Operator subcommands, run in process as the binary runs them.
mod support;

use std::io::Cursor;
use std::sync::Arc;

use app::domain::core::mail::{self, Email};
use app::domain::core::secrets::Keyring;
use app::domain::core::Domain;
use app::domain::features::integrations::{self, Credentials, NewIntegration};
use app::domain::testing::samples::{AWS_KEY, AWS_SECRET};
use app::domain::testing::{account_with_admin, Snapshot};
use support::{run, TestApp};

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn secrets_rotate_writes_a_new_key_and_reseals_every_integration() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let admin = account_with_admin(d, "Acme", "ada@example.com").await.admin().unwrap();
        let input = NewIntegration {
            service: "s3".into(),
            name: "Recordings".into(),
            key: AWS_KEY.into(),
            secret: AWS_SECRET.into(),
            ..Default::default()
        };
        let added = integrations::add(d, &admin, input).await.unwrap();
        let dir = std::env::temp_dir().join(format!("console-rotate-{}", std::process::id()));
        let key_file = dir.join("secret-keys");
        let _ = std::fs::remove_dir_all(&dir);

        let said = server::cli::rotate_secrets(d, &words(&["secrets", "rotate"]), &key_file)
            .await
            .unwrap();
        assert!(said.contains("sealed 1 secret"), "{said}");
        // The secret was re-sealed: the new key alone opens it (the old one
        // could now leave the key file), and the status names only the new key.
        let new_keys = Keyring::load_or_create(&key_file).unwrap();
        let restarted = Domain { secrets: Arc::new(new_keys.current_only()), ..d.clone() };
        assert_eq!(
            integrations::credentials(&restarted, &admin, added.id).await.unwrap(),
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

#[test]
fn mail_failed_lists_and_mail_retry_requeues() {
    run(async {
        let app = TestApp::new().await;
        let d = &app.domain;
        let email =
            Email { to: "not an address".into(), subject: "Broken".into(), body: "x".into() };
        mail::enqueue(&d.db, d.clock.now(), email).await.unwrap();
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
        assert!(refused.contains("--plan must be demo or full"), "{refused}");
        let unknown =
            words(&["account", "plan", "--account-of", "nobody@example.com", "--plan", "demo"]);
        let refused = server::cli::run(d, &unknown, &mut stdin).await.unwrap_err();
        assert!(refused.contains("No user has the email address"), "{refused}");
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
        let again = server::cli::run(&d, &words(&["backup", "--to", after]), &mut Cursor::new(""))
            .await
            .unwrap_err();
        assert!(again.contains("already exists"), "{again}");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}
