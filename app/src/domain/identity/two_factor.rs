//! Two-factor authentication with time-based one-time passwords (RFC 6238:
//! HMAC-SHA1, 6 digits, 30-second steps), plus ten single-use recovery
//! codes. Only the user changes their own 2FA; an operator may reset it.
//! The secret is sealed with the keyring; a code is accepted once.
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect, Set, TryInsertResult,
};
use sha1::Sha1;

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::crypto::{random_bytes, token_hash};
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people::own_row;
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::lock_account_of;
use crate::domain::core::secrets::Sealed;
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::Domain;
use crate::domain::entity::{login_challenge, recovery_code, two_factor, user};
use crate::domain::identity::sessions::end_sign_ins;
use crate::domain::identity::{reauth, throttle};
use crate::model::{ActivityKind, AppError, TwoFactorSetup, TwoFactorStatus};

pub const STEP_SECONDS: i64 = 30;
pub const RECOVERY_CODES: usize = 10;
/// A right code of a step already used (the one that turned 2FA on, or a
/// log-in's): each works once, so it is refused, and counted as a wrong one.
pub const CODE_USED: &str =
    "This code was just used, and each code works once. Wait for the next one in your authenticator app.";
pub const WRONG_CODE: &str = "That code is not valid. Enter the current 6-digit code from your authenticator app, or an unused recovery code.";
const ISSUER: &str = crate::model::PRODUCT;
/// Two windows changed two-factor authentication at the same moment.
pub const ALREADY_ON: &str = "Two-factor authentication is already on.";
pub const NOT_SET_UP: &str = "Start setting up two-factor authentication first.";
pub const CHANGED_MEANWHILE: &str =
    "Two-factor authentication was changed in another window. Reload the page and try again.";
pub const SETUP_REPLACED: &str = "Set-up was started again in another window, which replaced \
    this QR code. Enter the code for the newest one there, or press Cancel and set up again here.";

/// The 6-digit code of `secret` for time step `step` (RFC 4226 / 6238).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    binary % 1_000_000
}

pub fn step_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(STEP_SECONDS)
}

/// RFC 4648 base32 without padding: how authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buffer = [0u8; 5];
        buffer[..chunk.len()].copy_from_slice(chunk);
        let bits =
            u64::from_be_bytes([0, 0, 0, buffer[0], buffer[1], buffer[2], buffer[3], buffer[4]]);
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..symbols {
            out.push(ALPHABET[((bits >> (35 - i * 5)) & 31) as usize] as char);
        }
    }
    out
}

/// What a sealed value of this table is bound to (see `operator::reseal_secrets`).
pub fn seal_context(user_id: i32) -> String {
    format!("totp:{user_id}")
}

fn open_secret(d: &Domain, row: &two_factor::Model) -> Result<Vec<u8>, AppError> {
    let sealed = Sealed { key_id: row.key_id.clone(), ciphertext: row.ciphertext.clone() };
    let text = d.secrets.open(&sealed, &seal_context(row.user_id)).map_err(|err| {
        tracing::error!(user = row.user_id, error = %err, "a TOTP secret does not open");
        AppError::Internal
    })?;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| AppError::Internal)
}

/// Whether `code` is a 6-digit code of the current step or one step either
/// side (clock drift), newer than the last one accepted. Returns its step.
fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>, last_step: i64) -> Option<i64> {
    let wanted = totp_digits(code)?;
    let now_step = step_of(now);
    (now_step - 1..=now_step + 1).find(|step| *step > last_step && code_at(secret, *step) == wanted)
}

/// The number a TOTP code holds, if `code` is one: six digits, spaces aside.
fn totp_digits(code: &str) -> Option<u32> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

fn normalize_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace([' ', '-'], "")
}

