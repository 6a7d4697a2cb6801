//! `secrets rotate` and `secrets status`: re-sealing every stored secret
//! with the key file's current key, and counting what each key seals.
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::core::actor::Operator;
use crate::domain::core::secrets::{Keyring, Sealed, Secrets};
use crate::domain::core::Domain;
use crate::domain::core::{db, mail};
use crate::domain::entity::two_factor as two_factor_row;
use crate::domain::entity::{certificate, email_outbox, integration, oauth_token, secret_key};
use crate::domain::features::{certificates, integrations, oauth_tokens};
use crate::domain::identity::two_factor;
use crate::model::AppError;

/// Every table with a sealed column. `secrets rotate` re-seals each and
/// `secrets status` counts each; `app/tests/secrets.rs` fails when an entity
/// with a `key_id` is missing here.
pub const SEALED_TABLES: [&str; 5] =
    ["certificates", "email_outbox", "integrations", "oauth_tokens", "two_factor"];

/// How many rows `secrets rotate` re-seals in one transaction: each batch's
/// rows are locked until it commits, so a sign-in's code check or a mail
/// claim on one of them waits at most that long, not for the whole table.
pub const RESEAL_BATCH: u64 = 200;

/// What `secrets rotate` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// How many values are sealed with the new key now.
    pub count: u64,
    /// The values left as they were because they do not open (sealed with a
    /// key given up with `SECRET_KEYS_LOST`, or damaged), as "table id".
    pub left: Vec<String>,
}

/// `secrets rotate` (after the new key is saved): re-seals every stored
/// secret of every sealed table with `keyring`'s current key, in
/// transactions of [`RESEAL_BATCH`] rows. Stopped halfway, it loses nothing:
/// what it re-sealed opens with the new key, the rest with its old one, and
/// running it again finishes. A value that does not open is left as it is
/// and named: no key can re-seal it, and it must not keep every other
/// secret under the old key until its owner replaces it.
pub async fn reseal_secrets(
    d: &Domain,
    op: &Operator,
    keyring: &Keyring,
) -> Result<Resealed, AppError> {
    reseal_secrets_in_batches(d, op, keyring, RESEAL_BATCH).await
}

/// [`reseal_secrets`], `batch` rows a transaction.
pub async fn reseal_secrets_in_batches(
    d: &Domain,
    _: &Operator,
    keyring: &Keyring,
    batch: u64,
) -> Result<Resealed, AppError> {
    let mut done = Resealed::default();
    // One table: its entity, its key (column and field), the column holding
    // the ciphertext, and what the value is bound to.
    macro_rules! reseal {
        ($entity:ident, $id:ident $id_field:ident, $ciphertext:ident, |$row:ident| $context:expr) => {
            let table = reseal_table::<$entity::Entity>(
                d,
                keyring,
                batch,
                ($entity::Column::KeyId, $entity::Column::$id),
                |row| row.$id_field,
                |$row| (sealed(&$row.key_id, &$row.$ciphertext), $context),
                |row, new| {
                    let mut active = row.into_active_model();
                    active.key_id = Set(new.key_id);
                    active.$ciphertext = Set(new.ciphertext);
                    active
                },
            )
            .await?;
            done.count += table.count;
            done.left.extend(table.left);
        };
    }
    reseal!(certificate, Id id, key_ciphertext, |row| certificates::seal_context(row.account_id));
    reseal!(integration, Id id, ciphertext, |row| integrations::seal_context(row.account_id));
    reseal!(oauth_token, Id id, ciphertext, |row| oauth_tokens::seal_context(
        row.account_id,
        row.owner_id
    ));
    reseal!(two_factor_row, UserId user_id, ciphertext, |row| two_factor::seal_context(
        row.user_id
    ));
    let outbox = reseal_outbox(d, keyring, batch).await?;
    done.count += outbox.count;
    done.left.extend(outbox.left);
    tracing::info!(
        target: "operator",
        key_id = keyring.current_key_id(),
        resealed = done.count,
        left = done.left.len(),
        "operator rotated the secret key"
    );
    Ok(done)
}

fn sealed(key_id: &str, ciphertext: &str) -> Sealed {
    Sealed { key_id: key_id.to_owned(), ciphertext: ciphertext.to_owned() }
}

