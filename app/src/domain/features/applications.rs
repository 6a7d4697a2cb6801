//! Applications, the minimum that makes permissions real: users with Can
//! Create create them; their owners share them (with Can Share) with users of
//! the same account, clone them (with Can Create) and attach the account's JS
//! libraries and integrations. A user sees what they own and what is shared
//! with them; anything else is "not found".
use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, TryInsertResult,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::db::delete_found;
use crate::domain::core::edits::{self, version_of};
use crate::domain::core::limits::{self, distinct};
use crate::domain::core::names;
use crate::domain::core::people;
use crate::domain::core::scope::{lock_account, Deleting, Scoped};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{
    application, application_integration as app_integration, application_library as app_library,
    application_share as share, deployment, integration, js_library, phone_number, user,
};
use crate::model::{
    ActivityKind, AppError, ApplicationRow, Applications, Named, UsedBy, UserChoice,
    INTEGRATION_GONE, LIBRARY_GONE,
};

pub use crate::domain::core::actor::{NEEDS_CAN_CREATE, NEEDS_CAN_SHARE};
pub const OWNER_ONLY: &str = "Only the owner of this application can do this.";
/// Why Create Application refuses a name: two of one's applications of one
/// name could not be told apart in the lists and pickers that name them.
pub const NAME_TAKEN: &str = "You already have an application of this name: choose another.";

/// The applications `me` can see: their own and those shared with them.
pub(super) fn visible_to(me: &Member) -> Select<application::Entity> {
    visible_to_user(&Scoped::of(me), me.user_id())
}

/// The applications `user_id` of the scope's account can see: their own and
/// those shared with them.
pub fn visible_to_user(scope: &Scoped, user_id: i32) -> Select<application::Entity> {
    let shared_with_them = Query::select()
        .column(share::Column::ApplicationId)
        .from(share::Entity)
        .and_where(share::Column::UserId.eq(user_id))
        .to_owned();
    scope.all::<application::Entity>().filter(
        Condition::any()
            .add(application::Column::OwnerId.eq(user_id))
            .add(application::Column::Id.in_subquery(shared_with_them)),
    )
}

async fn find_visible(
    conn: &impl ConnectionTrait,
    me: &Member,
    id: i32,
) -> Result<application::Model, AppError> {
    visible_to(me).filter(application::Column::Id.eq(id)).one(conn).await?.ok_or(AppError::NotFound)
}

/// An application `me` owns: others' visible ones are refused, invisible ones not found.
async fn find_owned(
    conn: &impl ConnectionTrait,
    me: &Member,
    id: i32,
) -> Result<application::Model, AppError> {
    let app = find_visible(conn, me, id).await?;
    if app.owner_id != me.user_id() {
        return Err(AppError::Forbidden(OWNER_ONLY.into()));
    }
    Ok(app)
}

fn named(id: i32, name: &str) -> Named {
    Named { id, name: name.to_owned() }
}

/// "X is used by A, B and 1 other application. Confirm to detach it from
/// them and delete it." The others are applications the asker cannot see,
/// which are not named.
fn in_use_message(what: &str, used_by: &UsedBy) -> String {
    format!(
        "{what} is used by {used_by}. Confirm to detach it from {} and delete it.",
        if used_by.count() == 1 { "that application" } else { "those applications" }
    )
}

/// A confirmation that names more applications than the account holds came
/// from no dialog: refused before the account's lock is taken, so that a
/// made-up list of any length is never read under it. Up to the holdings
/// limit nothing is read; past it (a merged account may hold more), the
/// account's own count decides.
pub(super) async fn refuse_impossible_confirmation(
    d: &Domain,
    account_id: i32,
    detach_from: &UsedBy,
) -> Result<(), AppError> {
    let named = detach_from.count() as u64;
    if named <= d.holdings.applications {
        return Ok(());
    }
    let held = Scoped::account(account_id).all::<application::Entity>().count(&d.read).await?;
    if named > held {
        return Err(AppError::field(
            "detach_from",
            format!("This account has {held} applications: a confirmation names no more."),
        ));
    }
    Ok(())
}

/// A deletion's event, saying which applications the thing was detached
/// from (the applications' owners find their settings changed).
pub(super) fn detached(event: Event, used_by: &UsedBy) -> Event {
    if used_by.is_empty() {
        event
    } else {
        event.detail(format!("detached from {used_by}"))
    }
}

/// Refuses a delete unless every application using `what` now (read under
/// the account's lock, which attaching takes) is among `detach_from`, what
/// its dialog named: Yes detaches from the applications the user saw, and
/// from no other. One detached since is no reason to ask again.
pub(super) fn refuse_unconfirmed(
    what: &str,
    used_by: &UsedBy,
    detach_from: &UsedBy,
) -> Result<(), AppError> {
    if used_by.within(detach_from) {
        return Ok(());
    }
    Err(AppError::Conflict(in_use_message(what, used_by)))
}

