//! A real server process starting and stopping. While it opens its database
//! it already answers its probes. SIGTERM: it stops accepting, finishes the
//! request in flight and the email being sent, and exits 0; nothing is sent
//! twice.
mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use app::domain::core::mail::{self, Transport};
use app::domain::entity::email_outbox as outbox;
use app::domain::testing::{domain_on, PASSWORD};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use support::process::{
    begin_held_post, begin_post, exit_within, finish, free_port, refused_start, server_command,
    smtp, spawn_server, start_server, status_of,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// An empty data directory of `name` (and this test process) for one server.
fn fresh_data_dir(name: &str) -> std::path::PathBuf {
    let data_dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    data_dir
}

/// Whether `condition` holds within 5 s, asked every 50 ms: how soon a
/// signal is handled depends on how busy the machine is, which a fixed
/// sleep would guess.
async fn within_5s<F, Fut>(mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if condition().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An SMTP server whose deliveries nobody watches, for a server that must
/// have one; its port.
async fn quiet_smtp() -> u16 {
    let (arrived_tx, _arrived) = mpsc::unbounded_channel();
    smtp(SMTP_DELAY, arrived_tx).await.0
}

/// Asks `server` to stop, as a service manager does.
fn sigterm(server: &std::process::Child) {
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// How `server` ended, once it has.
async fn exited(mut server: std::process::Child) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap()
}

/// A free port on the loopback address, and the address a server there has.
fn local_port() -> (u16, SocketAddr) {
    let port = free_port();
    (port, ([127, 0, 0, 1], port).into())
}

/// How long the SMTP server thinks about each message before it accepts it:
/// the server gets SIGTERM in that time.
const SMTP_DELAY: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_and_the_email_being_sent() {
    let data_dir = fresh_data_dir("console-shutdown");
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (smtp_port, accepted) = smtp(SMTP_DELAY, arrived_tx).await;
    let (port, addr) = local_port();
    let grace = [("SHUTDOWN_GRACE_SECONDS", "20")];
    let server = start_server(&data_dir, "", port, smtp_port, &grace).await;

    // A sign-up queues the verification email; the worker picks it up.
    let email = "grace@example.com";
    let form = format!(
        "company_name=Acme&first_name=Grace&last_name=Hopper&email={}&password={PASSWORD}",
        email.replace('@', "%40")
    );
    let signed_up =
        finish(begin_post(addr, "/fn/sign_up", &form, None, 0).await, form.as_bytes()).await;
    assert!(signed_up.starts_with("HTTP/1.1 200"), "{signed_up}");
    // A log-in whose body is still on its way: in flight when the signal comes.
    let log_in = format!("email={}&password={PASSWORD}", email.replace('@', "%40"));
    let slow = begin_held_post(addr, "/fn/log_in", &log_in, 10).await;
    tokio::time::timeout(Duration::from_secs(10), arrived.recv())
        .await
        .expect("the worker began delivering within a few seconds");

    // The email's data is at the SMTP server, which has not answered yet.
    sigterm(&server);
    let refused = within_5s(|| async { TcpStream::connect(addr).await.is_err() }).await;
    assert!(refused, "no new connection is accepted");

    let answered = finish(slow, &log_in.as_bytes()[10..]).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "the request in flight is answered: {answered}");
    assert!(answered.contains("set-cookie: console_session="), "signed in: {answered}");

    let exit = exited(server).await;
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
    assert_eq!(accepted.total(), 1, "the email being sent was finished");

    // The outbox knows it was sent: a later worker sends nothing again.
    let url = format!("sqlite://{}?mode=rwc", data_dir.join("console.db").display());
    let (d, _) = domain_on(&url).await;
    let rows = outbox::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts, rows[0].claimed_until),
        ("sent", 1, None)
    );
    let transport =
        Transport::smtp("127.0.0.1", smtp_port, mail::SmtpSecurity::None, None).unwrap();
    let sender = "Voice Console <no-reply@console.test>".parse().unwrap();
    assert_eq!(mail::deliver_due(&d, &transport, &sender, 10).await.unwrap(), 0);
    assert_eq!(accepted.total(), 1, "sent exactly once");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_stopping_worker_starts_no_further_email_and_holds_none() {
    let (d, _) = app::domain::testing::fresh_domain().await;
    for subject in ["First", "Second", "Third"] {
        let email = mail::Email {
            to: "ada@example.com".into(),
            subject: subject.into(),
            body: "Hi\n".into(),
        };
        mail::enqueue(&d.db, &d.secrets, app::domain::core::clock::Clock::now(&*d.clock), email)
            .await
            .unwrap();
    }
    let folder = std::env::temp_dir().join(format!("console-stopping-{}", std::process::id()));
    // A run that failed leaves its folder, and process ids come round again.
    let _ = std::fs::remove_dir_all(&folder);
    let transport = Transport::Folder(folder.clone());
    let sender = "Voice Console <no-reply@console.test>".parse().unwrap();
    // The signal comes while the first email is being written.
    let asked = AtomicUsize::new(0);
    let stopping = || asked.fetch_add(1, Ordering::SeqCst) >= 1;
    assert_eq!(mail::deliver_due_until(&d, &transport, &sender, 10, &stopping).await.unwrap(), 1);
    let rows = outbox::Entity::find().order_by_asc(outbox::Column::Id).all(&d.db).await.unwrap();
    let states: Vec<_> =
        rows.iter().map(|r| (r.subject.as_str(), r.status.as_str(), r.claimed_until)).collect();
    assert_eq!(
        states,
        [("First", "sent", None), ("Second", "pending", None), ("Third", "pending", None)]
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "one email left the server");
    let _ = std::fs::remove_dir_all(&folder);
}

