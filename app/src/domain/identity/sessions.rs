//! Sessions: opened by log-in, sign-up and link redemption, found again from
//! the cookie's token on every request, and the user's own list of them
//! (with a readable device and when they were last seen); any can be ended,
//! or all but the current one.
use chrono::Duration;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::crypto::{new_token, token_hash};
use crate::domain::core::people;
use crate::domain::core::scope::lock_account_of;
use crate::domain::core::Domain;
use crate::domain::entity::{account, login_challenge, session, two_factor, user};
use crate::domain::identity::reauth;
use crate::model::{ActivityKind, AppError, CurrentUser, SessionRow};

/// A new session: the token goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub member: Member,
}

/// `last_seen_at` is refreshed at most this often, so reading pages does not
/// turn every request into a database write.
const LAST_SEEN_GRANULARITY: Duration = Duration::minutes(1);

/// Whether the session about to open has passed the second factor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SecondFactor {
    /// A code was accepted for it.
    Answered,
    /// It was not asked: 2FA was off when the password was checked (or the
    /// user has just signed up).
    NotAsked,
}

/// Why a log-in that found 2FA off opens no session after all.
pub const TWO_FACTOR_TURNED_ON: &str =
    "Two-factor authentication was just turned on for this account. Please log in again.";

/// Opens a session for `user` signing in from `client` (unknown to tools
/// and tests), recorded as a sign-in in the same transaction; the token is
/// returned once, for the cookie.
pub async fn start_session(
    d: &Domain,
    user: &user::Model,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
    second_factor: SecondFactor,
) -> Result<NewSession, AppError> {
    let token = new_token();
    let now = d.clock.now();
    let txn = d.begin().await?;
    // `user` is as the password (or link, or code) found it; a reset, a
    // claim or a Disable since then ended every session, and this one must
    // not follow (a disabled user's would come back to life when enabled).
    let current = lock_account_of(&txn, user.id).await?;
    reauth::refuse_changed_since(user, &current, "password")?;
    // Nor may a session that skipped the code step follow 2FA turned on
    // since the password was checked (which also ended every other session).
    if second_factor == SecondFactor::NotAsked && two_factor_on(&txn, user.id).await? {
        return Err(AppError::Conflict(TWO_FACTOR_TURNED_ON.into()));
    }
    session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user.id),
        user_agent: Set(user_agent.chars().take(200).collect()),
        client_address: Set(client.map(|address| address.to_string())),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // Past the most a user keeps, their least recently seen sessions end.
    let beyond: Vec<String> = session::Entity::find()
        .select_only()
        .column(session::Column::TokenHash)
        .filter(session::Column::UserId.eq(user.id))
        .filter(session::Column::TokenHash.ne(token_hash(&token)))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::TokenHash)
        .offset(d.sessions.kept_per_user.saturating_sub(1))
        // SQLite takes no OFFSET without a LIMIT; a bounded clean-up per log-in.
        .limit(1_000)
        .into_tuple()
        .all(&txn)
        .await?;
    if !beyond.is_empty() {
        session::Entity::delete_many()
            .filter(session::Column::TokenHash.is_in(beyond))
            .exec(&txn)
            .await?;
    }
    let event = Event::new(ActivityKind::SignInSucceeded, &user.email).detail(device(user_agent));
    activity::record(d, &txn, By::User(user, client), event).await?;
    txn.commit().await?;
    let member = Member::new(user.id, user.account_id, user.is_admin).from_address(client);
    Ok(NewSession { token, member })
}

/// Whether `user_id` has 2FA on, read in `conn` (under the account's lock).
/// Not `two_factor::is_enabled`, whose module ends sessions through this one.
async fn two_factor_on(conn: &impl ConnectionTrait, user_id: i32) -> Result<bool, AppError> {
    let on = two_factor::Entity::find_by_id(user_id)
        .filter(two_factor::Column::EnabledAt.is_not_null())
        .count(conn)
        .await?;
    Ok(on > 0)
}

/// The member a session token belongs to, if the session is still alive.
/// The admin flag and whether the user is disabled are read fresh from the
/// user row on every request, so a demotion or a disable takes effect at once.
pub async fn authenticate(d: &Domain, token: &str) -> Result<Member, AppError> {
    Ok(authenticate_user(d, token).await?.0)
}

/// [`authenticate`], and who the user is as the pages show them: one query
/// for the session, its user and their company, so a page render's top bar
/// and tab need none of their own. It reads only the columns it uses: every
/// signed-in request runs it, and whole rows (every column of the user, the
/// search columns among them, and of the company, each aliased and decoded)
/// were half its cost.
pub async fn authenticate_user(d: &Domain, token: &str) -> Result<(Member, CurrentUser), AppError> {
    let hash = token_hash(token);
    let query = ShownUser::select(user::Entity::find())
        .column(session::Column::CreatedAt)
        .column(session::Column::LastSeenAt)
        .inner_join(session::Entity)
        .filter(session::Column::TokenHash.eq(&hash));
    let Some(row) = d.read.query_one_raw(query.build(d.read.get_database_backend())).await? else {
        return Err(AppError::Unauthenticated);
    };
    let user = ShownUser::from_query_result(&row, "")?;
    let created_at: DateTimeUtc = row.try_get("", "created_at")?;
    let last_seen_at: DateTimeUtc = row.try_get("", "last_seen_at")?;
    if user.disabled_at.is_some() {
        return Err(AppError::Unauthenticated);
    }
    let now = d.clock.now();
    let expired = now - last_seen_at > d.sessions.idle || now - created_at > d.sessions.absolute;
    if expired {
        session::Entity::delete_by_id(hash).exec(&d.db).await?;
        return Err(AppError::Unauthenticated);
    }
    if now - last_seen_at > LAST_SEEN_GRANULARITY {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::TokenHash.eq(hash))
            .exec(&d.db)
            .await?;
    }
    let member = Member::new(user.id, user.account_id, user.is_admin);
    Ok((member, user.shown()))
}

