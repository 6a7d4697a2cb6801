//! A user's own settings, the admin's view of the account's users, and the
//! operator's commands for adding and promoting users.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, TransactionTrait,
};

use super::actor::Member;
use super::auth::{email_conflict, email_taken, end_sessions, EMAIL_TAKEN};
use super::entity::{account, user};
use super::scope::Scoped;
use super::validation::{self, Errors};
use super::Domain;
use crate::model::{AppError, CurrentUser};

pub(super) async fn own_row(d: &Domain, actor: &Member) -> Result<user::Model, AppError> {
    Scoped::of(actor)
        .users()
        .filter(user::Column::Id.eq(actor.user_id()))
        .one(&d.db)
        .await?
        .ok_or(AppError::Unauthenticated)
}

pub async fn current_user(d: &Domain, actor: &Member) -> Result<CurrentUser, AppError> {
    let me = own_row(d, actor).await?;
    let company =
        account::Entity::find_by_id(me.account_id).one(&d.db).await?.ok_or(AppError::Internal)?;
    Ok(CurrentUser {
        id: me.id,
        first_name: me.first_name,
        last_name: me.last_name,
        email: me.email,
        is_admin: me.is_admin,
        email_verified: me.email_verified_at.is_some(),
        company_name: company.company_name,
    })
}

pub async fn update_name(
    d: &Domain,
    actor: &Member,
    first_name: &str,
    last_name: &str,
) -> Result<(), AppError> {
    let mut errors = Errors::default();
    let first_name = errors.check("first_name", validation::person_name(first_name, "First Name"));
    let last_name = errors.check("last_name", validation::person_name(last_name, "Last Name"));
    errors.into_result()?;
    let mut me = own_row(d, actor).await?.into_active_model();
    me.first_name = Set(first_name);
    me.last_name = Set(last_name);
    me.update(&d.db).await?;
    Ok(())
}

/// Changes the actor's password after checking the current one, and ends
/// every other session of theirs: whoever else was signed in is signed out.
pub async fn change_password(
    d: &Domain,
    actor: &Member,
    current_session_token: &str,
    current_password: &str,
    new_password: &str,
) -> Result<(), AppError> {
    let me = own_row(d, actor).await?;
    let context = [me.first_name.as_str(), me.last_name.as_str(), me.email.as_str()];
    let mut errors = Errors::default();
    errors.check("new_password", validation::new_password(new_password, &context));
    if !d.passwords.verify(current_password, me.password_hash.as_deref()).await? {
        errors.add("current_password", "The current password is incorrect.");
    }
    errors.into_result()?;
    let hash = d.passwords.hash(new_password).await?;
    let txn = d.db.begin().await?;
    let user_id = me.id;
    let mut me = me.into_active_model();
    me.password_hash = Set(Some(hash));
    me.update(&txn).await?;
    end_sessions(&txn, user_id, Some(current_session_token)).await?;
    txn.commit().await?;
    Ok(())
}

/// What an operator supplies to add a user to an existing account.
pub struct OperatorNewUser {
    pub account_id: i32,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    /// `None` leaves the user without a password (invited; they cannot log in
    /// until an invitation link lets them set one).
    pub password: Option<String>,
}

/// Operator command: adds a user to an existing account. Returns the user id.
pub async fn operator_add_user(d: &Domain, input: OperatorNewUser) -> Result<i32, AppError> {
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
    if account::Entity::find_by_id(input.account_id).one(&d.db).await?.is_none() {
        errors.add("account", format!("There is no account {}.", input.account_id));
    }
    if !email.is_empty() && email_taken(&d.db, &email).await? {
        errors.add("email", EMAIL_TAKEN);
    }
    errors.into_result()?;
    let password_hash = match &input.password {
        Some(password) => Some(d.passwords.hash(password).await?),
        None => None,
    };
    let user = user::ActiveModel {
        account_id: Set(input.account_id),
        email: Set(email),
        first_name: Set(first_name),
        last_name: Set(last_name),
        password_hash: Set(password_hash),
        is_admin: Set(input.is_admin),
        can_create: Set(input.is_admin),
        can_share: Set(input.is_admin),
        created_at: Set(d.clock.now()),
        // The operator vouches for the address of a user given a password;
        // one without a password proves it with an invitation later.
        email_verified_at: Set(input.password.is_some().then(|| d.clock.now())),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .map_err(email_conflict)?;
    Ok(user.id)
}

/// Operator command: makes the user with this email an admin of their account
/// (the case where no admin of an account can sign in any more).
pub async fn operator_promote(d: &Domain, email: &str) -> Result<user::Model, AppError> {
    let email = validation::normalize_email(email);
    let txn = d.db.begin().await?;
    let found =
        user::Entity::find().filter(user::Column::Email.eq(&email)).one(&txn).await?.ok_or_else(
            || AppError::field("email", format!("No user has the email address {email}.")),
        )?;
    let mut active = found.into_active_model();
    active.is_admin = Set(true);
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}
