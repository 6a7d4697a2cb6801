//! Deployments: the owner of a phone number deploys it to one of the
//! applications they can see (their own or shared with them). No permission
//! flag is needed: owning the number is what counts.
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::scope::{lock_account, Scoped};
use crate::domain::core::Domain;
use crate::domain::entity::{application, deployment, deployment_token, oauth_token, phone_number};
use crate::domain::features::applications::visible_to;
use crate::model::{ActivityKind, AppError};

/// The user's number with this id, read under the account's lock, which an
/// admin's owner change and disabling a user take too: a number given away a
/// moment ago is no longer theirs to deploy or to give a token, and a user
/// disabled a moment ago changes nothing more.
async fn my_number(
    txn: &DatabaseTransaction,
    me: &Member,
    number_id: i32,
) -> Result<phone_number::Model, AppError> {
    lock_account(txn, me.account_id()).await?;
    me.active(txn).await?;
    Scoped::of(me).find_mine::<phone_number::Entity>(txn, number_id).await
}

pub async fn deploy(
    d: &Domain,
    me: &Member,
    number_id: i32,
    application_id: i32,
) -> Result<(), AppError> {
    // Running it already (Save pressed again): nothing to write, record or
    // count.
    if runs_already(d, me, number_id, application_id).await? {
        return Ok(());
    }
    let by = By::Member(activity::count_change(d, me).await?);
    let txn = d.begin().await?;
    let number = my_number(&txn, me, number_id).await?;
    let app = visible_to(me)
        .filter(application::Column::Id.eq(application_id))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::field("application", "Choose one of your applications."))?;
    let before = deployment::Entity::find_by_id(number.id).one(&txn).await?;
    // The token was chosen for the application the number ran: it is not
    // carried over to another one (which may charge to another Stripe
    // account than its owner meant); the page asks for the new one's.
    let moved = before.as_ref().is_some_and(|was| was.application_id != app.id);
    let token_taken_off = moved
        && deployment_token::Entity::delete_by_id(number.id).exec(&txn).await?.rows_affected > 0;
    deployment::Entity::insert(deployment::ActiveModel {
        phone_number_id: Set(number.id),
        application_id: Set(app.id),
        deployed_at: Set(d.clock.now()),
    })
    .on_conflict(
        OnConflict::column(deployment::Column::PhoneNumberId)
            .update_columns([deployment::Column::ApplicationId, deployment::Column::DeployedAt])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    let off = if token_taken_off { " (its OAuth token taken off)" } else { "" };
    // The application it ran is its owner's or shared with them, so theirs
    // to read: named, so the log says what the number stopped running.
    let was = match before.filter(|_| moved) {
        Some(was) => application::Entity::find_by_id(was.application_id).one(&txn).await?,
        None => None,
    };
    let from = was.map(|was| format!("from {} ", was.name)).unwrap_or_default();
    let event = Event::new(ActivityKind::PhoneNumberDeployed, &number.e164)
        .detail(format!("{from}to {}{off}", app.name));
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(())
}

/// Whether the member's number `number_id` runs `application_id` already,
/// an application they may still run (one no longer is left to `deploy`'s
/// refusal). Another's number is not found, as `deploy` answers.
async fn runs_already(
    d: &Domain,
    me: &Member,
    number_id: i32,
    application_id: i32,
) -> Result<bool, AppError> {
    me.active(&d.read).await?;
    let number = Scoped::of(me).find_mine::<phone_number::Entity>(&d.read, number_id).await?;
    let running = deployment::Entity::find_by_id(number.id).one(&d.read).await?;
    if running.is_none_or(|running| running.application_id != application_id) {
        return Ok(false);
    }
    let app = visible_to(me).filter(application::Column::Id.eq(application_id));
    Ok(app.one(&d.read).await?.is_some())
}

/// Whether the member's deployed number `number_id` has `token_id` already
/// (`None`: no token), one of their tokens still. Another's number is not
/// found, as `assign_token` answers.
async fn has_token_already(
    d: &Domain,
    me: &Member,
    number_id: i32,
    token_id: Option<i32>,
) -> Result<bool, AppError> {
    me.active(&d.read).await?;
    let number = Scoped::of(me).find_mine::<phone_number::Entity>(&d.read, number_id).await?;
    if deployment::Entity::find_by_id(number.id).one(&d.read).await?.is_none() {
        return Ok(false);
    }
    let current = deployment_token::Entity::find_by_id(number.id).one(&d.read).await?;
    if current.map(|t| t.oauth_token_id) != token_id {
        return Ok(false);
    }
    Ok(match token_id {
        Some(id) => Scoped::of(me).find_mine::<oauth_token::Entity>(&d.read, id).await.is_ok(),
        None => true,
    })
}

pub async fn undeploy(d: &Domain, me: &Member, number_id: i32) -> Result<(), AppError> {
    let txn = d.begin().await?;
    let number = my_number(&txn, me, number_id).await?;
    let undeployed = deployment::Entity::delete_by_id(number.id).exec(&txn).await?;
    // A number that ran nothing (a double click) changes nothing to record.
    if undeployed.rows_affected > 0 {
        let event = Event::new(ActivityKind::PhoneNumberUndeployed, &number.e164);
        activity::record(d, &txn, By::Remedy(me), event).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Assigns one of the user's own OAuth tokens to their number's deployment
/// (`None` takes it off).
pub async fn assign_token(
    d: &Domain,
    me: &Member,
    number_id: i32,
    token_id: Option<i32>,
) -> Result<(), AppError> {
    // The token it has already (Save pressed again): nothing to write,
    // record or count.
    if has_token_already(d, me, number_id, token_id).await? {
        return Ok(());
    }
    // Everything is checked before anything changes, in one transaction: a
    // refused request leaves the number's current token in place.
    let by = By::Member(activity::count_change(d, me).await?);
    let txn = d.begin().await?;
    let number = my_number(&txn, me, number_id).await?;
    if deployment::Entity::find_by_id(number.id).one(&txn).await?.is_none() {
        return Err(AppError::field("token", "Deploy the number to an application first."));
    }
    let token = match token_id {
        Some(id) => {
            Some(Scoped::of(me).find_mine::<oauth_token::Entity>(&txn, id).await.map_err(|e| {
                match e {
                    AppError::NotFound => {
                        AppError::field("token", "Choose one of your OAuth tokens.")
                    }
                    other => other,
                }
            })?)
        }
        None => None,
    };
    deployment_token::Entity::delete_by_id(number.id).exec(&txn).await?;
    let detail = match &token {
        Some(token) => format!("Stripe {}", token.provider_account_id),
        None => "none".to_owned(),
    };
    let event = Event::new(ActivityKind::DeploymentTokenAssigned, &number.e164).detail(detail);
    activity::record(d, &txn, by, event).await?;
    if let Some(token) = token {
        deployment_token::ActiveModel {
            phone_number_id: Set(number.id),
            oauth_token_id: Set(token.id),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
