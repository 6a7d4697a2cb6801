//! Single-use tokens for links in emails: 256 bits of randomness, stored only
//! as a hash, with an expiry and a purpose.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};

use crate::domain::core::crypto::{new_token, token_hash};
use crate::domain::core::quota::duration_text;
use crate::domain::core::{clock, db, Domain};
use crate::domain::entity::{email_token, user};
use crate::model::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// An invited user's first password.
    Activate,
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl Purpose {
    const ALL: [Purpose; 4] =
        [Purpose::Activate, Purpose::VerifyEmail, Purpose::ResetPassword, Purpose::ChangeEmail];

    /// The purpose a stored token was issued for.
    pub fn of(token: &email_token::Model) -> Result<Purpose, AppError> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == token.purpose).ok_or(AppError::Internal)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activate => "activate",
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
        }
    }

    /// How long a link works. [`check`] tells a link ended early from one
    /// that ran its time by this: lengthening a lifetime makes the links
    /// already expired under the old one (kept [`KEPT_AFTER_EXPIRY`]) say
    /// they were withdrawn.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Activate => Duration::hours(48),
            // An unverified account is removed after 7 days anyway.
            Purpose::VerifyEmail => Duration::days(7),
            Purpose::ResetPassword => Duration::hours(1),
            Purpose::ChangeEmail => Duration::hours(24),
        }
    }

    /// [`Purpose::lifetime`] as the emails and messages say it ("48 hours").
    pub fn lifetime_text(self) -> String {
        duration_text(self.lifetime().num_minutes())
    }
}

/// A link just issued: the token its email carries (stored only as its
/// hash) and when it stops working.
pub struct Issued {
    pub token: String,
    purpose: Purpose,
    expires_at: DateTime<Utc>,
}

impl Issued {
    /// How long the link works, as its email says it: the time too, since
    /// an email may arrive hours after it was written ("1 hour, until
    /// 2026-12-09 21:16 UTC"). Seconds are dropped, so the time shown is
    /// never after the link ends (at most a minute before).
    pub fn lifetime_text(&self) -> String {
        format!("{}, until {}", self.purpose.lifetime_text(), clock::shown(self.expires_at))
    }
}

pub const LINK_USED: &str = "This link has already been used.";
pub const LINK_EXPIRED: &str = "This link has expired. Please ask for a new one.";
/// An unknown link: mis-copied, or real and forgotten (a month after it
/// expired, or with the user or sign-up it was for, such as one nobody
/// verified within its week).
pub const LINK_INVALID: &str = "This link is not valid. Check that you copied all of it; if \
     you did, it is too old to be known here, or what it was for was removed, so please ask \
     for a new one.";

/// Why a link that [`expire`] ended before its time no longer works: a
/// newer link replaced it, or what it was for was cancelled or overtaken.
/// "Expired" would send its holder to wait for nothing, or to ask again for
/// a change they cancelled.
pub fn link_withdrawn(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Activate => {
            "This invitation link no longer works: a newer invitation replaced it, or the \
             invitation was withdrawn. Please use the link in the newest invitation email, or \
             ask the admin who invited you."
        }
        Purpose::VerifyEmail => {
            "This link no longer works: a newer one was sent. Please use the link in the newest \
             email."
        }
        Purpose::ResetPassword => {
            "This link no longer works: a newer link was sent, or the account's password or \
             email address changed since. Please ask for a new one if you still need it."
        }
        Purpose::ChangeEmail => {
            "This link no longer works: the email change was cancelled or asked for again, or \
             since then the account's password changed, two-factor authentication was turned \
             on, or the admin who asked for it stopped being one. Please ask again from My \
             Account (or ask an admin) if you still want the change."
        }
    }
}

/// Whether a link ended before its lifetime ran out. The second of slack
/// absorbs the databases' rounding of the two timestamps.
fn ended_early(link: &email_token::Model, purpose: Purpose) -> bool {
    link.expires_at + Duration::seconds(1) < link.created_at + purpose.lifetime()
}

/// How long a link's row outlives its expiry: opened again meanwhile, it
/// says "used" or "expired" rather than "not valid".
pub const KEPT_AFTER_EXPIRY: Duration = Duration::days(30);

/// Removes links that expired before `cutoff`, used or not, in batches of
/// `batch` (found on `idx_email_tokens_expires`). Returns how many.
pub async fn forget_expired_before<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> Result<u64, AppError> {
    let expired = sea_orm::Condition::all().add(email_token::Column::ExpiresAt.lt(cutoff));
    let key = email_token::Column::TokenHash;
    db::delete_in_batches::<email_token::Entity>(conn, key, batch, expired).await
}

/// Issues a token on `conn` (the caller's transaction). Earlier unused tokens
/// of the same purpose for the user expire: only the newest link counts.
/// `requested_by` names the admin who asked for another user's link (an
/// email change), checked again when it is used.
pub async fn issue<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_id: i32,
    purpose: Purpose,
    new_email: Option<String>,
    requested_by: Option<i32>,
) -> Result<Issued, AppError> {
    let now = d.clock.now();
    expire(d, conn, user_id, purpose).await?;
    let token = new_token();
    email_token::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().into()),
        new_email: Set(new_email),
        requested_by: Set(requested_by),
        created_at: Set(now),
        expires_at: Set(now + purpose.lifetime()),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(Issued { token, purpose, expires_at: now + purpose.lifetime() })
}