/// A client that never sends the rest of its request cannot hold a restart:
/// the process exits once the grace period is over, and drops the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_holds_the_stop_no_longer_than_the_grace() {
    let data_dir = fresh_data_dir("console-stuck");
    let smtp_port = quiet_smtp().await;
    let (port, addr) = local_port();
    let grace = [("SHUTDOWN_GRACE_SECONDS", "2")];
    let mut server = start_server(&data_dir, "", port, smtp_port, &grace).await;
    let body = format!("email=ada%40example.com&password={PASSWORD}");
    let mut stuck = begin_held_post(addr, "/fn/log_in", &body, 5).await;

    let signalled = std::time::Instant::now();
    sigterm(&server);
    let exit = exit_within(&mut server, signalled, 20).await;
    let took = signalled.elapsed();
    assert_eq!(exit.code(), Some(0));
    assert!(
        took >= Duration::from_millis(1900),
        "the request had its grace: stopped after {took:?}"
    );
    assert!(took < Duration::from_secs(9), "grace 2 s (+ at most 5 to close): {took:?}");
    // The unfinished request got no answer; its connection is closed.
    let mut answer = Vec::new();
    let _ = stuck.read_to_end(&mut answer).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A second signal (Ctrl-C pressed again) stops at once, without waiting
/// out the drain or the grace for a request that would hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_without_waiting_out_the_drain_or_the_grace() {
    let waits: [&[(&str, &str)]; 2] = [
        &[("SHUTDOWN_GRACE_SECONDS", "30")],
        &[("SHUTDOWN_DRAIN_SECONDS", "30"), ("SHUTDOWN_GRACE_SECONDS", "30")],
    ];
    for env in waits {
        let data_dir = fresh_data_dir("console-twice");
        let smtp_port = quiet_smtp().await;
        let (port, addr) = local_port();
        let mut server = start_server(&data_dir, "", port, smtp_port, env).await;
        let body = format!("email=ada%40example.com&password={PASSWORD}");
        let _stuck = begin_held_post(addr, "/fn/log_in", &body, 5).await;

        let signalled = std::time::Instant::now();
        sigterm(&server);
        // Seen (a second signal sent before would merge with it): new
        // connections refused, or during a drain `/readyz` 503.
        let drains = env.iter().any(|(name, _)| *name == "SHUTDOWN_DRAIN_SECONDS");
        let seen = within_5s(|| async {
            match drains {
                true => status_of(addr, "/readyz").await == 503,
                false => TcpStream::connect(addr).await.is_err(),
            }
        });
        assert!(seen.await, "{env:?}: the first signal is handled");
        assert!(server.try_wait().unwrap().is_none(), "{env:?}: the first signal waits");
        sigterm(&server);
        let exit = exit_within(&mut server, signalled, 20).await;
        assert_eq!(exit.code(), Some(0));
        let took = signalled.elapsed();
        assert!(took < Duration::from_secs(10), "{env:?}: not the 30 s wait: {took:?}");
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}

/// With a drain, a stop first tells load balancers (`/readyz` 503) while
/// every request, new connections included, is still served; then it stops
/// as without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_says_not_ready_while_still_serving_then_stops() {
    let data_dir = fresh_data_dir("console-drain");
    let smtp_port = quiet_smtp().await;
    let (port, addr) = local_port();
    let env = [("SHUTDOWN_DRAIN_SECONDS", "3"), ("SHUTDOWN_GRACE_SECONDS", "5")];
    let server = start_server(&data_dir, "", port, smtp_port, &env).await;
    assert_eq!(status_of(addr, "/readyz").await, 200);

    let signalled = std::time::Instant::now();
    sigterm(&server);
    let told = within_5s(|| async { status_of(addr, "/readyz").await == 503 }).await;
    assert!(told, "load balancers are told");
    assert_eq!(status_of(addr, "/healthz").await, 200, "new connections are still served");
    assert_eq!(status_of(addr, "/login").await, 200);

    let exit = exited(server).await;
    assert_eq!(exit.code(), Some(0));
    let took = signalled.elapsed();
    assert!(took >= Duration::from_millis(2900), "the drain lasted its 3 s: {took:?}");
    assert_eq!(status_of(addr, "/healthz").await, 0, "stopped");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A server started while another connection holds its SQLite file locked,