/// Re-seals the rows of one table not yet under the current key, `batch`
/// at a time in the order of their key (`id`). A value that does not open
/// is left as it is, named in the answer and the log.
async fn reseal_table<E>(
    d: &Domain,
    keyring: &Keyring,
    batch: u64,
    (key_column, id_column): (E::Column, E::Column),
    id_of: impl Fn(&E::Model) -> i32,
    read: impl Fn(&E::Model) -> (Sealed, String),
    write: impl Fn(E::Model, Sealed) -> E::ActiveModel,
) -> Result<Resealed, AppError>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    let table = E::default().table_name();
    let mut done = Resealed::default();
    let mut after = i32::MIN;
    loop {
        let txn = d.begin().await?;
        // Locked (FOR UPDATE on PostgreSQL; SQLite has one writer): a 2FA
        // set-up or an OAuth reconnect committed between this read and the
        // write below would otherwise be overwritten with the old secret,
        // re-sealed.
        let stale = E::find()
            .filter(key_column.ne(keyring.current_key_id()))
            .filter(id_column.gt(after))
            .order_by_asc(id_column)
            .limit(batch)
            .lock_exclusive()
            .all(&txn)
            .await?;
        let Some(last) = stale.last() else { break };
        after = id_of(last);
        for row in stale {
            let (old, context) = read(&row);
            match keyring.reseal(&old, &context) {
                Ok(Some(new)) => {
                    write(row, new).update(&txn).await?;
                    done.count += 1;
                }
                Ok(None) => {}
                Err(err) => {
                    let id = id_of(&row);
                    tracing::warn!(table, id, key_id = old.key_id, error = %err, "a sealed value does not open; left as it is");
                    done.left.push(format!("{table} {id}"));
                }
            }
        }
        txn.commit().await?;
    }
    Ok(done)
}

/// Re-seals the bodies of emails not yet sent (pending or failed) that are
/// under an old key or not sealed at all (queued before bodies were), in
/// batches as [`reseal_table`]. Unlike the other tables, a body that does
/// not open is left as it is, with a warning: these keys cannot send it
/// either (it waits for a worker with its key, then fails), and it must not
/// keep every other secret from being re-sealed. A row delivered meanwhile
/// is not written (its body is gone).
async fn reseal_outbox(d: &Domain, keyring: &Keyring, batch: u64) -> Result<Resealed, AppError> {
    use email_outbox::Column;
    let unsent = || Column::Status.is_in([mail::PENDING, mail::FAILED]);
    let mut done = Resealed::default();
    let mut after = i32::MIN;
    loop {
        let txn = d.begin().await?;
        let stale = email_outbox::Entity::find()
            .filter(unsent())
            .filter(
                Condition::any()
                    .add(Column::KeyId.is_null())
                    .add(Column::KeyId.ne(keyring.current_key_id())),
            )
            .filter(Column::Id.gt(after))
            .order_by_asc(Column::Id)
            .limit(batch)
            .lock_exclusive()
            .all(&txn)
            .await?;
        let Some(last) = stale.last() else { break };
        after = last.id;
        for row in stale {
            let text = match mail::body(keyring, &row) {
                Ok(text) => text,
                Err(err) => {
                    tracing::warn!(email = row.id, error = %err, "a queued email's body does not open; left as it is");
                    done.left.push(format!("email_outbox {}", row.id));
                    continue;
                }
            };
            let new = keyring.seal(&text, &mail::seal_context(&row.to_address));
            let written = email_outbox::Entity::update_many()
                .col_expr(Column::KeyId, Expr::value(new.key_id))
                .col_expr(Column::BodyText, Expr::value(new.ciphertext))
                .filter(Column::Id.eq(row.id))
                .filter(unsent())
                .exec(&txn)
                .await?;
            done.count += written.rows_affected;
        }
        txn.commit().await?;
    }
    Ok(done)
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

/// What is sealed with a key the key file lacks, table by table: nothing,
/// unless the key file was lost or replaced (a server's first start creates
/// a fresh one where none is found). Every process checks at its start and
/// refuses to run on such a file: a server went on sealing with its new key
/// while every secret sealed before failed to open, and the fix (the key
/// file restored from its backup) grew harder with each new secret.
pub async fn sealed_with_unknown_keys(
    d: &Domain,
    operator: &Operator,
) -> Result<Vec<SealedCount>, AppError> {
    let mut counts = secrets_status(d, operator).await?;
    // A rotation may have added a key to the file since this process read
    // it, and servers seal with it at once.
    d.secrets.reread();
    let known = d.secrets.keyring().key_ids();
    counts.retain(|c| !known.contains(&c.key_id));
    Ok(counts)
}

/// Gives up keys the operator declared lost (`SECRET_KEYS_LOST`: no backup
/// holds them): the emails waiting that they sealed are failed for good, as
/// no worker could send them. The rest they sealed stays as it is and does
/// not open. Returns how many emails.
pub async fn give_up_lost_keys(d: &Domain, _: &Operator, lost: &[String]) -> Result<u64, AppError> {
    mail::fail_sealed_with(d, lost).await
}

/// Whether a process seals with the key the other processes on its
/// database seal with ([`agree_on_current_key`]).
#[derive(Debug, PartialEq, Eq)]
pub enum KeyAgreement {
    /// Its current key is the last one recorded: it was already, or it is
    /// now, because the database had none (a first start) or the last one
    /// was declared lost.
    Agreed,
    /// The database records `theirs` as the key the others seal with, and
    /// this key file's current key `ours` is another.
    Differs { ours: String, theirs: String, why: KeyDiffers },
}

/// How a key file's current key differs from the servers' one.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyDiffers {
    /// `ours` was recorded before `theirs`: a copy of the key file from
    /// before a rotation.
    Older,
    /// `ours` was never recorded, and the file holds `theirs` below it: a
    /// line added at its top, or a rotation the database has no record of
    /// (restored from a backup taken before it). Which one, nothing here
    /// can tell, so neither is taken.
    Unrecorded,
    /// The file lacks `theirs`: a key file of its own (made by this host's
    /// first start).
    Own,
}

