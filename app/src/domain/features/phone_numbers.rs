//! Phone numbers: admins request toll-free numbers from the provisioning
//! provider, give each an owner among the account's users, and release them.
//! Owners see their numbers on their Account tab. A demo account holds one
//! number at most.
use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::Expr;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, SqlErr,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::{Admin, Member};
use crate::domain::core::limits::{self, distinct};
use crate::domain::core::people::{self, choices_where};
use crate::domain::core::quota::{Action, Per, Who};
use crate::domain::core::scope::{held_on_plan, lock_account_as, Scoped};
use crate::domain::core::Domain;
use crate::domain::entity::{
    application, deployment, deployment_token, oauth_token, phone_number, user,
};
use crate::domain::features::applications;
use crate::model::{
    ActivityKind, AppError, Named, OwnerChange, OwnersSaved, PhoneNumberRow, PhoneNumbers,
    StoppedDeployment, UserChoice,
};

/// Why a demo account may not request a second number.
pub fn demo_limit(d: &Domain) -> String {
    format!(
        "A demo account can hold one phone number. To move to a full account for more, {}.",
        d.contact_support()
    )
}
pub const POOL_EMPTY: &str =
    "No toll-free number is available right now. Nothing was changed; please try again later.";

async fn rows(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<phone_number::Entity>,
) -> Result<Vec<PhoneNumberRow>, AppError> {
    let found = query.order_by_asc(phone_number::Column::E164).all(conn).await?;
    // Most users own no number: their Account tab then asks nothing more.
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let owners = distinct(found.iter().map(|n| n.owner_id));
    let owners = choices_where(conn, Condition::all().add(user::Column::Id.is_in(owners))).await?;
    let deployed = deployed_to(conn, found.iter().map(|n| n.id)).await?;
    let tokens = tokens_of(conn, found.iter().map(|n| n.id)).await?;
    found
        .into_iter()
        .map(|number| {
            let owner = owners.get(&number.owner_id).cloned().ok_or_else(|| {
                tracing::error!(number = number.id, "a phone number without its owner");
                AppError::Internal
            })?;
            Ok(PhoneNumberRow {
                id: number.id,
                e164: number.e164,
                pci: number.pci,
                owner,
                deployed_to: deployed.get(&number.id).cloned(),
                token: tokens.get(&number.id).cloned(),
            })
        })
        .collect()
}

/// The application each of these numbers is deployed to.
async fn deployed_to(
    conn: &impl ConnectionTrait,
    number_ids: impl Iterator<Item = i32>,
) -> Result<HashMap<i32, Named>, AppError> {
    let found = deployment::Entity::find()
        .filter(deployment::Column::PhoneNumberId.is_in(number_ids))
        .find_also_related(application::Entity)
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(d, app)| app.map(|a| (d.phone_number_id, Named { id: a.id, name: a.name })))
        .collect())
}