/// 80 random bits, as 16 letters and digits in four groups. Stored as a
/// SHA-256 like the other tokens, which is only safe because the code is too
/// long to guess: at 40 bits (the first codes) one GPU tried every code of
/// every user in a stolen backup in about a minute. Codes made before stay
/// valid (they are looked up by their hash, whatever their length) until
/// the user makes new ones.
fn new_recovery_code() -> String {
    let raw = base32(&random_bytes::<10>()).to_lowercase();
    format!("{}-{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..12], &raw[12..])
}

pub async fn status(d: &Domain, me: &Member) -> Result<TwoFactorStatus, AppError> {
    let enabled = enabled_row(&d.read, me.user_id()).await?.is_some();
    let left = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(me.user_id()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&d.read)
        .await? as usize;
    Ok(TwoFactorStatus { enabled, recovery_codes_left: if enabled { left } else { 0 } })
}

async fn enabled_row(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Option<two_factor::Model>, AppError> {
    Ok(two_factor::Entity::find_by_id(user_id)
        .filter(two_factor::Column::EnabledAt.is_not_null())
        .one(conn)
        .await?)
}

/// Starts setup: a new secret, shown once as a QR code and as text. Nothing
/// changes for log-in until [`confirm_setup`] receives a valid code.
pub async fn begin_setup(d: &Domain, me: &Member) -> Result<TwoFactorSetup, AppError> {
    if enabled_row(&d.db, me.user_id()).await?.is_some() {
        return Err(AppError::Conflict(ALREADY_ON.into()));
    }
    let user = user::Entity::find_by_id(me.user_id())
        .one(&d.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let who = Who { actor: Some(me.user_id()), ..Who::default() };
    d.spend_alone(Action::TwoFactorSetup, &who).await?;
    let secret = random_bytes::<20>();
    let sealed = d.secrets.seal(
        &base64::engine::general_purpose::STANDARD.encode(secret),
        &seal_context(me.user_id()),
    );
    // Only a pending setup is replaced: were 2FA turned on meanwhile (another
    // window), deleting its row would turn it off for log-in.
    let txn = d.begin().await?;
    two_factor::Entity::delete_many()
        .filter(two_factor::Column::UserId.eq(me.user_id()))
        .filter(two_factor::Column::EnabledAt.is_null())
        .exec(&txn)
        .await?;
    let row = two_factor::ActiveModel {
        user_id: Set(me.user_id()),
        key_id: Set(sealed.key_id),
        ciphertext: Set(sealed.ciphertext),
        enabled_at: Set(None),
        last_step: Set(0),
        created_at: Set(d.clock.now()),
    };
    let inserted = two_factor::Entity::insert(row)
        .on_conflict_do_nothing_on([two_factor::Column::UserId])
        .exec_without_returning(&txn)
        .await?;
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        return Err(AppError::Conflict(CHANGED_MEANWHILE.into()));
    }
    txn.commit().await?;
    let setup_id = setup_id(&secret);
    let text = base32(&secret);
    let issuer = otpauth_text(ISSUER);
    let label = format!("{issuer}:{}", otpauth_text(&user.email));
    let uri = format!(
        "otpauth://totp/{label}?secret={text}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECONDS}"
    );
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|_| AppError::Internal)?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(TwoFactorSetup { secret: text, otpauth_uri: uri, qr_svg, setup_id })
}

/// A set-up's name: a hash of its secret, which the page it is shown on
/// holds anyway (a hash of the sealed text would change when `secrets
/// rotate` seals it again, and call a set-up replaced that was not).
fn setup_id(secret: &[u8]) -> String {
    token_hash(&base32(secret))[..16].to_string()
}

/// A part of an `otpauth://` address escaped, all but the unreserved
/// characters: an address may hold `#`, `?`, `&` or `%` before its `@`,
/// which left raw would end the label early and hide the secret from the
/// authenticator app.
fn otpauth_text(text: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const UNRESERVED: &AsciiSet =
        &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Turns 2FA on with the user's password and the first valid code; returns
/// the recovery codes, shown once. `setup_id`, when given, is the set-up the
/// code was read from ([`TwoFactorSetup::setup_id`]): another one started
/// since is refused as such (the JSON API may leave it out). Every other session of the user ends
/// (and every log-in waiting for a code): one opened with the password alone
/// by someone who had it would otherwise outlive the second factor.
pub async fn confirm_setup(
    d: &Domain,
    me: &Member,
    current_session_token: &str,
    password: &str,
    code: &str,
    setup_id: Option<&str>,
) -> Result<Vec<String>, AppError> {
    let now = d.clock.now();
    let user = own_row(d, me).await?;
    // Its counts before the password is checked: a refusal then costs no
    // check. Each time it turns on (and each time off, which needs it on
    // first) the user is emailed, so it is counted per user and per client
    // address (see `QuotaPolicy`: no platform total).
    let who = Who { actor: Some(me.user_id()), client: me.address(), ..Who::default() };
    quota::refuse_spent(&d.read, &d.quotas, now, Action::TwoFactorOn, &who).await?;
    reauth::require_password(d, me, &user, password, "password").await?;
    let txn = d.begin().await?;
    // Before the code's rows, as `with_code` takes it. A reset committed
    // since the password check must not find a stale set-up turned on.
    let current = lock_account_of(&txn, me.user_id()).await?;
    reauth::refuse_changed_since(&user, &current, "password")?;
    // Locked (FOR UPDATE on PostgreSQL; SQLite has one writer): a key
    // rotation re-sealing the row between this read and the update below
    // would otherwise fail the right code as "changed in another window".
    let pending = two_factor::Entity::find_by_id(me.user_id())
        .filter(two_factor::Column::EnabledAt.is_null())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Conflict(NOT_SET_UP.into()))?;
    let secret = open_secret(d, &pending)?;
    if setup_id.is_some_and(|shown| shown != self::setup_id(&secret)) {
        return Err(AppError::Conflict(SETUP_REPLACED.into()));
    }
    let step = matching_step(&secret, code, now, pending.last_step).ok_or_else(|| {
        AppError::field(
            "code",
            "That code is not valid. Enter the current 6-digit code from your authenticator app.",
        )
    })?;
    // Counted once the code is right.
    d.spend(&txn, Action::TwoFactorOn, &who).await?;
    // Only the pending secret just checked turns on, and only once: of two
    // confirmations at the same moment (a double submit, two windows), the
    // second would otherwise replace the recovery codes the first showed,
    // and a setup started again meanwhile holds another secret.
    let turned_on = two_factor::Entity::update_many()
        .col_expr(two_factor::Column::EnabledAt, Expr::value(now))
        .col_expr(two_factor::Column::LastStep, Expr::value(step))
        .filter(two_factor::Column::UserId.eq(me.user_id()))
        .filter(two_factor::Column::EnabledAt.is_null())
        .filter(two_factor::Column::Ciphertext.eq(pending.ciphertext))
        .exec(&txn)
        .await?;
    if turned_on.rows_affected != 1 {
        return Err(AppError::Conflict(CHANGED_MEANWHILE.into()));
    }
    let codes = replace_recovery_codes(&txn, me.user_id()).await?;
    end_sign_ins(&txn, me.user_id(), Some(current_session_token)).await?;
    // An email change asked for with the password alone would, once its
    // link is opened, take the account's recovery address past the second
    // factor: withdrawn, as a password change withdraws it.
    tokens::expire(d, &txn, me.user_id(), Purpose::ChangeEmail).await?;
    let user = set_flag(&txn, me.user_id(), true).await?;
    let event = Event::new(ActivityKind::TwoFactorEnabled, &user.email);
    activity::record(d, &txn, By::Remedy(me), event).await?;
    mail::enqueue_notice(&txn, &d.secrets, now, &user, notice(d, &user.email, true, me)).await?;
    txn.commit().await?;
    Ok(codes)
}

async fn replace_recovery_codes(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<String>, AppError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(token_hash(&normalize_recovery(code))),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(codes)
}

async fn set_flag(
    conn: &impl ConnectionTrait,
    user_id: i32,
    on: bool,
) -> Result<user::Model, AppError> {
    let found = user::Entity::find_by_id(user_id).one(conn).await?.ok_or(AppError::NotFound)?;
    let mut active = found.into_active_model();
    active.two_factor_enabled = Set(on);
    Ok(active.update(conn).await?)
}

/// The email a turn on or off sends, saying when and from which address,
/// as the password's does: someone who did not do it needs both to tell
/// support. Turned on, it says what that ended, as the page does.
fn notice(d: &Domain, to: &str, enabled: bool, me: &Member) -> Email {
    let (subject, what, ended) = if enabled {
        (
            "Two-factor authentication is on",
            "turned on",
            " Your other sessions were logged out, and an email change waiting for its \
             confirmation, if any, was cancelled.",
        )
    } else {
        ("Two-factor authentication is off", "turned off", "")
    };
    let from = me.address().map(|address| format!(" from {address}")).unwrap_or_default();
    // Turned on by someone else, the second factor is theirs, and a reset
    // by email would ask for its code: only support can turn it off.
    let advice = if enabled {
        format!(
            "If this was not you, {} at once: a password reset would now ask for a code from \
             their authenticator, and only support can turn it off.",
            d.contact_support()
        )
    } else {
        format!("If this was not you, reset your password at once and {}.", d.contact_support())
    };
    Email {
        to: to.into(),
        subject: subject.into(),
        body: format!(
            "Two-factor authentication was {what} for your Voice Console user at {}{from}.{ended}\n\n\
             {advice}\n",
            clock::shown(d.clock.now()),
        ),
    }
}

/// Checks a second factor for `user_id`: a TOTP code newer than the last one
/// used, or an unused recovery code. Either is used up by this call. The
/// updates are conditional, so two requests with one code cannot both pass.
/// Returns which factor the code was, or `None` for a wrong code; a right
/// TOTP code of a step already used is refused with [`CODE_USED`].
pub async fn verify(
    d: &Domain,
    conn: &impl ConnectionTrait,
    user_id: i32,
    code: &str,
) -> Result<Option<Factor>, AppError> {
    let Some(row) = enabled_row(conn, user_id).await? else { return Ok(None) };
    // A secret this process cannot open (sealed with a key its file lacks:
    // a host the key file has not reached) leaves the recovery codes, which
    // are hashed, not sealed: the user can still sign in with one.
    let Ok(secret) = open_secret(d, &row) else {
        if use_recovery_code(d, conn, user_id, code).await? {
            return Ok(Some(Factor::RecoveryCode));
        }
        // A TOTP code cannot be checked here, which is no fault of the code
        // (and not counted, see `with_code_while`); anything else is a
        // wrong recovery code, counted as ever.
        return match totp_digits(code) {
            Some(_) => Err(AppError::Conflict(CODES_UNCHECKABLE.into())),
            None => Ok(None),
        };
    };
    if let Some(step) = matching_step(&secret, code, d.clock.now(), row.last_step) {
        let taken = two_factor::Entity::update_many()
            .col_expr(two_factor::Column::LastStep, step.into())
            .filter(two_factor::Column::UserId.eq(user_id))
            .filter(two_factor::Column::LastStep.lt(step))
            .exec(conn)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Some(Factor::Totp));
        }
        return Err(AppError::field("code", CODE_USED));
    }
    // Right but of a step used already: the user typed it twice, or waited
    // too little after turning 2FA on. Telling them so says nothing to
    // someone who saw the code (they know it was right) or guessed it.
    if matching_step(&secret, code, d.clock.now(), i64::MIN).is_some() {
        return Err(AppError::field("code", CODE_USED));
    }
    Ok(use_recovery_code(d, conn, user_id, code).await?.then_some(Factor::RecoveryCode))
}

