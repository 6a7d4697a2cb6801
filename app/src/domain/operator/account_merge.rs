//! `account merge`: two accounts that people of one company created
//! separately become one. Everything of the source account moves into the
//! target in one transaction, and the source account's row goes:
//!
//! - its users (with their sessions, developer keys, 2FA, shares: those hang
//!   on the user, whose id does not change, so they go on working in the
//!   merged account). The target's admins stay admins; the source's admins
//!   become regular users, keeping Can Create and Can Share, so the people
//!   who ran the target account keep control of it (one of them can make a
//!   newcomer an admin again; each demotion is in the target's activity log);
//! - its phone numbers (with their deployments; the number provider is told),
//!   JS libraries, applications, integrations, certificates and OAuth tokens.
//!   Integration credentials, private keys and OAuth tokens are sealed bound
//!   to their account, so each is re-sealed for the target;
//! - its per-account limit counts whose window is not over, added to the
//!   target's;
//! - the addresses that declined its invitations: the target may not invite
//!   them either, for the rest of their hold.
//!
//! The target keeps its company details, plan and Stripe setting. A merge
//! that cannot keep every rule refuses whole and names each conflict: an
//! integration name or a certificate domain both accounts have (unique within
//! an account), more numbers than the target's plan holds, Stripe allowed
//! for the source but not for the target, and a source none of whose users
//! verified an address. A source's JS library named like one of the
//! target's is renamed "utils (from Acme West)" (said in the log);
//! applications
//! are named per owner, so keep their names. The bounds on what an account keeps
//! (`limits::Holdings`) are for what its users add; a merge may leave the
//! target above one, and adds are refused until it is below again.
use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Operator;
use crate::domain::core::limits::{self, Plan};
use crate::domain::core::names;
use crate::domain::core::people::by_email;
use crate::domain::core::quota;
use crate::domain::core::scope::{lock_account, AccountOwned, Scoped};
use crate::domain::core::secrets::Sealed;
use crate::domain::core::tokens;
use crate::domain::core::validation::{normalize_email, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{
    account, activity_event, application, certificate, integration, invitation_decline, js_library,
    oauth_token, phone_number, user,
};
use crate::domain::features::{certificates, integrations, oauth_tokens};
use crate::model::{ActivityKind, AppError};

/// What a merge did.
#[derive(Debug)]
pub struct Merged {
    /// The account that is gone, and the one that holds everything now.
    pub from_account: i32,
    pub into_account: i32,
    /// How many rows moved, per table with an `account_id` (every such
    /// table is named, with 0 when the source had none).
    pub moved: BTreeMap<&'static str, u64>,
    /// The source's admins, now regular users of the target.
    pub demoted: Vec<String>,
    /// The source's JS libraries renamed, before and after: each was named
    /// like one of the target's, or like another of the source's.
    pub renamed: Vec<(String, String)>,
}

/// Why two accounts cannot be merged as they are; the operator resolves each
/// (rename, delete, change the plan, enable Stripe) and runs the merge again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeConflict {
    /// Both have an integration with this name (names are unique within an account).
    IntegrationName(String),
    /// Both have a certificate for this domain (one per domain and account).
    CertificateDomain(String),
    /// Together they hold more numbers than the target's plan allows.
    NumberLimit { plan: Plan, limit: usize, held: usize },
    /// The source's users may connect Stripe; the target's may not.
    Stripe,
    /// No user of the source has proved their address: merged, its users
    /// would sit in a verified account, out of the clean-up that removes a
    /// sign-up never verified, and could hold someone else's address.
    SourceUnverified,
    /// A secret of the source (named) does not open with this server's
    /// keys: it could not be sealed again for the target.
    Unreadable(String),
}

impl MergeConflict {
    /// The sentence that names it, with what resolves it.
    pub fn describe(&self, into_email: &str) -> String {
        match self {
            MergeConflict::IntegrationName(name) => format!(
                "both accounts have an integration named \"{name}\": rename or delete one of them"
            ),
            MergeConflict::CertificateDomain(domain) => {
                format!("both accounts have a certificate for {domain}: delete one of them")
            }
            MergeConflict::NumberLimit { plan, limit, held } => format!(
                "the target account is on the {} plan, which holds {limit} phone number(s) at \
                 most, and together they hold {held}: move it to another plan first (server \
                 account plan --account-of {into_email} --plan full) or release numbers",
                plan.key()
            ),
            MergeConflict::Stripe => format!(
                "the source account may connect Stripe and the target may not: enable it first \
                 (server account enable-stripe --account-of {into_email})"
            ),
            MergeConflict::SourceUnverified => "no user of the source account has verified \
                 their email address: one opens the verification email first (it can be sent \
                 again from the console's banner)"
                .into(),
            MergeConflict::Unreadable(what) => format!(
                "the source account's {what} does not open with the keys of this server's key \
                 file (sealed with a key lost, or kept in another key file; see server secrets \
                 status): run the merge with the key file that has it, or delete it first and \
                 add it again once merged"
            ),
        }
    }
}