/// The OAuth token each of these numbers' deployments uses, named by its provider account.
async fn tokens_of(
    conn: &impl ConnectionTrait,
    number_ids: impl Iterator<Item = i32>,
) -> Result<HashMap<i32, Named>, AppError> {
    let links = deployment_token::Entity::find()
        .filter(deployment_token::Column::PhoneNumberId.is_in(number_ids))
        .all(conn)
        .await?;
    let tokens: HashMap<i32, oauth_token::Model> = oauth_token::Entity::find()
        .filter(
            oauth_token::Column::Id.is_in(limits::distinct(links.iter().map(|l| l.oauth_token_id))),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(links
        .into_iter()
        .filter_map(|l| {
            let t = tokens.get(&l.oauth_token_id)?;
            let kind = if t.livemode { "Live" } else { "Test" };
            Some((
                l.phone_number_id,
                Named { id: t.id, name: format!("{} ({kind})", t.provider_account_id) },
            ))
        })
        .collect())
}

/// Why the account may not request another number, if it may not.
async fn limit(
    d: &Domain,
    conn: &impl ConnectionTrait,
    account_id: i32,
    held: usize,
) -> Result<Option<String>, AppError> {
    let plan = limits::plan(conn, account_id).await?;
    Ok(match plan.number_limit() {
        Some(max) if held >= max => Some(demo_limit(d)),
        _ => None,
    })
}

pub async fn list(d: &Domain, admin: &Admin) -> Result<PhoneNumbers, AppError> {
    // One moment of the database: an owner deleted between the reads of the
    // numbers and of their owners would leave a number without one.
    let read = d.snapshot().await?;
    let rows = rows(&read, Scoped::of(admin.member()).phone_numbers()).await?;
    let limit = limit(d, &read, admin.account_id(), rows.len()).await?;
    read.commit().await?;
    Ok(PhoneNumbers { rows, limit, support_email: d.support_email.clone() })
}

/// The numbers a user owns, for their own Account tab: the owner is the
/// user reading, so no snapshot (most own none, and read one query alone).
pub async fn owned_by_me(d: &Domain, me: &Member) -> Result<Vec<PhoneNumberRow>, AppError> {
    rows(&d.read, Scoped::of(me).mine::<phone_number::Entity>()).await
}

/// The numbers `me` may see: the account's for an admin, their own for
/// anyone else (the JSON API's listing).
pub async fn visible_to(d: &Domain, me: &Member) -> Result<Vec<PhoneNumberRow>, AppError> {
    match me.admin() {
        Ok(admin) => Ok(list(d, &admin).await?.rows),
        Err(_) => owned_by_me(d, me).await,
    }
}

/// Requests a toll-free number; the requesting admin owns it until they
/// assign it to someone else.
pub async fn request(d: &Domain, admin: &Admin) -> Result<PhoneNumberRow, AppError> {
    let account_id = admin.account_id();
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    // One request at a time per account, so the plan's limit holds.
    lock_account_as(&txn, admin).await?;
    admin.member().verified(&txn).await?;
    let held = Scoped::of(admin.member()).phone_numbers().count(&txn).await? as usize;
    if let Some(why) = limit(d, &txn, account_id, held).await? {
        return Err(AppError::Conflict(why));
    }
    let most = d.holdings.phone_numbers;
    limits::refuse_full(held as u64, most, || {
        format!(
            "This account has {held} phone numbers, the most it can keep is {most}. One must be \
             deleted before another is requested, or {}.",
            d.contact_support()
        )
    })?;
    let who = Who {
        actor: Some(admin.member().user_id()),
        account: Some(account_id),
        client: admin.member().address(),
        ..Who::default()
    };
    d.spend(&txn, Action::NumberRequest, &who).await?;
    if limits::plan(&txn, account_id).await? == limits::Plan::Demo {
        d.spend(&txn, Action::DemoNumberRequest, &who).await?;
        refuse_demo_stock_full(d, &txn).await?;
    }
    let Some(number) = d.numbers.request_toll_free(&txn, account_id, d.clock.now()).await? else {
        return Err(AppError::Conflict(POOL_EMPTY.into()));
    };
    let model = phone_number::ActiveModel {
        account_id: Set(account_id),
        e164: Set(number.e164.clone()),
        pci: Set(number.pci),
        owner_id: Set(admin.member().user_id()),
        provisioned_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            tracing::error!(number = %number.e164, "the provider handed out a number another account holds");
            AppError::Internal
        } else {
            e.into()
        }
    })?;
    let event = Event::new(ActivityKind::PhoneNumberRequested, &model.e164);
    activity::record(d, &txn, by, event).await?;
    let row = rows(&txn, phone_number::Entity::find_by_id(model.id)).await?.pop();
    txn.commit().await?;
    tracing::info!(account = account_id, number = %number.e164, "phone number provisioned");
    row.ok_or(AppError::Internal)
}

/// Demo accounts together hold at most as many numbers as they may request
/// in the demo total's window: the window bounds how fast they take
/// numbers, and this how many they keep, or new demo accounts would take a
/// window's worth every month until paying accounts found the stock empty.
/// Counted after the demo total is spent in the same transaction: that
/// counter's row stays locked until the commit, so two demo requests at
/// once count one after the other.
async fn refuse_demo_stock_full(d: &Domain, txn: &DatabaseTransaction) -> Result<(), AppError> {
    let Some(most) = d.quotas.max(Action::DemoNumberRequest, Per::Total) else {
        return Ok(());
    };
    let held = held_on_plan::<phone_number::Entity>(limits::Plan::Demo).count(txn).await?;
    limits::refuse_full(held, u64::try_from(most).unwrap_or(0), || demo_stock_full(d))
}

