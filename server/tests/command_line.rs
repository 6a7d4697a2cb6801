//! The command line as an operator meets it: help for every command, and a
//! usage error is exit status 2 that says what is wrong, before any database
//! is opened.
use std::process::{Command, Output};

fn server(args: &[&str]) -> Output {
    let scratch = std::env::temp_dir().join(format!("console-cli-{}", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATA_DIR", &scratch)
        .env("DATABASE_URL", "")
        .output()
        .expect("run the server binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_command_and_each_command_has_its_own() {
    let help = server(&["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", stderr(&help));
    for command in ["serve", "user", "promote", "account", "mail", "secrets", "settings", "backup"]
    {
        assert!(stdout(&help).contains(command), "{command} in:\n{}", stdout(&help));
    }
    for (args, expected) in [
        (&["user", "add", "--help"][..], "--password-stdin"),
        (&["user", "reset-2fa", "--help"][..], "--email <EMAIL>"),
        (&["account", "plan", "--help"][..], "--plan <demo|full>"),
        (&["account", "merge", "--help"][..], "--into <EMAIL>"),
        (&["account", "merge", "--help"][..], "admins of the merged account"),
        (&["mail", "retry", "--help"][..], "--all"),
        (&["secrets", "--help"][..], "rotate"),
        (&["settings", "adopt", "--help"][..], "--yes"),
        (&["backup", "--help"][..], "--to <FILE>"),
    ] {
        let output = server(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        assert!(stdout(&output).contains(expected), "{args:?}:\n{}", stdout(&output));
    }
}

#[test]
fn a_usage_error_exits_2_and_says_what_is_wrong() {
    for (args, says) in [
        (&["launch"][..], "unrecognized subcommand 'launch'"),
        (&["promote"][..], "--email <EMAIL>"),
        (&["mail", "retry"][..], "--id <ID>"),
        (&["mail", "retry", "--id", "x"][..], "invalid value 'x' for '--id <ID>'"),
        (&["user", "add", "--account-of", "a@example.com"][..], "--email <EMAIL>"),
        (&["account", "merge", "--from", "a@example.com"][..], "--into <EMAIL>"),
    ] {
        let output = server(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(says), "{args:?}:\n{}", stderr(&output));
    }
    let scratch = std::env::temp_dir().join(format!("console-cli-{}", std::process::id()));
    assert!(!scratch.exists(), "nothing was created before the usage was checked");
}

/// The database, a backup, the key file and the data directory are the
/// server's user's alone (the umask covers the mail folder the same way):
/// they hold password hashes and live links, and a backup taken on a shared
/// host was readable by every local user.
#[test]
fn what_the_server_writes_is_for_its_own_user_alone() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = std::env::temp_dir().join(format!("console-umask-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let backup = scratch.join("copy.db");
    // A server's first start makes the database; the backup is taken while
    // it serves. `backup` copies whatever is there, so the wait is on a
    // command refused until the start has applied every migration: a backup
    // taken before them, with the server then stopped mid-start, left the
    // later commands a database without tables.
    let mut serving = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("DATA_DIR", &scratch)
        .env("DATABASE_URL", "")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server binary");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let started = loop {
        let looked = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["mail", "failed"])
            .env("DATA_DIR", &scratch)
            .env("DATABASE_URL", "")
            .output()
            .expect("run the server binary");
        if looked.status.success() || std::time::Instant::now() > deadline {
            break looked;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !started.status.success() {
        let _ = serving.kill();
        let _ = serving.wait();
    }
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    let done = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["backup", "--to", backup.to_str().unwrap()])
        .env("DATA_DIR", &scratch)
        .env("DATABASE_URL", "")
        .output()
        .expect("run the server binary");
    let _ = serving.kill();
    let _ = serving.wait();
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    for path in [scratch.join("console.db"), backup, scratch.join("secret-keys")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
    }
    let mode = std::fs::metadata(&scratch).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is {mode:o}");

    // A command pointed at a key file that is not there is refused rather
    // than given a fresh key, which would seal what it queues (an
    // invitation, a notice) with a key no server holds.
    let elsewhere = scratch.join("no-such-keys");
    let command = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATA_DIR", &scratch)
            .env("DATABASE_URL", "")
            .env("SECRET_KEYS_FILE", &elsewhere)
            .output()
            .expect("run the server binary")
    };
    let refused = command(&["mail", "failed"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("no-such-keys does not exist"), "{}", stderr(&refused));
    assert!(!elsewhere.exists());
    // The two that seal nothing run without it, to help whoever lost it:
    // a backup, and which keys sealed what is stored (the first start's
    // own key sealed nothing yet), each saying the file is not there.
    let status = command(&["secrets", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    assert!(stdout(&status).starts_with("No key file at "), "{}", stdout(&status));
    let copy = scratch.join("without-keys.db");
    let backed_up = command(&["backup", "--to", copy.to_str().unwrap()]);
    assert_eq!(backed_up.status.code(), Some(0), "{}", stderr(&backed_up));
    assert!(stdout(&backed_up).contains("There is no key file at "), "{}", stdout(&backed_up));
    assert!(copy.exists() && !elsewhere.exists());

    // On a database older than this build (or one a first start is still
    // making), `secrets status`, which reads every sealed column, says why
    // it cannot, not "something went wrong" over a missing table; a backup
    // still copies it as it is.
    let url = format!("sqlite://{}?mode=rw", scratch.join("console.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sea_orm::ConnectionTrait;
        // Migrations are named by date, so the greatest is the last.
        let delete = "DELETE FROM seaql_migrations \
                      WHERE version = (SELECT max(version) FROM seaql_migrations)";
        let conn = sea_orm::Database::connect(&url).await.unwrap();
        assert_eq!(conn.execute_unprepared(delete).await.unwrap().rows_affected(), 1);
        conn.close().await.unwrap();
    });
    let status = command(&["secrets", "status"]);
    assert_eq!(status.status.code(), Some(1), "{}", stdout(&status));
    assert!(
        stderr(&status).contains("the database is older than this build"),
        "{}",
        stderr(&status)
    );
    assert!(stderr(&status).contains("once /readyz answers 200"), "{}", stderr(&status));
    let older = scratch.join("older.db");
    let backed_up = command(&["backup", "--to", older.to_str().unwrap()]);
    assert_eq!(backed_up.status.code(), Some(0), "{}", stderr(&backed_up));
    assert!(older.exists());
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// An operator command pointed at a data directory with no database (a
/// mistyped DATA_DIR) is refused, creating nothing: it made and migrated an
/// empty database and a key file there, then reported a backup of it done.
#[test]
fn an_operator_command_without_a_database_is_refused_and_creates_nothing() {
    let scratch = std::env::temp_dir().join(format!("console-typo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let backup = std::env::temp_dir().join(format!("console-typo-{}.db", std::process::id()));
    for args in [vec!["backup", "--to", backup.to_str().unwrap()], vec!["secrets", "status"]] {
        let done = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(&args)
            .env("DATA_DIR", &scratch)
            .env("DATABASE_URL", "")
            .output()
            .expect("run the server binary");
        assert_eq!(done.status.code(), Some(1), "{args:?}");
        let said = stderr(&done);
        assert!(said.contains("no database at ") && said.contains("is DATA_DIR"), "{said}");
        assert!(!scratch.exists(), "{args:?} created {}", scratch.display());
        assert!(!backup.exists());
    }
}

/// Settings that cannot be meant stop the start, saying which: mail went
/// out another way than asked (STARTTLS on 587 for a typo), a folder that
/// cannot exist failed only at each delivery, a proxy or session setting
/// that did not parse fell back without a word, an SMTP user without its
/// password sent unauthenticated, a Stripe client id without its secret
/// turned its mode off, a token URL the exchange refuses failed each
/// connection only after the user's consent at Stripe, and mail sent out
/// with links nobody else can open.
#[test]
fn settings_that_cannot_be_meant_stop_the_start() {
    let scratch = std::env::temp_dir().join(format!("console-mailcfg-{}", std::process::id()));
    let smtp = ("SMTP_HOST", "mail.example.com");
    let cases: [(&[(&str, &str)], &str); 14] = [
        (&[("SMTP_HOST", "mail.example.com"), ("SMTP_SECURITY", "ssl")], "SMTP_SECURITY must be"),
        (&[("SMTP_HOST", "mail.example.com"), ("SMTP_PORT", "smtp")], "SMTP_PORT must be a port"),
        (&[("MAIL_DIR", "/etc/passwd/mail")], "MAIL_DIR /etc/passwd/mail"),
        // Dropped, the proxy's address became every client's.
        (&[("TRUSTED_PROXIES", "10.0.0.2:8080")], "\"10.0.0.2:8080\" is not an IP address"),
        // Negative, every session ended at once; not a number, the default.
        (&[("SESSION_IDLE_MINUTES", "-5")], "SESSION_IDLE_MINUTES must be 1 to 525600"),
        (&[("SESSION_LIFETIME_HOURS", "30d")], "SESSION_LIFETIME_HOURS must be 1 to 8760"),
        (&[smtp, ("SMTP_USERNAME", "console")], "SMTP_USERNAME and SMTP_PASSWORD go together"),
        // Sent out, links to the listening address and a sender at localhost.
        (&[smtp], "SMTP_HOST sends the emails out, so set PUBLIC_URL and MAIL_FROM too"),
        (
            &[smtp, ("PUBLIC_URL", "https://console.example.com")],
            "so set MAIL_FROM too: otherwise their sender would be no-reply@localhost",
        ),
        (
            &[("STRIPE_CLIENT_ID_LIVE", "ca_live")],
            "STRIPE_CLIENT_ID_LIVE and STRIPE_SECRET_KEY_LIVE go together",
        ),
        (&[("STRIPE_TOKEN_URL", "http://stripe.example/token")], "STRIPE_TOKEN_URL"),
        (
            &[("STRIPE_DEAUTHORIZE_URL", "http://stripe.example/deauthorize")],
            "STRIPE_DEAUTHORIZE_URL",
        ),
        // The browser would carry the flow's state over plain HTTP.
        (
            &[("STRIPE_AUTHORIZE_URL", "http://connect.stripe.example/oauth/authorize")],
            "STRIPE_AUTHORIZE_URL \"http://connect.stripe.example/oauth/authorize\": plain http",
        ),
        (
            &[("STRIPE_AUTHORIZE_URL", "https://connect.stripe.example/authorize?x=1")],
            "STRIPE_AUTHORIZE_URL \"https://connect.stripe.example/authorize?x=1\": no query",
        ),
    ];
    for (settings, expected) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .arg("serve")
            .env("DATA_DIR", &scratch)
            .env("DATABASE_URL", "")
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0");
        for (name, value) in settings {
            command.env(name, value);
        }
        let done = command.output().expect("run the server binary");
        assert_eq!(done.status.code(), Some(1), "{settings:?}");
        assert!(stderr(&done).contains(expected), "{settings:?}: {}", stderr(&done));
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
