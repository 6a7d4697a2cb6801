//! The outbox and its delivery, against a real SMTP server on loopback
//! (mailin-embedded) and the local mail folder.
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use app::domain::core::mail::{
    self, Email, SmtpSecurity, Transport, FAILED, MAX_ATTEMPTS, PENDING, SENT, WITHDRAWN,
};
use app::domain::core::Domain;
use app::domain::entity::email_outbox as outbox;
use app::domain::testing::{body_of, fresh_concurrent_domain, fresh_domain, Snapshot};
use chrono::Duration;
use lettre::message::Mailbox;
use mailin_embedded::{response, Handler, Response, Server, SslConfig};
use sea_orm::{EntityTrait, QueryOrder};

/// Keeps every message it accepts; refuses recipients at `reject.example`.
#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
}

impl Handler for Inbox {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.ends_with("@reject.example") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.current).into_owned();
        self.received.lock().unwrap().push(message);
        response::OK
    }
}

impl Inbox {
    fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts an SMTP server on `port` in a thread that lives as long as the test process.
fn start_smtp(port: u16) -> Inbox {
    let inbox = Inbox::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP port");
    let mut server = Server::new(inbox.clone());
    server.with_name("smtp.test").with_ssl(SslConfig::None).unwrap().with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    inbox
}

fn smtp_transport(port: u16) -> Transport {
    Transport::smtp("127.0.0.1", port, SmtpSecurity::None, None).unwrap()
}

fn sender() -> Mailbox {
    "Voice Console <no-reply@console.test>".parse().unwrap()
}

async fn enqueue(d: &Domain, to: &str, subject: &str) {
    let email =
        Email { to: to.into(), subject: subject.into(), body: format!("Body of {subject}\n") };
    mail::enqueue(&d.db, &d.secrets, d.clock.now(), email).await.unwrap();
}

async fn rows(d: &Domain) -> Vec<outbox::Model> {
    outbox::Entity::find().order_by_asc(outbox::Column::Id).all(&d.db).await.unwrap()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
}

#[tokio::test]
async fn an_outbox_row_is_delivered_by_smtp_with_a_message_id_from_its_row() {
    let (d, _) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    enqueue(&d, "ada@example.com", "Hello").await;

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 1);
    let messages = inbox.messages();
    assert_eq!(messages.len(), 1);
    // The product's name first, so the inbox tells the platform's emails apart.
    assert_eq!(header(&messages[0], "Subject"), Some("Voice Console: Hello"));
    // No support address configured: replies go where From says.
    assert_eq!(header(&messages[0], "Reply-To"), None);
    // From the configured sender (`MAIL_FROM`), as SPEC asks.
    assert_eq!(header(&messages[0], "From"), Some("\"Voice Console\" <no-reply@console.test>"));
    assert!(messages[0].contains("Body of Hello"));
    let row = &rows(&d).await[0];
    assert_eq!(header(&messages[0], "Message-ID"), Some(mail::message_id(row, &sender()).as_str()));
    // Sent by the console itself: auto-responders leave it unanswered.
    assert_eq!(header(&messages[0], "Auto-Submitted"), Some("auto-generated"));
    assert_eq!((row.status.as_str(), row.attempts), (SENT, 1));
    assert!(row.sent_at.is_some());
    // A sent row is never sent again.
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 0);
}

#[tokio::test]
async fn smtp_down_then_back_gives_exactly_one_message_per_row() {
    let (d, clock) = fresh_domain().await;
    let port = free_port(); // nothing listens here yet
    enqueue(&d, "ada@example.com", "First").await;
    enqueue(&d, "bob@example.com", "Second").await;

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 2);
    for row in rows(&d).await {
        assert_eq!((row.status.as_str(), row.attempts), (PENDING, 1));
        assert!(row.last_error.is_some());
        assert!(row.next_attempt_at > clock_now(&d), "backs off");
    }
    // Not due yet: nothing is tried.
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 0);

    let inbox = start_smtp(port);
    clock.advance(Duration::seconds(31));
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 2);
    clock.advance(Duration::hours(2));
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    let subjects: Vec<_> =
        inbox.messages().iter().map(|m| header(m, "Subject").unwrap().to_owned()).collect();
    assert_eq!(subjects, ["Voice Console: First", "Voice Console: Second"]);
    assert!(rows(&d).await.iter().all(|r| r.status == SENT && r.attempts == 2));
}

