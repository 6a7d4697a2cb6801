//! `user add`, `promote` and `user reset-2fa`: an operator acting on one
//! user of any account.
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use crate::domain::admin::invitations::{send_invitation, Inviter};
use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Operator;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people::{self, by_email, email_taken, NewUser, EMAIL_TAKEN};
use crate::domain::core::scope::lock_account_of;
use crate::domain::core::validation;
use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::domain::identity::sessions::end_sign_ins;
use crate::domain::identity::two_factor;
use crate::model::{ActivityKind, AppError};

/// What an operator supplies to add a user to the account of an existing user.
pub struct NewUserByOperator {
    /// The email of any user of the account the new user joins.
    pub account_of: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    /// `None` leaves the user without a password: they are emailed the same
    /// invitation an admin's Add User sends.
    pub password: Option<String>,
}

/// `user add`: adds a user to an existing account and returns them; "not
/// found" when no user has the `account_of` address.
pub async fn add_user(
    d: &Domain,
    _: &Operator,
    input: NewUserByOperator,
) -> Result<user::Model, AppError> {
    let owner = by_email(&d.db, &input.account_of).await?.ok_or(AppError::NotFound)?;
    let (mut errors, checked) =
        validation::person_fields(&input.first_name, &input.last_name, &input.email);
    let validation::PersonFields { first_name, last_name, email } = checked;
    if let Some(password) = &input.password {
        let context = [first_name.as_str(), last_name.as_str(), email.as_str()];
        errors.check("password", validation::new_password(password, &context, "Password"));
    }
    if !email.is_empty() && email_taken(&d.db, &email).await? {
        errors.add("email", EMAIL_TAKEN);
    }
    errors.into_result()?;
    let password_hash = match &input.password {
        Some(password) => Some(d.passwords.hash(password).await?),
        None => None,
    };
    let now = d.clock.now();
    let txn = d.begin().await?;
    // The lock every change to the account's users takes: the clean-up of
    // accounts never verified, which checks under it, then sees this user
    // (verified when given a password) or waits for it, and an account
    // removed or merged meanwhile is seen here.
    let owner = lock_account_of(&txn, owner.id).await?;
    let invite = input.password.is_none();
    // An invitation, as an admin's, does not go to an address that declined
    // the account's: one given a password is the operator's to vouch for
    // (the person asked for the account).
    if invite {
        if let Some(refusal) = people::declined(d, &txn, owner.account_id, &email).await? {
            return Err(AppError::field(
                "email",
                format!(
                    "{refusal} Nothing was changed; add them with a password \
                     (--password-stdin) if they asked for an account."
                ),
            ));
        }
    }
    let user = NewUser {
        account_id: owner.account_id,
        email,
        first_name,
        last_name,
        password_hash,
        is_admin: input.is_admin,
        can_create: input.is_admin,
        can_share: input.is_admin,
        // The operator vouches for the address of a user given a password;
        // one without a password proves it with the invitation.
        email_verified_at: input.password.is_some().then_some(now),
    }
    .insert(&txn, now)
    .await?;
    if invite {
        send_invitation(d, &txn, &user, Inviter::Operator, false).await?;
    }
    let admin = if input.is_admin { "admin" } else { "not admin" };
    // A password the operator set vouches for the address without a link:
    // the admins must be able to tell that from an invitation.
    let how = if invite { "invited" } else { "password set by the operator" };
    let event = Event::new(ActivityKind::OperatorUserAdded, &user.email)
        .detail(format!("{admin}; {how}"))
        .about(user.id);
    activity::record(d, &txn, By::Operator { account_id: user.account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", user_id = user.id, account_id = user.account_id, invite, "operator added a user");
    Ok(user)
}

/// What `promote` did.
#[derive(Debug)]
pub struct Promoted {
    pub user: user::Model,
    /// An admin had disabled them: enabled again, with the developer keys
    /// they kept, which the operator must be told.
    pub enabled_again: bool,
    /// An admin already (enabled again, or nothing was changed).
    pub was_admin: bool,
}

impl Promoted {
    /// An enabled admin already: nothing was changed.
    pub fn changed_nothing(&self) -> bool {
        self.was_admin && !self.enabled_again
    }
}

/// `promote`: makes the user with this email an admin of their account (the
/// case where no admin of an account can sign in any more), enabling them if
/// an admin had disabled them, so the new admin can sign in.
pub async fn promote(d: &Domain, _: &Operator, email: &str) -> Result<Promoted, AppError> {
    let txn = d.begin().await?;
    let found = by_email(&txn, email).await?.ok_or_else(|| {
        let email = validation::normalize_email(email);
        AppError::field("email", format!("No user has the email address {email}."))
    })?;
    // Under the account's lock, as every change of a role is, so that the
    // admins' changes waiting on it see the new admin (read again under it).
    let found = lock_account_of(&txn, found.id).await?;
    // Nobody can sign in as an invitee yet: the account would still have
    // no admin who can.
    if found.status == user::INVITED {
        return Err(AppError::field(
            "email",
            format!(
                "{} has not activated their invitation yet, so could not sign in as admin; \
                 nothing was changed. Promote a user who has, or add one with a password \
                 (user add --admin --password-stdin).",
                found.email
            ),
        ));
    }
    let (enabled_again, was_admin) = (found.disabled_at.is_some(), found.is_admin);
    if was_admin && !enabled_again {
        // An admin already, who can sign in: nothing to write or log.
        return Ok(Promoted { user: found, enabled_again, was_admin });
    }
    let mut active = found.into_active_model();
    active.is_admin = Set(true);
    active.disabled_at = Set(None);
    let updated = active.update(&txn).await?;
    // As an admin's Enable does: whatever sign-in outlived the disable
    // does not come back with it.
    if enabled_again {
        end_sign_ins(&txn, updated.id, None).await?;
    }
    // The account's admins disabled them: they must see that they can sign
    // in again, and that their developer keys work again; an admin already
    // was only enabled, not promoted.
    let event = if was_admin {
        Event::new(ActivityKind::UserEnabled, &updated.email).detail("by promote, an admin already")
    } else if enabled_again {
        Event::new(ActivityKind::OperatorPromoted, &updated.email)
            .detail("enabled again (an admin had disabled them)")
    } else {
        Event::new(ActivityKind::OperatorPromoted, &updated.email)
    };
    let event = event.about(updated.id);
    activity::record(d, &txn, By::Operator { account_id: updated.account_id }, event).await?;
    txn.commit().await?;
    let (user_id, account_id) = (updated.id, updated.account_id);
    if was_admin {
        tracing::info!(target: "operator", user_id, account_id, "operator enabled an admin");
    } else {
        tracing::info!(target: "operator", user_id, account_id, enabled_again, "operator promoted a user to admin");
    }
    Ok(Promoted { user: updated, enabled_again, was_admin })
}

/// `user reset-2fa`, after checking who the user is: turns their 2FA off and
/// tells them by email. A user without it is refused: an email saying that
/// support turned off what was never on would alarm them for nothing (or
/// tell the operator's typo to the wrong person), and the activity log
/// would record a reset that reset nothing.
pub async fn reset_two_factor(d: &Domain, _: &Operator, email: &str) -> Result<(), AppError> {
    let user = by_email(&d.db, email).await?.ok_or(AppError::NotFound)?;
    let txn = d.begin().await?;
    // Under the lock that every check of a second factor takes: a set-up
    // confirmed at the same moment is turned off too, not left half on.
    let user = lock_account_of(&txn, user.id).await?;
    if !user.two_factor_enabled {
        return Err(AppError::Conflict(format!(
            "{} does not have two-factor authentication on; nothing was changed and no \
             email was sent.",
            user.email
        )));
    }
    two_factor::remove(&txn, user.id).await?;
    mail::enqueue(
        &txn,
        &d.secrets,
        d.clock.now(),
        Email {
            to: user.email.clone(),
            subject: "Two-factor authentication was reset".into(),
            body: format!(
                "Support turned off two-factor authentication for your Voice Console user, as \
                 you asked. Log in with your password and turn it on again from your Account \
                 tab.\n\nIf you did not ask for this, {} at once.\n",
                d.contact_support()
            ),
        },
    )
    .await?;
    let event = Event::new(ActivityKind::OperatorTwoFactorReset, &user.email).about(user.id);
    activity::record(d, &txn, By::Operator { account_id: user.account_id }, event).await?;
    txn.commit().await?;
    tracing::info!(target: "operator", user = user.id, "two-factor authentication reset by an operator");
    Ok(())
}
