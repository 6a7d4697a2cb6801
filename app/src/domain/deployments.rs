//! Deployments: the owner of a phone number deploys it to one of the
//! applications they can see (their own or shared with them). No permission
//! flag is needed: owning the number is what counts.
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::actor::Member;
use super::applications::visible_to;
use super::entity::{application, deployment, deployment_token, oauth_token, phone_number};
use super::scope::Scoped;
use super::Domain;
use crate::model::AppError;

async fn my_number(
    d: &Domain,
    me: &Member,
    number_id: i32,
) -> Result<phone_number::Model, AppError> {
    Scoped::of(me)
        .phone_numbers()
        .filter(phone_number::Column::Id.eq(number_id))
        .filter(phone_number::Column::OwnerId.eq(me.user_id()))
        .one(&d.db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn deploy(
    d: &Domain,
    me: &Member,
    number_id: i32,
    application_id: i32,
) -> Result<(), AppError> {
    let number = my_number(d, me, number_id).await?;
    let app = visible_to(me)
        .filter(application::Column::Id.eq(application_id))
        .one(&d.db)
        .await?
        .ok_or_else(|| AppError::field("application", "Choose one of your applications."))?;
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
    .exec(&d.db)
    .await?;
    Ok(())
}

pub async fn undeploy(d: &Domain, me: &Member, number_id: i32) -> Result<(), AppError> {
    let number = my_number(d, me, number_id).await?;
    deployment::Entity::delete_by_id(number.id).exec(&d.db).await?;
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
    let number = my_number(d, me, number_id).await?;
    if deployment::Entity::find_by_id(number.id).one(&d.db).await?.is_none() {
        return Err(AppError::field("token", "Deploy the number to an application first."));
    }
    deployment_token::Entity::delete_by_id(number.id).exec(&d.db).await?;
    let Some(token_id) = token_id else { return Ok(()) };
    let token = oauth_token::Entity::find_by_id(token_id)
        .filter(oauth_token::Column::AccountId.eq(me.account_id()))
        .filter(oauth_token::Column::OwnerId.eq(me.user_id()))
        .one(&d.db)
        .await?
        .ok_or_else(|| AppError::field("token", "Choose one of your OAuth tokens."))?;
    deployment_token::ActiveModel {
        phone_number_id: Set(number.id),
        oauth_token_id: Set(token.id),
    }
    .insert(&d.db)
    .await?;
    Ok(())
}