/// A Message-ID tells a recipient nothing of the outbox (how many emails
/// went before theirs): random, one per row, kept for a resend. Replies
/// reach the platform's support address when it has one, not the no-reply
/// sender.
#[tokio::test]
async fn message_ids_are_random_and_replies_reach_support() {
    let (mut d, _) = fresh_domain().await;
    d.support_email = Some("help@console.test".into());
    let port = free_port();
    let inbox = start_smtp(port);
    enqueue(&d, "ada@example.com", "One").await;
    enqueue(&d, "ada@example.com", "Two").await;
    let queued = rows(&d).await;
    let ids: Vec<String> = queued.iter().map(|row| mail::message_id(row, &sender())).collect();

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 2);
    let messages = inbox.messages();
    let sent: Vec<&str> = messages.iter().map(|m| header(m, "Message-ID").unwrap()).collect();
    assert_eq!(sent, ids, "the ids read before delivery are the ones sent");
    assert_ne!(sent[0], sent[1]);
    for id in &sent {
        let local = id.strip_prefix('<').unwrap().strip_suffix("@console.test>").unwrap();
        assert!(local.len() == 32 && local.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    for message in &messages {
        assert_eq!(header(message, "Reply-To"), Some("help@console.test"));
        assert_eq!(header(message, "From"), Some("\"Voice Console\" <no-reply@console.test>"));
    }
}

/// An email whose single-use link stopped working while it waited is not
/// sent: replaced by a newer one, used, expired, or its user removed (an
/// invitation deleted before it went must not arrive). It ends `withdrawn`,
/// its body dropped, no try spent; one whose link works goes.
#[tokio::test]
async fn an_email_whose_link_stopped_working_is_not_sent() {
    use app::domain::admin::users::{self, UserForm};
    use app::domain::identity::email_links;
    use app::domain::testing::{account_with_admin, link_token};
    let (d, _) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    // Replaced: the second reset's link replaces the first's.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let link = link_token(&d, "ada@example.com", "/reset-password").await;
    // Removed: an invitation deleted before it went.
    let form = |email: &str| UserForm {
        first_name: "Bob".into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    };
    let bob = users::invite(&d, &admin, form("bob@example.com")).await.unwrap();
    users::delete(&d, &admin, bob.id).await.unwrap();
    // Works: an invitation left alone.
    users::invite(&d, &admin, form("cy@example.com")).await.unwrap();
    // An email without a link goes whatever happens.
    enqueue(&d, "dee@example.com", "Plain").await;
    let waiting = rows(&d).await;
    assert_eq!(waiting.len(), 5);

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 5);
    let statuses: Vec<(String, String)> =
        rows(&d).await.into_iter().map(|r| (r.to_address, r.status)).collect();
    let expected = [
        ("ada@example.com", WITHDRAWN),
        ("ada@example.com", SENT),
        ("bob@example.com", WITHDRAWN),
        ("cy@example.com", SENT),
        ("dee@example.com", SENT),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(to, status)| (to.to_string(), status.to_string())).collect();
    assert_eq!(statuses, expected);
    let recipients: Vec<String> =
        inbox.messages().iter().map(|m| header(m, "To").unwrap().to_owned()).collect();
    assert_eq!(recipients, ["ada@example.com", "cy@example.com", "dee@example.com"]);
    for row in rows(&d).await.into_iter().filter(|r| r.status == WITHDRAWN) {
        assert_eq!(
            (row.body_text.as_str(), row.key_id, row.attempts),
            (mail::WITHDRAWN_BODY, None, 0)
        );
        assert!(row.last_error.unwrap().starts_with("not sent: its link"));
    }
    // The reset that went still works.
    assert!(email_links::check_reset_link(&d, &link).await.is_ok());

    // Used before its turn (the relay slow, the link read from another
    // copy), or expired while the relay was down: not sent either.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let used = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::reset_password(&d, &used, "Quartz-Harbor-Lantern-77", "t", None).await.unwrap();
    let (a, b) = ("eve@example.com", "fay@example.com");
    users::invite(&d, &admin, form(a)).await.unwrap();
    users::invite(&d, &admin, form(b)).await.unwrap();
    let before = inbox.messages().len();
    // Eve's link runs out while the relay holds her invitation back.
    {
        use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, QueryFilter, Set};
        let eve_id = app::domain::entity::user::Entity::find()
            .filter(app::domain::entity::user::Column::Email.eq(a))
            .one(&d.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let token = app::domain::entity::email_token::Entity::find()
            .filter(app::domain::entity::email_token::Column::UserId.eq(eve_id))
            .one(&d.db)
            .await
            .unwrap()
            .unwrap();
        let mut token = token.into_active_model();
        token.expires_at = Set(d.clock.now() - Duration::seconds(1));
        token.update(&d.db).await.unwrap();
    }
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    let recipients: Vec<String> =
        inbox.messages()[before..].iter().map(|m| header(m, "To").unwrap().to_owned()).collect();
    // Ada's used reset and Eve's expired invitation are not sent; the
    // password-changed notice and Fay's invitation are.
    assert!(!recipients.iter().any(|to| to == a), "{recipients:?}");
    assert!(recipients.iter().any(|to| to == b), "{recipients:?}");
    let ada_rows: Vec<String> = rows(&d)
        .await
        .into_iter()
        .filter(|r| r.to_address == "ada@example.com")
        .map(|r| format!("{} {}", r.subject, r.status))
        .collect();
    assert_eq!(
        ada_rows,
        [
            "Reset your password withdrawn",
            "Reset your password sent",
            "Reset your password withdrawn",
            "Your password was changed sent",
        ]
    );
}