/// The source's secrets that do not open with this server's keys, each
/// named: every one is opened and sealed again for the target (see
/// `move_everything`), and one that does not open would fail the merge
/// half-way, with no more said than "internal error".
async fn unreadable(
    d: &Domain,
    txn: &DatabaseTransaction,
    from: i32,
) -> Result<Vec<MergeConflict>, AppError> {
    let opens = |key_id: &str, ciphertext: &str, context: String| {
        let sealed = Sealed { key_id: key_id.to_owned(), ciphertext: ciphertext.to_owned() };
        d.secrets.open(&sealed, &context).is_ok()
    };
    let scope = Scoped::account(from);
    let mut found = Vec::new();
    for row in scope.all::<integration::Entity>().all(txn).await? {
        if !opens(&row.key_id, &row.ciphertext, integrations::seal_context(from)) {
            found.push(MergeConflict::Unreadable(format!("integration \"{}\"", row.name)));
        }
    }
    for row in scope.all::<certificate::Entity>().all(txn).await? {
        if !opens(&row.key_id, &row.key_ciphertext, certificates::seal_context(from)) {
            found.push(MergeConflict::Unreadable(format!("certificate for {}", row.domain)));
        }
    }
    for row in scope.all::<oauth_token::Entity>().all(txn).await? {
        if !opens(&row.key_id, &row.ciphertext, oauth_tokens::seal_context(from, row.owner_id)) {
            let mode = if row.livemode { "live" } else { "test" };
            let what = format!("Stripe {mode} token of {}", row.provider_account_id);
            found.push(MergeConflict::Unreadable(what));
        }
    }
    Ok(found)
}

/// `account merge`: moves everything of the account `from_email` belongs to
/// into the account of `into_email`, then removes the source account. Refuses
/// (changing nothing) when either address is unknown, both are users of one
/// account, or the accounts have a [`MergeConflict`]; the refusal names them all.
pub async fn merge_accounts(
    d: &Domain,
    _: &Operator,
    from_email: &str,
    into_email: &str,
) -> Result<Merged, AppError> {
    let (from_user, into_user) = users(d, from_email, into_email).await?;
    let (from, into) = (from_user.account_id, into_user.account_id);
    let txn = d.begin().await?;
    // Writing first takes the lock at once (see `lock_account`), the lower
    // id first: two merges of the same two accounts wait in turn, never for
    // each other (a deadlock).
    for account_id in [from.min(into), from.max(into)] {
        lock_account(&txn, account_id).await?;
    }
    // The users were read before the locks: they must still be where they were.
    let (again_from, again_into) =
        (by_email(&txn, from_email).await?, by_email(&txn, into_email).await?);
    if again_from.map(|u| u.account_id) != Some(from)
        || again_into.map(|u| u.account_id) != Some(into)
    {
        return Err(AppError::Conflict(
            "A user named moved to another account meanwhile (another merge?); nothing was \
             changed. Run the merge again."
                .into(),
        ));
    }
    // Read for update as well: on PostgreSQL the lock above does not wait
    // for a row being added under the source account (its foreign key's
    // check takes a lock that only this one conflicts with), which the
    // source's removal below would then take with it once committed.
    let source = account::Entity::find_by_id(from)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let target = account::Entity::find_by_id(into).one(&txn).await?.ok_or(AppError::NotFound)?;
    let found = conflicts(d, &txn, &source, &target).await?;
    if !found.is_empty() {
        let into_email = normalize_email(into_email);
        let list: Vec<String> =
            found.iter().map(|c| format!("- {}", c.describe(&into_email))).collect();
        tracing::warn!(target: "operator", from, into, conflicts = found.len(), "operator's account merge refused");
        return Err(AppError::Conflict(format!(
            "Account {from} ({}) cannot be merged into account {into} ({}); nothing was changed:\n{}",
            source.company_name,
            target.company_name,
            list.join("\n")
        )));
    }

    let demoted = demote_admins(&txn, from).await?;
    // No longer admins, the links they asked for others stop at once, as
    // when the Users tab demotes an admin: the changes no longer show as
    // waiting, in the target's Users tab or on the users' Account tab.
    for admin in &demoted {
        tokens::expire_requested_by(d, &txn, admin.id).await?;
    }
    let renamed = rename_libraries(&txn, &source, &target).await?;
    let moved = move_everything(d, &txn, from, into).await?;
    // Each demotion in the target's log, where the demoted users now are:
    // its admins see who lost the role, and why.
    for user in &demoted {
        let why = format!("account admin → user, on the merge into {}", target.company_name);
        let event = Event::new(ActivityKind::UserRoleChanged, &user.email).detail(why);
        activity::record(d, &txn, By::Operator { account_id: into }, event.about(user.id)).await?;
    }
    let demoted: Vec<String> = demoted.into_iter().map(|user| user.email).collect();
    // A library renamed is said in the log too: its owner and the target's
    // admins find it under its new name, and why.
    for (before, after) in &renamed {
        let event = Event::new(ActivityKind::JsLibraryUpdated, after)
            .detail(format!("renamed from {before} on the merge"));
        activity::record(d, &txn, By::Operator { account_id: into }, event).await?;
    }
    quota::merge_account_counts(&txn, &d.quotas, d.clock.now(), from, into).await?;
    // Nothing refers to the source account any more, so its removal
    // cascades to nothing.
    account::Entity::delete_by_id(from).exec(&txn).await?;
    let event = Event::new(ActivityKind::OperatorAccountsMerged, &source.company_name)
        .detail(format!("account {from}, of {}", normalize_email(from_email)));
    activity::record(d, &txn, By::Operator { account_id: into }, event).await?;
    txn.commit().await?;
    tracing::info!(
        target: "operator",
        from,
        into,
        moved = ?moved,
        demoted = demoted.len(),
        "operator merged two accounts"
    );
    Ok(Merged { from_account: from, into_account: into, moved, demoted, renamed })
}

