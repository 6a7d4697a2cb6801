//! The activity log: every change to an account and every sign-in is written
//! as an event by [`record`], on the connection of the change's own
//! transaction, so a change that rolls back leaves no event and no change
//! exists without one. Events name their targets by email, number or name,
//! never by a secret. Reading: [`page`] (keyset by id, newest first) over a
//! query the caller scoped; the admin's listing is `admin::activity`, a
//! user's own security events `identity::activity`.
use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use crate::domain::core::actor::Member;
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::{db, Domain};
use crate::domain::entity::{activity_event, user};
use crate::model::{ActivityFilter, ActivityKind, ActivityPage, ActivityRow, AppError, EventId};

/// The actor text of an operator's events.
pub const OPERATOR: &str = "operator";
/// The actor text of what the console's own jobs do to an account (an
/// invitation the hourly clean-up removes), which nobody asked for.
pub const SYSTEM: &str = "system";
/// Targets and details are cut to this many characters.
const MAX_TEXT: usize = 300;

/// Who acted.
#[derive(Clone, Copy)]
pub enum By<'a> {
    /// A signed-in member (or a developer key's user), from their address,
    /// making a change that [`count_change`] counted.
    Member(Counted<'a>),
    /// The same member undoing something or securing an account (a kind
    /// [`is_remedy`], with what it brings about: [`counted_rightly`]): never
    /// counted, so a spent count cannot stand in the way of a removal or a
    /// remedy.
    Remedy(&'a Member),
    /// A user not yet signed in (a log-in, a link), from `address`.
    User(&'a user::Model, Option<IpAddr>),
    /// An operator at the command line, acting on one account.
    Operator { account_id: i32 },
    /// The console itself: a background job acting on one account.
    System { account_id: i32 },
}

/// What happened and to what.
pub struct Event {
    kind: ActivityKind,
    target: String,
    detail: Option<String>,
    subject: Option<i32>,
}

impl Event {
    pub fn new(kind: ActivityKind, target: impl Into<String>) -> Self {
        Event { kind, target: target.into(), detail: None, subject: None }
    }

    /// The user this event happened to, when someone else acted on them:
    /// it then shows in that user's own security list too.
    pub fn about(mut self, user_id: i32) -> Self {
        self.subject = Some(user_id);
        self
    }

    /// [`Event::about`] the user, unless `actor` is that user: what one does
    /// to oneself is in one's own list already, as one's own event.
    pub fn about_other(self, actor: &Member, user_id: i32) -> Self {
        if actor.user_id() == user_id {
            self
        } else {
            self.about(user_id)
        }
    }

    /// A short, secret-free detail (what an edit changed, a device).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A member's change that [`count_change`] counted: the only way to make
/// one, so every change recorded [`By::Member`] was counted first.
#[derive(Clone, Copy)]
pub struct Counted<'a>(&'a Member);

impl<'a> Counted<'a> {
    /// A count taken as given, for tests that write events directly.
    #[cfg(any(test, feature = "testing"))]
    pub fn assumed(member: &'a Member) -> Self {
        Counted(member)
    }
}

/// Counts one change by `member` (`Action::Change`, per user), before the
/// change's own transaction. Every change writes an event kept for a year, so
/// a loop of free changes (renaming oneself, sharing and unsharing) would
/// otherwise grow the log without end. Committed at once, on its own: taken
/// inside the change's transaction, the counter row's lock would order
/// itself among the change's other locks and deadlock against them on
/// PostgreSQL. Per user, so no member's changes spend an admin's own count;
/// and per client address, as anyone can make users (a sign-up, a day's
/// hundred invitations), each with a day's count of its own. Everyone
/// behind one address shares that one: ten busy users' worth a day.
pub async fn count_change<'a>(d: &Domain, member: &'a Member) -> Result<Counted<'a>, AppError> {
    count_changes(d, member, 1).await
}

/// [`count_change`] for a save of `n` changes, each recorded as an event.
pub async fn count_changes<'a>(
    d: &Domain,
    member: &'a Member,
    n: usize,
) -> Result<Counted<'a>, AppError> {
    let who = Who { actor: Some(member.user_id()), client: member.address(), ..Who::default() };
    let n = i32::try_from(n).map_err(|_| AppError::Internal)?;
    // Every count or none: a user's count is not spent by a change the
    // client's count refuses.
    let txn = d.begin().await?;
    quota::spend_several(&txn, &d.quotas, d.clock.now(), Action::Change, &who, n).await?;
    txn.commit().await?;
    Ok(Counted(member))
}

