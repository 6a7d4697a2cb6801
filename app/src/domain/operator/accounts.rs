//! `account enable-stripe` and `account plan`: an operator changing what an
//! account may do. (`account merge` is `account_merge`.)
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Operator;
use crate::domain::core::limits::Plan;
use crate::domain::core::people::by_email;
use crate::domain::core::scope::{lock_account, Scoped};
use crate::domain::core::Domain;
use crate::domain::entity::account;
use crate::model::{ActivityKind, AppError};

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
/// plan; returns the plan it was on. Refused when the account holds more
/// phone numbers than the new plan allows (a demo account holds one, as a
/// merge into one is refused): which to give up is the account's choice.
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
    let company = model.company_name.clone();
    let mut active = model.into_active_model();
    active.plan = Set(plan.key().into());
    activity::with_event(d, By::Operator { account_id }, event, async |txn| {
        // Under the lock a number request takes: none lands after the count.
        lock_account(txn, account_id).await?;
        if let Some(limit) = plan.number_limit() {
            let held = Scoped::account(account_id).phone_numbers().count(txn).await? as usize;
            if held > limit {
                return Err(AppError::Conflict(format!(
                    "{company} holds {held} phone numbers; a {} account holds at most {limit}: \
                     release {} first.",
                    plan.key(),
                    held - limit
                )));
            }
        }
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
