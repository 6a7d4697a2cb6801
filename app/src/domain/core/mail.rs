//! Email that is never lost: an outbox row is written in the same transaction
//! as the change that causes it, and workers deliver rows by SMTP (or, in the
//! embedded default, into a folder of .eml files), with retries and backoff.
//!
//! Several server processes may share one database: a worker claims a row with
//! a conditional UPDATE (it succeeds for exactly one of them, on SQLite and
//! PostgreSQL alike) and holds it for [`CLAIM_FOR`]. A worker that dies
//! mid-delivery lets the claim lapse and another one sends the row again with
//! the same Message-ID, so the duplicate is recognisable.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::domain::core::crypto::{random_bytes, token_hash};
use crate::domain::core::secrets::{Keyring, Sealed, SecretError, Secrets};
use crate::domain::core::{db, Domain};
use crate::domain::entity::email_outbox as outbox;
use crate::domain::entity::{email_token, user};
use crate::model::AppError;

/// After this many failed tries a row ends `failed`: with [`backoff`]'s
/// waits, about a day of trying (an hour of doubling waits, then hourly), so
/// a mail server down for a night loses no email, not only one down for an
/// hour.
pub const MAX_ATTEMPTS: i32 = 30;
/// How long a worker holds a claimed row before another may take it over.
pub const CLAIM_FOR: Duration = Duration::minutes(5);

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
/// Not sent, for good: the link it carried stopped working while it waited
/// (used, expired, replaced by a newer one, or its user removed). A dead
/// link would only send its reader to ask again, and an invitation for a
/// user deleted since, or a reset replaced by a newer one, must not arrive
/// at all.
pub const WITHDRAWN: &str = "withdrawn";

/// What a delivered row's body becomes: the links in an email (reset,
/// activation, verification) are live until used, and a sealed body still
/// opens for whoever holds the key, so it goes once the recipient has it.
/// The recipient, subject and times stay, for the record.
pub const DELIVERED_BODY: &str = "(delivered; the body is not kept)";
/// What a [`WITHDRAWN`] row's body becomes: nobody will send it.
pub const WITHDRAWN_BODY: &str = "(not sent; the body is not kept)";
pub const FAILED: &str = "failed";

/// An email to send.
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Writes `notice`, about `user`'s own account, to the outbox on `conn`, if
/// their address is verified. An address someone signed up with and never
/// verified may be a stranger's: notices of that account's changes would let
/// whoever signed up write to it at will, and tell its owner nothing about
/// an account of theirs.
pub async fn enqueue_notice<C: ConnectionTrait>(
    conn: &C,
    secrets: &Secrets,
    now: DateTime<Utc>,
    user: &user::Model,
    notice: Email,
) -> Result<(), AppError> {
    match user.email_verified_at {
        Some(_) => enqueue(conn, secrets, now, notice).await,
        None => Ok(()),
    }
}

/// Writes `email` to the outbox on `conn`: pass the transaction of the change
/// that causes it, so both are kept or neither. The body is sealed with
/// `secrets` until delivery: the links it may hold work for whoever reads
/// them, in the database or in a backup of it. An email that carries a
/// single-use link goes by [`enqueue_with_link`].
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    secrets: &Secrets,
    now: DateTime<Utc>,
    email: Email,
) -> Result<(), AppError> {
    insert(conn, secrets, now, email, None).await
}