fn clock_now(d: &Domain) -> chrono::DateTime<chrono::Utc> {
    d.clock.now()
}

#[tokio::test]
async fn a_row_that_keeps_failing_ends_failed_after_the_last_try() {
    let (d, clock) = fresh_domain().await;
    let port = free_port();
    enqueue(&d, "ada@example.com", "Never").await;
    for _ in 0..MAX_ATTEMPTS {
        mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
        clock.advance(Duration::hours(2));
    }
    let row = &rows(&d).await[0];
    assert_eq!((row.status.as_str(), row.attempts), (FAILED, MAX_ATTEMPTS));
    assert!(row.last_error.as_deref().unwrap().contains("onnect"), "{:?}", row.last_error);

    // The operator queues it again once the server is back. It waits from
    // then on: the queue's age is not the hours since it was first queued,
    // which an alert would take for a queue that does not move.
    clock.advance(Duration::minutes(10));
    let inbox = start_smtp(port);
    assert_eq!(mail::failed(&d).await.unwrap().len(), 1);
    assert_eq!(mail::retry_failed(&d, None).await.unwrap(), 1);
    let queue = mail::queue(&d).await.unwrap();
    assert_eq!((queue.depth, queue.oldest), (1, Some(clock_now(&d))));
    // Beside an email queued before the retry, that one has waited longest.
    let retried = clock_now(&d);
    clock.advance(Duration::minutes(5));
    enqueue(&d, "bob@example.com", "Later").await;
    assert_eq!(mail::queue(&d).await.unwrap().oldest, Some(retried));
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    assert_eq!(inbox.messages().len(), 2);
    assert!(mail::failed(&d).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_permanently_rejected_message_ends_failed_with_its_error_at_once() {
    let (d, _) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    enqueue(&d, "nobody@reject.example", "Refused").await;
    enqueue(&d, "ada@example.com", "Accepted").await;
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    let all = rows(&d).await;
    assert_eq!((all[0].status.as_str(), all[0].attempts), (FAILED, 1));
    assert!(all[0].last_error.as_deref().unwrap().contains("550"), "{:?}", all[0].last_error);
    assert_eq!(all[1].status, SENT);
    assert_eq!(inbox.messages().len(), 1);
}

/// An SMTP server on `port` that offers a login and refuses every one, as a
/// relay does once its password was changed (mailin offers none without TLS).
fn refusing_every_login(port: u16) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP port");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut out = stream.try_clone().unwrap();
            let _ = out.write_all(b"220 smtp.test ready\r\n");
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let command = line.to_ascii_uppercase();
                let reply: &[u8] = if command.starts_with("EHLO") {
                    b"250-smtp.test\r\n250 AUTH PLAIN LOGIN\r\n"
                } else if command.starts_with("AUTH") {
                    b"535 5.7.8 Authentication credentials invalid\r\n"
                } else if command.starts_with("QUIT") {
                    let _ = out.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"503 5.5.1 Authenticate first\r\n"
                };
                let _ = out.write_all(reply);
            }
        }
    });
}

