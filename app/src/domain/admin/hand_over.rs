//! What a user who goes (deleted by an admin, or an invitee who declined or
//! whose invitation expired) owned passes to another user of the account.
use sea_orm::DatabaseTransaction;

use crate::domain::core::activity::Event;
use crate::domain::core::scope::Scoped;
use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::domain::features::{
    applications, certificates, js_libraries, oauth_tokens, phone_numbers,
};
use crate::model::AppError;

/// Gives what `leaving` owned to `to`, inside the caller's transaction.
/// Everything a user can own is in this list, one call per feature (each
/// feature's tests check its hand-over). Returns the events of what changed
/// for the account's users beyond an owner's name (an application renamed,
/// a number moved and what it stopped running, a token that could never
/// open again dropped), for the caller to record after its own, by whoever
/// made the user go.
pub(super) async fn hand_over(
    d: &Domain,
    txn: &DatabaseTransaction,
    leaving: &user::Model,
    to: &user::Model,
) -> Result<Vec<Event>, AppError> {
    let (from, scope) = (leaving.id, &Scoped::account(leaving.account_id));
    let mut events = applications::hand_over(txn, leaving, to.id).await?;
    js_libraries::hand_over(txn, from, to.id).await?;
    // After the applications: it checks what the new owner can see.
    events.extend(phone_numbers::hand_over(txn, scope, from, to).await?);
    certificates::hand_over(txn, from, to.id).await?;
    events.extend(oauth_tokens::hand_over(d, txn, from, to.id).await?);
    Ok(events)
}