/// Checks the current key of `secrets` (its key file read again under the
/// table's lock, so a rotation that just committed is seen) against the
/// last one the database records, recording it when there is none or the
/// last is declared lost (`lost`, `SECRET_KEYS_LOST`). Every process runs it
/// at its start; only [`record_rotation`] records a key after another.
/// Without it, hosts with a key file each on one database each sealed with
/// a key of their own: what one sealed (a TOTP secret, an integration's
/// credentials) did not open on the others, and nothing stopped them.
pub async fn agree_on_current_key(
    d: &Domain,
    _: &Operator,
    secrets: &Secrets,
    lost: &[String],
) -> Result<KeyAgreement, AppError> {
    // Most starts find their key recorded last: read first without the
    // lock, which on SQLite is the one writer's (a start, even of a command
    // that only reads, would wait behind a long write).
    secrets.reread();
    let last =
        secret_key::Entity::find().order_by_desc(secret_key::Column::Position).one(&d.db).await?;
    if last.is_some_and(|last| last.id == secrets.current_key_id()) {
        return Ok(KeyAgreement::Agreed);
    }
    let txn = lock_secret_keys(d).await?;
    secrets.reread();
    let keyring = secrets.keyring();
    let ours = keyring.current_key_id().to_owned();
    let recorded = recorded_keys(&txn).await?;
    match recorded.first() {
        Some(last) if last.id == ours => return Ok(KeyAgreement::Agreed),
        Some(last) if !lost.contains(&last.id) => {
            return Ok(differs(&recorded, &keyring, last, ours));
        }
        _ => {}
    }
    record_on_top(d, &txn, &recorded, &ours).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", key_id = ours, "recorded the current secret key");
    Ok(KeyAgreement::Agreed)
}

/// Whether `d` seals with a key other than the last one recorded, for the
/// metrics: a running server takes its key file's current key as the file
/// changes, so a host not given the file of another host's rotation (or
/// given a foreign one) shows here, where its start would have been
/// refused. False before any key is recorded. Nothing is recorded here.
pub async fn seals_with_other_than_the_last_recorded_key(d: &Domain) -> Result<bool, AppError> {
    d.secrets.reread();
    let last =
        secret_key::Entity::find().order_by_desc(secret_key::Column::Position).one(&d.read).await?;
    Ok(last.is_some_and(|last| last.id != d.secrets.current_key_id()))
}