/// [`enqueue`] for an email whose point is the single-use link `token`
/// (from `tokens::issue`): it is sent only if the link still works when
/// its turn comes, else it ends [`WITHDRAWN`].
pub async fn enqueue_with_link<C: ConnectionTrait>(
    conn: &C,
    secrets: &Secrets,
    now: DateTime<Utc>,
    email: Email,
    token: &str,
) -> Result<(), AppError> {
    insert(conn, secrets, now, email, Some(token_hash(token))).await
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    secrets: &Secrets,
    now: DateTime<Utc>,
    email: Email,
    link_token_hash: Option<String>,
) -> Result<(), AppError> {
    let body = secrets.seal(&email.body, &seal_context(&email.to));
    outbox::ActiveModel {
        to_address: Set(email.to),
        subject: Set(email.subject),
        body_text: Set(body.ciphertext),
        key_id: Set(Some(body.key_id)),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        requeued_at: Set(None),
        sent_at: Set(None),
        link_token_hash: Set(link_token_hash),
        message_key: Set(Some(hex::encode(random_bytes::<16>()))),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// What a queued body is bound to: its recipient, so a body copied into
/// another row does not open there.
pub fn seal_context(to: &str) -> String {
    format!("email_outbox:{to}")
}

/// The text of a queued or failed email, as it will be sent.
pub fn body(secrets: &Keyring, row: &outbox::Model) -> Result<String, SecretError> {
    match &row.key_id {
        Some(key_id) => secrets.open(
            &Sealed { key_id: key_id.clone(), ciphertext: row.body_text.clone() },
            &seal_context(&row.to_address),
        ),
        None => Ok(row.body_text.clone()),
    }
}

/// How delivered mail leaves the server.
#[derive(Clone)]
pub enum Transport {
    Smtp(Smtp),
    /// The embedded default: one readable .eml file per email in this folder.
    Folder(PathBuf),
}

/// A relay, and the logins it refused this process: clones (one process's
/// workers) share them.
#[derive(Clone)]
pub struct Smtp {
    relay: AsyncSmtpTransport<Tokio1Executor>,
    refusals: Arc<Mutex<LoginRefusals>>,
}

/// The relay's refusals of this process's login in a row, and until when
/// its worker tries no login. Kept in memory, not on the outbox's rows: the
/// login is this process's setup (a rotated `SMTP_PASSWORD` that has not
/// reached it yet, in a rolling restart), and other processes sharing the
/// outbox may hold the right one and send every email meanwhile.
#[derive(Default)]
struct LoginRefusals {
    in_a_row: i32,
    until: Option<DateTime<Utc>>,
}

impl Smtp {
    /// Whether this process waits before it logs in again.
    fn waiting(&self, now: DateTime<Utc>) -> bool {
        self.refusals.lock().unwrap_or_else(|e| e.into_inner()).until.is_some_and(|t| t > now)
    }

    /// One more refusal: the wait doubles as an email's tries do.
    fn refused(&self, now: DateTime<Utc>) {
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        refusals.in_a_row += 1;
        refusals.until = Some(now + backoff(refusals.in_a_row));
    }

    fn accepted(&self) {
        *self.refusals.lock().unwrap_or_else(|e| e.into_inner()) = LoginRefusals::default();
    }
}

/// SMTP connection security.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on the same host or in tests.
    None,
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Transport {
    pub fn smtp(
        host: &str,
        port: u16,
        security: SmtpSecurity,
        credentials: Option<(String, String)>,
    ) -> Result<Self, String> {
        let builder = match security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| e.to_string())?,
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?
            }
        };
        let mut builder = builder.port(port).timeout(Some(std::time::Duration::from_secs(20)));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Transport::Smtp(Smtp { relay: builder.build(), refusals: Arc::default() }))
    }
}

/// Where delivery stands for one row after a try.
enum Outcome {
    Sent,
    /// Worth trying again later (server down, temporary rejection).
    Transient(String),
    /// Will never succeed (the address or the message was refused for good).
    Permanent(String),
    /// The relay refused this process's login: the email is tried again
    /// later, as [`Outcome::Transient`] (which also keeps a refusal that was
    /// about this email alone from blocking the queue), and this process
    /// logs in no more for a while ([`LoginRefusals`]), leaving every other
    /// email to processes whose login is right. Each would be refused alike,
    /// one more failed login for a relay that locks an account (or bans an
    /// address) after a few.
    LoginRefused(String),
}