/// Uses up `code` if it is one of the user's unused recovery codes.
async fn use_recovery_code(
    d: &Domain,
    conn: &impl ConnectionTrait,
    user_id: i32,
    code: &str,
) -> Result<bool, AppError> {
    let hash = token_hash(&normalize_recovery(code));
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Some(d.clock.now()).into())
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Why an authenticator code is not checked by a process that cannot open
/// the user's secret (a key its file lacks).
pub const CODES_UNCHECKABLE: &str = "Authenticator codes cannot be checked right now. Enter one \
     of your recovery codes instead, or try again in a few minutes.";

/// Which second factor a right code was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

/// Whether a user has 2FA on (log-in asks for a code then).
pub async fn is_enabled(conn: &impl ConnectionTrait, user_id: i32) -> Result<bool, AppError> {
    Ok(enabled_row(conn, user_id).await?.is_some())
}

/// Checks a code of `user_id` as [`verify`] does, counted against the user's
/// code throttle (across log-ins and settings) before it is checked, then
/// runs `then` in the same transaction when it is right. A wrong code keeps
/// its count; a right one clears the user's count. A recovery code used up
/// is recorded in the activity log, from `client`.
pub async fn with_code<T>(
    d: &Domain,
    user_id: i32,
    code: &str,
    client: Option<std::net::IpAddr>,
    then: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    with_code_while(d, user_id, code, client, async |_| Ok(()), then).await
}

