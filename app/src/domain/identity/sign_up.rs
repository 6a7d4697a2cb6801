//! Sign-up: a new account whose first user is its admin.
use std::net::IpAddr;

use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::db;
use crate::domain::core::mail;
use crate::domain::core::people::{email_taken, NewUser, EMAIL_TAKEN, SIGN_UP_EMAIL_TAKEN};
use crate::domain::core::quota::{Action, Who};
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::account;
use crate::domain::identity::email_links;
use crate::domain::identity::sessions::{start_session, NewSession, SecondFactor};
use crate::model::{ActivityKind, AppError};

pub struct SignUp {
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
}

/// Creates an account whose first user is its admin, and signs them in.
/// Sign-up attempts with valid fields are limited per client address and in
/// total, successful or not.
pub async fn sign_up(
    d: &Domain,
    input: SignUp,
    user_agent: &str,
    client: Option<IpAddr>,
) -> Result<NewSession, AppError> {
    let mut errors = Errors::default();
    let company_name = errors.check("company_name", validation::company_name(&input.company_name));
    let first_name =
        errors.check("first_name", validation::one_line_name(&input.first_name, "First Name"));
    let last_name =
        errors.check("last_name", validation::one_line_name(&input.last_name, "Last Name"));
    let email = errors.check("email", validation::email(&input.email));
    // The guessability check is the one costly check (up to ~60 ms of CPU),
    // so it is counted per client address first, and the cheap checks go
    // before it. Counted apart from sign-ups: a refused password is no
    // sign-up, and its owner tries another.
    if errors
        .check("password", validation::password_length(&input.password, "Password").map(Some))
        .is_some()
    {
        let who = Who { client, ..Who::default() };
        d.spend_alone(Action::PasswordStrength, &who).await?;
        let context =
            [first_name.as_str(), last_name.as_str(), email.as_str(), company_name.as_str()];
        let judged = d.passwords.judge(&input.password, &context, "Password").await?;
        errors.check("password", judged);
    }
    errors.into_result()?;
    // Counted before anything that costs or tells: the hash takes one of the
    // few hashing slots every log-in waits for, and "this address has an
    // account" must not be asked without limit. A sign-up that then fails
    // (a taken address) stays counted, in the total too: "this address has
    // an account" is an answer, and the total bounds how often the platform
    // gives it, at the price that a crowd of client addresses can close
    // sign-up for the rest of the hour (README, "Trust and abuse").
    let counted = d.begin().await?;
    d.spend(&counted, Action::SignUp, &Who { client, ..Who::default() }).await?;
    counted.commit().await?;
    if email_taken(&d.db, &email).await? {
        return Err(AppError::field("email", SIGN_UP_EMAIL_TAKEN));
    }
    // Refused before the hash when the address has no email left; counted
    // below, once the address is this sign-up's. Its mailbox's count is not
    // asked: spellings of it signed up by someone else (`ada+1@`, …) would
    // close sign-up to its owner. Past it, the account is made and its
    // email waits for Resend.
    let recipient = Who { recipient: Some(email.clone()), ..Who::default() };
    d.refuse_spent(Action::Verification, &Who { skip_mailbox: true, ..recipient.clone() }).await?;

    let password_hash = d.passwords.hash(&input.password).await?;
    let now = d.clock.now();
    let txn = d.begin().await?;
    let account = account::ActiveModel {
        company_name: Set(company_name),
        plan: Set("demo".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let user = NewUser {
        account_id: account.id,
        email,
        first_name,
        last_name,
        password_hash: Some(password_hash),
        is_admin: true,
        can_create: true,
        can_share: true,
        email_verified_at: None,
    }
    .insert(&txn, now)
    .await
    .map_err(|err| match err {
        // Another sign-up took the address since the check above: said as
        // that check says it.
        AppError::Invalid(_) if err.message_for("email").as_deref() == Some(EMAIL_TAKEN) => {
            AppError::field("email", SIGN_UP_EMAIL_TAKEN)
        }
        other => other,
    })?;
    // The welcome email is a verification email, counted per mailbox as a
    // resend is: new addresses of one inbox (`ada+1@`, `ada+2@`, …) would
    // otherwise each send it one. Counted once the address is this
    // sign-up's, in its transaction: nobody spends a stranger's count by
    // signing up with their taken address, and of two sign-ups racing for
    // one address the one refused as taken spends none.
    if spend_unless_spent(d, &txn, &recipient).await? {
        let link = tokens::issue(d, &txn, user.id, Purpose::VerifyEmail, None, None).await?;
        let removed_at = account.created_at + email_links::UNVERIFIED_ACCOUNT_LIFETIME;
        let email = email_links::verification_email(d, &user.email, &link, Some(removed_at));
        mail::enqueue_with_link(&txn, &d.secrets, now, email, &link.token).await?;
    }
    let event = Event::new(ActivityKind::AccountSignedUp, &account.company_name);
    activity::record(d, &txn, By::User(&user, client), event).await?;
    txn.commit().await?;
    start_session(d, &user, user_agent, client, SecondFactor::NotAsked).await
}

/// Counts the welcome email, all its counts or none (a savepoint): false,
/// counting nothing, when the mailbox has no email left (or a sign-up
/// racing this one spent the address's last since the check before the
/// hash). The sign-up then goes through without its email.
async fn spend_unless_spent(
    d: &Domain,
    txn: &DatabaseTransaction,
    recipient: &Who,
) -> Result<bool, AppError> {
    let counted = db::savepoint(txn).await?;
    match d.spend(&counted, Action::Verification, recipient).await {
        Ok(()) => {
            counted.commit().await?;
            Ok(true)
        }
        Err(AppError::TooManyRequests(_)) => {
            counted.rollback().await?;
            Ok(false)
        }
        Err(err) => Err(err),
    }
}
