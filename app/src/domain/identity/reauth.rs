//! Asking a signed-in user for their password again before a change that a
//! stolen session must not make alone (a new password or email address,
//! turning 2FA on or off, a developer key). The checks are throttled per user
//! like log-ins, so a stolen session cannot guess the password either, and
//! every check is counted (`quota::Action::PasswordCheck`), since each costs
//! a password hash.
use crate::domain::core::actor::Member;
use crate::domain::core::people;
use crate::domain::core::quota::{Action, Who};
use crate::domain::core::validation::Errors;
use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::domain::identity::throttle::{self, Subjects};
use crate::model::AppError;

/// Whether `password` is `user`'s (`me`'s row); refused outright while the
/// user's re-checks are locked.
async fn password_matches(
    d: &Domain,
    me: &Member,
    user: &user::Model,
    password: &str,
) -> Result<bool, AppError> {
    // Counted before the hash, right or wrong: the throttle below forgets
    // its count on a right password. First, so that a refusal here leaves
    // no try counted against the password. Per client address too: a
    // client with many accounts of its own has a count for each.
    let who = Who { actor: Some(user.id), client: me.address(), ..Who::default() };
    d.spend_alone(Action::PasswordCheck, &who).await?;
    let subjects = Subjects::password_recheck(user.id);
    throttle::admit(d, &subjects, user.id, me.address()).await?;
    let matches = d.passwords.verify(password, user.password_hash.as_deref()).await?;
    if matches {
        throttle::succeeded(d, &subjects).await?;
    }
    Ok(matches)
}

/// Refuses with `message` beside `field` unless `password` is `user`'s
/// (`me`'s row, as read for the change).
pub async fn require_password(
    d: &Domain,
    me: &Member,
    user: &user::Model,
    password: &str,
    field: &str,
) -> Result<(), AppError> {
    // Nothing typed is not a wrong password: nothing to count or hash.
    if password.is_empty() {
        return Err(AppError::field(field, PASSWORD_REQUIRED));
    }
    if password_matches(d, me, user, password).await? {
        Ok(())
    } else {
        Err(AppError::field(field, WRONG_PASSWORD))
    }
}

/// Checks the Current Password of a form that gathers its refusals (Change
/// Password, Change Email Address): adds why beside `current_password` and
/// answers false, or answers true when it is `user`'s.
pub async fn current_password_in(
    d: &Domain,
    me: &Member,
    user: &user::Model,
    password: &str,
    errors: &mut Errors,
) -> Result<bool, AppError> {
    match require_password(d, me, user, password, "current_password").await {
        Ok(()) => Ok(true),
        Err(AppError::Invalid(refused)) => {
            for refusal in refused {
                errors.add(&refusal.field, refusal.message);
            }
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// Beside every Current Password field (see [`PASSWORD_REQUIRED`]).
pub const WRONG_PASSWORD: &str = "The current password is incorrect.";
/// Every form that asks for the password again labels it "Current Password".
pub const PASSWORD_REQUIRED: &str = "Current Password is required.";
pub const PASSWORD_CHANGED: &str =
    "Your password was changed a moment ago. Enter the new one to go on.";

/// Refuses work that a password check allowed when `current` (the user read
/// under the account's lock) no longer has the password `checked` had: a
/// reset, a password change or the claim of an unverified account committed
/// between the check and the lock, and what the old password opens (a
/// session, a developer key, a new password or address of its choosing)
/// must not outlive it or overwrite it. Nor when `current` has been disabled
/// since: a Disable ends the user's sessions, and what a request already in
/// flight asked for must not follow it (a key minted then would work again
/// once the user is enabled).
pub fn refuse_changed_since(
    checked: &user::Model,
    current: &user::Model,
    field: &str,
) -> Result<(), AppError> {
    if current.password_hash != checked.password_hash {
        return Err(AppError::field(field, PASSWORD_CHANGED));
    }
    people::refuse_disabled(current)
}