/// Why a demo account may not request a number while demo accounts hold
/// all they may ([`refuse_demo_stock_full`]).
pub fn demo_stock_full(d: &Domain) -> String {
    format!(
        "The numbers set aside for demo accounts are all taken right now; try again later. \
         To move to a full account, {}.",
        d.contact_support()
    )
}

/// Another admin gave the number to someone else after the page loaded.
pub const OWNER_CHANGED: &str = "Another admin changed this number's owner since the page \
     loaded: the table now shows who owns it. Choose again if it should still change.";

/// The number was released (by another admin) after the page loaded.
/// Said under the table: the number's row is gone from it once the list
/// reloads.
pub const NUMBER_GONE: &str = "A number you changed was deleted meanwhile (by another admin), so \
     nothing was saved. The table now shows the account's numbers: save again to apply your other \
     changes.";

/// A disabled user is not given a number.
pub const OWNER_DISABLED: &str = "This user is disabled: enable them first to give them a number.";

/// Applies owner changes all together or not at all. Every number and every
/// new owner is looked up in the admin's account; each number must still
/// have the owner the change was made from. A number that changes hands
/// drops the previous owner's OAuth token, and its deployment unless the new
/// owner can see that application: the reply and the event name those, as
/// calls to them stop reaching an application.
pub async fn save_owners(
    d: &Domain,
    admin: &Admin,
    changes: &[OwnerChange],
) -> Result<OwnersSaved, AppError> {
    limits::at_most("changes", changes.len(), limits::IDS_MAX)?;
    let scope = Scoped::of(admin.member());
    // Each number that changes hands is an event.
    let by = By::Member(activity::count_changes(d, admin.member(), changes.len()).await?);
    let txn = d.begin().await?;
    // Owners deploy and attach tokens under the same lock, so none of that
    // lands on a number between its check here and its new owner.
    lock_account_as(&txn, admin).await?;
    // What the changes name, read at once: up to `IDS_MAX` of each, while
    // the lock holds off every other change of the account (and, on
    // SQLite, every other write).
    let number_ids = distinct(changes.iter().map(|c| c.number_id));
    let mut numbers: HashMap<i32, phone_number::Model> = scope
        .phone_numbers()
        .filter(phone_number::Column::Id.is_in(number_ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    // The owners they leave too, whom their events name.
    let owner_ids = distinct(changes.iter().flat_map(|c| [c.owner_id, c.from_owner_id]));
    let owners: HashMap<i32, user::Model> = scope
        .users()
        .filter(user::Column::Id.is_in(owner_ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut events = Vec::new();
    // In the order sent, each checked against the numbers as the changes
    // before it left them: nothing is written until every one passes.
    for change in changes {
        let field = format!("owner-{}", change.number_id);
        // Said at the number: the page still lists one another admin
        // released meanwhile (or, from a script, one of another account).
        let Some(number) = numbers.get_mut(&change.number_id) else {
            return Err(AppError::field(&field, NUMBER_GONE));
        };
        let Some(owner) = owners.get(&change.owner_id) else {
            return Err(AppError::field(
                &field,
                "Choose the owner among the users of this account.",
            ));
        };
        if number.owner_id == change.owner_id {
            continue;
        }
        if number.owner_id != change.from_owner_id {
            return Err(AppError::field(&field, OWNER_CHANGED));
        }
        // As for sharing: a disabled user keeps what they had, and is given
        // nothing new they could not sign in to look after.
        if owner.disabled_at.is_some() {
            return Err(AppError::field(&field, OWNER_DISABLED));
        }
        let left = owners.get(&number.owner_id).map(|u| u.email.clone());
        number.owner_id = change.owner_id;
        events.push((number.id, left, owner.email.clone()));
    }
    let moved: Vec<i32> = distinct(events.iter().map(|(id, ..)| *id)).into_iter().collect();
    // The previous owner's token never runs on someone else's number.
    let tokens_off: HashSet<i32> = deployment_token::Entity::find()
        .select_only()
        .column(deployment_token::Column::PhoneNumberId)
        .filter(deployment_token::Column::PhoneNumberId.is_in(moved.clone()))
        .into_tuple()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    deployment_token::Entity::delete_many()
        .filter(deployment_token::Column::PhoneNumberId.is_in(moved.clone()))
        .exec(&txn)
        .await?;
    // A deployment stays where the new owner can see its application.
    let deployed = deployment::Entity::find()
        .filter(deployment::Column::PhoneNumberId.is_in(moved.clone()))
        .all(&txn)
        .await?;
    let mut undeployed = Vec::new();
    // By the number's owner once the whole save is applied: a number sent
    // twice (A to B, then B to C) keeps what C may use.
    for (owner_id, deployed) in group_by(deployed, |on| numbers[&on.phone_number_id].owner_id) {
        let apps = distinct(deployed.iter().map(|on| on.application_id));
        let visible: HashSet<i32> = applications::visible_to_user(&scope, owner_id)
            .filter(application::Column::Id.is_in(apps))
            .select_only()
            .column(application::Column::Id)
            .into_tuple()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        undeployed.extend(
            deployed
                .iter()
                .filter(|on| !visible.contains(&on.application_id))
                .map(|on| (on.phone_number_id, on.application_id)),
        );
    }
    deployment::Entity::delete_many()
        .filter(deployment::Column::PhoneNumberId.is_in(undeployed.iter().map(|(n, _)| *n)))
        .exec(&txn)
        .await?;
    let app_names: HashMap<i32, String> = application::Entity::find()
        .select_only()
        .columns([application::Column::Id, application::Column::Name])
        .filter(application::Column::Id.is_in(distinct(undeployed.iter().map(|(_, a)| *a))))
        .into_tuple()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let stopped_on: HashMap<i32, String> = undeployed
        .into_iter()
        .map(|(number, app)| (number, app_names.get(&app).cloned().unwrap_or_default()))
        .collect();
    let now_owned = group_by(moved, |id| numbers[id].owner_id);
    for (owner_id, ids) in now_owned {
        phone_number::Entity::update_many()
            .col_expr(phone_number::Column::OwnerId, Expr::value(owner_id))
            .filter(phone_number::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    }
    // A number sent twice (A to B, then B to C) stopped for its last owner:
    // said once, on its last event.
    let last: HashMap<i32, usize> =
        events.iter().enumerate().map(|(at, (number_id, ..))| (*number_id, at)).collect();
    let mut stopped = Vec::new();
    let events = events
        .into_iter()
        .enumerate()
        .map(|(at, (number_id, from, to))| {
            let e164 = &numbers[&number_id].e164;
            let is_last = last[&number_id] == at;
            let stop = stopped_on.get(&number_id).filter(|_| is_last);
            let token_off = is_last && tokens_off.contains(&number_id);
            if let Some(application) = stop {
                stopped.push(StoppedDeployment {
                    number: e164.clone(),
                    application: application.clone(),
                });
            }
            owner_changed(e164, from.as_deref(), &to, stop.map(String::as_str), token_off)
        })
        .collect();
    activity::record_all(d, &txn, by, events).await?;
    txn.commit().await?;
    Ok(OwnersSaved { numbers: list(d, admin).await?, stopped })
}

/// The event of a number given to the user whose address is `to`, saying
/// which application it stopped running, if any, as its new owner cannot
/// see it, or else whether the deployment lost its OAuth token (the
/// previous owner's), as a new deployment's event says.
fn owner_changed(
    e164: &str,
    from: Option<&str>,
    to: &str,
    stopped: Option<&str>,
    token_off: bool,
) -> Event {
    let moved = match from {
        Some(from) => format!("from {from} to {to}"),
        None => format!("to {to}"),
    };
    let detail = match stopped {
        Some(application) => format!("{moved}; off {application}, which they cannot see"),
        None if token_off => format!("{moved}; its OAuth token taken off"),
        None => moved,
    };
    Event::new(ActivityKind::PhoneNumberOwnerChanged, e164).detail(detail)
}

/// `items` by the key `key_of` gives each.
fn group_by<T, K: std::hash::Hash + Eq>(
    items: impl IntoIterator<Item = T>,
    key_of: impl Fn(&T) -> K,
) -> HashMap<K, Vec<T>> {
    let mut groups: HashMap<K, Vec<T>> = HashMap::new();
    for item in items {
        groups.entry(key_of(&item)).or_default().push(item);
    }
    groups
}

/// Deletes a number from the account and gives it back to the provider.
pub async fn release(d: &Domain, admin: &Admin, id: i32) -> Result<(), AppError> {
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let number = Scoped::of(admin.member()).find::<phone_number::Entity>(&txn, id).await?;
    // Of two releases at once, the second finds the row gone and gives
    // nothing back: the number may already be another account's.
    let deleted = phone_number::Entity::delete_by_id(number.id).exec(&txn).await?;
    if deleted.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    d.numbers.release(&txn, &number.e164, d.clock.now()).await?;
    let event = Event::new(ActivityKind::PhoneNumberReleased, &number.e164);
    activity::record(d, &txn, By::Remedy(admin.member()), event).await?;
    txn.commit().await?;
    tracing::info!(account = admin.account_id(), number = %number.e164, "phone number released");
    Ok(())
}

/// The users an owner picker offers for what has been typed so far (not
/// disabled ones, whom [`save_owners`] refuses): a bounded index scan
/// however many users the account has.
pub async fn owner_choices(
    d: &Domain,
    admin: &Admin,
    search: &str,
) -> Result<Vec<UserChoice>, AppError> {
    let scope = Scoped::of(admin.member()).users().filter(user::Column::DisabledAt.is_null());
    people::choices_among(d, scope, search).await
}

/// A deleted user's numbers pass to the admin who deleted them (or an
/// invitee's heir). Called after their applications passed too: a number
/// that runs an application its new owner cannot see (one only shared with
/// the user who goes) stops running it, as when an admin gives a number to
/// someone else ([`save_owners`]). Returns an owner change event for each
/// number, for the caller to record with its own: the account's log says
/// where each number went and which stopped running what.
pub async fn hand_over(
    txn: &DatabaseTransaction,
    scope: &Scoped,
    from: i32,
    to: &user::Model,
) -> Result<Vec<Event>, AppError> {
    let moved: Vec<(i32, String)> = scope
        .all::<phone_number::Entity>()
        .select_only()
        .columns([phone_number::Column::Id, phone_number::Column::E164])
        .filter(phone_number::Column::OwnerId.eq(from))
        .order_by_asc(phone_number::Column::E164)
        .into_tuple()
        .all(txn)
        .await?;
    let ids: Vec<i32> = moved.iter().map(|(id, _)| *id).collect();
    let left = user::Entity::find_by_id(from).one(txn).await?.map(|u| u.email);
    phone_number::Entity::update_many()
        .col_expr(phone_number::Column::OwnerId, to.id.into())
        .filter(phone_number::Column::Id.is_in(ids.clone()))
        .exec(txn)
        .await?;
    let unseen = || {
        let seen = applications::visible_to_user(scope, to.id)
            .select_only()
            .column(application::Column::Id)
            .into_query();
        deployment::Column::ApplicationId.not_in_subquery(seen)
    };
    let stopped: HashMap<i32, String> = deployment::Entity::find()
        .select_only()
        .column(deployment::Column::PhoneNumberId)
        .column(application::Column::Name)
        .inner_join(application::Entity)
        .filter(deployment::Column::PhoneNumberId.is_in(ids))
        .filter(unseen())
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    deployment::Entity::delete_many()
        .filter(deployment::Column::PhoneNumberId.is_in(stopped.keys().copied()))
        .filter(unseen())
        .exec(txn)
        .await?;
    Ok(moved
        .iter()
        .map(|(id, e164)| {
            // None comes off here: a deployment's token is its owner's, and
            // passes on with them (one that can never open goes in
            // `oauth_tokens::hand_over`, with an event of its own).
            let stopped = stopped.get(id).map(String::as_str);
            owner_changed(e164, left.as_deref(), &to.email, stopped, false)
        })
        .collect())
}