/// [`with_code`], asking `still` under the account's lock, before the code
/// is checked, whether what the code is for is still there: a log-in's code
/// step that a parallel right code (a double submit) has just used is
/// refused as such, not as a used code and a failed sign-in.
pub async fn with_code_while<T>(
    d: &Domain,
    user_id: i32,
    code: &str,
    client: Option<std::net::IpAddr>,
    still: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<(), AppError>,
    then: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if code.trim().is_empty() {
        return Err(AppError::field("code", CODE_REQUIRED));
    }
    let subjects = throttle::Subjects::second_factor(user_id);
    throttle::admit(d, &subjects, user_id, client).await?;
    let txn = d.begin().await?;
    // Before the code's rows: `then` may use a link (a reset's code step),
    // and two regenerations at once queue rather than both keep their codes.
    lock_account_of(&txn, user_id).await?;
    // Turned off meanwhile (another window, support): there is no code to
    // check, and a right one must not be answered, and counted, as wrong.
    let gone = match still(&txn).await {
        Ok(()) if !is_enabled(&txn, user_id).await? => {
            Some(AppError::Conflict(CHANGED_MEANWHILE.into()))
        }
        Ok(()) => None,
        Err(gone) => Some(gone),
    };
    if let Some(gone) = gone {
        txn.rollback().await?;
        throttle::give_back(d, &subjects).await?;
        return Err(gone);
    }
    let factor = match verify(d, &txn, user_id, code).await {
        Ok(Some(factor)) => factor,
        Ok(None) => return Err(AppError::field("code", WRONG_CODE)),
        // The server's fault (a secret it cannot open, the database), not
        // the code's: counted, such failures would lock the user's codes.
        Err(err)
            if err == AppError::Internal || err == AppError::Conflict(CODES_UNCHECKABLE.into()) =>
        {
            txn.rollback().await?;
            throttle::give_back(d, &subjects).await?;
            return Err(err);
        }
        Err(refused) => return Err(refused),
    };
    if factor == Factor::RecoveryCode {
        if let Some(user) = user::Entity::find_by_id(user_id).one(&txn).await? {
            let event = Event::new(ActivityKind::RecoveryCodeUsed, &user.email);
            activity::record(d, &txn, By::User(&user, client), event).await?;
        }
    }
    // A right code refused for something else (a name taken) rolls back,
    // its code unused, and still gives its count back: five such refusals
    // must not lock the user's codes.
    let done = match then(&txn).await {
        Ok(done) => txn.commit().await.map(|()| done).map_err(AppError::from),
        Err(error) => txn.rollback().await.map_err(AppError::from).and(Err(error)),
    };
    throttle::succeeded(d, &subjects).await?;
    done
}