/// Kinds that remove something or secure an account. They are never
/// counted, so a spent count keeps nobody from cleaning up or locking
/// someone out, and none can loop alone: each undoes a counted change (or an
/// invitation, or a number request), or is bounded by a count of its own (a
/// password change by password checks, 2FA on and off by set-ups). New
/// recovery codes are counted: a recovery code buys ten new ones, so they
/// could loop alone.
pub fn is_remedy(kind: ActivityKind) -> bool {
    use ActivityKind::*;
    matches!(
        kind,
        UserDeleted
            | UserDisabled
            | PasswordChanged
            | EmailChangeCancelled
            | TwoFactorEnabled
            | TwoFactorDisabled
            | DeveloperKeyRevoked
            | SessionEnded
            | OtherSessionsEnded
            | PhoneNumberReleased
            | PhoneNumberUndeployed
            | IntegrationDeleted
            | CertificateDeleted
            | JsLibraryDeleted
            | ApplicationDeleted
            | ApplicationUnshared
            | OAuthTokenDeleted
    )
}

/// Whether events of `kinds` may be recorded as one change of a member's:
/// counted ones are no remedy; a remedy's first event is a remedy, and those
/// after it remedies too or, after a user's deletion, what it brings about
/// (their applications renamed and numbers moved as they pass on), which is
/// bounded by what the user held, no loop of its own.
pub fn counted_rightly(remedy: bool, kinds: &[ActivityKind]) -> bool {
    use ActivityKind::*;
    if !remedy {
        return !kinds.iter().any(|&kind| is_remedy(kind));
    }
    let Some((&first, rest)) = kinds.split_first() else { return true };
    let follows = |kind| {
        is_remedy(kind)
            || (first == UserDeleted
                && matches!(kind, PhoneNumberOwnerChanged | ApplicationRenamed))
    };
    is_remedy(first) && rest.iter().copied().all(follows)
}

/// As many of `names` as fit in `room` characters of an event's detail,
/// then how many more ("a, b and 3 more"): cut off at the limit, the last
/// one could read as another ("dave@exam").
pub fn names_within(names: &[&str], room: usize) -> String {
    let mut listed = String::new();
    for (at, name) in names.iter().enumerate() {
        let left = names.len() - at - 1;
        let more = if left > 0 { format!(" and {left} more") } else { String::new() };
        let next = if listed.is_empty() { name.to_string() } else { format!("{listed}, {name}") };
        // Room for this name and the count of those after it.
        if next.chars().count() + more.chars().count() > room {
            let rest = names.len() - at;
            return match listed.is_empty() {
                true => format!("{rest} of them"),
                false => format!("{listed} and {rest} more"),
            };
        }
        listed = next;
    }
    listed
}

/// The characters an event's detail keeps.
pub const DETAIL_ROOM: usize = MAX_TEXT;

fn clip(text: String) -> String {
    if text.chars().count() <= MAX_TEXT {
        text
    } else {
        text.chars().take(MAX_TEXT).collect()
    }
}

/// Writes `event` by `by` on `conn`: pass the change's transaction, so the
/// event commits or rolls back with the change.
pub async fn record(
    d: &Domain,
    conn: &impl ConnectionTrait,
    by: By<'_>,
    event: Event,
) -> Result<(), AppError> {
    record_all(d, conn, by, vec![event]).await
}