/// The Message-ID of a row: kept in the row, so a resend after a crash
/// carries the same one; random, so it tells a recipient nothing of how
/// many emails went before theirs (rows queued before the key existed
/// keep the id they were given, made of the row's id and time).
pub fn message_id(row: &outbox::Model, sender: &Mailbox) -> String {
    let domain = sender.email.domain();
    match &row.message_key {
        Some(key) => format!("<{key}@{domain}>"),
        None => format!("<outbox-{}-{}@{domain}>", row.id, row.created_at.timestamp()),
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): every email is sent by
/// the console itself, so vacation responders and ticket systems must not
/// answer it (their replies would bounce off `MAIL_FROM`'s no-reply box, or
/// open tickets from it).
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// Who sends an email and who its replies reach.
pub struct Sender<'a> {
    /// `MAIL_FROM`.
    pub from: &'a Mailbox,
    /// The platform's support address (`SUPPORT_EMAIL`), when it has one:
    /// `MAIL_FROM` is usually a no-reply box, and a user answering "this was
    /// not me" must reach someone.
    pub reply_to: Option<Mailbox>,
}

/// The subject as the recipient's inbox lists it: the product's name first,
/// so an email is told from the platform's among others (and a made-up
/// "Voice Console" name in a body is not the first thing read).
pub fn shown_subject(subject: &str) -> String {
    format!("{}: {subject}", crate::model::PRODUCT)
}

fn build_message(row: &outbox::Model, body: &str, sender: &Sender) -> Result<Message, String> {
    let to: Mailbox = row.to_address.parse().map_err(|e| format!("bad recipient: {e}"))?;
    let mut message = Message::builder()
        .message_id(Some(message_id(row, sender.from)))
        .from(sender.from.clone())
        .to(to)
        .subject(shown_subject(&row.subject))
        .date(row.created_at.into())
        .header(AutoSubmitted)
        .header(ContentType::TEXT_PLAIN);
    if let Some(reply_to) = &sender.reply_to {
        message = message.reply_to(reply_to.clone());
    }
    message.body(readable_body(body)).map_err(|e| e.to_string())
}