/// A user as the pages show them, their company's name, and what a request's
/// checks read of them.
#[derive(FromQueryResult)]
pub(in crate::domain) struct ShownUser {
    id: i32,
    account_id: i32,
    is_admin: bool,
    disabled_at: Option<DateTimeUtc>,
    first_name: String,
    last_name: String,
    email: String,
    email_verified_at: Option<DateTimeUtc>,
    company_name: String,
}

impl ShownUser {
    /// `users` narrowed to these columns, joined to each user's company.
    pub(in crate::domain) fn select(users: Select<user::Entity>) -> Select<user::Entity> {
        use user::Column as C;
        users
            .select_only()
            .columns([
                C::Id,
                C::AccountId,
                C::IsAdmin,
                C::DisabledAt,
                C::FirstName,
                C::LastName,
                C::Email,
                C::EmailVerifiedAt,
            ])
            .column(account::Column::CompanyName)
            .inner_join(account::Entity)
    }

    pub(in crate::domain) fn shown(self) -> CurrentUser {
        CurrentUser {
            id: self.id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            is_admin: self.is_admin,
            email_verified: self.email_verified_at.is_some(),
            company_name: self.company_name,
        }
    }
}

pub async fn log_out(d: &Domain, token: &str) -> Result<(), AppError> {
    session::Entity::delete_by_id(token_hash(token)).exec(&d.db).await?;
    Ok(())
}

/// Ends every session of a user except, optionally, the one in use, and
/// every log-in of theirs waiting for its second step: a code step opened
/// with the old password (or a reset link) must not open a session after
/// the password changed, the user was disabled or signed out elsewhere.
/// Returns how many sessions ended.
pub async fn end_sign_ins<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: i32,
    keep_token: Option<&str>,
) -> Result<u64, AppError> {
    let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(token) = keep_token {
        delete = delete.filter(session::Column::TokenHash.ne(token_hash(token)));
    }
    let ended = delete.exec(conn).await?.rows_affected;
    login_challenge::Entity::delete_many()
        .filter(login_challenge::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(ended)
}

/// "Chrome on Linux" from a User-Agent header; good enough to recognise one's devices.
pub fn device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        ""
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") if ua.trim().is_empty() => "Unknown device".into(),
        ("", "") => ua.chars().take(60).collect(),
        (b, "") => b.into(),
        ("", s) => format!("A browser on {s}"),
        (b, s) => format!("{b} on {s}"),
    }
}

pub async fn list(
    d: &Domain,
    me: &Member,
    current_token: &str,
) -> Result<Vec<SessionRow>, AppError> {
    let current = token_hash(current_token);
    let now = d.clock.now();
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(me.user_id()))
        .order_by_desc(session::Column::LastSeenAt)
        .all(&d.read)
        .await?;
    Ok(rows
        .into_iter()
        // Expired sessions are removed when next used; they are not "active".
        .filter(|s| {
            now - s.last_seen_at <= d.sessions.idle && now - s.created_at <= d.sessions.absolute
        })
        .map(|s| SessionRow {
            current: s.token_hash == current,
            device: device(&s.user_agent),
            client_address: s.client_address.unwrap_or_default(),
            last_seen: clock::shown(s.last_seen_at),
            started: clock::shown(s.created_at),
            id: s.token_hash,
        })
        .collect())
}

/// Ends one of the user's own sessions, recorded with its device and
/// address; another user's is not found.
pub async fn end(d: &Domain, me: &Member, id: &str) -> Result<(), AppError> {
    // No session's id holds a NUL, and PostgreSQL errs on one in a query.
    if id.contains('\0') {
        return Err(AppError::NotFound);
    }
    let email = people::own_row(d, me).await?.email;
    let txn = d.begin().await?;
    let found = session::Entity::find_by_id(id)
        .filter(session::Column::UserId.eq(me.user_id()))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let ended = session::Entity::delete_by_id(id).exec(&txn).await?;
    // Another request ended it since: nothing for this one to record.
    if ended.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    let mut detail = device(&found.user_agent);
    if let Some(address) = &found.client_address {
        detail = format!("{detail} from {address}");
    }
    let event = Event::new(ActivityKind::SessionEnded, email).detail(detail);
    activity::record(d, &txn, By::Remedy(me), event).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of the user but the one in use, and says how many in
/// the event (none when no other session was open).
pub async fn end_others(d: &Domain, me: &Member, current_token: &str) -> Result<(), AppError> {
    let email = people::own_row(d, me).await?.email;
    let txn = d.begin().await?;
    let ended = end_sign_ins(&txn, me.user_id(), Some(current_token)).await?;
    // Nothing ended, nothing to record: an uncounted event on every press
    // would let a script grow the log without end.
    if ended == 0 {
        txn.commit().await?;
        return Ok(());
    }
    let detail = match ended {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    };
    let event = Event::new(ActivityKind::OtherSessionsEnded, email).detail(detail);
    activity::record(d, &txn, By::Remedy(me), event).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device(chrome), "Chrome on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(safari), "Safari on iOS");
        assert_eq!(device(""), "Unknown device");
        assert_eq!(device("curl/8.0"), "curl/8.0");
    }
}