/// [`record`] for several events of one change (a save of many rows), in
/// one statement: the actor is read once, not once an event.
pub async fn record_all(
    d: &Domain,
    conn: &impl ConnectionTrait,
    by: By<'_>,
    events: Vec<Event>,
) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    let (account_id, actor_user_id, actor, address) = match by {
        By::Member(Counted(member)) | By::Remedy(member) => {
            let kinds: Vec<ActivityKind> = events.iter().map(|e| e.kind).collect();
            debug_assert!(
                counted_rightly(matches!(by, By::Remedy(_)), &kinds),
                "{kinds:?} recorded as a {}",
                if matches!(by, By::Remedy(_)) { "remedy" } else { "counted change" },
            );
            // The email as it is now, so the event outlives a deleted user.
            let email = user::Entity::find_by_id(member.user_id())
                .one(conn)
                .await?
                .map(|u| u.email)
                .unwrap_or_else(|| format!("user {}", member.user_id()));
            (member.account_id(), Some(member.user_id()), email, member.address())
        }
        By::User(user, address) => (user.account_id, Some(user.id), user.email.clone(), address),
        By::Operator { account_id } => (account_id, None, OPERATOR.to_owned(), None),
        By::System { account_id } => (account_id, None, SYSTEM.to_owned(), None),
    };
    let at = d.clock.now();
    let address = address.map(|a| a.to_string());
    let rows = events.into_iter().map(|event| activity_event::ActiveModel {
        account_id: Set(account_id),
        at: Set(at),
        actor_user_id: Set(actor_user_id),
        actor: Set(actor.clone()),
        kind: Set(event.kind.as_str().to_owned()),
        target: Set(clip(event.target)),
        client_address: Set(address.clone()),
        detail: Set(event.detail.map(clip)),
        subject_user_id: Set(event.subject),
        ..Default::default()
    });
    activity_event::Entity::insert_many(rows).exec_without_returning(conn).await?;
    Ok(())
}

/// Runs `change` in a new transaction that also records `event` by `by`:
/// for a change that is a single write of its own.
pub async fn with_event<T>(
    d: &Domain,
    by: By<'_>,
    event: Event,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let txn = d.begin().await?;
    let done = change(&txn).await?;
    record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(done)
}

/// A filter checked: a known kind and real dates.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub user_id: Option<i32>,
    pub kind: Option<ActivityKind>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive: the start of the day after the `to` day.
    pub until: Option<DateTime<Utc>>,
    /// Id bounds equivalent to the dates (see [`Filter::with_id_bounds`]):
    /// every event of the range has an id above `after_id` and below `end_id`.
    pub after_id: Option<EventId>,
    pub end_id: Option<EventId>,
}

/// How much longer than this a recording transaction would have to run (or
/// two servers' clocks differ) before an event's id and time disagreed
/// enough for the id bounds to miss it.
const ID_BOUND_SLACK: Duration = Duration::minutes(15);

fn day(text: Option<&str>, field: &str) -> Result<Option<NaiveDate>, AppError> {
    let refused = || AppError::field(field, "Enter a date as YYYY-MM-DD.");
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        // The day the tab's address keeps: a four-digit year. chrono alone
        // also reads "+262142-12-31", the last day it can hold, where the
        // day after (and the slack around a range) would overflow.
        Some(text) if crate::model::is_day(text) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| refused())
        }
        Some(_) => Err(refused()),
    }
}

impl Filter {
    pub fn parse(filter: &ActivityFilter) -> Result<Filter, AppError> {
        let kind = match filter.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(kind) => Some(ActivityKind::parse(kind)?),
            None => None,
        };
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let from = day(filter.from.as_deref(), "from")?.and_then(midnight);
        let until =
            day(filter.to.as_deref(), "to")?.and_then(midnight).map(|t| t + Duration::days(1));
        // Said, rather than answered with "no activity matches".
        if let (Some(from), Some(until)) = (from, until) {
            if from >= until {
                return Err(AppError::field("to", crate::model::TO_BEFORE_FROM));
            }
        }
        Ok(Filter { user_id: filter.user_id, kind, from, until, ..Default::default() })
    }

    /// Adds id bounds for the dates. Pages are walked by id, newest first;
    /// with only a condition on the time, a day long past meant walking
    /// every newer event of the account first (0.4 s at a million events).
    /// Ids follow time closely: an event's time is taken just before its
    /// insert draws the id, within one transaction. So an event of the range
    /// has an id above that of any event timed before `from - slack`, and
    /// below that of any event timed from `until + slack` on. The nearest
    /// such events are found on the time index. The time conditions stay,
    /// so the result is exact; the bounds only say where the walk starts and
    /// stops.
    pub async fn with_id_bounds(mut self, conn: &impl ConnectionTrait) -> Result<Self, AppError> {
        use activity_event::Column;
        let nearest = |condition, order| {
            activity_event::Entity::find()
                .select_only()
                .column(Column::Id)
                .filter(condition)
                .order_by(Column::At, order)
                .limit(1)
                .into_tuple::<EventId>()
        };
        if let Some(from) = self.from {
            let before = Column::At.lt(from - ID_BOUND_SLACK);
            self.after_id = nearest(before, Order::Desc).one(conn).await?;
        }
        if let Some(until) = self.until {
            let beyond = Column::At.gte(until + ID_BOUND_SLACK);
            self.end_id = nearest(beyond, Order::Asc).one(conn).await?;
        }
        Ok(self)
    }

    fn apply(&self, mut query: Select<activity_event::Entity>) -> Select<activity_event::Entity> {
        use activity_event::Column;
        if let Some(user) = self.user_id {
            query = query.filter(Column::ActorUserId.eq(user));
        }
        if let Some(kind) = self.kind {
            query = query.filter(Column::Kind.eq(kind.as_str()));
        }
        if let Some(from) = self.from {
            query = query.filter(Column::At.gte(from));
        }
        if let Some(until) = self.until {
            query = query.filter(Column::At.lt(until));
        }
        if let Some(after) = self.after_id {
            query = query.filter(Column::Id.gt(after));
        }
        if let Some(end) = self.end_id {
            query = query.filter(Column::Id.lt(end));
        }
        query
    }
}

