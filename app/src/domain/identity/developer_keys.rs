//! Developer keys for the JSON API. A key is 256 random bits shown once;
//! only its SHA-256 is stored, with a short prefix to tell keys apart. A key
//! acts as its user with exactly that user's current rights: the user is read
//! afresh on every request, so revoking the key, deleting or disabling the
//! user or demoting an admin takes effect at once.
use base64::Engine as _;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::crypto::{random_bytes, token_hash};
use crate::domain::core::db::delete_found;
use crate::domain::core::limits;
use crate::domain::core::mail;
use crate::domain::core::people::{self, own_row};
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::lock_account_of;
use crate::domain::core::validation;
use crate::domain::core::Domain;
use crate::domain::entity::{developer_key, user};
use crate::domain::identity::{reauth, two_factor};
use crate::model::{ActivityKind, AppError, DeveloperKeyRow, NewDeveloperKey};

/// Every key starts with this, so leaked keys are easy to recognise (and to scan for).
pub const KEY_PREFIX: &str = "vk_";
/// How much of a key is kept and shown to tell it apart.
const SHOWN: usize = KEY_PREFIX.len() + 8;
/// `last_used_at` is written at most this often.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

fn row(model: &developer_key::Model) -> DeveloperKeyRow {
    DeveloperKeyRow {
        id: model.id,
        name: model.name.clone(),
        prefix: model.prefix.clone(),
        created: clock::shown(model.created_at),
        last_used: model.last_used_at.map(clock::shown),
    }
}

fn new_key() -> String {
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    )
}

pub async fn list(d: &Domain, me: &Member) -> Result<Vec<DeveloperKeyRow>, AppError> {
    let keys = developer_key::Entity::find()
        .filter(developer_key::Column::UserId.eq(me.user_id()))
        .order_by_asc(developer_key::Column::CreatedAt)
        .order_by_asc(developer_key::Column::Id)
        .all(&d.read)
        .await?;
    Ok(keys.iter().map(row).collect())
}

/// Why a key's name is refused: one of the user's keys has it already.
pub const KEY_NAME_TAKEN: &str = "You already have a key named";

/// Why a regenerate that raced another of the same key (a second click,
/// another tab) is refused: the other's secret is the one that works.
pub const REGENERATED_MEANWHILE: &str = "This key was just regenerated elsewhere (another tab or \
     a second click): use the key shown there, or regenerate it again.";

/// A new key, after the user's password and, with 2FA on, a code: a key
/// outlives log-out and password changes, so a stolen session alone (or
/// with the password) must not mint one.
pub async fn generate(
    d: &Domain,
    me: &Member,
    name: &str,
    password: &str,
    code: &str,
) -> Result<NewDeveloperKey, AppError> {
    let name =
        validation::one_line_name(name, "Key Name").map_err(|m| AppError::field("name", m))?;
    me.verified(&d.db).await?;
    two_factor::require_code_if_on(d, me.user_id(), code).await?;
    let checked = own_row(d, me).await?;
    // Its notice is an email: counted, and refused before the password's hash.
    let who = Who { actor: Some(me.user_id()), client: me.address(), ..Who::default() };
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::DeveloperKey, &who).await?;
    // Before the password: a name taken or no room left is said without
    // the password typed again, a check or a change spent.
    refuse_taken_or_full(d, &d.db, me, &name).await?;
    reauth::require_password(d, me, &checked, password, "password").await?;
    let key = new_key();
    let by = By::Member(activity::count_change(d, me).await?);
    // The user's keys are counted again under the account's lock, so two at
    // once cannot both take the last place.
    two_factor::with_code_if_on(d, me.user_id(), code, me.address(), async |txn| {
        let current = lock_account_of(txn, me.user_id()).await?;
        reauth::refuse_changed_since(&checked, &current, "password")?;
        d.spend(txn, Action::DeveloperKey, &who).await?;
        refuse_taken_or_full(d, txn, me, &name).await?;
        let model = developer_key::ActiveModel {
            user_id: Set(me.user_id()),
            name: Set(name),
            prefix: Set(key[..SHOWN].to_owned()),
            key_hash: Set(token_hash(&key)),
            created_at: Set(d.clock.now()),
            last_used_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        record(d, txn, by, ActivityKind::DeveloperKeyCreated, &model).await?;
        notify(d, txn, me, &current, &model, ActivityKind::DeveloperKeyCreated).await?;
        Ok(NewDeveloperKey { row: row(&model), key })
    })
    .await
}