/// Why a change guarded by the second factor is refused without a code.
pub const CODE_NEEDED: &str = "Two-factor authentication is on: enter a code.";
/// Beside an empty code field where a code is asked for: said before
/// anything is counted, so a press of the button with the field empty does
/// not spend one of the user's tries as a wrong code would.
pub const CODE_REQUIRED: &str =
    "Enter the 6-digit code from your authenticator app, or a recovery code.";

/// Runs `then` in a transaction holding the account's lock; for a user with
/// 2FA on, only after a right `code`, counted and checked as [`with_code`]
/// does. For what a password re-check guards and outlives the session (a
/// developer key, the email address that resets go to): whoever has stolen
/// a session and the password, but not the second factor, must not keep a
/// way in after the user changes the password.
pub async fn with_code_if_on<T>(
    d: &Domain,
    user_id: i32,
    code: &str,
    client: Option<std::net::IpAddr>,
    then: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if is_enabled(&d.db, user_id).await? {
        if code.trim().is_empty() {
            return Err(code_needed());
        }
        return with_code(d, user_id, code, client, then).await;
    }
    let txn = d.begin().await?;
    lock_account_of(&txn, user_id).await?;
    // Read again under the lock: 2FA turned on meanwhile (which ended the
    // other sessions) must not be followed by a change made without a code.
    if is_enabled(&txn, user_id).await? {
        return Err(code_needed());
    }
    let done = then(&txn).await?;
    txn.commit().await?;
    Ok(done)
}