/// The two users, or a refusal naming each unknown address, or both being
/// users of one account.
async fn users(
    d: &Domain,
    from_email: &str,
    into_email: &str,
) -> Result<(user::Model, user::Model), AppError> {
    let from = by_email(&d.db, from_email).await?;
    let into = by_email(&d.db, into_email).await?;
    let mut errors = Errors::default();
    for (field, email, found) in [("from", from_email, &from), ("into", into_email, &into)] {
        if found.is_none() {
            let email = normalize_email(email);
            errors.add(field, format!("No user has the email address {email}."));
        }
    }
    errors.into_result()?;
    let (from, into) = (from.ok_or(AppError::NotFound)?, into.ok_or(AppError::NotFound)?);
    if from.account_id == into.account_id {
        return Err(AppError::Conflict(format!(
            "{} and {} are users of the same account ({}); there is nothing to merge.",
            from.email, into.email, from.account_id
        )));
    }
    Ok((from, into))
}

/// Everything that keeps the two accounts from becoming one as they are.
async fn conflicts(
    d: &Domain,
    txn: &DatabaseTransaction,
    source: &account::Model,
    target: &account::Model,
) -> Result<Vec<MergeConflict>, AppError> {
    let (from, into) = (Scoped::account(source.id), Scoped::account(target.id));
    let mut found = unreadable(d, txn, source.id).await?;
    let taken: BTreeSet<String> =
        into.integrations().all(txn).await?.into_iter().map(|i| i.name_key).collect();
    for theirs in from.integrations().all(txn).await? {
        if taken.contains(&theirs.name_key) {
            found.push(MergeConflict::IntegrationName(theirs.name));
        }
    }
    let taken: BTreeSet<String> =
        into.all::<certificate::Entity>().all(txn).await?.into_iter().map(|c| c.domain).collect();
    for theirs in from.all::<certificate::Entity>().all(txn).await? {
        if taken.contains(&theirs.domain) {
            found.push(MergeConflict::CertificateDomain(theirs.domain));
        }
    }
    let plan = limits::plan(txn, target.id).await?;
    if let Some(limit) = plan.number_limit() {
        let held = (from.phone_numbers().count(txn).await?
            + into.phone_numbers().count(txn).await?) as usize;
        if held > limit {
            found.push(MergeConflict::NumberLimit { plan, limit, held });
        }
    }
    if source.stripe_enabled && !target.stripe_enabled {
        found.push(MergeConflict::Stripe);
    }
    let verified = from.users().filter(user::Column::EmailVerifiedAt.is_not_null());
    if verified.count(txn).await? == 0 {
        found.push(MergeConflict::SourceUnverified);
    }
    Ok(found)
}

fn table<E: EntityTrait>() -> &'static str {
    E::default().table_name()
}

