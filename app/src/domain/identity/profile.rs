//! A user's own profile (the Account tab): who they are, their name and
//! their password.
use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, QueryFilter, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::people::{self, own_row};
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::{lock_account_of, Scoped};
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::domain::identity::password_link::{self, notify_password_changed, PasswordChange};
use crate::domain::identity::reauth;
use crate::domain::identity::sessions::{end_sign_ins, ShownUser};
use crate::model::{ActivityKind, AppError, CurrentUser};

pub async fn current_user(d: &Domain, actor: &Member) -> Result<CurrentUser, AppError> {
    // One query for the user and their company. A page render has them
    // already, from `sessions::authenticate_user` before it began.
    let me =
        ShownUser::select(Scoped::of(actor).users().filter(user::Column::Id.eq(actor.user_id())))
            .into_model::<ShownUser>()
            .one(&d.read)
            .await?
            .ok_or(AppError::Unauthenticated)?;
    Ok(me.shown())
}

pub async fn update_name(
    d: &Domain,
    actor: &Member,
    first_name: &str,
    last_name: &str,
) -> Result<(), AppError> {
    let mut errors = Errors::default();
    let first_name =
        errors.check("first_name", validation::one_line_name(first_name, "First Name"));
    let last_name = errors.check("last_name", validation::one_line_name(last_name, "Last Name"));
    errors.into_result()?;
    let row = own_row(d, actor).await?;
    // Before the change is counted (a refusal spends nothing), and again
    // under the lock below.
    people::refuse_disabled(&row)?;
    // The name it has already (a double submit, a save with nothing
    // edited) is neither written, counted nor logged.
    let same = |u: &user::Model| (&u.first_name, &u.last_name) == (&first_name, &last_name);
    if same(&row) {
        return Ok(());
    }
    let by = By::Member(activity::count_change(d, actor).await?);
    let txn = d.begin().await?;
    // The row as it is under the lock: the search columns written with the
    // names, and the event, name its email, which a confirmed change may
    // have replaced since `row` was read; and a user disabled meanwhile
    // changes nothing more (a Disable ends their sessions).
    let current = lock_account_of(&txn, row.id).await?;
    people::refuse_disabled(&current)?;
    // Saved so by another window since (the count is spent already).
    if same(&current) {
        return Ok(());
    }
    let event = Event::new(ActivityKind::ProfileUpdated, &current.email)
        .detail(format!("{first_name} {last_name} (was {})", current.full_name()));
    let mut me = current.into_active_model();
    me.first_name = Set(first_name);
    me.last_name = Set(last_name);
    me.update(&txn).await?;
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(())
}

/// Why Change Password refuses the current password as the new one.
pub const SAME_PASSWORD: &str = "The new password is your current one: choose another.";

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
    // Its notice is an email: counted, and refused before the password is
    // checked, so a refusal costs no re-check. Not in the total when no
    // email goes (an address never verified is not written to): sign-ups
    // that send nothing must not close it to everyone.
    let who = Who {
        actor: Some(actor.user_id()),
        client: actor.address(),
        sends_nothing: me.email_verified_at.is_none(),
        ..Who::default()
    };
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::PasswordChange, &who).await?;
    // The current password first: its check is counted (`PasswordCheck`),
    // which bounds the costly guessability check of the new one after it.
    if reauth::current_password_in(d, actor, &me, current_password, &mut errors).await?
        && new_password == current_password
    {
        // It would end every other session and pending link while changing
        // nothing, which a user who typed it did not mean.
        errors.add("new_password", SAME_PASSWORD);
    }
    // The costly judgement only after a counted check: an empty current
    // password is not counted. Its length costs nothing, so is said anyway.
    if current_password.is_empty() {
        errors.check("new_password", validation::password_length(new_password, "New Password"));
    } else {
        let judged = d.passwords.judge(new_password, &context, "New Password").await?;
        errors.check("new_password", judged);
    }
    errors.into_result()?;
    let hash = d.passwords.hash(new_password).await?;
    let txn = d.begin().await?;
    // Before the user's row and their links, as a reset link's redeem does;
    // a reset or a claim committed since the check is not overwritten.
    let current = lock_account_of(&txn, me.id).await?;
    reauth::refuse_changed_since(&me, &current, "current_password")?;
    // As read under the lock, which decides whether the notice is sent.
    let who = Who { sends_nothing: current.email_verified_at.is_none(), ..who };
    d.spend(&txn, Action::PasswordChange, &who).await?;
    // On an account nobody has proved an address of, a reset link claims
    // it from whoever signed up (`password_link::claims`): the mailbox's
    // proof outranks the password, which must not withdraw it.
    let keeps_resets = password_link::claims(&txn, &current, Purpose::ResetPassword).await?;
    let (user_id, email) = (me.id, current.email.clone());
    // `current`, not `me`: the search columns written with the row are made
    // from its names and email, which may have changed since `me` was read.
    let mut me = current.into_active_model();
    me.password_hash = Set(Some(hash));
    let me = me.update(&txn).await?;
    let how = PasswordChange::Changed;
    notify_password_changed(d, &txn, &me, how, actor.address()).await?;
    end_sign_ins(&txn, user_id, Some(current_session_token)).await?;
    // A reset link asked for before would undo the new password, and an
    // email change asked for before would hand the account to its new
    // address: the old address's notice of it advises this very change.
    if !keeps_resets {
        tokens::expire(d, &txn, user_id, Purpose::ResetPassword).await?;
    }
    tokens::expire(d, &txn, user_id, Purpose::ChangeEmail).await?;
    activity::record(d, &txn, By::Remedy(actor), Event::new(ActivityKind::PasswordChanged, email))
        .await?;
    txn.commit().await?;
    Ok(())
}