/// Plain 7-bit text when the text allows it (ASCII, lines within RFC 5322's
/// 998 characters), so the .eml files and the links in them stay readable:
/// lettre would otherwise pick quoted-printable for any line over 76
/// characters and break long links across lines.
fn readable_body(text: &str) -> Body {
    let plain = text.is_ascii() && text.lines().all(|line| line.len() <= 998);
    if plain {
        let crlf = text.lines().collect::<Vec<_>>().join("\r\n") + "\r\n";
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}

async fn deliver(
    transport: &Transport,
    secrets: &Keyring,
    row: &outbox::Model,
    sender: &Sender<'_>,
) -> Outcome {
    // A body under a key this process lacks (another host's) is not taken
    // ([`deliver_due_until`]); one whose key left the file meanwhile waits
    // and is tried again. One that was altered never opens.
    let body = match body(secrets, row) {
        Ok(body) => body,
        Err(err @ SecretError::UnknownKey(_)) => {
            return Outcome::Transient(format!("the body does not open: {err}"))
        }
        Err(err) => return Outcome::Permanent(format!("the body does not open: {err}")),
    };
    let message = match build_message(row, &body, sender) {
        Ok(message) => message,
        Err(why) => return Outcome::Permanent(why),
    };
    match transport {
        Transport::Smtp(smtp) => match smtp.relay.send(message).await {
            Ok(_) => {
                smtp.accepted();
                Outcome::Sent
            }
            Err(err) if login_refused(&err) => Outcome::LoginRefused(err.to_string()),
            // Refused for good after the login (an address): the login is right.
            Err(err) if err.is_permanent() => {
                smtp.accepted();
                Outcome::Permanent(err.to_string())
            }
            Err(err) => Outcome::Transient(err.to_string()),
        },
        Transport::Folder(dir) => match write_eml(dir, row, &message.formatted()).await {
            Ok(()) => Outcome::Sent,
            Err(err) => Outcome::Transient(format!("writing to {}: {err}", dir.display())),
        },
    }
}

/// Whether the relay refused the login (530, 534, 535, 538). Permanent to
/// SMTP, but the server's setup, not the message: a wrong or rotated
/// `SMTP_PASSWORD` would otherwise fail every queued email on its first
/// try, their links with them, until the operator fixed it and retried each
/// by hand.
fn login_refused(err: &lettre::transport::smtp::Error) -> bool {
    const LOGIN_REFUSED: [u16; 4] = [530, 534, 535, 538];
    err.is_permanent() && err.status().is_some_and(|code| LOGIN_REFUSED.contains(&u16::from(code)))
}

/// Writes the message beside its final name and renames it, so nobody opens a
/// half-written file.
async fn write_eml(
    dir: &std::path::Path,
    row: &outbox::Model,
    bytes: &[u8],
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{}-{:06}.eml", row.created_at.format("%Y%m%d-%H%M%S"), row.id);
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await
}

/// The wait before try number `attempts + 1`: 30 s doubling, at most an hour.
fn backoff(attempts: i32) -> Duration {
    let doublings = (attempts.max(1) - 1).min(7) as u32;
    (Duration::seconds(30) * 2i32.pow(doublings)).min(Duration::hours(1))
}

/// Why `row`'s link no longer works, if it carries one that does not:
/// then the email is not sent. Read after the row is claimed, so a link
/// used or replaced up to that moment is seen.
async fn link_gone(d: &Domain, row: &outbox::Model) -> Result<Option<&'static str>, AppError> {
    let Some(hash) = &row.link_token_hash else { return Ok(None) };
    let link = email_token::Entity::find_by_id(hash.clone()).one(&d.db).await?;
    Ok(match link {
        None => Some("not sent: its link is no longer known (what it was for was removed)"),
        // Perhaps by its own reader: a worker that died after sending it,
        // before recording so, leaves it to be sent again.
        Some(link) if link.used_at.is_some() => {
            Some("not sent (again): its link was used, perhaps from an earlier delivery")
        }
        Some(link) if link.expires_at <= d.clock.now() => {
            Some("not sent: its link expired, or was replaced or withdrawn, before its turn")
        }
        Some(_) => None,
    })
}

/// Ends a claimed row [`WITHDRAWN`] for `why`, its body dropped, no try
/// spent; only while the claim is still this worker's.
async fn withdraw(
    d: &Domain,
    row: &outbox::Model,
    claimed_until: DateTime<Utc>,
    why: &str,
) -> Result<(), AppError> {
    let withdrawn = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(WITHDRAWN))
        .col_expr(outbox::Column::BodyText, Expr::value(WITHDRAWN_BODY))
        .col_expr(outbox::Column::KeyId, Expr::value(None::<String>))
        .col_expr(outbox::Column::LastError, Expr::value(why))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(None::<DateTime<Utc>>))
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::ClaimedUntil.eq(claimed_until))
        .exec(&d.db)
        .await?;
    if withdrawn.rows_affected == 0 {
        tracing::warn!(email = row.id, "an email's claim ran out while its link was checked");
    } else {
        tracing::info!(email = row.id, reason = why, "an email was not sent");
        metrics::counter!("console_mail_deliveries_total", "outcome" => "withdrawn").increment(1);
    }
    Ok(())
}

/// Takes the row for this worker if nobody else holds it and it is still
/// due, and returns until when: exactly one of several racing workers gets
/// it. The time is read afresh for each row, so a pass slowed down by its
/// first sends never hands out a claim that has already run out, and a row
/// another worker has just put off is left for later. Only a row still as it
/// was read (its attempts unchanged) is taken: the pass counts the attempt
/// from that copy, which another worker's try since would make stale.
async fn claim(d: &Domain, row: &outbox::Model) -> Result<Option<DateTime<Utc>>, AppError> {
    use chrono::SubsecRound;
    // Whole microseconds, as both databases keep it, so the claim written
    // compares equal to the claim read back.
    let now = d.clock.now().trunc_subsecs(6);
    let until = now + CLAIM_FOR;
    let free = Condition::any()
        .add(outbox::Column::ClaimedUntil.is_null())
        .add(outbox::Column::ClaimedUntil.lt(now));
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(until))
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(outbox::Column::Attempts.eq(row.attempts))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(free)
        .exec(&d.db)
        .await?;
    Ok((result.rows_affected == 1).then_some(until))
}

