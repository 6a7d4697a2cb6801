//! Personal security: a user's own recent security events (sign-ins and
//! failed ones, 2FA, recovery codes, developer keys, password and email
//! changes), newest first.
use sea_orm::{ColumnTrait, QueryFilter};

use crate::domain::core::activity::{self, Filter};
use crate::domain::core::actor::Member;
use crate::domain::core::scope::Scoped;
use crate::domain::core::Domain;
use crate::domain::entity::activity_event;
use crate::model::{ActivityKind, ActivityPage, AppError};

/// Events on one page of the list.
pub const PAGE: u64 = 20;

/// The member's own security events older than `before`.
pub async fn mine(d: &Domain, me: &Member, before: Option<i32>) -> Result<ActivityPage, AppError> {
    let kinds: Vec<&str> = ActivityKind::security().map(ActivityKind::as_str).collect();
    let query = Scoped::of(me)
        .mine::<activity_event::Entity>()
        .filter(activity_event::Column::Kind.is_in(kinds));
    activity::page(&d.read, query, &Filter::default(), before, PAGE).await
}
