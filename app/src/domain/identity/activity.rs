//! Personal security: a user's own recent security events (sign-ins and
//! failed ones, 2FA, recovery codes, developer keys, sessions, password and
//! email changes), and what others did to them (an admin's edit or disable,
//! an operator's 2FA reset), newest first.
use sea_orm::{ColumnTrait, QueryFilter};

use crate::domain::core::activity;
use crate::domain::core::actor::Member;
use crate::domain::core::scope::Scoped;
use crate::domain::core::Domain;
use crate::domain::entity::activity_event;
use crate::model::{ActivityKind, ActivityPage, AppError, EventId};

/// Events on one page of the list.
pub const PAGE: u64 = 20;

/// The member's own security events, and every event about them by
/// someone else, older than `before`.
pub async fn mine(
    d: &Domain,
    me: &Member,
    before: Option<EventId>,
) -> Result<ActivityPage, AppError> {
    let kinds: Vec<&str> = ActivityKind::security().map(ActivityKind::as_str).collect();
    let scoped = Scoped::of(me);
    let own =
        scoped.mine::<activity_event::Entity>().filter(activity_event::Column::Kind.is_in(kinds));
    let about = scoped
        .all::<activity_event::Entity>()
        .filter(activity_event::Column::SubjectUserId.eq(me.user_id()));
    let mut page = activity::page_of_either(&d.read, [own, about], before, PAGE).await?;
    // Where someone else acted from is theirs, not for the user to see.
    for event in &mut page.rows {
        if event.actor_user_id != Some(me.user_id()) {
            event.client_address = None;
        }
    }
    Ok(page)
}