/// One pass of a worker: delivers up to `batch` due rows. Returns how many it
/// handled (sent, withdrawn, retried later or failed): none while the relay's refusal
/// of this process's login is fresh.
pub async fn deliver_due(
    d: &Domain,
    transport: &Transport,
    sender: &Mailbox,
    batch: u64,
) -> Result<usize, AppError> {
    deliver_due_until(d, transport, sender, batch, &|| false).await
}

/// [`deliver_due`], but once `stopping` says so (the server is shutting down)
/// it claims no further row: the one being sent is finished and recorded,
/// the others stay free for the next worker.
pub async fn deliver_due_until(
    d: &Domain,
    transport: &Transport,
    sender: &Mailbox,
    batch: u64,
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<usize, AppError> {
    let now = d.clock.now();
    if let Transport::Smtp(smtp) = transport {
        if smtp.waiting(now) {
            return Ok(0);
        }
    }
    let sender = Sender {
        from: sender,
        reply_to: d.support_email.as_deref().and_then(|address| address.parse().ok()),
    };
    // A rotation's new key, before the first row sealed with it.
    d.secrets.reread();
    let keyring = d.secrets.keyring();
    // Only bodies this process can open: one under another host's key
    // would spend its tries here and end failed (a server started without
    // the shared key file, or one a rotation has not reached).
    let opens = Condition::any()
        .add(outbox::Column::KeyId.is_null())
        .add(outbox::Column::KeyId.is_in(keyring.key_ids()));
    let due = outbox::Entity::find()
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(opens)
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(outbox::Column::ClaimedUntil.is_null())
                .add(outbox::Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(outbox::Column::Id)
        .limit(batch)
        .all(&d.db)
        .await?;
    let mut handled = 0;
    for row in due {
        if stopping() {
            break;
        }
        let Some(claimed_until) = claim(d, &row).await? else {
            continue;
        };
        if let Some(why) = link_gone(d, &row).await? {
            withdraw(d, &row, claimed_until, why).await?;
            handled += 1;
            continue;
        }
        let outcome = deliver(transport, &keyring, &row, &sender).await;
        let stop_pass = matches!(outcome, Outcome::LoginRefused(_));
        if let (true, Transport::Smtp(smtp)) = (stop_pass, transport) {
            smtp.refused(d.clock.now());
        }
        let attempts = row.attempts + 1;
        let finished = d.clock.now();
        // Recorded only while the claim is still this worker's: past it,
        // another worker may hold the row, and its outcome is the one kept.
        let update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::ClaimedUntil.eq(claimed_until));
        let update = match outcome {
            Outcome::Sent => {
                metrics::counter!("console_mail_deliveries_total", "outcome" => "sent")
                    .increment(1);
                update
                    .col_expr(outbox::Column::Status, Expr::value(SENT))
                    .col_expr(outbox::Column::SentAt, Expr::value(finished))
                    .col_expr(outbox::Column::BodyText, Expr::value(DELIVERED_BODY))
                    .col_expr(outbox::Column::KeyId, Expr::value(None::<String>))
                    .col_expr(outbox::Column::LastError, Expr::value(None::<String>))
            }
            Outcome::Transient(why) | Outcome::LoginRefused(why) if attempts < MAX_ATTEMPTS => {
                // The row's id, which `mail failed --id` and `mail retry` take.
                if stop_pass {
                    tracing::error!(email = row.id, attempts, error = %why, "the mail relay refused this process's login; it logs in again later");
                } else {
                    tracing::warn!(email = row.id, attempts, error = %why, "email delivery failed; will retry");
                }
                let outcome = if stop_pass { "login_refused" } else { "retry" };
                metrics::counter!("console_mail_deliveries_total", "outcome" => outcome)
                    .increment(1);
                update
                    .col_expr(
                        outbox::Column::NextAttemptAt,
                        Expr::value(finished + backoff(attempts)),
                    )
                    .col_expr(outbox::Column::LastError, Expr::value(why))
            }
            Outcome::Transient(why) | Outcome::LoginRefused(why) | Outcome::Permanent(why) => {
                tracing::error!(email = row.id, attempts, error = %why, "email delivery failed for good");
                metrics::counter!("console_mail_deliveries_total", "outcome" => "failed")
                    .increment(1);
                update
                    .col_expr(outbox::Column::Status, Expr::value(FAILED))
                    .col_expr(outbox::Column::LastError, Expr::value(why))
            }
        };
        if update.exec(&d.db).await?.rows_affected == 0 {
            tracing::warn!(email = row.id, "an email's claim ran out while it was sent");
        }
        handled += 1;
        if stop_pass {
            break;
        }
    }
    Ok(handled)
}

/// How long a delivered, withdrawn or failed email stays in the outbox:
/// failed ones for an operator to see and send again, the others (their
/// body already dropped) as a record of what went out or did not.
pub const KEPT_AFTER_LAST_TRY: Duration = Duration::days(30);

/// Removes emails no longer pending whose last try was due before `cutoff`
/// (`next_attempt_at`, which a delivery leaves at the time it was due), in
/// batches of `batch` (found on `idx_email_outbox_due`). Returns how many.
pub async fn forget_before<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> Result<u64, AppError> {
    let done = sea_orm::Condition::all()
        .add(outbox::Column::Status.is_in([SENT, WITHDRAWN, FAILED]))
        .add(outbox::Column::NextAttemptAt.lt(cutoff));
    db::delete_in_batches::<outbox::Entity>(conn, outbox::Column::Id, batch, done).await
}

/// Removes the files of the local mail folder (the embedded default) whose
/// emails were queued before `cutoff` and written before it too (one that
/// waited long for its key or was sent again is kept its month), the
/// folder's share of [`forget_before`]: each holds the links the outbox no
/// longer keeps. A file left half-written by a crash goes too; files the
/// console did not write are left alone, and one that cannot be removed is
/// logged and passed over, not left to stop the rest. Returns how many.
pub async fn forget_files_before(
    transport: &Transport,
    cutoff: DateTime<Utc>,
) -> Result<u64, AppError> {
    let Transport::Folder(dir) = transport else { return Ok(0) };
    let failed = |err: std::io::Error| {
        tracing::error!(folder = %dir.display(), error = %err, "could not clean the mail folder");
        AppError::Internal
    };
    let mut files = match tokio::fs::read_dir(dir).await {
        Ok(files) => files,
        // Nothing delivered yet.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(failed(err)),
    };
    let mut removed = 0;
    while let Some(file) = files.next_entry().await.map_err(failed)? {
        let queued = file.file_name().to_str().and_then(queued_at_of_file);
        if queued.is_none_or(|queued| queued >= cutoff) {
            continue;
        }
        let written = match file.metadata().await {
            Ok(meta) if meta.is_file() => meta.modified().ok().map(DateTime::<Utc>::from),
            // Not a file (a folder named like one), or gone meanwhile.
            _ => continue,
        };
        if written.is_none_or(|written| written >= cutoff) {
            continue;
        }
        match tokio::fs::remove_file(file.path()).await {
            Ok(()) => removed += 1,
            // Another server process removed it first.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                let name = file.file_name();
                tracing::warn!(file = ?name, error = %err, "could not remove an old email file");
            }
        }
    }
    Ok(removed)
}

