//! SIGTERM to a real server process: it stops accepting, finishes the request
//! in flight and the email being sent, and exits 0; nothing is sent twice.
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::domain::core::mail::{self, Transport};
use app::domain::entity::email_outbox as outbox;
use app::domain::testing::{domain_on, PASSWORD};
use sea_orm::EntityTrait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long the SMTP server below thinks about each message before it
/// accepts it: the server gets SIGTERM in that time.
const SMTP_DELAY: Duration = Duration::from_millis(1500);

/// A minimal SMTP server: counts accepted messages and reports each one as
/// soon as its data has arrived (before it answers).
async fn slow_smtp(accepted: Arc<AtomicUsize>, arrived: mpsc::UnboundedSender<()>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (accepted, arrived) = (accepted.clone(), arrived.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 smtp.test ready\r\n").await.unwrap();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        arrived.send(()).unwrap();
                        tokio::time::sleep(SMTP_DELAY).await;
                        accepted.fetch_add(1, Ordering::SeqCst);
                        b"250 queued\r\n"
                    } else if line.starts_with("EHLO") {
                        b"250-smtp.test\r\n250 8BITMIME\r\n"
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_server(data_dir: &std::path::Path, port: u16, smtp_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "console")
        .env("LEPTOS_SITE_ROOT", data_dir.join("site"))
        .env("DATA_DIR", data_dir)
        .env("DATABASE_URL", "")
        .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", smtp_port.to_string())
        .env("SMTP_SECURITY", "none")
        .env("SHUTDOWN_GRACE_SECONDS", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the server binary")
}

/// Sends the head and the first `sent` bytes of a form POST, leaving the rest
/// for later: the request is in flight until then.
async fn begin_post(addr: SocketAddr, path: &str, body: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..sent]).await.unwrap();
    stream
}

async fn finish(mut stream: TcpStream, rest: &[u8]) -> String {
    stream.write_all(rest).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_and_the_email_being_sent() {
    let data_dir = std::env::temp_dir().join(format!("console-shutdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let smtp_port = slow_smtp(accepted.clone(), arrived_tx).await;
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = start_server(&data_dir, port, smtp_port);
    for _ in 0..600 {
        if TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A sign-up queues the verification email; the worker picks it up.
    let email = "grace@example.com";
    let form = format!(
        "company_name=Acme&first_name=Grace&last_name=Hopper&email={}&password={PASSWORD}",
        email.replace('@', "%40")
    );
    let signed_up = finish(begin_post(addr, "/fn/sign_up", &form, 0).await, form.as_bytes()).await;
    assert!(signed_up.starts_with("HTTP/1.1 200"), "{signed_up}");
    // A log-in whose body is still on its way: in flight when the signal comes.
    let log_in = format!("email={}&password={PASSWORD}", email.replace('@', "%40"));
    let slow = begin_post(addr, "/fn/log_in", &log_in, 10).await;
    tokio::time::timeout(Duration::from_secs(10), arrived.recv())
        .await
        .expect("the worker began delivering within a few seconds");

    // The email's data is at the SMTP server, which has not answered yet.
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "no new connection is accepted");

    let answered = finish(slow, &log_in.as_bytes()[10..]).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "the request in flight is answered: {answered}");
    assert!(answered.contains("set-cookie: console_session="), "signed in: {answered}");

    let exit = tokio::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap();
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the email being sent was finished");

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
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "sent exactly once");
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
        mail::enqueue(&d.db, app::domain::core::clock::Clock::now(&*d.clock), email).await.unwrap();
    }
    let folder = std::env::temp_dir().join(format!("console-stopping-{}", std::process::id()));
    let transport = Transport::Folder(folder.clone());
    let sender = "Voice Console <no-reply@console.test>".parse().unwrap();
    // The signal comes while the first email is being written.
    let asked = AtomicUsize::new(0);
    let stopping = || asked.fetch_add(1, Ordering::SeqCst) >= 1;
    assert_eq!(mail::deliver_due_until(&d, &transport, &sender, 10, &stopping).await.unwrap(), 1);
    let rows = outbox::Entity::find().all(&d.db).await.unwrap();
    let states: Vec<_> =
        rows.iter().map(|r| (r.subject.as_str(), r.status.as_str(), r.claimed_until)).collect();
    assert_eq!(
        states,
        [("First", "sent", None), ("Second", "pending", None), ("Third", "pending", None)]
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "one email left the server");
    let _ = std::fs::remove_dir_all(&folder);
}