/// For each library, the names of the applications using it that `viewer`
/// can see, and how many others use it: its owner is not told the names of
/// applications the Applications tab does not show them.
pub(super) async fn using_libraries_seen_by(
    conn: &impl ConnectionTrait,
    library_ids: &[i32],
    viewer: &Member,
) -> Result<HashMap<i32, UsedBy>, AppError> {
    let links = app_library::Entity::find()
        .filter(app_library::Column::LibraryId.is_in(library_ids.iter().copied()))
        .all(conn)
        .await?;
    let pairs = links.iter().map(|l| (l.library_id, l.application_id)).collect::<Vec<_>>();
    seen_by(conn, pairs, viewer).await
}

/// The names of the applications each integration is attached to.
pub(super) async fn using_integrations(
    conn: &impl ConnectionTrait,
    integration_ids: &[i32],
) -> Result<HashMap<i32, UsedBy>, AppError> {
    let names = names_by(conn, &integration_links(conn, integration_ids).await?).await?;
    Ok(names.into_iter().map(|(id, names)| (id, UsedBy { names, others: 0 })).collect())
}

/// For each integration, the names of the applications using it that
/// `viewer` can see, and how many others use it: a member is not told the
/// names of applications the Applications tab does not show them.
pub(super) async fn using_integrations_seen_by(
    conn: &impl ConnectionTrait,
    integration_ids: &[i32],
    viewer: &Member,
) -> Result<HashMap<i32, UsedBy>, AppError> {
    seen_by(conn, integration_links(conn, integration_ids).await?, viewer).await
}

/// Of `pairs` (a thing, an application using it), the names of the
/// applications `viewer` can see, and how many others, for each thing.
async fn seen_by(
    conn: &impl ConnectionTrait,
    pairs: Vec<(i32, i32)>,
    viewer: &Member,
) -> Result<HashMap<i32, UsedBy>, AppError> {
    let visible: HashSet<i32> = visible_to(viewer)
        .filter(application::Column::Id.is_in(distinct(pairs.iter().map(|p| p.1))))
        .select_only()
        .column(application::Column::Id)
        .into_tuple()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let (seen, unseen): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|p| visible.contains(&p.1));
    let mut out: HashMap<i32, UsedBy> = names_by(conn, &seen)
        .await?
        .into_iter()
        .map(|(thing, names)| (thing, UsedBy { names, others: 0 }))
        .collect();
    for (thing, _) in unseen {
        out.entry(thing).or_default().others += 1;
    }
    Ok(out)
}