/// Renames each of the source's JS libraries named like one of the
/// target's (or like another of the source's: two of one name from before
/// names were checked) "utils (from Acme West)": an application's settings
/// list every library of its account, where two of one name could not be
/// told apart. Applications keep their names: they are named per owner, and
/// owners do not change. Returns the names before and after.
async fn rename_libraries(
    txn: &DatabaseTransaction,
    source: &account::Model,
    target: &account::Model,
) -> Result<Vec<(String, String)>, AppError> {
    let libraries = |account_id| {
        Scoped::account(account_id)
            .all::<js_library::Entity>()
            .order_by_asc(js_library::Column::Id)
            .all(txn)
    };
    let (kept, theirs) = (libraries(target.id).await?, libraries(source.id).await?);
    let joining: Vec<&str> = theirs.iter().map(|library| library.name.as_str()).collect();
    let kept = kept.iter().map(|library| library.name.as_str());
    let mut renamed = Vec::new();
    for (at, name) in names::joining(kept, &joining, &source.company_name) {
        renamed.push((theirs[at].name.clone(), name.clone()));
        let mut active = js_library::ActiveModel::from(theirs[at].clone());
        active.name = Set(name);
        active.update(txn).await?;
    }
    Ok(renamed)
}

/// The source's admins become regular users; returns their addresses.
async fn demote_admins(txn: &DatabaseTransaction, from: i32) -> Result<Vec<user::Model>, AppError> {
    let admins = Scoped::account(from).users().filter(user::Column::IsAdmin.eq(true));
    let mut admins = admins.all(txn).await?;
    admins.sort_by(|a, b| a.email.cmp(&b.email));
    user::Entity::update_many()
        .col_expr(user::Column::IsAdmin, Expr::value(false))
        .filter(user::Column::Id.is_in(admins.iter().map(|u| u.id)))
        .exec(txn)
        .await?;
    Ok(admins)
}

/// Moves every account-owned row of `from` to `into`; returns how many, per table.
async fn move_everything(
    d: &Domain,
    txn: &DatabaseTransaction,
    from: i32,
    into: i32,
) -> Result<BTreeMap<&'static str, u64>, AppError> {
    let mut moved = BTreeMap::new();
    for number in Scoped::account(from).phone_numbers().all(txn).await? {
        d.numbers.reassign(txn, &number.e164, into).await?;
    }
    macro_rules! plain {
        ($($entity:ident),*) => {$(
            let rows = $entity::Entity::update_many()
                .col_expr($entity::Entity::account_column(), Expr::value(into))
                .filter($entity::Entity::account_column().eq(from))
                .exec(txn)
                .await?;
            moved.insert(table::<$entity::Entity>(), rows.rows_affected);
        )*};
    }
    // An address that declined both accounts stays declined once, in the
    // target's row (one per account and address), from the later decline.
    let target_declines =
        Scoped::account(into).all::<invitation_decline::Entity>().all(txn).await?;
    let source_declines =
        Scoped::account(from).all::<invitation_decline::Entity>().all(txn).await?;
    for theirs in target_declines {
        let Some(ours) = source_declines.iter().find(|row| row.email == theirs.email) else {
            continue;
        };
        // The mailbox either row kept holds on (a row from before mailboxes
        // were kept has none).
        let mailbox = theirs.mailbox.clone().or_else(|| ours.mailbox.clone());
        let mut kept = theirs.clone().into_active_model();
        kept.mailbox = Set(mailbox);
        if ours.declined_at > theirs.declined_at {
            kept.declined_at = Set(ours.declined_at);
            kept.link_hash = Set(ours.link_hash.clone());
        }
        kept.update(txn).await?;
        invitation_decline::Entity::delete_by_id(ours.id).exec(txn).await?;
    }
    plain!(user, phone_number, js_library, application, activity_event, invitation_decline);
    // A sealed value is bound to its account: each is opened with the
    // source's context and sealed again with the target's.
    macro_rules! sealed {
        ($entity:ident, $ciphertext:ident, |$row:ident, $account:ident| $context:expr) => {
            let rows = Scoped::account(from).all::<$entity::Entity>().all(txn).await?;
            moved.insert(table::<$entity::Entity>(), rows.len() as u64);
            for $row in rows {
                let old = Sealed { key_id: $row.key_id.clone(), ciphertext: $row.$ciphertext.clone() };
                let text = d.secrets.open(&old, &{ let $account = from; $context }).map_err(|err| {
                    tracing::error!(table = table::<$entity::Entity>(), error = %err, "a sealed value does not open");
                    AppError::Internal
                })?;
                let new = d.secrets.seal(&text, &{ let $account = into; $context });
                let mut active = $row.into_active_model();
                active.account_id = Set(into);
                active.key_id = Set(new.key_id);
                active.$ciphertext = Set(new.ciphertext);
                active.update(txn).await?;
            }
        };
    }
    sealed!(integration, ciphertext, |row, account| integrations::seal_context(account));
    sealed!(certificate, key_ciphertext, |row, account| certificates::seal_context(account));
    sealed!(oauth_token, ciphertext, |row, account| oauth_tokens::seal_context(
        account,
        row.owner_id
    ));
    Ok(moved)
}