/// Refuses a key name one of the user's keys has (capitals aside: two keys
/// of one name could not be told apart in the list, nor their buttons by a
/// screen reader), or a key beyond the most a user keeps.
async fn refuse_taken_or_full(
    d: &Domain,
    conn: &impl ConnectionTrait,
    me: &Member,
    name: &str,
) -> Result<(), AppError> {
    let names: Vec<String> = developer_key::Entity::find()
        .select_only()
        .column(developer_key::Column::Name)
        .filter(developer_key::Column::UserId.eq(me.user_id()))
        .into_tuple()
        .all(conn)
        .await?;
    if names.iter().any(|held| held.to_lowercase() == name.to_lowercase()) {
        return Err(AppError::field(
            "name",
            format!("{KEY_NAME_TAKEN} {name}: choose another, or regenerate that key."),
        ));
    }
    let most = d.holdings.developer_keys;
    limits::refuse_full(names.len() as u64, most, || {
        format!(
            "You have {most} developer keys, the most one user can keep. Revoke one before \
             making another."
        )
    })
}

async fn find_mine(
    conn: &impl ConnectionTrait,
    me: &Member,
    id: i32,
) -> Result<developer_key::Model, AppError> {
    developer_key::Entity::find_by_id(id)
        .filter(developer_key::Column::UserId.eq(me.user_id()))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// A new secret for an existing key, after the user's password and, with
/// 2FA on, a code (as [`generate`]): the old one stops working at once.
pub async fn regenerate(
    d: &Domain,
    me: &Member,
    id: i32,
    password: &str,
    code: &str,
) -> Result<NewDeveloperKey, AppError> {
    let asked_for = find_mine(&d.db, me, id).await?;
    me.verified(&d.db).await?;
    two_factor::require_code_if_on(d, me.user_id(), code).await?;
    let checked = own_row(d, me).await?;
    // Its notice is an email: counted, and refused before the password's hash.
    let who = Who { actor: Some(me.user_id()), client: me.address(), ..Who::default() };
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::DeveloperKey, &who).await?;
    reauth::require_password(d, me, &checked, password, "password").await?;
    let key = new_key();
    let by = By::Member(activity::count_change(d, me).await?);
    two_factor::with_code_if_on(d, me.user_id(), code, me.address(), async |txn| {
        // As in `generate`: a new secret minted with a password replaced
        // meanwhile would outlive the reset meant to lock its holder out.
        // Read again under the lock, the key may also have been revoked
        // meanwhile, or regenerated: by a second click or another tab, whose
        // answer would show a secret this one replaces before it is copied.
        let current = lock_account_of(txn, me.user_id()).await?;
        reauth::refuse_changed_since(&checked, &current, "password")?;
        d.spend(txn, Action::DeveloperKey, &who).await?;
        let found = find_mine(txn, me, id).await?;
        if found.key_hash != asked_for.key_hash {
            return Err(AppError::Conflict(REGENERATED_MEANWHILE.into()));
        }
        let mut active = found.into_active_model();
        active.prefix = Set(key[..SHOWN].to_owned());
        active.key_hash = Set(token_hash(&key));
        active.created_at = Set(d.clock.now());
        active.last_used_at = Set(None);
        let model = active.update(txn).await?;
        record(d, txn, by, ActivityKind::DeveloperKeyRegenerated, &model).await?;
        notify(d, txn, me, &current, &model, ActivityKind::DeveloperKeyRegenerated).await?;
        Ok(NewDeveloperKey { row: row(&model), key })
    })
    .await
}

pub async fn revoke(d: &Domain, me: &Member, id: i32) -> Result<(), AppError> {
    let found = find_mine(&d.db, me, id).await?;
    let txn = d.begin().await?;
    delete_found::<developer_key::Entity>(&txn, found.id).await?;
    record(d, &txn, By::Remedy(me), ActivityKind::DeveloperKeyRevoked, &found).await?;
    txn.commit().await?;
    Ok(())
}

/// A key's event names it by its name only: its prefix is part of the secret.
async fn record(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    by: By<'_>,
    kind: ActivityKind,
    key: &developer_key::Model,
) -> Result<(), AppError> {
    activity::record(d, txn, by, Event::new(kind, &key.name)).await
}