/// The events of `query` (already scoped by the caller) that pass `filter`,
/// newest first, `limit` of them with ids below `before`; `next` is where the
/// following page starts.
pub async fn page(
    conn: &impl ConnectionTrait,
    query: Select<activity_event::Entity>,
    filter: &Filter,
    before: Option<EventId>,
    limit: u64,
) -> Result<ActivityPage, AppError> {
    let rows = page_query(query, filter, before, limit).all(conn).await?;
    Ok(page_of(rows, limit))
}

/// [`page`] over the events of either query (each scoped by the caller).
/// Each query walks its own index; their pages merge by id. One query with
/// an OR would have the database read every match of both and sort them.
pub async fn page_of_either(
    conn: &impl ConnectionTrait,
    queries: [Select<activity_event::Entity>; 2],
    before: Option<EventId>,
    limit: u64,
) -> Result<ActivityPage, AppError> {
    let mut rows = Vec::new();
    for query in queries {
        rows.extend(page_query(query, &Filter::default(), before, limit).all(conn).await?);
    }
    // Every row of the merged page's first `limit + 1` is among the first
    // `limit + 1` of its own query, so this page is exact.
    rows.sort_by_key(|event| std::cmp::Reverse(event.id));
    rows.dedup_by_key(|event| event.id);
    Ok(page_of(rows, limit))
}

/// Newest-first rows, at most one more than `limit`, as a page.
fn page_of(mut rows: Vec<activity_event::Model>, limit: u64) -> ActivityPage {
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    ActivityPage { rows: rows.into_iter().map(row).collect(), next }
}

/// The query [`page`] runs: one more row than `limit`, to tell whether
/// another page follows. Each filter has an index ending in `id`, so the
/// database walks it backwards from `before` and stops after `limit + 1`
/// rows however many events the account has.
pub fn page_query(
    query: Select<activity_event::Entity>,
    filter: &Filter,
    before: Option<EventId>,
    limit: u64,
) -> Select<activity_event::Entity> {
    let mut query = filter.apply(query);
    if let Some(before) = before {
        query = query.filter(activity_event::Column::Id.lt(before));
    }
    query.order_by_desc(activity_event::Column::Id).limit(limit + 1)
}

pub fn row(event: activity_event::Model) -> ActivityRow {
    let label = ActivityKind::parse(&event.kind)
        .map(|k| k.label().to_owned())
        .unwrap_or_else(|_| event.kind.clone());
    ActivityRow {
        id: event.id,
        at: event.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        actor: event.actor,
        actor_user_id: event.actor_user_id,
        kind: event.kind,
        label,
        target: event.target,
        client_address: event.client_address,
        detail: event.detail,
        subject_user_id: event.subject_user_id,
    }
}

/// Deletes events older than `cutoff`, `batch` at a time; returns how many.
pub async fn forget_before(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> Result<u64, AppError> {
    let old = sea_orm::Condition::all().add(activity_event::Column::At.lt(cutoff));
    let key = activity_event::Column::Id;
    db::delete_in_batches::<activity_event::Entity>(conn, key, batch, old).await
}
