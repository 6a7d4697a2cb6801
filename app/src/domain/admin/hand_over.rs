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

/// What a hand-over leaves its caller to do.
#[must_use = "record its events, and disconnect what it dropped after the commit"]
pub(super) struct HandedOver {
    /// What changed for the account's users beyond an owner's name (an
    /// application renamed, a number moved and what it stopped running, a
    /// token that could never open again dropped): for the caller to record
    /// after its own, by whoever made the user go.
    pub events: Vec<Event>,
    /// The Stripe accounts of the dropped tokens: for the caller to
    /// disconnect once it has committed.
    pub dropped: oauth_tokens::Dropped,
}

/// Gives what `leaving` owned to `to`, inside the caller's transaction.
/// Everything a user can own is in this list, one call per feature (each
/// feature's tests check its hand-over).
pub(super) async fn hand_over(
    d: &Domain,
    txn: &DatabaseTransaction,
    leaving: &user::Model,
    to: &user::Model,
) -> Result<HandedOver, AppError> {
    let (from, scope) = (leaving.id, &Scoped::account(leaving.account_id));
    let mut events = applications::hand_over(txn, leaving, to.id).await?;
    js_libraries::hand_over(txn, from, to.id).await?;
    // After the applications: it checks what the new owner can see.
    events.extend(phone_numbers::hand_over(txn, scope, from, to).await?);
    certificates::hand_over(txn, from, to.id).await?;
    let (dropped_events, dropped) = oauth_tokens::hand_over(d, txn, from, to.id).await?;
    events.extend(dropped_events);
    Ok(HandedOver { events, dropped })
}
