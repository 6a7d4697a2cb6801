//! Every operator command: what the people who run the service do through
//! the server's command line, on any account. Each takes an [`Operator`],
//! which only the command line makes, and each is logged (target `operator`).
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set, TransactionTrait,
};

use crate::domain::admin::invitations::{send_invitation, Inviter};
use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Operator;
use crate::domain::core::limits::Plan;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people::{by_email, email_taken, NewUser, EMAIL_TAKEN};
use crate::domain::core::secrets::{Keyring, Sealed};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::two_factor as two_factor_row;
use crate::domain::entity::{account, certificate, email_outbox, integration, oauth_token, user};
use crate::domain::features::{certificates, integrations, oauth_tokens};
use crate::domain::identity::two_factor;
use crate::model::{ActivityKind, AppError};

mod account_merge;
pub use account_merge::{merge_accounts, MergeConflict, Merged};

/// What an operator supplies to add a user to the account of an existing user.
pub struct NewUserByOperator {
    /// The email of any user of the account the new user joins.
    pub account_of: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    /// `None` leaves the user without a password: they are emailed the same
    /// invitation an admin's Add User sends.
    pub password: Option<String>,
}

/// `user add`: adds a user to an existing account and returns them; "not
/// found" when no user has the `account_of` address.
pub async fn add_user(
    d: &Domain,
    _: &Operator,
    input: NewUserByOperator,
) -> Result<user::Model, AppError> {
    let owner = by_email(&d.db, &input.account_of).await?.ok_or(AppError::NotFound)?;
    let mut errors = Errors::default();
    let first_name =
        errors.check("first_name", validation::person_name(&input.first_name, "First Name"));
    let last_name =
        errors.check("last_name", validation::person_name(&input.last_name, "Last Name"));
    let email = errors.check("email", validation::email(&input.email));
    if let Some(password) = &input.password {
        let context = [first_name.as_str(), last_name.as_str(), email.as_str()];
        errors.check("password", validation::new_password(password, &context));
    }
    if !email.is_empty() && email_taken(&d.db, &email).await? {
        errors.add("email", EMAIL_TAKEN);
    }
    errors.into_result()?;
    let password_hash = match &input.password {
        Some(password) => Some(d.passwords.hash(password).await?),
        None => None,
    };
    let now = d.clock.now();
    let txn = d.db.begin().await?;
    let user = NewUser {
        account_id: owner.account_id,
        email,
        first_name,
        last_name,
        password_hash,
        is_admin: input.is_admin,
        can_create: input.is_admin,
        can_share: input.is_admin,
        // The operator vouches for the address of a user given a password;
        // one without a password proves it with the invitation.
        email_verified_at: input.password.is_some().then_some(now),
    }
    .insert(&txn, now)
    .await?;
    let invite = input.password.is_none();
    if invite {
        send_invitation(d, &txn, &user, Inviter::Operator).await?;
    }
    let admin = if input.is_admin { "admin" } else { "not admin" };
    let event =
        Event::new(ActivityKind::OperatorUserAdded, &user.email).detail(admin).about(user.id);
    activity::record(d, &txn, By::Operator { account_id: user.account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", user_id = user.id, account_id = user.account_id, invite, "operator added a user");
    Ok(user)
}

/// `promote`: makes the user with this email an admin of their account (the
/// case where no admin of an account can sign in any more), enabling them if
/// an admin had disabled them, so the new admin can sign in.
pub async fn promote(d: &Domain, _: &Operator, email: &str) -> Result<user::Model, AppError> {
    let txn = d.db.begin().await?;
    let found = by_email(&txn, email).await?.ok_or_else(|| {
        let email = validation::normalize_email(email);
        AppError::field("email", format!("No user has the email address {email}."))
    })?;
    let mut active = found.into_active_model();
    active.is_admin = Set(true);
    active.disabled_at = Set(None);
    let updated = active.update(&txn).await?;
    let event = Event::new(ActivityKind::OperatorPromoted, &updated.email).about(updated.id);
    activity::record(d, &txn, By::Operator { account_id: updated.account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", user_id = updated.id, account_id = updated.account_id, "operator promoted a user to admin");
    Ok(updated)
}

/// `user reset-2fa`, after checking who the user is: turns their 2FA off and
/// tells them by email.
pub async fn reset_two_factor(d: &Domain, _: &Operator, email: &str) -> Result<(), AppError> {
    let user = by_email(&d.db, email).await?.ok_or(AppError::NotFound)?;
    let txn = d.db.begin().await?;
    two_factor::remove(&txn, user.id).await?;
    mail::enqueue(
        &txn,
        &d.secrets,
        d.clock.now(),
        Email {
            to: user.email.clone(),
            subject: "Two-factor authentication was reset".into(),
            body: format!(
                "Support turned off two-factor authentication for your Voice Console user, as \
                 you asked. Log in with your password and turn it on again from your Account \
                 tab.\n\nIf you did not ask for this, {} at once.\n",
                d.contact_support()
            ),
        },
    )
    .await?;
    let event = Event::new(ActivityKind::OperatorTwoFactorReset, &user.email).about(user.id);
    activity::record(d, &txn, By::Operator { account_id: user.account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", user = user.id, "two-factor authentication reset by an operator");
    Ok(())
}

/// The account `member_email` belongs to.
async fn account_of(d: &Domain, member_email: &str) -> Result<account::Model, AppError> {
    let member = by_email(&d.db, member_email).await?.ok_or(AppError::NotFound)?;
    account::Entity::find_by_id(member.account_id).one(&d.db).await?.ok_or(AppError::NotFound)
}

/// `account enable-stripe`: lets the users of `member_email`'s account connect Stripe.
pub async fn enable_stripe(d: &Domain, _: &Operator, member_email: &str) -> Result<(), AppError> {
    let found = account_of(d, member_email).await?;
    let account_id = found.id;
    let event = Event::new(ActivityKind::OperatorStripeEnabled, &found.company_name);
    let mut active = found.into_active_model();
    active.stripe_enabled = Set(true);
    activity::with_event(d, By::Operator { account_id }, event, async |txn| {
        active.update(txn).await?;
        Ok(())
    })
    .await?;
    tracing::info!(target: "operator", account = account_id, "Stripe enabled for the account");
    Ok(())
}

/// `account plan`: moves the account `member_email` belongs to onto another
/// plan; returns the plan it was on. Numbers already held beyond the new
/// plan's limit stay; only further requests are refused.
pub async fn set_plan(
    d: &Domain,
    _: &Operator,
    member_email: &str,
    plan: Plan,
) -> Result<Plan, AppError> {
    let model = account_of(d, member_email).await?;
    let account_id = model.id;
    let before = Plan::from_key(&model.plan).unwrap_or(Plan::Demo);
    let event = Event::new(ActivityKind::OperatorPlanChanged, &model.company_name).detail(format!(
        "{} to {}",
        before.key(),
        plan.key()
    ));
    let mut active = model.into_active_model();
    active.plan = Set(plan.key().into());
    activity::with_event(d, By::Operator { account_id }, event, async |txn| {
        active.update(txn).await?;
        Ok(())
    })
    .await?;
    tracing::info!(
        target: "operator",
        account = account_id,
        from = before.key(),
        to = plan.key(),
        "operator changed the account plan"
    );
    Ok(before)
}

/// `mail failed`: the emails whose delivery failed for good.
pub async fn failed_mail(d: &Domain, _: &Operator) -> Result<Vec<email_outbox::Model>, AppError> {
    mail::failed(d).await
}

/// `mail retry`: queues one failed email (or all) again with a fresh set of tries.
pub async fn retry_mail(d: &Domain, _: &Operator, id: Option<i32>) -> Result<u64, AppError> {
    let queued = mail::retry_failed(d, id).await?;
    tracing::info!(target: "operator", queued, ?id, "operator queued failed emails again");
    Ok(queued)
}

/// Every table with a sealed column. `secrets rotate` re-seals each and
/// `secrets status` counts each; `app/tests/secrets.rs` fails when an entity
/// with a `key_id` is missing here.
pub const SEALED_TABLES: [&str; 5] =
    ["certificates", "email_outbox", "integrations", "oauth_tokens", "two_factor"];

/// `secrets rotate` (after the new key is saved): re-seals every stored
/// secret of every sealed table with `keyring`'s current key, in one
/// transaction. Returns how many values were re-sealed.
pub async fn reseal_secrets(d: &Domain, _: &Operator, keyring: &Keyring) -> Result<u64, AppError> {
    let txn = d.db.begin().await?;
    // One table: its entity, the column holding the ciphertext, and what the
    // value is bound to.
    macro_rules! reseal {
        ($entity:ident, $ciphertext:ident, |$row:ident| $context:expr) => {
            reseal_table::<$entity::Entity>(
                &txn,
                keyring,
                $entity::Column::KeyId,
                |$row| (sealed(&$row.key_id, &$row.$ciphertext), $context),
                |row, new| {
                    let mut active = row.into_active_model();
                    active.key_id = Set(new.key_id);
                    active.$ciphertext = Set(new.ciphertext);
                    active
                },
            )
            .await?
        };
    }
    let resealed =
        reseal!(certificate, key_ciphertext, |row| certificates::seal_context(row.account_id))
            + reseal!(integration, ciphertext, |row| integrations::seal_context(row.account_id))
            + reseal!(oauth_token, ciphertext, |row| oauth_tokens::seal_context(
                row.account_id,
                row.owner_id
            ))
            + reseal!(two_factor_row, ciphertext, |row| two_factor::seal_context(row.user_id))
            + reseal_outbox(&txn, keyring).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", key_id = keyring.current_key_id(), resealed, "operator rotated the secret key");
    Ok(resealed)
}

fn sealed(key_id: &str, ciphertext: &str) -> Sealed {
    Sealed { key_id: key_id.to_owned(), ciphertext: ciphertext.to_owned() }
}

/// Re-seals the rows of one table not yet under the current key. A value
/// that does not open stops the rotation (and rolls it back): it is named in
/// the log, and nothing is half re-sealed.
async fn reseal_table<E>(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    key_column: E::Column,
    read: impl Fn(&E::Model) -> (Sealed, String),
    write: impl Fn(E::Model, Sealed) -> E::ActiveModel,
) -> Result<u64, AppError>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    // Locked (FOR UPDATE on PostgreSQL; SQLite has one writer): a 2FA set-up
    // or an OAuth reconnect committed between this read and the write below
    // would otherwise be overwritten with the old secret, re-sealed.
    let stale =
        E::find().filter(key_column.ne(keyring.current_key_id())).lock_exclusive().all(txn).await?;
    let mut resealed = 0;
    for row in stale {
        let (old, context) = read(&row);
        let new = keyring.reseal(&old, &context).map_err(|err| {
            tracing::error!(table = E::default().table_name(), error = %err, "a sealed value does not open");
            AppError::Internal
        })?;
        if let Some(new) = new {
            write(row, new).update(txn).await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Re-seals the bodies of emails not yet sent (pending or failed) that are
/// under an old key or not sealed at all (queued before bodies were). Unlike
/// the other tables, a body that does not open is left as it is, with a
/// warning: these keys cannot send it either (it waits for a worker with
/// its key, then fails), and it must not keep every other secret from being
/// re-sealed. A row delivered meanwhile is not written (its body is gone).
async fn reseal_outbox(txn: &DatabaseTransaction, keyring: &Keyring) -> Result<u64, AppError> {
    use email_outbox::Column;
    let unsent = || Column::Status.is_in([mail::PENDING, mail::FAILED]);
    let stale = email_outbox::Entity::find()
        .filter(unsent())
        .filter(
            Condition::any()
                .add(Column::KeyId.is_null())
                .add(Column::KeyId.ne(keyring.current_key_id())),
        )
        .lock_exclusive()
        .all(txn)
        .await?;
    let mut resealed = 0;
    for row in stale {
        let text = match mail::body(keyring, &row) {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(email = row.id, error = %err, "a queued email's body does not open; left as it is");
                continue;
            }
        };
        let new = keyring.seal(&text, &mail::seal_context(&row.to_address));
        let written = email_outbox::Entity::update_many()
            .col_expr(Column::KeyId, Expr::value(new.key_id))
            .col_expr(Column::BodyText, Expr::value(new.ciphertext))
            .filter(Column::Id.eq(row.id))
            .filter(unsent())
            .exec(txn)
            .await?;
        resealed += written.rows_affected;
    }
    Ok(resealed)
}

/// How many values one key seals in one table.
#[derive(Debug, PartialEq, Eq)]
pub struct SealedCount {
    pub table: &'static str,
    pub key_id: String,
    pub count: i64,
}

/// `secrets status`: how many values each key id seals, table by table.
pub async fn secrets_status(d: &Domain, _: &Operator) -> Result<Vec<SealedCount>, AppError> {
    let mut counts = Vec::new();
    counts.extend(count_keys::<certificate::Entity>(d, certificate::Column::KeyId).await?);
    counts.extend(count_keys::<email_outbox::Entity>(d, email_outbox::Column::KeyId).await?);
    counts.extend(count_keys::<integration::Entity>(d, integration::Column::KeyId).await?);
    counts.extend(count_keys::<oauth_token::Entity>(d, oauth_token::Column::KeyId).await?);
    counts.extend(count_keys::<two_factor_row::Entity>(d, two_factor_row::Column::KeyId).await?);
    Ok(counts)
}

async fn count_keys<E: EntityTrait>(
    d: &Domain,
    key_column: E::Column,
) -> Result<Vec<SealedCount>, AppError> {
    let table = SEALED_TABLES
        .into_iter()
        .find(|t| *t == E::default().table_name())
        .ok_or(AppError::Internal)?;
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column(key_column)
        .column_as(key_column.count(), "count")
        // Only the outbox has rows with nothing sealed: its delivered emails.
        .filter(key_column.is_not_null())
        .group_by(key_column)
        .into_tuple()
        .all(&d.db)
        .await?;
    Ok(rows.into_iter().map(|(key_id, count)| SealedCount { table, key_id, count }).collect())
}

/// A consistent copy of the embedded SQLite database at `to`, taken while
/// the server runs: `VACUUM INTO` reads in one transaction, so writers go on
/// and the copy holds exactly what was committed when it began. Returns the
/// copy's size in bytes. PostgreSQL is backed up with its own tools.
pub async fn backup(d: &Domain, _: &Operator, to: &std::path::Path) -> Result<u64, AppError> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if d.db.get_database_backend() != DbBackend::Sqlite {
        return Err(AppError::Conflict(
            "`server backup` copies the embedded SQLite database; back up PostgreSQL with \
             pg_dump (see the README)."
                .into(),
        ));
    }
    if to.exists() {
        return Err(AppError::Conflict(format!(
            "{} already exists; name a new file.",
            to.display()
        )));
    }
    let path = to.to_str().ok_or_else(|| AppError::Conflict("The path is not UTF-8.".into()))?;
    d.db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [path.into()],
    ))
    .await
    .map_err(|e| AppError::Conflict(format!("The backup failed: {e}")))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    tracing::info!(target: "operator", to = %to.display(), bytes, "operator backed up the database");
    Ok(bytes)
}