/// When the email in a file of the mail folder was queued, read from the
/// name [`write_eml`] gave it (or its half-written copy); `None` for a file
/// it did not write.
fn queued_at_of_file(name: &str) -> Option<DateTime<Utc>> {
    let name = name.strip_prefix('.').and_then(|n| n.strip_suffix(".partial")).unwrap_or(name);
    let (stamp, id) = name.strip_suffix(".eml")?.rsplit_once('-')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stamp = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S").ok()?;
    Some(stamp.and_utc())
}

/// The emails waiting to be sent, as the metrics endpoint shows them.
pub struct Queue {
    pub depth: u64,
    /// When the longest-waiting one was queued (or queued again by `mail
    /// retry`): an SMTP server refusing everything shows as a growing age
    /// long before the depth is unusual.
    pub oldest: Option<DateTime<Utc>>,
}

pub async fn queue(d: &Domain) -> Result<Queue, AppError> {
    use sea_orm::sea_query::Func;
    use sea_orm::PaginatorTrait;
    let pending = || outbox::Entity::find().filter(outbox::Column::Status.eq(PENDING));
    let depth = pending().count(&d.read).await?;
    let waiting_since = Func::coalesce([
        outbox::Column::RequeuedAt.into_expr(),
        outbox::Column::CreatedAt.into_expr(),
    ]);
    let oldest: Option<Option<DateTime<Utc>>> =
        pending().select_only().expr(Func::min(waiting_since)).into_tuple().one(&d.read).await?;
    Ok(Queue { depth, oldest: oldest.flatten() })
}