/// A login the SMTP server refuses (535: a wrong or rotated password) is
/// permanent to SMTP but no fault of the emails: the one tried waits and is
/// tried again, not failed at its first try with the links it carries. The
/// process that was refused stops its pass and logs in no more for a while,
/// waiting longer after each refusal; another process sharing the outbox,
/// whose login is right (a rolling restart with a new `SMTP_PASSWORD`),
/// sends every other email meanwhile, none held back by the refusal.
#[tokio::test]
async fn a_refused_smtp_login_pauses_its_process_and_holds_back_no_other_email() {
    let (d, clock) = fresh_domain().await;
    let port = free_port();
    refusing_every_login(port);
    let credentials = Some(("mailer".to_string(), "an-old-password".to_string()));
    let wrong_login = Transport::smtp("127.0.0.1", port, SmtpSecurity::None, credentials).unwrap();
    enqueue(&d, "ada@example.com", "Reset your password").await;
    enqueue(&d, "bob@example.com", "Welcome").await;
    enqueue(&d, "cy@example.com", "Welcome").await;
    let due = d.clock.now();
    mail::deliver_due(&d, &wrong_login, &sender(), 10).await.unwrap();
    let tried = |rows: Vec<outbox::Model>| {
        rows.into_iter().map(|r| (r.status, r.attempts, r.next_attempt_at)).collect::<Vec<_>>()
    };
    // One login refused a pass, not one an email: a relay locks an account
    // (or bans an address) after a few. The email tried waits its turn.
    let waits = due + Duration::seconds(30);
    let pending = |attempts, at| (PENDING.to_string(), attempts, at);
    assert_eq!(tried(rows(&d).await), [pending(1, waits), pending(0, due), pending(0, due)]);
    let row = &rows(&d).await[0];
    assert!(row.last_error.as_deref().unwrap().contains("535"), "{:?}", row.last_error);
    // This process (any clone of its transport) tries no login for 30
    // seconds, then, refused again, for 60.
    clock.advance(Duration::seconds(29));
    assert_eq!(mail::deliver_due(&d, &wrong_login.clone(), &sender(), 10).await.unwrap(), 0);
    clock.advance(Duration::seconds(2));
    assert_eq!(mail::deliver_due(&d, &wrong_login, &sender(), 10).await.unwrap(), 1);
    clock.advance(Duration::seconds(59));
    assert_eq!(mail::deliver_due(&d, &wrong_login, &sender(), 10).await.unwrap(), 0);
    let attempts: Vec<i32> = rows(&d).await.iter().map(|r| r.attempts).collect();
    assert_eq!(attempts.iter().sum::<i32>(), 2, "one email a refused login: {attempts:?}");
    // Another process, whose login is right, sends what is due now, and the
    // rest when it is.
    let right_port = free_port();
    let inbox = start_smtp(right_port);
    let right_login = smtp_transport(right_port);
    mail::deliver_due(&d, &right_login, &sender(), 10).await.unwrap();
    clock.advance(Duration::seconds(60));
    mail::deliver_due(&d, &right_login, &sender(), 10).await.unwrap();
    assert_eq!(inbox.messages().len(), 3);
    assert!(rows(&d).await.iter().all(|r| r.status == SENT), "{:?}", rows(&d).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_one_database_send_n_messages_for_n_rows() {
    // Several connections (a file on SQLite) and threads: the claims really race.
    let (d, _) = fresh_concurrent_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    const N: usize = 30;
    for i in 0..N {
        enqueue(&d, &format!("user{i}@example.com"), &format!("Message {i}")).await;
    }
    let (a, b) = (d.clone(), d.clone());
    let worker = |d: Domain| async move {
        let transport = smtp_transport(port);
        let mut handled = 0;
        loop {
            let n = mail::deliver_due(&d, &transport, &sender(), 4).await.unwrap();
            if n == 0 {
                break handled;
            }
            handled += n;
        }
    };
    let (first, second) = tokio::join!(tokio::spawn(worker(a)), tokio::spawn(worker(b)));
    assert_eq!(first.unwrap() + second.unwrap(), N);
    let messages = inbox.messages();
    assert_eq!(messages.len(), N);
    let mut ids: Vec<_> =
        messages.iter().map(|m| header(m, "Message-ID").unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "every row was sent once");
    assert!(rows(&d).await.iter().all(|r| r.status == SENT && r.attempts == 1));
}

#[tokio::test]
async fn the_embedded_default_writes_one_readable_eml_file_per_email() {
    let (d, _) = fresh_domain().await;
    let dir = std::env::temp_dir().join(format!("console-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    enqueue(&d, "ada@example.com", "Welcome").await;
    enqueue(&d, "bob@example.com", "Again").await;
    mail::deliver_due(&d, &Transport::Folder(dir.clone()), &sender(), 10).await.unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
    let first = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(header(&first, "Subject"), Some("Voice Console: Welcome"));
    assert_eq!(header(&first, "To"), Some("ada@example.com"));
    assert!(first.contains("Body of Welcome"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The local mail folder's files hold the links too: the clean-up removes
/// them with their outbox rows, a month after the emails were queued, and
/// leaves alone what it did not write.
#[tokio::test]
async fn the_mail_folders_files_are_removed_a_month_on() {
    use app::domain::jobs;
    let (d, clock) = fresh_domain().await;
    let dir = std::env::temp_dir().join(format!("console-mail-pruned-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let folder = Transport::Folder(dir.clone());
    // Nothing delivered yet: no folder, nothing to do.
    assert_eq!(jobs::forget_old_mail_and_links(&d, &folder).await.unwrap(), 0);
    enqueue(&d, "ada@example.com", "Old").await;
    enqueue(&d, "bob@example.com", "Old too").await;
    mail::deliver_due(&d, &folder, &sender(), 10).await.unwrap();
    // A file a crash left half-written, one the console never wrote, and a
    // folder named like an email's file.
    let stamp = d.clock.now().format("%Y%m%d-%H%M%S");
    std::fs::write(dir.join(format!(".{stamp}-000099.eml.partial")), "From: ").unwrap();
    std::fs::write(dir.join("notes-000001.eml"), "mine").unwrap();
    std::fs::create_dir(dir.join(format!("{stamp}-000098.eml"))).unwrap();
    // The files not seen before are written when the test's clock says, as
    // they would be by the server's clock.
    let mut seen = std::collections::BTreeSet::new();
    let mut written_now = |d: &Domain| {
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.is_file() && seen.insert(path.clone()) {
                let file = std::fs::File::options().write(true).open(&path).unwrap();
                file.set_modified(d.clock.now().into()).unwrap();
            }
        }
    };
    written_now(&d);
    clock.advance(Duration::days(20));
    enqueue(&d, "cy@example.com", "New").await;
    // An email queued a month ago but written only now (it waited for its
    // key, or was sent again) is kept its month.
    enqueue(&d, "dee@example.com", "Late").await;
    mail::deliver_due(&d, &folder, &sender(), 10).await.unwrap();
    let late = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .find(|p| p.is_file() && std::fs::read_to_string(p).unwrap().contains("Body of Late"))
        .unwrap();
    let queued_long_ago = format!("{stamp}-000097.eml");
    std::fs::rename(&late, dir.join(&queued_long_ago)).unwrap();
    written_now(&d);
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names().len(), 7);

    clock.advance(mail::KEPT_AFTER_LAST_TRY - Duration::days(20) - Duration::minutes(1));
    assert_eq!(jobs::forget_old_mail_and_links(&d, &folder).await.unwrap(), 0);
    clock.advance(Duration::minutes(2));
    // The two old emails' rows and files, and the half-written file.
    assert_eq!(jobs::forget_old_mail_and_links(&d, &folder).await.unwrap(), 5);
    let mut left = names();
    left.retain(|name| !name.ends_with("-000098.eml"));
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(left[0], queued_long_ago, "written late: kept its month");
    assert!(std::fs::read_to_string(dir.join(&left[1])).unwrap().contains("Body of New"));
    assert_eq!(left[2], "notes-000001.eml");
    assert!(dir.join(format!("{stamp}-000098.eml")).is_dir(), "a folder is left alone");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn long_links_stay_whole_in_the_delivered_text() {
    let (d, _) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    let link = format!("https://console.example.com/reset-password?token={}", "A".repeat(90));
    let email = Email {
        to: "ada@example.com".into(),
        subject: "Link".into(),
        body: format!("Open:\n\n{link}\n"),
    };
    mail::enqueue(&d.db, &d.secrets, d.clock.now(), email).await.unwrap();
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    let message = &inbox.messages()[0];
    assert!(message.contains(&link), "{message}");
    assert_eq!(header(message, "Content-Transfer-Encoding"), Some("7bit"));
}

/// A reset link is never in the database in clear text: sealed while its
/// email waits (a backup taken while SMTP is down holds no working link),
/// and gone once delivered, when it exists only in the recipient's mailbox.
#[tokio::test]
async fn a_link_is_not_kept_readable_in_the_database() {
    let (d, _) = fresh_domain().await;
    app::domain::testing::account_with_admin(&d, "Acme", "ada@example.com").await;
    app::domain::identity::email_links::request_password_reset(&d, "ada@example.com", None)
        .await
        .unwrap();
    let pending = &rows(&d).await[0];
    let text = body_of(&d, pending);
    let token_at = text.find("token=").expect("a link in the queued email") + 6;
    let token: String = text[token_at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 40, "{token}");
    let stored = format!("{pending:?}");
    assert!(!stored.contains(&token) && !stored.contains("reset-password"), "{stored}");
    assert_eq!(pending.key_id, Some(d.secrets.current_key_id()));
    // Sealed for its recipient: the body moved into a row to someone else
    // does not open.
    let moved = outbox::Model { to_address: "eve@example.com".into(), ..pending.clone() };
    assert!(mail::body(&d.secrets.keyring(), &moved).is_err());

    let dir = std::env::temp_dir().join(format!("console-redact-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    mail::deliver_due(&d, &Transport::Folder(dir.clone()), &sender(), 10).await.unwrap();
    let delivered = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    assert!(std::fs::read_to_string(&delivered).unwrap().contains(&token), "the email has it");

    for row in rows(&d).await {
        assert_eq!(row.status, SENT);
        assert_eq!(row.body_text, mail::DELIVERED_BODY);
        assert_eq!(row.key_id, None);
        let stored = format!("{row:?}");
        assert!(!stored.contains(&token), "the token stays in the outbox: {stored}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A body sealed with a key this server lacks (another host's, or a server
/// started without the shared key file) is left alone: taking it would
/// spend its tries and end it failed. It goes out from a worker that has
/// the key. One that was altered never opens and fails for good at once.
#[tokio::test]
async fn an_email_sealed_with_a_key_this_server_lacks_waits_for_it() {
    use app::domain::core::secrets::{Keyring, Secrets};
    let (d, _) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    enqueue(&d, "ada@example.com", "Sealed").await;
    let mut without_the_key = d.clone();
    without_the_key.secrets = Arc::new(Secrets::fixed(Keyring::generate()));

    let sent = mail::deliver_due(&without_the_key, &smtp_transport(port), &sender(), 10).await;
    assert_eq!(sent.unwrap(), 0);
    let row = rows(&d).await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts), (PENDING, 0));
    assert_eq!((row.last_error.as_deref(), row.claimed_until), (None, None));
    assert!(inbox.messages().is_empty());
    assert!(body_of(&d, &row).starts_with("Body of Sealed"), "the body is kept, sealed");

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 1);
    assert_eq!(inbox.messages().len(), 1);
    assert!(inbox.messages()[0].contains("Body of Sealed"));

    // Altered: no key opens it, now or later.
    enqueue(&d, "bob@example.com", "Altered").await;
    let mut altered: outbox::ActiveModel = rows(&d).await.remove(1).into();
    altered.to_address = sea_orm::Set("eve@example.com".into());
    sea_orm::ActiveModelTrait::update(altered, &d.db).await.unwrap();
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 1);
    let row = rows(&d).await.remove(1);
    assert_eq!(row.status, FAILED);
    assert_eq!(inbox.messages().len(), 1, "nothing more was sent");
}

/// A worker that died holding a row (claimed, never finished) does not lose
/// it: once the claim runs out another worker sends it, once.
#[tokio::test]
async fn a_delivery_whose_worker_died_is_taken_over_after_its_claim() {
    let (d, clock) = fresh_domain().await;
    let port = free_port();
    let inbox = start_smtp(port);
    enqueue(&d, "ada@example.com", "Orphan").await;
    // The dead worker's claim, as `claim` writes it.
    let row = rows(&d).await.remove(0);
    let mut claimed: outbox::ActiveModel = row.into();
    claimed.claimed_until = sea_orm::Set(Some(clock_now(&d) + mail::CLAIM_FOR));
    sea_orm::ActiveModelTrait::update(claimed, &d.db).await.unwrap();

    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 0);
    assert!(inbox.messages().is_empty(), "not while the claim holds");
    clock.advance(mail::CLAIM_FOR + Duration::seconds(1));
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 1);
    assert_eq!(inbox.messages().len(), 1);
    assert_eq!(mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap(), 0);
    assert_eq!(inbox.messages().len(), 1, "sent once");
    assert_eq!(rows(&d).await[0].status, SENT);
}

/// The outbox does not grow for ever: a month after its last try, an email
/// delivered or failed for good is removed; one still waiting is kept
/// however old. So are links, a month after they expire (until then a
/// link opened again still says it expired).
#[tokio::test]
async fn old_emails_and_links_are_removed_a_month_on() {
    use app::domain::core::tokens::{self, LINK_EXPIRED, LINK_INVALID};
    use app::domain::identity::email_links;
    use app::domain::jobs;
    use app::domain::testing::{account_with_admin, link_token};
    let (d, clock) = fresh_domain().await;
    let port = free_port();
    start_smtp(port);
    account_with_admin(&d, "Acme", "ada@example.com").await;
    // Asked twice: the first email's link is replaced before it goes.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let link = link_token(&d, "ada@example.com", "/reset-password").await;
    enqueue(&d, "cy@reject.example", "Refused").await;
    mail::deliver_due(&d, &smtp_transport(port), &sender(), 10).await.unwrap();
    let statuses =
        |rows: Vec<outbox::Model>| rows.into_iter().map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(statuses(rows(&d).await), [WITHDRAWN, SENT, FAILED]);
    clock.advance(Duration::days(20));
    enqueue(&d, "bob@example.com", "Waiting").await; // SMTP is never asked again here

    clock.advance(mail::KEPT_AFTER_LAST_TRY - Duration::days(20) - Duration::minutes(1));
    assert_eq!(jobs::forget_old_mail_and_links(&d, &smtp_transport(port)).await.unwrap(), 0);
    let before = Snapshot::take(&d).await;
    let opened = email_links::reset_password(&d, &link, "Quartz-Harbor-Lantern-77", "t", None);
    assert_eq!(opened.await.err().unwrap().message_for("token").as_deref(), Some(LINK_EXPIRED));
    before.assert_unchanged(&d).await;

    clock.advance(Duration::minutes(2));
    // The three emails, and the replaced link (ended when it was replaced);
    // the newer link expired an hour after it was sent.
    assert_eq!(jobs::forget_old_mail_and_links(&d, &smtp_transport(port)).await.unwrap(), 4);
    assert_eq!(statuses(rows(&d).await), [PENDING], "the waiting email is kept");
    clock.advance(tokens::KEPT_AFTER_EXPIRY);
    jobs::clean_up(&d, &smtp_transport(port)).await;
    let before = Snapshot::take(&d).await;
    let opened = email_links::reset_password(&d, &link, "Quartz-Harbor-Lantern-77", "t", None);
    assert_eq!(opened.await.err().unwrap().message_for("token").as_deref(), Some(LINK_INVALID));
    before.assert_unchanged(&d).await;
    assert_eq!(statuses(rows(&d).await), [PENDING]);
}

/// A failed email queued again (`mail retry`) just as the clean-up removes
/// old failed ones is kept: the clean-up checks each row again as the retry
/// left it. (PostgreSQL is where the delete waits for the retry's row and
/// then finds it changed; SQLite runs one writer at a time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_email_queued_again_during_the_clean_up_is_kept() {
    use app::domain::testing::wait_for_lock_waiters;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let (d, clock) = fresh_concurrent_domain().await;
    enqueue(&d, "ada@example.com", "Old").await;
    let status = |to: &'static str| {
        outbox::Entity::update_many().col_expr(outbox::Column::Status, Expr::value(to))
    };
    status(FAILED).exec(&d.db).await.unwrap();
    clock.advance(Duration::days(40));
    let cutoff = d.clock.now() - Duration::days(30);

    // The retry's change, not yet committed.
    let retry = d.begin().await.unwrap();
    let queued = status(PENDING)
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(d.clock.now()))
        .filter(outbox::Column::Status.eq(FAILED));
    assert_eq!(queued.exec(&retry).await.unwrap().rows_affected, 1);
    let d2 = d.clone();
    let cleaning = tokio::spawn(async move { mail::forget_before(&d2.db, cutoff, 100).await });
    wait_for_lock_waiters(&d, 1).await;
    retry.commit().await.unwrap();
    assert_eq!(cleaning.await.unwrap().unwrap(), 0, "nothing removed");
    let kept: Vec<String> = rows(&d).await.into_iter().map(|r| r.status).collect();
    assert_eq!(kept, [PENDING]);
}