async fn integration_links(
    conn: &impl ConnectionTrait,
    integration_ids: &[i32],
) -> Result<Vec<(i32, i32)>, AppError> {
    let links = app_integration::Entity::find()
        .filter(app_integration::Column::IntegrationId.is_in(integration_ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(links.iter().map(|l| (l.integration_id, l.application_id)).collect())
}

async fn names_by(
    conn: &impl ConnectionTrait,
    pairs: &[(i32, i32)],
) -> Result<HashMap<i32, Vec<String>>, AppError> {
    let apps = application::Entity::find()
        .filter(application::Column::Id.is_in(distinct(pairs.iter().map(|p| p.1))));
    let apps =
        names_of_rows(conn, apps, application::Column::Id, application::Column::Name).await?;
    let mut by_thing: HashMap<i32, Vec<String>> = HashMap::new();
    for (thing, app) in pairs {
        if let Some(name) = apps.get(app) {
            by_thing.entry(*thing).or_default().push(name.clone());
        }
    }
    by_thing.values_mut().for_each(|v| v.sort_by(|a, b| names::order(a, b)));
    Ok(by_thing)
}

/// The ids and names `select` finds, and nothing else of their rows: a
/// list that names libraries or integrations reads neither their code nor
/// their sealed credentials (up to 4 KB and 22 KB a row).
async fn names_of_rows<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    name: E::Column,
) -> Result<HashMap<i32, String>, AppError> {
    let found: Vec<(i32, String)> =
        select.select_only().column(id).column(name).into_tuple().all(conn).await?;
    Ok(found.into_iter().collect())
}

async fn rows(
    conn: &impl ConnectionTrait,
    me: &Member,
    apps: Vec<application::Model>,
) -> Result<Vec<ApplicationRow>, AppError> {
    let ids: Vec<i32> = apps.iter().map(|a| a.id).collect();
    // Only an owner is shown whom they share with. An application shared
    // with thousands would otherwise cost everyone who sees it those
    // thousands of rows on every load, and their ids would pass a
    // statement's bound on parameters: the sharers are read by a subquery.
    let owned: Vec<i32> =
        apps.iter().filter(|a| a.owner_id == me.user_id()).map(|a| a.id).collect();
    let shares: Vec<(i32, i32)> = share::Entity::find()
        .select_only()
        .columns([share::Column::ApplicationId, share::Column::UserId])
        .filter(share::Column::ApplicationId.is_in(owned.clone()))
        .into_tuple()
        .all(conn)
        .await?;
    let sharers = Query::select()
        .column(share::Column::UserId)
        .from(share::Entity)
        .and_where(share::Column::ApplicationId.is_in(owned))
        .to_owned();
    // Two statements: an `IN` list or an `IN` subquery, joined by `OR`, had
    // PostgreSQL read every user of every account.
    let owners =
        Condition::all().add(user::Column::Id.is_in(distinct(apps.iter().map(|a| a.owner_id))));
    let mut users = people::choices_where(conn, owners).await?;
    let sharers = Condition::all().add(user::Column::Id.in_subquery(sharers));
    users.extend(people::choices_where(conn, sharers).await?);
    // (application, attached id), then the attached things' names.
    let library_links: Vec<(i32, i32)> = app_library::Entity::find()
        .select_only()
        .columns([app_library::Column::ApplicationId, app_library::Column::LibraryId])
        .filter(app_library::Column::ApplicationId.is_in(ids.clone()))
        .into_tuple()
        .all(conn)
        .await?;
    let libraries = js_library::Entity::find()
        .filter(js_library::Column::Id.is_in(distinct(library_links.iter().map(|l| l.1))));
    let library_names =
        names_of_rows(conn, libraries, js_library::Column::Id, js_library::Column::Name).await?;
    let integration_links: Vec<(i32, i32)> = app_integration::Entity::find()
        .select_only()
        .columns([app_integration::Column::ApplicationId, app_integration::Column::IntegrationId])
        .filter(app_integration::Column::ApplicationId.is_in(ids.clone()))
        .into_tuple()
        .all(conn)
        .await?;
    let integrations = integration::Entity::find()
        .filter(integration::Column::Id.is_in(distinct(integration_links.iter().map(|l| l.1))));
    let integration_names =
        names_of_rows(conn, integrations, integration::Column::Id, integration::Column::Name)
            .await?;
    let by_app = |links: &[(i32, i32)]| {
        let mut by_app: HashMap<i32, Vec<i32>> = HashMap::new();
        links.iter().for_each(|(app, id)| by_app.entry(*app).or_default().push(*id));
        by_app
    };
    let (library_links, integration_links) = (by_app(&library_links), by_app(&integration_links));
    let attached = |links: &HashMap<i32, Vec<i32>>, name_of: &HashMap<i32, String>, app: i32| {
        let mut found: Vec<Named> = links
            .get(&app)
            .into_iter()
            .flatten()
            .filter_map(|id| name_of.get(id).map(|name| named(*id, name)))
            .collect();
        found.sort_by(|a, b| names::order(&a.name, &b.name));
        found
    };
    let mut shares_of: HashMap<i32, Vec<i32>> = HashMap::new();
    shares.iter().for_each(|(app, user)| shares_of.entry(*app).or_default().push(*user));
    let mut out = Vec::new();
    for app in apps {
        let owner =
            users.get(&app.owner_id).map(|u| named(u.id, &u.name)).ok_or(AppError::Internal)?;
        let mine = app.owner_id == me.user_id();
        let mut shared_with: Vec<UserChoice> = shares_of
            .get(&app.id)
            .into_iter()
            .flatten()
            .filter_map(|user_id| users.get(user_id).cloned())
            .collect();
        shared_with.sort_by(|a, b| names::order(&a.name, &b.name).then(a.id.cmp(&b.id)));
        let libs = attached(&library_links, &library_names, app.id);
        let ints = attached(&integration_links, &integration_names, app.id);
        // Its owner's only, who alone saves its settings: a share does not
        // learn when they were saved.
        let version = if mine { version_of(settings_version(&app)) } else { String::new() };
        out.push(ApplicationRow {
            id: app.id,
            name: app.name,
            owner,
            mine,
            shared_with,
            libraries: libs,
            integrations: ints,
            version,
        });
    }
    Ok(out)
}

pub async fn list(d: &Domain, me: &Member) -> Result<Applications, AppError> {
    // One moment of the database: an owner deleted between the reads of the
    // applications and of their owners would leave a row without one.
    let read = d.snapshot().await?;
    let mut apps = visible_to(me).all(&read).await?;
    // Two of one name (one's own and one shared) in the order they were made.
    apps.sort_by(|a, b| names::order(&a.name, &b.name).then(a.id.cmp(&b.id)));
    let scope = Scoped::of(me);
    let (id, name) = (js_library::Column::Id, js_library::Column::Name);
    let libraries = names_of_rows(&read, scope.all::<js_library::Entity>(), id, name).await?;
    let mut libraries: Vec<Named> =
        libraries.into_iter().map(|(id, name)| Named { id, name }).collect();
    libraries.sort_by(|a, b| names::order(&a.name, &b.name).then(a.id.cmp(&b.id)));
    let (id, name) = (integration::Column::Id, integration::Column::Name);
    let integrations = names_of_rows(&read, scope.integrations(), id, name).await?;
    let mut integrations: Vec<Named> =
        integrations.into_iter().map(|(id, name)| Named { id, name }).collect();
    integrations.sort_by(|a, b| names::order(&a.name, &b.name));
    let applications = Applications {
        rows: rows(&read, me, apps).await?,
        can_create: me.creator(&read).await.is_ok(),
        can_share: me.sharer(&read).await.is_ok(),
        libraries,
        integrations,
    };
    read.commit().await?;
    Ok(applications)
}

async fn row(
    conn: &impl ConnectionTrait,
    me: &Member,
    app: application::Model,
) -> Result<ApplicationRow, AppError> {
    rows(conn, me, vec![app]).await?.pop().ok_or(AppError::Internal)
}

pub async fn create(d: &Domain, me: &Member, name: &str) -> Result<ApplicationRow, AppError> {
    let name = validation::one_line_name(name, "New Application Name")
        .map_err(|m| AppError::field("name", m))?;
    me.verified(&d.db).await?;
    let creator = me.creator(&d.db).await?;
    let event = Event::new(ActivityKind::ApplicationCreated, &name);
    let key = names::key(&name);
    let new = application::ActiveModel {
        account_id: Set(creator.member().account_id()),
        owner_id: Set(creator.member().user_id()),
        name: Set(name),
        created_at: Set(d.clock.now()),
        ..Default::default()
    };
    let taken = || AppError::field("name", NAME_TAKEN);
    // Refused at once, without spending a change; again under the lock,
    // which a create of the same name racing this one takes too, and so
    // does an admin taking Can Create away or disabling the user.
    if names_of(&d.db, me.user_id()).await?.contains(&key) {
        return Err(taken());
    }
    let by = By::Member(activity::count_change(d, me).await?);
    let app = activity::with_event(d, by, event, async |txn| {
        room_for_one(d, txn, me).await?;
        me.creator(txn).await?;
        if names_of(txn, me.user_id()).await?.contains(&key) {
            return Err(taken());
        }
        Ok(new.insert(txn).await?)
    })
    .await?;
    row(&d.db, me, app).await
}

/// The names of `owner_id`'s applications, as [`names::key`] compares them
/// (as many as the account may hold, `Holdings::applications`).
async fn names_of(conn: &impl ConnectionTrait, owner_id: i32) -> Result<HashSet<String>, AppError> {
    let names: Vec<String> = application::Entity::find()
        .select_only()
        .column(application::Column::Name)
        .filter(application::Column::OwnerId.eq(owner_id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(names.iter().map(|name| names::key(name)).collect())
}

/// Refuses one more application once the account holds its most.
async fn room_for_one(d: &Domain, txn: &DatabaseTransaction, me: &Member) -> Result<(), AppError> {
    let most = d.holdings.applications;
    Scoped::of(me)
        .refuse_full::<application::Entity>(txn, most, "applications", Deleting::OwnersOnly)
        .await
}

/// Attaches these libraries and integrations to `application_id`, a
/// statement for each kind: an application may be given hundreds at once,
/// and the account's lock is held meanwhile.
async fn attach(
    txn: &DatabaseTransaction,
    application_id: i32,
    library_ids: impl IntoIterator<Item = i32>,
    integration_ids: impl IntoIterator<Item = i32>,
) -> Result<(), AppError> {
    let libraries = library_ids.into_iter().map(|library_id| app_library::ActiveModel {
        application_id: Set(application_id),
        library_id: Set(library_id),
    });
    app_library::Entity::insert_many(libraries).exec_without_returning(txn).await?;
    let integrations =
        integration_ids.into_iter().map(|integration_id| app_integration::ActiveModel {
            application_id: Set(application_id),
            integration_id: Set(integration_id),
        });
    app_integration::Entity::insert_many(integrations).exec_without_returning(txn).await?;
    Ok(())
}

/// The name of a copy of `original`: "IVR copy", or with that taken among
/// its owner's applications "IVR copy 2", "IVR copy 3"…, so copies are told
/// apart and listed in order under the original. A copy of a copy is
/// numbered from the same base ("IVR copy" gives "IVR copy 2"), and a long
/// name is shortened to keep its suffix within the limit.
async fn copy_name(
    txn: &DatabaseTransaction,
    original: &application::Model,
) -> Result<String, AppError> {
    let taken = names_of(txn, original.owner_id).await?;
    let base = without_copy_suffix(&original.name);
    let numbered = |n: usize| if n == 1 { " copy".to_owned() } else { format!(" copy {n}") };
    Ok(names::first_free(base, &taken, numbered))
}

/// `name` without a trailing " copy" or " copy N".
fn without_copy_suffix(name: &str) -> &str {
    let numbered = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = match numbered.strip_suffix(' ') {
        Some(rest) if numbered.len() < name.len() => rest,
        _ => name,
    };
    numbered.strip_suffix(" copy").filter(|base| !base.is_empty()).unwrap_or(name)
}

/// Refuses `name` for `app` when another of its owner's applications has it.
async fn refuse_taken_by_another(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    name: &str,
) -> Result<(), AppError> {
    let key = names::key(name);
    let renamed = names::key(&app.name) != key;
    match renamed && names_of(conn, app.owner_id).await?.contains(&key) {
        true => Err(AppError::field("name", NAME_TAKEN)),
        false => Ok(()),
    }
}

/// A copy owned by the same owner, with the same libraries and integrations;
/// shares and deployments stay with the original.
pub async fn clone(d: &Domain, me: &Member, id: i32) -> Result<ApplicationRow, AppError> {
    me.verified(&d.db).await?;
    let by = By::Member(activity::count_change(d, me).await?);
    let txn = d.begin().await?;
    // Can Create is read under the account's lock, which an admin taking
    // it away takes too, so a clone waiting behind that change is refused.
    room_for_one(d, &txn, me).await?;
    let original = find_owned(&txn, me, id).await?;
    me.creator(&txn).await?;
    let name = copy_name(&txn, &original).await?;
    let copy = application::ActiveModel {
        account_id: Set(original.account_id),
        owner_id: Set(original.owner_id),
        name: Set(name),
        created_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let libraries = app_library::Entity::find()
        .filter(app_library::Column::ApplicationId.eq(original.id))
        .all(&txn)
        .await?;
    attach(&txn, copy.id, libraries.iter().map(|l| l.library_id), []).await?;
    let integrations = app_integration::Entity::find()
        .filter(app_integration::Column::ApplicationId.eq(original.id))
        .all(&txn)
        .await?;
    attach(&txn, copy.id, [], integrations.iter().map(|i| i.integration_id)).await?;
    let event = Event::new(ActivityKind::ApplicationCloned, &copy.name)
        .detail(format!("from {}", original.name));
    activity::record(d, &txn, by, event).await?;
    let copied = row(&txn, me, copy).await?;
    txn.commit().await?;
    Ok(copied)
}

pub async fn delete(d: &Domain, me: &Member, id: i32) -> Result<(), AppError> {
    let txn = d.begin().await?;
    // Read under the lock a hand-over takes (the user deleted a moment
    // ago): an application passed to an admin is not this user's to delete.
    // And a rename that landed while this waited is the name the event
    // records.
    lock_account(&txn, me.account_id()).await?;
    me.active(&txn).await?;
    let app = find_owned(&txn, me, id).await?;
    let stopped = stop_numbers(&txn, &app, None, "which was deleted").await?;
    delete_found::<application::Entity>(&txn, app.id).await?;
    let mut events = vec![Event::new(ActivityKind::ApplicationDeleted, &app.name)];
    events.extend(stopped);
    activity::record_all(d, &txn, By::Remedy(me), events).await?;
    txn.commit().await?;
    Ok(())
}

/// Shares an application with another user of the account.
pub async fn share(
    d: &Domain,
    me: &Member,
    id: i32,
    with_user: i32,
) -> Result<ApplicationRow, AppError> {
    // Refused at once, without spending a change; checked again under the
    // account's lock, which disabling or deleting the user, or taking the
    // sharer's Can Share away, takes too.
    share_checked(&d.db, me, id, with_user).await?;
    let by = By::Member(activity::count_change(d, me).await?);
    let txn = d.begin().await?;
    lock_account(&txn, me.account_id()).await?;
    let (app, other) = share_checked(&txn, me, id, with_user).await?;
    let shared = share::Entity::insert(share::ActiveModel {
        application_id: Set(app.id),
        user_id: Set(other.id),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    // Shared already (a double click, two windows): nothing to record.
    if matches!(shared, TryInsertResult::Inserted(n) if n > 0) {
        let event = Event::new(ActivityKind::ApplicationShared, &app.name)
            .detail(format!("with {}", other.email));
        activity::record(d, &txn, by, event).await?;
    }
    txn.commit().await?;
    row(&d.db, me, app).await
}

/// The application `me` owns and may share, and the user of the account to
/// share it with, read on `conn`.
async fn share_checked(
    conn: &impl ConnectionTrait,
    me: &Member,
    id: i32,
    with_user: i32,
) -> Result<(application::Model, user::Model), AppError> {
    let app = find_owned(conn, me, id).await?;
    let sharer = me.sharer(conn).await?;
    let other = match Scoped::of(sharer.member()).find::<user::Entity>(conn, with_user).await {
        Err(AppError::NotFound) => {
            return Err(AppError::field("user", "Choose a user of this account."))
        }
        found => found?,
    };
    if other.id == app.owner_id {
        return Err(AppError::field("user", "The owner already has this application."));
    }
    // As the picker offers no disabled user, no entry point shares with one.
    if other.disabled_at.is_some() {
        return Err(AppError::field("user", SHARE_DISABLED));
    }
    Ok((app, other))
}

pub async fn unshare(
    d: &Domain,
    me: &Member,
    id: i32,
    with_user: i32,
) -> Result<ApplicationRow, AppError> {
    let txn = d.begin().await?;
    // A deploy takes it before it checks that the application is shared: it
    // either lands before this and is undone below, or finds the share gone.
    lock_account(&txn, me.account_id()).await?;
    // A user disabled while this waited for the lock does nothing more.
    me.active(&txn).await?;
    let app = find_owned(&txn, me, id).await?;
    let unshared = share::Entity::delete_many()
        .filter(share::Column::ApplicationId.eq(app.id))
        .filter(share::Column::UserId.eq(with_user))
        .exec(&txn)
        .await?;
    if unshared.rows_affected > 0 {
        let with = match Scoped::of(me).find::<user::Entity>(&txn, with_user).await {
            Ok(user) => user.email,
            Err(_) => format!("user {with_user}"),
        };
        // Their numbers stop running an application they can no longer see.
        let why = format!("no longer shared with {with}");
        let stopped = stop_numbers(&txn, &app, Some(with_user), &why).await?;
        let event =
            Event::new(ActivityKind::ApplicationUnshared, &app.name).detail(format!("with {with}"));
        let events = std::iter::once(event).chain(stopped).collect();
        activity::record_all(d, &txn, By::Remedy(me), events).await?;
    } else if Scoped::of(me).find::<user::Entity>(&txn, with_user).await.is_err() {
        // Not shared with them is done already (a second click); nobody of
        // that id in the account is a request made up or gone stale.
        return Err(AppError::field("user", "Choose a user of this account."));
    }
    let shown = row(&txn, me, app).await?;
    txn.commit().await?;
    Ok(shown)
}

/// Stops the numbers running `app` (those owned by `owner` only, if given)
/// and returns an undeploy event for each, naming the application and
/// `why`, for the caller to record after its own: a number that stops
/// answering calls has its reason in the log, whoever owns it.
async fn stop_numbers(
    txn: &DatabaseTransaction,
    app: &application::Model,
    owner: Option<i32>,
    why: &str,
) -> Result<Vec<Event>, AppError> {
    let mut running = Query::select()
        .column(deployment::Column::PhoneNumberId)
        .from(deployment::Entity)
        .and_where(deployment::Column::ApplicationId.eq(app.id))
        .to_owned();
    if let Some(owner) = owner {
        let owned = Query::select()
            .column(phone_number::Column::Id)
            .from(phone_number::Entity)
            .and_where(phone_number::Column::OwnerId.eq(owner))
            .to_owned();
        running.and_where(deployment::Column::PhoneNumberId.in_subquery(owned));
    }
    let stopped: Vec<(i32, String)> = phone_number::Entity::find()
        .select_only()
        .columns([phone_number::Column::Id, phone_number::Column::E164])
        .filter(phone_number::Column::Id.in_subquery(running))
        .order_by_asc(phone_number::Column::E164)
        .into_tuple()
        .all(txn)
        .await?;
    deployment::Entity::delete_many()
        .filter(deployment::Column::ApplicationId.eq(app.id))
        .filter(deployment::Column::PhoneNumberId.is_in(stopped.iter().map(|(id, _)| *id)))
        .exec(txn)
        .await?;
    Ok(stopped
        .into_iter()
        .map(|(_, e164)| {
            Event::new(ActivityKind::PhoneNumberUndeployed, e164)
                .detail(format!("off {}, {why}", app.name))
        })
        .collect())
}

/// Why sharing with a disabled user is refused.
pub const SHARE_DISABLED: &str =
    "This user is disabled, so nothing can be shared with them until an admin enables them.";

/// The users the sharing picker of the application `id` (the member's own)
/// offers: only to users who may share, and only users it can still be
/// shared with: not its owner, nor those who have it, nor disabled users.
pub async fn share_choices(
    d: &Domain,
    me: &Member,
    id: i32,
    search: &str,
) -> Result<Vec<UserChoice>, AppError> {
    let sharer = me.sharer(&d.db).await?;
    let app = find_owned(&d.read, me, id).await?;
    let have_it = share::Entity::find()
        .select_only()
        .column(share::Column::UserId)
        .filter(share::Column::ApplicationId.eq(app.id))
        .into_query();
    let scope = Scoped::of(sharer.member())
        .users()
        .filter(user::Column::Id.ne(app.owner_id))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.not_in_subquery(have_it));
    people::choices_among(d, scope, search).await
}

/// Said when an application's settings were saved (in another window)
/// since its Settings dialog opened: only its owner saves them, so that is
/// where the change came from, and saving the dialog's lists whole would
/// undo it unseen.
pub const SETTINGS_CHANGED_SINCE_OPENED: &str = "The settings of this application were saved \
     in another window since you opened them, so nothing was saved here. Look at them as they \
     are now, then make your change again.";

/// When the application's settings last changed: its version
/// (`ApplicationRow::version`).
fn settings_version(app: &application::Model) -> chrono::DateTime<chrono::Utc> {
    app.settings_saved_at.unwrap_or(app.created_at)
}

/// What a Settings dialog sends.
pub struct SettingsForm<'a> {
    /// `None` keeps the name.
    pub name: Option<&'a str>,
    pub library_ids: &'a [i32],
    pub integration_ids: &'a [i32],
    /// The version the dialog opened on (`None`: saved over whatever
    /// changed since).
    pub opened: Option<&'a str>,
}

impl<'a> SettingsForm<'a> {
    pub fn new(name: Option<&'a str>, library_ids: &'a [i32], integration_ids: &'a [i32]) -> Self {
        SettingsForm { name, library_ids, integration_ids, opened: None }
    }

    pub fn opened_on(self, opened: Option<&'a str>) -> Self {
        SettingsForm { opened, ..self }
    }
}

/// Whether saving `form` (its name as checked) would change `app`'s
/// settings as they are saved now.
async fn changes(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    form: &SettingsForm<'_>,
    name: Option<&str>,
) -> Result<bool, AppError> {
    let libraries: Vec<i32> = app_library::Entity::find()
        .select_only()
        .column(app_library::Column::LibraryId)
        .filter(app_library::Column::ApplicationId.eq(app.id))
        .into_tuple()
        .all(conn)
        .await?;
    let integrations: Vec<i32> = app_integration::Entity::find()
        .select_only()
        .column(app_integration::Column::IntegrationId)
        .filter(app_integration::Column::ApplicationId.eq(app.id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(name.is_some_and(|name| name != app.name)
        || dedup(&libraries) != dedup(form.library_ids)
        || dedup(&integrations) != dedup(form.integration_ids))
}

fn settings_changed_since_opened() -> AppError {
    AppError::Conflict(SETTINGS_CHANGED_SINCE_OPENED.into())
}

/// The application's settings (its owner's only), in one transaction: its
/// name, when given, and exactly these libraries and integrations of the
/// account, replacing the previous ones. A refused name changes nothing.
/// The new name must differ from the owner's other applications, capitals
/// aside (a change of capitals alone is a rename): checked before a change
/// is counted and again under the account's lock, which a create or clone
/// racing it takes too; so is the version the dialog opened on.
pub async fn save_settings(
    d: &Domain,
    me: &Member,
    id: i32,
    form: SettingsForm<'_>,
) -> Result<ApplicationRow, AppError> {
    let SettingsForm { library_ids, integration_ids, .. } = form;
    limits::at_most("libraries", library_ids.len(), limits::IDS_MAX)?;
    limits::at_most("integrations", integration_ids.len(), limits::IDS_MAX)?;
    let name = form
        .name
        .map(|name| validation::one_line_name(name, "Name").map_err(|m| AppError::field("name", m)))
        .transpose()?;
    me.verified(&d.db).await?;
    let app = find_owned(&d.db, me, id).await?;
    // A save of what is there already (a double submit, the same change
    // made in two windows) is no clash, and neither written, counted nor
    // logged, as a library's is not; a change on another version than the
    // one the dialog opened on is a clash.
    if !changes(&d.db, &app, &form, name.as_deref()).await? {
        return row(&d.db, me, app).await;
    }
    if edits::is_stale(form.opened, settings_version(&app)) {
        return Err(settings_changed_since_opened());
    }
    let mut renamed = false;
    if let Some(name) = &name {
        refuse_taken_by_another(&d.db, &app, name).await?;
        renamed = *name != app.name;
    }
    // A rename is an event of its own beside the settings'.
    let by = By::Member(activity::count_changes(d, me, 1 + usize::from(renamed)).await?);
    let txn = d.begin().await?;
    // Deleting a library or an integration takes the same lock before it
    // reads where it is used (see `integrations::delete`).
    lock_account(&txn, me.account_id()).await?;
    // Read again under the lock, which disabling the user takes too.
    me.verified(&txn).await?;
    let app = find_owned(&txn, me, id).await?;
    // Saved as this form has it by another window since the check above:
    // nothing to write or log (the count is spent already).
    if !changes(&txn, &app, &form, name.as_deref()).await? {
        return row(&txn, me, app).await;
    }
    if edits::is_stale(form.opened, settings_version(&app)) {
        return Err(settings_changed_since_opened());
    }
    let mut saved = application::ActiveModel::from(app.clone());
    let mut rename = None;
    if let Some(name) = name.filter(|name| *name != app.name) {
        refuse_taken_by_another(&txn, &app, &name).await?;
        rename = Some(
            Event::new(ActivityKind::ApplicationRenamed, &name)
                .detail(format!("from {}", app.name)),
        );
        saved.name = Set(name);
    }
    saved.settings_saved_at = Set(Some(d.clock.now()));
    let app = saved.update(&txn).await?;
    if let Some(rename) = rename {
        activity::record(d, &txn, by, rename).await?;
    }
    let mut errors = Errors::default();
    let libraries = Scoped::of(me)
        .all::<js_library::Entity>()
        .filter(js_library::Column::Id.is_in(library_ids.iter().copied()))
        .all(&txn)
        .await?;
    if libraries.len() != dedup(library_ids).len() {
        errors.add("libraries", LIBRARY_GONE);
    }
    let integrations = Scoped::of(me)
        .integrations()
        .filter(integration::Column::Id.is_in(integration_ids.iter().copied()))
        .all(&txn)
        .await?;
    if integrations.len() != dedup(integration_ids).len() {
        errors.add("integrations", INTEGRATION_GONE);
    }
    errors.into_result()?;
    app_library::Entity::delete_many()
        .filter(app_library::Column::ApplicationId.eq(app.id))
        .exec(&txn)
        .await?;
    app_integration::Entity::delete_many()
        .filter(app_integration::Column::ApplicationId.eq(app.id))
        .exec(&txn)
        .await?;
    let (library_ids, integration_ids) =
        (libraries.iter().map(|l| l.id), integrations.iter().map(|i| i.id));
    attach(&txn, app.id, library_ids, integration_ids).await?;
    // Each list in its half of the detail, cut at a whole name.
    let names = |names: Vec<&str>| match names.is_empty() {
        true => "none".to_owned(),
        false => activity::names_within(&names, 130),
    };
    let event = Event::new(ActivityKind::ApplicationSettingsChanged, &app.name).detail(format!(
        "libraries: {}; integrations: {}",
        names(libraries.iter().map(|l| l.name.as_str()).collect()),
        names(integrations.iter().map(|i| i.name.as_str()).collect()),
    ));
    activity::record(d, &txn, by, event).await?;
    let updated = row(&txn, me, app).await?;
    txn.commit().await?;
    Ok(updated)
}

fn dedup(ids: &[i32]) -> Vec<i32> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A deleted user's applications pass to the admin who deleted them; the
/// admin no longer needs a share of what is now theirs. One named like an
/// application the admin has (or like another passed on) becomes "IVR (from
/// Bob Lee)", so that their lists and pickers can tell the two apart; the
/// rename events are returned for the caller to record (the users it was
/// shared with see the new name).
pub async fn hand_over(
    txn: &DatabaseTransaction,
    leaving: &user::Model,
    to: i32,
) -> Result<Vec<Event>, AppError> {
    let from = leaving.id;
    let owned_by = |owner| {
        application::Entity::find()
            .filter(application::Column::OwnerId.eq(owner))
            .order_by_asc(application::Column::Id)
            .all(txn)
    };
    let (kept, theirs) = (owned_by(to).await?, owned_by(from).await?);
    let joining: Vec<&str> = theirs.iter().map(|app| app.name.as_str()).collect();
    let whose = leaving.full_name();
    let renames = names::joining(kept.iter().map(|app| app.name.as_str()), &joining, &whose);
    let mut events = Vec::new();
    for (at, name) in renames {
        events.push(
            Event::new(ActivityKind::ApplicationRenamed, &name)
                .detail(format!("from {}", theirs[at].name)),
        );
        let mut renamed = application::ActiveModel::from(theirs[at].clone());
        renamed.name = Set(name);
        renamed.update(txn).await?;
    }
    application::Entity::update_many()
        .col_expr(application::Column::OwnerId, to.into())
        .filter(application::Column::OwnerId.eq(from))
        .exec(txn)
        .await?;
    let owned_now = Query::select()
        .column(application::Column::Id)
        .from(application::Entity)
        .and_where(application::Column::OwnerId.eq(to))
        .to_owned();
    share::Entity::delete_many()
        .filter(
            Condition::any().add(share::Column::UserId.eq(from)).add(
                Condition::all()
                    .add(share::Column::UserId.eq(to))
                    .add(share::Column::ApplicationId.in_subquery(owned_now)),
            ),
        )
        .exec(txn)
        .await?;
    Ok(events)
}