/// `secrets rotate`: records `rotated`'s new current key as the servers'
/// one and runs `write` (which writes the key file) under the table's lock,
/// before the record commits. So the key is recorded only if written, and
/// written only if the last recorded key is among those it follows: after
/// another host's rotation, this one is refused before its file changes.
/// A `write` that fails leaves the record as it was.
pub async fn record_rotation(
    d: &Domain,
    _: &Operator,
    rotated: &Keyring,
    write: impl FnOnce() -> Result<(), String>,
) -> Result<KeyAgreement, String> {
    let fail = |err: DbErr| format!("secret keys: cannot record the new key: {err}");
    let txn = lock_secret_keys(d).await.map_err(fail)?;
    let recorded = recorded_keys(&txn).await.map_err(fail)?;
    let ours = rotated.current_key_id().to_owned();
    if let Some(last) = recorded.first().filter(|last| !rotated.holds(&last.id)) {
        let why = KeyDiffers::Own;
        return Ok(KeyAgreement::Differs { ours, theirs: last.id.clone(), why });
    }
    record_on_top(d, &txn, &recorded, &ours).await.map_err(fail)?;
    write()?;
    txn.commit().await.map_err(fail)?;
    Ok(KeyAgreement::Agreed)
}

/// `secrets retire`: runs `write` (which leaves `keyring`'s current key
/// alone in the key file) under the record's lock, and only while that key
/// is the last one recorded: after a rotation elsewhere (its key recorded,
/// its re-seal perhaps under way) the file is left as it was, so a retire
/// never drops a key the servers may seal with, and a rotation waits for
/// the write.
pub async fn record_retirement(
    d: &Domain,
    _: &Operator,
    keyring: &Keyring,
    write: impl FnOnce() -> Result<(), String>,
) -> Result<KeyAgreement, String> {
    let fail = |err: DbErr| format!("secret keys: cannot read the recorded keys: {err}");
    let txn = lock_secret_keys(d).await.map_err(fail)?;
    let recorded = recorded_keys(&txn).await.map_err(fail)?;
    let ours = keyring.current_key_id().to_owned();
    if let Some(last) = recorded.first().filter(|last| last.id != ours) {
        return Ok(differs(&recorded, keyring, last, ours));
    }
    write()?;
    txn.commit().await.map_err(fail)?;
    Ok(KeyAgreement::Agreed)
}

/// How `keyring`, whose current key is `ours`, differs from the servers',
/// whose last recorded key is `last` (another).
fn differs(
    recorded: &[secret_key::Model],
    keyring: &Keyring,
    last: &secret_key::Model,
    ours: String,
) -> KeyAgreement {
    let why = match (recorded.iter().any(|r| r.id == ours), keyring.holds(&last.id)) {
        (true, _) => KeyDiffers::Older,
        (false, true) => KeyDiffers::Unrecorded,
        (false, false) => KeyDiffers::Own,
    };
    KeyAgreement::Differs { ours, theirs: last.id.clone(), why }
}

/// A transaction holding the one lock on `secret_keys`: two first starts at
/// once would each find no key and record its own.
async fn lock_secret_keys(d: &Domain) -> Result<DatabaseTransaction, DbErr> {
    db::begin_locking(&d.db, "secret_keys").await
}

/// The recorded keys, the last first.
async fn recorded_keys(txn: &DatabaseTransaction) -> Result<Vec<secret_key::Model>, DbErr> {
    secret_key::Entity::find().order_by_desc(secret_key::Column::Position).all(txn).await
}

/// Records `key_id` above every recorded key; moved there when it was
/// recorded before (a file restored from before a key now declared lost).
async fn record_on_top(
    d: &Domain,
    txn: &DatabaseTransaction,
    recorded: &[secret_key::Model],
    key_id: &str,
) -> Result<(), DbErr> {
    secret_key::Entity::delete_by_id(key_id.to_owned()).exec(txn).await?;
    secret_key::ActiveModel {
        id: Set(key_id.to_owned()),
        position: Set(recorded.first().map_or(1, |last| last.position + 1)),
        recorded_at: Set(d.clock.now()),
    }
    .insert(txn)
    .await?;
    Ok(())
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
