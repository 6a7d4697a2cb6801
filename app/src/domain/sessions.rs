//! The user's own signed-in sessions: listed with a readable device and when
//! they were last seen; any can be ended, or all but the current one.
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::actor::Member;
use super::auth::end_sessions;
use super::crypto::token_hash;
use super::entity::session;
use super::Domain;
use crate::model::{AppError, SessionRow};

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
        .all(&d.db)
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
            last_seen: s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            started: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            id: s.token_hash,
        })
        .collect())
}

/// Ends one of the user's own sessions; another user's is not found.
pub async fn end(d: &Domain, me: &Member, id: &str) -> Result<(), AppError> {
    let ended = session::Entity::delete_many()
        .filter(session::Column::TokenHash.eq(id))
        .filter(session::Column::UserId.eq(me.user_id()))
        .exec(&d.db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn end_others(d: &Domain, me: &Member, current_token: &str) -> Result<(), AppError> {
    end_sessions(&d.db, me.user_id(), Some(current_token)).await
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