/// so opening the database waits (at most its 5 s busy timeout): the
/// server, its address, and the lock (`COMMIT` lets it go on).
async fn start_behind_a_lock(
    data_dir: &std::path::Path,
) -> (std::process::Child, SocketAddr, sea_orm::DatabaseConnection) {
    let file = data_dir.join("console.db");
    let mut options = sea_orm::ConnectOptions::new(format!("sqlite://{}?mode=rwc", file.display()));
    options.max_connections(1);
    let holder = sea_orm::Database::connect(options).await.unwrap();
    holder.execute_unprepared("BEGIN EXCLUSIVE").await.unwrap();
    let smtp_port = quiet_smtp().await;
    let (port, addr) = local_port();
    let server = spawn_server(data_dir, "", port, smtp_port, &[]).await;
    (server, addr, holder)
}

/// The whole answer to a GET of `path` on `stream`.
async fn answer(mut stream: TcpStream, addr: SocketAddr, path: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
    read.await.expect("answered").unwrap();
    String::from_utf8_lossy(&answer).to_lowercase()
}

/// While its database opens and migrates (minutes, for a migration that
/// rewrites a big table) the process answers already: alive, not ready, any
/// other request 503 with a `Retry-After`; then it serves, also on a
/// connection opened before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_its_database_opens_a_server_is_alive_but_not_ready() {
    let data_dir = fresh_data_dir("console-starting");
    let (server, addr, holder) = start_behind_a_lock(&data_dir).await;

    assert_eq!(status_of(addr, "/healthz").await, 200, "alive");
    assert_eq!(status_of(addr, "/readyz").await, 503, "not ready");
    let page = answer(TcpStream::connect(addr).await.unwrap(), addr, "/login").await;
    assert!(page.starts_with("http/1.1 503"), "{page}");
    assert!(page.contains("retry-after: 5\r\n"), "{page}");
    // The JSON API in its own error format, as a script reads every answer.
    let api = answer(TcpStream::connect(addr).await.unwrap(), addr, "/api/v1/me").await;
    assert!(api.starts_with("http/1.1 503") && api.contains("retry-after: 5\r\n"), "{api}");
    assert!(api.contains("content-type: application/json"), "{api}");
    assert!(api.contains("\"code\":\"unavailable\""), "{api}");
    // A browser opens connections ahead of its requests.
    let early = TcpStream::connect(addr).await.unwrap();

    holder.execute_unprepared("COMMIT").await.unwrap();
    holder.close().await.unwrap();
    // The whole first start (migrations, checks) is left to do: as long as
    // `start_server` allows it.
    let mut ready = false;
    for _ in 0..300 {
        ready = status_of(addr, "/readyz").await == 200;
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready once its database is open");
    let page = answer(early, addr, "/login").await;
    assert!(page.starts_with("http/1.1 200"), "the early connection is served: {page}");
    sigterm(&server);
    let exit = exited(server).await;
    assert_eq!(exit.code(), Some(0));
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// SIGTERM while the database opens ends the start at once, and cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_its_database_opens_ends_the_start() {
    let data_dir = fresh_data_dir("console-start-stop");
    let (server, addr, holder) = start_behind_a_lock(&data_dir).await;
    assert_eq!(status_of(addr, "/readyz").await, 503, "still starting");

    let signalled = std::time::Instant::now();
    sigterm(&server);
    let exit = exited(server).await;
    assert_eq!(exit.code(), Some(0), "a stop, not a kill");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(3), "before the lock's 5 s ran out: {took:?}");
    holder.execute_unprepared("COMMIT").await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A mistake in the configuration stops the start at once: before the
/// database is opened (so not after minutes of migration, with /healthz
/// saying ok meanwhile).
#[test]
fn a_configuration_mistake_stops_the_start_before_the_database_opens() {
    let data_dir = fresh_data_dir("console-misconfigured");
    let (port, _) = local_port();
    let output = server_command(&data_dir, "", port, 25, &[("MAIL_FROM", "not an address")])
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("MAIL_FROM"), "{said}");
    assert!(!data_dir.join("console.db").exists(), "the database was not opened");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A server started without `SUPPORT_EMAIL` says at start that its "contact
