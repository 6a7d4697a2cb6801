//! `account enable-stripe` and `account plan`: an operator changing what an
//! account may do. (`account merge` is `account_merge`.)
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Operator;
use crate::domain::core::limits::Plan;
use crate::domain::core::people::by_email;
use crate::domain::core::scope::{lock_account_of, Scoped};
use crate::domain::core::Domain;
use crate::domain::entity::account;
use crate::model::{ActivityKind, AppError};

/// The account `member_email` belongs to, read under its lock in the
/// transaction returned: of two commands at once, the second sees the
/// first's change; a member a merge moved meanwhile is "please try again".
async fn locked_account_of(
    d: &Domain,
    member_email: &str,
) -> Result<(DatabaseTransaction, account::Model), AppError> {
    let member = by_email(&d.db, member_email).await?.ok_or(AppError::NotFound)?;
    let txn = d.begin().await?;
    let member = lock_account_of(&txn, member.id).await?;
    let found = account::Entity::find_by_id(member.account_id).one(&txn).await?;
    Ok((txn, found.ok_or(AppError::NotFound)?))
}

/// `account enable-stripe`: lets the users of `member_email`'s account
/// connect Stripe. Returns whether it changed anything: enabled already,
/// nothing is written or logged.
pub async fn enable_stripe(d: &Domain, _: &Operator, member_email: &str) -> Result<bool, AppError> {
    let (txn, found) = locked_account_of(d, member_email).await?;
    if found.stripe_enabled {
        return Ok(false);
    }
    let account_id = found.id;
    let event = Event::new(ActivityKind::OperatorStripeEnabled, &found.company_name);
    let mut active = found.into_active_model();
    active.stripe_enabled = Set(true);
    active.update(&txn).await?;
    activity::record(d, &txn, By::Operator { account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", account = account_id, "Stripe enabled for the account");
    Ok(true)
}

/// `account plan`: moves the account `member_email` belongs to onto another
/// plan; returns the plan it was on (`plan` itself: nothing was written or
/// logged). Refused when the account holds more phone numbers than the new
/// plan allows (a demo account holds one, as a merge into one is refused):
/// which to give up is the account's choice.
pub async fn set_plan(
    d: &Domain,
    _: &Operator,
    member_email: &str,
    plan: Plan,
) -> Result<Plan, AppError> {
    // Under the lock a number request takes: none lands after the count,
    // and the plan logged as the one before is the one replaced.
    let (txn, model) = locked_account_of(d, member_email).await?;
    let account_id = model.id;
    let before = Plan::from_key(&model.plan).unwrap_or(Plan::Demo);
    if before == plan {
        return Ok(before);
    }
    if let Some(limit) = plan.number_limit() {
        let held = Scoped::account(account_id).phone_numbers().count(&txn).await? as usize;
        if held > limit {
            return Err(AppError::Conflict(format!(
                "{} holds {held} phone numbers; a {} account holds at most {limit}: \
                 release {} first.",
                model.company_name,
                plan.key(),
                held - limit
            )));
        }
    }
    let event = Event::new(ActivityKind::OperatorPlanChanged, &model.company_name).detail(format!(
        "{} to {}",
        before.key(),
        plan.key()
    ));
    let mut active = model.into_active_model();
    active.plan = Set(plan.key().into());
    active.update(&txn).await?;
    activity::record(d, &txn, By::Operator { account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(
        target: "operator",
        account = account_id,
        from = before.key(),
        to = plan.key(),
        "operator changed the account plan"
    );
    Ok(before)
}