/// Every unused link of the user for `purpose` stops working.
pub async fn expire<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_id: i32,
    purpose: Purpose,
) -> Result<(), AppError> {
    email_token::Entity::update_many()
        .col_expr(email_token::Column::ExpiresAt, Expr::value(d.clock.now()))
        .filter(email_token::Column::UserId.eq(user_id))
        .filter(email_token::Column::Purpose.eq(purpose.as_str()))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Every unused link that `admin_id` asked for another user stops working:
/// they are no longer an admin who may ask it (demoted, disabled, deleted).
pub async fn expire_requested_by<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    admin_id: i32,
) -> Result<(), AppError> {
    email_token::Entity::update_many()
        .col_expr(email_token::Column::ExpiresAt, Expr::value(d.clock.now()))
        .filter(email_token::Column::RequestedBy.eq(admin_id))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The token's row if it is still good for `purpose`, without using it up:
/// used, expired, withdrawn and unknown tokens each get their own clear
/// message.
pub async fn check<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    token: &str,
    purpose: Purpose,
) -> Result<email_token::Model, AppError> {
    // An empty one (a page opened without its link) costs no query.
    if token.trim().is_empty() {
        return Err(AppError::field("token", LINK_INVALID));
    }
    check_hash(d, conn, &token_hash(token.trim()), Some(purpose)).await
}

/// [`check`] of a token known by its hash, for `purpose` or (`None`) any.
pub async fn check_hash<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    hash: &str,
    purpose: Option<Purpose>,
) -> Result<email_token::Model, AppError> {
    let now = d.clock.now();
    let mut find = email_token::Entity::find_by_id(hash.to_owned());
    if let Some(purpose) = purpose {
        find = find.filter(email_token::Column::Purpose.eq(purpose.as_str()));
    }
    let found = find.one(conn).await?.ok_or_else(|| AppError::field("token", LINK_INVALID))?;
    if found.used_at.is_some() {
        return Err(AppError::field("token", LINK_USED));
    }
    if found.expires_at <= now {
        let purpose = Purpose::of(&found)?;
        let why = if ended_early(&found, purpose) { link_withdrawn(purpose) } else { LINK_EXPIRED };
        return Err(AppError::field("token", why));
    }
    Ok(found)
}

/// The user a link for `purpose` was written for, whether or not it still
/// works (used and expired links stay until the hourly clean-up).
pub async fn holder<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    purpose: Purpose,
) -> Result<Option<i32>, AppError> {
    Ok(email_token::Entity::find_by_id(token_hash(token.trim()))
        .filter(email_token::Column::Purpose.eq(purpose.as_str()))
        .one(conn)
        .await?
        .map(|link| link.user_id))
}

/// Holds the token's row until the transaction ends, so that requests using
/// the same link take turns (on PostgreSQL a row lock; on SQLite the write
/// lock, taken at once as this writes first).
pub async fn lock_hash(conn: &DatabaseTransaction, hash: &str) -> Result<(), AppError> {
    email_token::Entity::update_many()
        .col_expr(email_token::Column::UsedAt, Expr::col(email_token::Column::UsedAt))
        .filter(email_token::Column::TokenHash.eq(hash))
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether the user of the outer query's `users` row holds no link for
/// `purpose` that expires after `after` (used or not). A correlated `NOT
/// EXISTS`, not `id NOT IN (every holder)`: PostgreSQL plans `NOT IN` over a
/// list too big for its memory as a rescan of the list for each row.
pub fn unheld(purpose: Purpose, after: DateTime<Utc>) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::value(1))
            .from(email_token::Entity)
            .and_where(
                Expr::col((email_token::Entity, email_token::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .and_where(email_token::Column::Purpose.eq(purpose.as_str()))
            .and_where(email_token::Column::ExpiresAt.gt(after))
            .to_owned(),
    )
    .not()
}

/// Every unused link of these users stops working (a claimed account's
/// pending resets, invitations and email changes).
pub async fn expire_all<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_ids: Vec<i32>,
) -> Result<(), AppError> {
    email_token::Entity::update_many()
        .col_expr(email_token::Column::ExpiresAt, Expr::value(d.clock.now()))
        .filter(email_token::Column::UserId.is_in(user_ids))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Uses up a token on `conn`. Of two requests racing with one token, exactly
/// one succeeds (a conditional UPDATE).
pub async fn consume<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    token: &str,
    purpose: Purpose,
) -> Result<email_token::Model, AppError> {
    consume_hash(d, conn, &token_hash(token.trim()), Some(purpose)).await
}

/// [`consume`] of a token known by its hash, for `purpose` or (`None`) any:
/// a log-in challenge holds the hash of the link it completes, never the link.
pub async fn consume_hash<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    hash: &str,
    purpose: Option<Purpose>,
) -> Result<email_token::Model, AppError> {
    let found = check_hash(d, conn, hash, purpose).await?;
    let taken = email_token::Entity::update_many()
        .col_expr(email_token::Column::UsedAt, Expr::value(d.clock.now()))
        .filter(email_token::Column::TokenHash.eq(hash))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(AppError::field("token", LINK_USED));
    }
    Ok(found)
}