/// Tells the user by email that a key was made or regenerated, when and
/// from which address, as a password change is told: a key acts as them
/// until it is revoked, whatever becomes of the password, so whoever got
/// their password and a session must not mint one unseen. The name is
/// quoted and escaped on a line of its own (whoever made it chose it, and
/// may have chosen it to read as the platform's words). Bounded by its own
/// count ([`Action::DeveloperKey`]), spent with the key.
async fn notify(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    me: &Member,
    user: &user::Model,
    key: &developer_key::Model,
    kind: ActivityKind,
) -> Result<(), AppError> {
    let (subject, what) = match kind {
        ActivityKind::DeveloperKeyRegenerated => {
            ("A developer key was regenerated", "given a new secret")
        }
        _ => ("A developer key was made", "made"),
    };
    let now = d.clock.now();
    let from = me.address().map(|address| format!(" from {address}")).unwrap_or_default();
    let notice = mail::Email {
        to: user.email.clone(),
        subject: subject.into(),
        body: format!(
            "A developer key of your Voice Console user {} was {what} at {}{from}. Its \
             name:\n\n  {:?}\n\nA developer key acts as you through the API until it is \
             revoked, even after your password changes.\n\nIf this was not you, revoke it \
             under My Account, Developer Keys, reset your password at {}/forgot-password, \
             and {}.\n",
            user.email,
            clock::shown(now),
            key.name,
            d.public_url,
            d.contact_support(),
        ),
    };
    mail::enqueue_notice(txn, &d.secrets, now, user, notice).await
}

/// Whether the row `id` still holds the secret of hash `key_hash`: neither
/// revoked nor regenerated since it was read.
async fn still_there(
    conn: &impl ConnectionTrait,
    id: i32,
    key_hash: &str,
) -> Result<bool, AppError> {
    let found = developer_key::Entity::find_by_id(id)
        .filter(developer_key::Column::KeyHash.eq(key_hash))
        .one(conn)
        .await?;
    Ok(found.is_some())
}

/// The member a key acts as. The user row is read now, so the rights are the
/// user's current ones; a deleted user's keys are gone with the user, and a
/// disabled user's keys do not work until they are enabled again.
pub async fn authenticate(d: &Domain, key: &str) -> Result<Member, AppError> {
    let (row, member) = look_up(d, key).await?;
    mark_used(d, &row).await?;
    Ok(member)
}