/// Operator view: the emails that ended `failed`, oldest first.
pub async fn failed(d: &Domain) -> Result<Vec<outbox::Model>, AppError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(FAILED))
        .order_by_asc(outbox::Column::Id)
        .all(&d.db)
        .await?)
}

/// Operator command: puts failed emails (one, or all with `None`) back in the
/// queue with a fresh set of tries. Returns how many. One whose body is
/// sealed with a key the key file lacks stays failed: no worker could send it.
pub async fn retry_failed(d: &Domain, id: Option<i32>) -> Result<u64, AppError> {
    let opens = Condition::any()
        .add(outbox::Column::KeyId.is_null())
        .add(outbox::Column::KeyId.is_in(d.secrets.keyring().key_ids()));
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(PENDING))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(d.clock.now()))
        .col_expr(outbox::Column::RequeuedAt, Expr::value(d.clock.now()))
        .filter(outbox::Column::Status.eq(FAILED))
        .filter(opens);
    if let Some(id) = id {
        update = update.filter(outbox::Column::Id.eq(id));
    }
    Ok(update.exec(&d.db).await?.rows_affected)
}

/// How many failed emails no key of this process opens: what a retry
/// leaves failed, whatever the worker does meanwhile.
pub async fn failed_unopened(d: &Domain) -> Result<u64, AppError> {
    use sea_orm::PaginatorTrait;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(FAILED))
        .filter(outbox::Column::KeyId.is_not_null())
        .filter(outbox::Column::KeyId.is_not_in(d.secrets.keyring().key_ids()))
        .count(&d.db)
        .await?)
}

/// What an email sealed with a lost key ends with.
pub const SEALED_WITH_LOST_KEY: &str = "its body is sealed with a key declared lost";

/// Fails for good the emails waiting whose bodies are sealed with one of the
/// `lost` keys: no worker can send them, and pending they would hold the
/// queue's age for ever. Returns how many.
pub async fn fail_sealed_with(d: &Domain, lost: &[String]) -> Result<u64, AppError> {
    if lost.is_empty() {
        return Ok(0);
    }
    let failed = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(FAILED))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(d.clock.now()))
        .col_expr(outbox::Column::LastError, Expr::value(SEALED_WITH_LOST_KEY))
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(outbox::Column::KeyId.is_in(lost.iter().cloned()))
        .exec(&d.db)
        .await?;
    Ok(failed.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(4), Duration::seconds(240));
        assert_eq!(backoff(7), Duration::seconds(30 * 64));
        assert_eq!(backoff(20), Duration::hours(1));
    }
}