/// Refuses at once, before a password is checked or a change counted, a
/// change [`with_code_if_on`] guards that came without a code from a user
/// with 2FA on: the form only then shows the code's field, so this is the
/// first answer of every such user, and it must cost them nothing.
pub async fn require_code_if_on(d: &Domain, user_id: i32, code: &str) -> Result<(), AppError> {
    if code.trim().is_empty() && is_enabled(&d.db, user_id).await? {
        return Err(code_needed());
    }
    Ok(())
}

fn code_needed() -> AppError {
    AppError::field("code", CODE_NEEDED)
}

/// New recovery codes (the old ones stop working), after the password and a
/// valid code. The password first: wrong codes lock the user's codes, for
/// longer each time, so a stolen session alone must not be able to spend
/// them and keep the owner from logging in.
pub async fn regenerate_recovery_codes(
    d: &Domain,
    me: &Member,
    password: &str,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let user = own_row(d, me).await?;
    reauth::require_password(d, me, &user, password, "password").await?;
    // Counted: a recovery code buys ten new ones, so this could loop alone.
    let by = By::Member(activity::count_change(d, me).await?);
    with_code(d, me.user_id(), code, me.address(), async |txn| {
        let current = lock_account_of(txn, user.id).await?;
        reauth::refuse_changed_since(&user, &current, "password")?;
        let codes = replace_recovery_codes(txn, me.user_id()).await?;
        let event = Event::new(ActivityKind::RecoveryCodesRegenerated, own_email(txn, me).await?);
        activity::record(d, txn, by, event).await?;
        Ok(codes)
    })
    .await
}

async fn own_email(conn: &impl ConnectionTrait, me: &Member) -> Result<String, AppError> {
    Ok(user::Entity::find_by_id(me.user_id()).one(conn).await?.ok_or(AppError::NotFound)?.email)
}

/// Turns 2FA off; needs the password and a code.
pub async fn disable(d: &Domain, me: &Member, password: &str, code: &str) -> Result<(), AppError> {
    let user = own_row(d, me).await?;
    reauth::require_password(d, me, &user, password, "password").await?;
    with_code(d, me.user_id(), code, me.address(), async |txn| {
        // Read under the account's lock (which `with_code` took; taking it
        // again is free): a reset committed since the password check must not
        // be followed by the old password turning the second factor off.
        let current = lock_account_of(txn, user.id).await?;
        reauth::refuse_changed_since(&user, &current, "password")?;
        remove(txn, user.id).await?;
        // To the address the account has now: an email change confirmed
        // since `user` was read moved it.
        let event = Event::new(ActivityKind::TwoFactorDisabled, &current.email);
        activity::record(d, txn, By::Remedy(me), event).await?;
        let notice = notice(d, &current.email, false, me);
        mail::enqueue_notice(txn, &d.secrets, d.clock.now(), &current, notice).await
    })
    .await
}

/// Turns a user's 2FA off: secret and recovery codes gone, and the log-ins
/// waiting for a code with them (their step would take no code now: the
/// user logs in again, with the password alone).
pub async fn remove(conn: &impl ConnectionTrait, user_id: i32) -> Result<(), AppError> {
    two_factor::Entity::delete_by_id(user_id).exec(conn).await?;
    login_challenge::Entity::delete_many()
        .filter(login_challenge::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    set_flag(conn, user_id, false).await?;
    throttle::forget_codes(conn, user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, 8 digits; the 6-digit codes are their last six.
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            assert_eq!(code_at(secret, time / 30), eight % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }
}