/// The key `key` and the member it acts as, by reads alone.
async fn look_up(d: &Domain, key: &str) -> Result<(developer_key::Model, Member), AppError> {
    if !key.starts_with(KEY_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let found = developer_key::Entity::find()
        .filter(developer_key::Column::KeyHash.eq(token_hash(key)))
        .find_also_related(user::Entity)
        // A read connection: SQLite's one writer is not held by a request
        // that may carry no valid key at all.
        .one(&d.read)
        .await?;
    let Some((row, Some(user))) = found else {
        return Err(AppError::Unauthenticated);
    };
    // The key is right, so its holder may hear why it does nothing, as the
    // right password at log-in does.
    people::refuse_disabled(&user)?;
    Ok((row, Member::new(user.id, user.account_id, user.is_admin)))
}

/// Records that the key `row` was used (to the minute), refusing it if it
/// was revoked or regenerated since it was read.
async fn mark_used(d: &Domain, row: &developer_key::Model) -> Result<(), AppError> {
    let now = d.clock.now();
    if row.last_used_at.is_none_or(|at| now - at > LAST_USED_GRANULARITY) {
        // Conditional, and whatever it finds: a revoke or a regenerate
        // committed since the read leaves no row with this key's hash (the
        // request is refused below, and the new secret is not marked used
        // by the old one), and requests at once write the time once.
        let stale = Condition::any()
            .add(developer_key::Column::LastUsedAt.is_null())
            .add(developer_key::Column::LastUsedAt.lt(now - LAST_USED_GRANULARITY));
        let touched = developer_key::Entity::update_many()
            .col_expr(developer_key::Column::LastUsedAt, Expr::value(Some(now)))
            .filter(developer_key::Column::Id.eq(row.id))
            .filter(developer_key::Column::KeyHash.eq(row.key_hash.clone()))
            .filter(stale)
            .exec(&d.db)
            .await?;
        if touched.rows_affected == 0 && !still_there(&d.db, row.id, &row.key_hash).await? {
            return Err(AppError::Unauthenticated);
        }
    } else if !still_there(&d.read, row.id, &row.key_hash).await? {
        // Used within the minute, so no time is written, but the key is
        // still read again: the request was counted since the first read,
        // which on SQLite waits for a revoke or regenerate holding the
        // writer, and a key changed meanwhile must not be let in after it.
        // A read connection: what the count waited for has committed.
        return Err(AppError::Unauthenticated);
    }
    Ok(())
}

/// Why an API request was refused, and when a refusal for its pace may be
/// asked again (the answer's `Retry-After`).
#[derive(Debug, PartialEq)]
pub struct RequestRefused {
    pub error: AppError,
    pub retry_after: Option<Duration>,
}

impl From<AppError> for RequestRefused {
    fn from(error: AppError) -> Self {
        RequestRefused { error, retry_after: None }
    }
}

/// One request to the JSON API: the member `key` acts as (see
/// [`authenticate`]), from `client`, once the request is counted per user,
/// per account and per client address ([`Action::ApiRequest`]). A client
/// whose count is spent is refused before its key is looked up. A key that
/// is no key names no user: it is counted per client address and in total
/// ([`Action::WrongApiKey`]): past its address's count it is refused (429)
/// by reads alone, past the total answered 401 uncounted, so made-up keys
/// cost at most those counts in writes. A
/// disabled user's key is refused once the key and its user are read,
/// counted nowhere (it is a right key; its holder is told why).
pub async fn admit_request(
    d: &Domain,
    key: &str,
    client: Option<std::net::IpAddr>,
) -> Result<Member, RequestRefused> {
    if !key.starts_with(KEY_PREFIX) {
        // Refused without a read: nothing to count.
        return Err(AppError::Unauthenticated.into());
    }
    let from_client = Who { client, ..Who::default() };
    refuse_spent_request(d, Action::ApiRequest, &from_client).await?;
    let (row, member) = match look_up(d, key).await {
        Ok((row, member)) => (row, member.from_address(client)),
        Err(AppError::Unauthenticated) => {
            // The address's own count spent: 429, with when to come back.
            let own = Who { sends_nothing: true, ..from_client.clone() };
            refuse_spent_request(d, Action::WrongApiKey, &own).await?;
            // Everyone's spent (a crowd of addresses): the key is still told
            // it is wrong, 401, so a revoked key's script stops rather than
            // waits for a Retry-After, but it is no longer counted: a read,
            // not a write. (Two processes racing past the total's last count
            // may answer 429 for it.)
            // Asked as a question, not a refusal: the 401 is no refusal
            // for the limits' metric.
            let now = d.clock.now();
            let all = quota::is_spent(&d.read, &d.quotas, now, Action::WrongApiKey, &from_client);
            if !all.await? {
                count_request(d, Action::WrongApiKey, &from_client).await?;
            }
            return Err(AppError::Unauthenticated.into());
        }
        Err(error) => return Err(error.into()),
    };
    let user =
        Who { actor: Some(member.user_id()), account: Some(member.account_id()), ..Who::default() };
    // The client's count was read above.
    refuse_spent_request(d, Action::ApiRequest, &user).await?;
    count_request(d, Action::ApiRequest, &Who { client, ..user }).await?;
    // Marked used only once admitted: a request refused for its pace
    // leaves the key as it was.
    mark_used(d, &row).await?;
    Ok(member)
}

/// Refuses an API request by `who` whose count of `action` is spent, by
/// reads alone, so that a script looping past its limit writes nothing.
async fn refuse_spent_request(d: &Domain, action: Action, who: &Who) -> Result<(), RequestRefused> {
    match quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), action, who).await {
        Err(error @ AppError::TooManyRequests(_)) => {
            Err(with_retry_after(d, action, who, error).await)
        }
        other => Ok(other?),
    }
}

/// Takes one count of `action` for `who` (one write transaction).
async fn count_request(d: &Domain, action: Action, who: &Who) -> Result<(), RequestRefused> {
    match d.spend_alone(action, who).await {
        Err(error @ AppError::TooManyRequests(_)) => {
            Err(with_retry_after(d, action, who, error).await)
        }
        other => Ok(other?),
    }
}

/// A refusal for the pace of `who`'s requests, with when to come back.
async fn with_retry_after(
    d: &Domain,
    action: Action,
    who: &Who,
    error: AppError,
) -> RequestRefused {
    let wait = quota::time_until_admitted(&d.read, &d.quotas, d.clock.now(), action, who)
        .await
        // Refused all the same: the longest window is a wait that holds.
        .unwrap_or_else(|_| d.quotas.longest_window(action));
    // Whole seconds, rounded up, and at least one: a window that has just
    // ended still said no.
    let seconds = (wait.num_milliseconds() + 999) / 1000;
    RequestRefused { error, retry_after: Some(Duration::seconds(seconds.max(1))) }
}
