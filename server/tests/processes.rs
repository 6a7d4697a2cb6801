//! Two server processes on one database, as behind a load balancer: a
//! session made by one is valid on the other, throttles and limits count
//! across both, and every email is delivered exactly once. On PostgreSQL
//! when `DATABASE_URL` names a server (the CI run), else on a SQLite file.
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use app::domain::testing::{fresh_shared_database_url, PASSWORD};
use sea_orm::EntityTrait;
use support::process::{free_port, post, refused_start, set_cookie, smtp, start_server};
use tokio::sync::mpsc;

fn sign_up_form(email: &str) -> String {
    format!(
        "company_name=Acme&first_name=Grace&last_name=Hopper&email={}&password={PASSWORD}",
        email.replace('@', "%40")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_sessions_limits_and_the_outbox() {
    let database_url = fresh_shared_database_url().await;
    let data_dir = std::env::temp_dir().join(format!("console-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    let (arrived, _keep) = mpsc::unbounded_channel();
    let (smtp_port, accepted) = smtp(Duration::ZERO, arrived).await;
    let limits = [("LIMITS", "sign_up.client=100/60,password_reset.recipient=2/60")];
    // One after the other: the first creates the secret key file both read.
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = start_server(&data_dir, &database_url, port_a, smtp_port, &limits).await;
    let mut b = start_server(&data_dir, &database_url, port_b, smtp_port, &limits).await;
    let a_addr: SocketAddr = ([127, 0, 0, 1], port_a).into();
    let b_addr: SocketAddr = ([127, 0, 0, 1], port_b).into();

    // Sign-ups alternate between the processes; each queues one email.
    let emails: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    let mut sessions = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        let addr = if i % 2 == 0 { a_addr } else { b_addr };
        let (status, response) = post(addr, "/fn/sign_up", &sign_up_form(email), None).await;
        assert_eq!(status, 200, "{response}");
        sessions.push(set_cookie(&response, "console_session").expect("a session"));
    }

    // A session made by A is valid on B, and the other way round.
    for (i, session) in sessions.iter().take(2).enumerate() {
        let other = if i % 2 == 0 { b_addr } else { a_addr };
        let cookie = format!("console_session={session}");
        let (status, me) = post(other, "/fn/signed_in_user", "", Some(&cookie)).await;
        assert_eq!(status, 200, "{me}");
        assert!(me.contains(&emails[i]), "{me}");
    }

    // Wrong passwords for one email, alternating: the slow-down after three
    // counts the guesses made on both processes.
    let guess = format!("email={}&password=Wrong-Guess-Copper-31", emails[0].replace('@', "%40"));
    for addr in [a_addr, b_addr, a_addr] {
        assert_eq!(post(addr, "/fn/log_in", &guess, None).await.0, 422);
    }
    // The wait after the third is 2 s from when it was counted, before its
    // hash: on a loaded machine the fourth may come after it, and the fifth
    // then waits 4 s. B alone has seen one guess, and two more would not
    // slow it, so a refusal within two shows the count is shared.
    let mut slowed = String::new();
    for _ in 0..2 {
        let (status, answer) = post(b_addr, "/fn/log_in", &guess, None).await;
        slowed = answer;
        if status == 429 {
            break;
        }
        assert_eq!(status, 422, "{slowed}");
    }
    assert!(
        slowed.contains("Too many failed log-ins"),
        "the fourth guess, on B, is slowed by A's and B's: {slowed}"
    );

    // Two password-reset emails per address an hour, whichever process asks.
    // Each awaits the one before's delivery: a newer link withdraws an
    // email still waiting with the older one.
    let reset = format!("email={}", emails[1].replace('@', "%40"));
    for (n, addr) in [a_addr, b_addr, a_addr].into_iter().enumerate() {
        post(addr, "/fn/request_password_reset", &reset, None).await;
        if n < 2 {
            for _ in 0..200 {
                if accepted.to(&emails[1]) >= 2 + n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(accepted.to(&emails[1]), 2 + n, "reset {n} was delivered");
        }
    }

    // Both workers poll the one outbox: every email arrives once.
    let expected = emails.len() + 2;
    for _ in 0..200 {
        if accepted.total() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // a further poll of each worker
    let counts = accepted.counts();
    assert_eq!(accepted.total(), expected, "{counts:?}");
    for (i, email) in emails.iter().enumerate() {
        let once = if i == 1 { 3 } else { 1 }; // verification, and two resets for user1
        assert_eq!(accepted.to(email), once, "{email}: {counts:?}");
    }

    for child in [&mut a, &mut b] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A host given a data directory of its own makes a key file of its own at
/// its first start. Beside a server already on the database it would seal
/// secrets that server cannot open, and the other way round: it does not
/// start, says which key the servers use, and records nothing, so with
/// their key file copied in it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_a_key_file_of_its_own_does_not_start() {
    let database_url = fresh_shared_database_url().await;
    let dir = |name: &str| {
        let dir = std::env::temp_dir().join(format!("console-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let (first_dir, second_dir) = (dir("first-host"), dir("second-host"));
    let no_smtp = free_port();
    let mut first = start_server(&first_dir, &database_url, free_port(), no_smtp, &[]).await;
    let servers_key = std::fs::read_to_string(first_dir.join("secret-keys")).unwrap();
    let servers_key_id = servers_key.split(':').next().unwrap().to_owned();

    let said = refused_start(&second_dir, &database_url, free_port(), no_smtp, &[]).await;
    let own_key = std::fs::read_to_string(second_dir.join("secret-keys")).unwrap();
    let own_key_id = own_key.split(':').next().unwrap();
    assert_ne!(own_key_id, servers_key_id);
    assert!(
        said.contains(&format!("seal with key {servers_key_id}"))
            && said.contains(&format!("is {own_key_id}: a key of its own")),
        "{said}"
    );

    std::fs::copy(first_dir.join("secret-keys"), second_dir.join("secret-keys")).unwrap();
    let mut second = start_server(&second_dir, &database_url, free_port(), no_smtp, &[]).await;
    for child in [&mut first, &mut second] {
        let _ = child.kill();
        let _ = child.wait();
    }
    for dir in [first_dir, second_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A server started with laxer limits than the servers on its database
/// does not start (it would admit what they refuse); `settings adopt` makes
/// them the servers' own, and from then on the old ones are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_other_limits_does_not_start_until_they_are_adopted() {
    let database_url = fresh_shared_database_url().await;
    let data_dir = std::env::temp_dir().join(format!("console-settings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    let no_smtp = free_port();
    let strict = [("LIMITS", "sign_up.client=3/60")];
    let lax = [("LIMITS", " sign_up.client=1000/60,")];
    let mut first = start_server(&data_dir, &database_url, free_port(), no_smtp, &strict).await;

    let said = refused_start(&data_dir, &database_url, free_port(), no_smtp, &lax).await;
    let named = "LIMITS is \"sign_up.client=1000/60\" here, \"sign_up.client=3/60\" on the servers";
    assert!(said.contains(named) && said.contains("server settings adopt"), "{said}");
    // Refused for its settings before its key is looked at: a host with a
    // key file of its own that declares the servers' key lost gives up
    // nothing, and records no key of its own.
    let (d, _) = app::domain::testing::domain_on(&database_url).await;
    let keys = || async {
        let rows = app::domain::entity::secret_key::Entity::find().all(&d.db).await.unwrap();
        rows.into_iter().map(|k| (k.position, k.id)).collect::<Vec<_>>()
    };
    let recorded = keys().await;
    let servers_key = recorded.last().unwrap().1.clone();
    let other_host = data_dir.join("other-host");
    std::fs::create_dir_all(&other_host).unwrap();
    let lost = [lax[0], ("SECRET_KEYS_LOST", servers_key.as_str())];
    let said = refused_start(&other_host, &database_url, free_port(), no_smtp, &lost).await;
    assert!(said.contains(named), "{said}");
    assert_eq!(keys().await, recorded);

    let operator = |args: &[&str], env: &[(&str, &str)]| {
        let done = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATA_DIR", &data_dir)
            .env("DATABASE_URL", &database_url)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("run the server binary");
        let said = String::from_utf8_lossy(&done.stdout).into_owned();
        assert_eq!(done.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&done.stderr));
        said
    };
    let shown = operator(&["settings", "show"], &lax);
    let both = "LIMITS: \"sign_up.client=3/60\"; this command's: \"sign_up.client=1000/60\"";
    assert!(shown.contains(both) && shown.contains("SESSION_IDLE_MINUTES: the default"), "{shown}");
    // Without --yes it only says what it would record.
    let asked = operator(&["settings", "adopt"], &lax);
    let changed = "LIMITS: \"sign_up.client=1000/60\" (was \"sign_up.client=3/60\")";
    assert!(asked.contains(changed) && asked.contains("Nothing changed"), "{asked}");
    let said = refused_start(&data_dir, &database_url, free_port(), no_smtp, &lax).await;
    assert!(said.contains("on the servers"), "{said}");
    let adopted = operator(&["settings", "adopt", "--yes"], &lax);
    let _ = std::fs::remove_dir_all(&other_host);
    assert!(adopted.contains(changed) && adopted.contains("Recorded"), "{adopted}");

    let mut second = start_server(&data_dir, &database_url, free_port(), no_smtp, &lax).await;
    let said = refused_start(&data_dir, &database_url, free_port(), no_smtp, &strict).await;
    let named = "LIMITS is \"sign_up.client=3/60\" here, \"sign_up.client=1000/60\" on the servers";
    assert!(said.contains(named), "{said}");
    for child in [&mut first, &mut second] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(data_dir);
}