/// support" texts name no address; one with it says nothing of the kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_without_a_support_address_warns_of_it() {
    for (name, env, warned) in [
        ("no-support", vec![], true),
        ("support", vec![("SUPPORT_EMAIL", "help@voice.example")], false),
    ] {
        let data_dir = fresh_data_dir(name);
        let smtp_port = quiet_smtp().await;
        let (port, addr) = local_port();
        let server = server_command(&data_dir, "", port, smtp_port, &env)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = false;
        for _ in 0..600 {
            if status_of(addr, "/readyz").await == 200 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sigterm(&server);
        let output = server.wait_with_output().unwrap();
        let logged = String::from_utf8_lossy(&output.stdout);
        assert!(ready, "{name}: {logged}");
        assert_eq!(logged.contains("SUPPORT_EMAIL is not set"), warned, "{name}: {logged}");
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}

/// A server whose key file was lost (and replaced by a fresh one at its
/// start) does not run: every secret sealed before would fail to open while
/// it sealed new ones with its new key. It says what it cannot open and how
/// to put it right; operator commands are refused the same way, except the
/// two that help (`secrets status`, `backup`). With the file restored it
/// starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_key_file_stops_the_start() {
    let data_dir = fresh_data_dir("console-lost-keys");
    // Nothing listens there: the verification email stays queued, sealed.
    let no_smtp = free_port();
    let (port, addr) = local_port();
    let server = start_server(&data_dir, "", port, no_smtp, &[]).await;
    let form = format!(
        "company_name=Acme&first_name=Grace&last_name=Hopper&email=grace%40example.com&password={PASSWORD}"
    );
    let signed_up =
        finish(begin_post(addr, "/fn/sign_up", &form, None, 0).await, form.as_bytes()).await;
    assert!(signed_up.starts_with("HTTP/1.1 200"), "{signed_up}");
    sigterm(&server);
    assert!(exited(server).await.success());

    let keys = data_dir.join("secret-keys");
    let kept = data_dir.join("secret-keys.backup");
    std::fs::rename(&keys, &kept).unwrap();
    let said = refused_start(&data_dir, "", port, no_smtp, &[]).await;
    let key_id = std::fs::read_to_string(&kept).unwrap();
    let key_id = key_id.split(':').next().unwrap().to_owned();
    assert!(
        said.contains(&format!("1 email_outbox sealed with key {key_id}"))
            && said.contains("Restore the key file from its backup"),
        "{said}"
    );

    let command = |args: &[&str], env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATA_DIR", &data_dir)
            .env("DATABASE_URL", "")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let refused = command(&["mail", "failed"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("lacks keys") && said.contains("SECRET_KEYS_LOST"), "{said}");
    let status = command(&["secrets", "status"], &[]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(String::from_utf8_lossy(&status.stdout).contains(&key_id));

    // Without a backup: the key declared lost, a start goes on, and the
    // email it sealed is failed for good, which a retry leaves alone.
    let lost = [("SECRET_KEYS_LOST", key_id.as_str())];
    let server = start_server(&data_dir, "", port, no_smtp, &lost).await;
    sigterm(&server);
    assert!(exited(server).await.success());
    let failed = command(&["mail", "failed"], &lost);
    let listed = String::from_utf8_lossy(&failed.stdout);
    assert!(listed.contains(app::domain::core::mail::SEALED_WITH_LOST_KEY), "{listed}");
    let retried = command(&["mail", "retry", "--all"], &lost);
    assert_eq!(
        String::from_utf8_lossy(&retried.stdout).trim(),
        "Queued 0 email(s) again. 1 left failed: sealed with a key this key file lacks \
         (`mail failed` lists them)."
    );

    // The key found after all, and put back alone: the start without it
    // recorded the new key, which the servers seal with now, so the old file
    // is refused; added to the new one (a line appended), it starts as
    // before, and the email can go.
    let new_file = std::fs::read_to_string(&keys).unwrap();
    std::fs::rename(&kept, &keys).unwrap();
    let refused = command(&["mail", "failed"], &[]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    let new_key_id = new_file.split(':').next().unwrap();
    assert!(said.contains(&format!("seal with key {new_key_id}")), "{said}");
    let found = std::fs::read_to_string(&keys).unwrap();
    std::fs::write(&keys, format!("{new_file}{found}")).unwrap();
    let server = start_server(&data_dir, "", port, no_smtp, &[]).await;
    sigterm(&server);
    assert!(exited(server).await.success());
    let retried = command(&["mail", "retry", "--all"], &[]);
    assert_eq!(String::from_utf8_lossy(&retried.stdout).trim(), "Queued 1 email(s) again.");
    let _ = std::fs::remove_dir_all(&data_dir);
}
