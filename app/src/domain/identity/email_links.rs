//! The account lifecycle built on email: verifying the sign-up address,
//! resetting a forgotten password, and changing one's email address. Every
//! email is written to the outbox in the transaction of the change it reports.
use std::collections::HashMap;
use std::net::IpAddr;

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tracing::Instrument;

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::{Admin, Member};
use crate::domain::core::clock;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people::{
    self, count_address_lookup, email_conflict, email_taken, own_row, EMAIL_TAKEN,
};
use crate::domain::core::quota::{self, duration_text, Action, Who};
use crate::domain::core::scope::{lock_account_of, Scoped};
use crate::domain::core::tokens::{self, Issued, Purpose};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{account, email_token, user};
use crate::domain::identity::log_in::{self, LogIn};
use crate::domain::identity::password_link;
use crate::domain::identity::reauth;
use crate::domain::identity::throttle;
use crate::domain::identity::two_factor;
use crate::model::{
    full_name, ActivityKind, AppError, EmailChangeLink, PendingEmailChange, VerificationLink,
};

/// An account whose address is never verified is removed after this long, so
/// nobody can hold someone else's address.
pub const UNVERIFIED_ACCOUNT_LIFETIME: Duration = Duration::days(7);

pub const RESET_TARGET_CHANGED: &str = "This user changed since the page was loaded (disabled, \
     moved or given another address); no link was sent. Reload the page and try again.";

/// The link that verifies `to`. `removed_at`: when the account goes if no
/// address of it is verified by then ([`UNVERIFIED_ACCOUNT_LIFETIME`] after
/// its creation, not after this email: a resend on the sixth day says so
/// rather than promising the whole lifetime again); none when a user of the
/// account is verified already (one merged into a verified account), which
/// keeps it.
pub fn verification_email(
    d: &Domain,
    to: &str,
    link: &Issued,
    removed_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Email {
    // An account not yet verified goes at its removal, no later than its
    // link's end: said once, as the time the reader must act by.
    let kept = match removed_at {
        Some(at) => format!(
            "Until you do, your account is kept until {} ({} from now). If you did not \
             sign up, ignore this email and the account will be removed.",
            clock::shown(at),
            duration_text((at - d.clock.now()).num_minutes()),
        ),
        None => format!(
            "The link works for {}. If you did not ask for this, ignore this email.",
            link.lifetime_text()
        ),
    };
    Email {
        to: to.into(),
        subject: "Verify your email address".into(),
        // The page names the account: anyone can sign up with any address,
        // and its owner must be able to tell a stranger's sign-up from theirs.
        body: format!(
            "Someone signed up for Voice Console with this address. If it was you, confirm \
             that the address is yours: open this link, check that the page names your \
             account, and press its button:\n\n{}\n\n{kept}\n",
            d.link("/verify-email", &link.token),
        ),
    }
}

/// Sends a fresh verification link to the actor, if their address is not verified yet.
pub async fn resend_verification(d: &Domain, actor: &Member) -> Result<(), AppError> {
    // Checked before anything is spent, and again under the lock a Disable
    // and an email change's confirmation take: a user disabled meanwhile
    // is sent no link their page would refuse, one verified meanwhile none
    // they need.
    let refuse = |me: &user::Model| {
        people::refuse_disabled(me)?;
        match me.email_verified_at {
            Some(_) => Err(AppError::field("form", "Your email address is already verified.")),
            None => Ok(()),
        }
    };
    refuse(&own_row(d, actor).await?)?;
    let txn = d.begin().await?;
    let me = lock_account_of(&txn, actor.user_id()).await?;
    refuse(&me)?;
    let account = account::Entity::find_by_id(me.account_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let kept = Scoped::account(account.id)
        .users()
        .filter(user::Column::EmailVerifiedAt.is_not_null())
        .one(&txn)
        .await?
        .is_some();
    let removed_at = (!kept).then(|| account.created_at + UNVERIFIED_ACCOUNT_LIFETIME);
    // Counted per client address too: sign-ups from one address are few an
    // hour, but each unverified account lives a week, and their resends
    // together must not use up the platform's total.
    let who = Who {
        recipient: Some(me.email.clone()),
        actor: Some(me.id),
        client: actor.address(),
        ..Who::default()
    };
    d.spend(&txn, Action::Verification, &who).await?;
    let link = tokens::issue(d, &txn, me.id, Purpose::VerifyEmail, None, None).await?;
    let email = verification_email(d, &me.email, &link, removed_at);
    mail::enqueue_with_link(&txn, &d.secrets, d.clock.now(), email, &link.token).await?;
    txn.commit().await?;
    Ok(())
}

/// Whether a verification link would verify, and whose account it is for
/// (`Waiting`), or its address is verified already (`Verified`, also when
/// it was verified by another way, an email change), for its page to say
/// before the button. It only reads: mail scanners open links in advance.
pub async fn check_verification_link(
    d: &Domain,
    token: &str,
) -> Result<VerificationLink, AppError> {
    match tokens::check(d, &d.read, token, Purpose::VerifyEmail).await {
        Ok(link) => match user::Entity::find_by_id(link.user_id).one(&d.read).await? {
            // Verified since by an email change (a sign-up's typo put
            // right): nothing to do, and nothing of it to show whoever has
            // the mistyped inbox.
            Some(user) if user.email_verified_at.is_some() => Ok(VerificationLink::Verified),
            Some(user) => {
                people::refuse_disabled(&user)?;
                let company = account::Entity::find_by_id(user.account_id).one(&d.read).await?;
                Ok(VerificationLink::Waiting {
                    company: company.map(|a| a.company_name).unwrap_or_default(),
                    name: full_name(&user.first_name, &user.last_name),
                    signed_up: clock::shown(user.created_at),
                })
            }
            None => Err(AppError::field("token", tokens::LINK_INVALID)),
        },
        Err(_) if holder_verified(d, token).await? => Ok(VerificationLink::Verified),
        Err(refused) => Err(refused),
    }
}

/// Whether the user a verification link was written for has a verified
/// address. An older link (a newer one voids it), or this one again, opened
/// once the address is verified: "ask for a new one" would be wrong advice,
/// as the address is verified, all the link was for.
async fn holder_verified(d: &Domain, token: &str) -> Result<bool, AppError> {
    Ok(match tokens::holder(&d.read, token, Purpose::VerifyEmail).await? {
        Some(id) => user::Entity::find_by_id(id)
            .one(&d.read)
            .await?
            .is_some_and(|user| user.email_verified_at.is_some()),
        None => false,
    })
}

/// The button on the page a verification link opens.
pub async fn verify_email(d: &Domain, token: &str, client: Option<IpAddr>) -> Result<(), AppError> {
    let link = match tokens::check(d, &d.read, token, Purpose::VerifyEmail).await {
        Ok(link) => link,
        Err(_) if holder_verified(d, token).await? => return Ok(()),
        Err(refused) => return Err(refused),
    };
    let txn = d.begin().await?;
    // The clean-up of accounts never verified takes it too, so it removes
    // an account before its verification or not at all.
    let user = lock_account_of(&txn, link.user_id).await?;
    // Refused like a disabled user's other links; the link is not used up.
    people::refuse_disabled(&user)?;
    // The same link pressed twice at once (a double click without scripts,
    // whose second answer is the one shown): the second finds the address
    // verified by the first, which is all the link was for.
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    tokens::consume(d, &txn, token, Purpose::VerifyEmail).await?;
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(d.clock.now()))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let event = Event::new(ActivityKind::EmailVerified, &user.email);
    activity::record(d, &txn, By::User(&user, client), event).await?;
    txn.commit().await?;
    Ok(())
}

/// "Forgot password?": the same answer whether or not the address exists.
/// Limited per address and per client address whether or not it exists, so
/// the limit tells nothing either; nor does the time the answer takes: it
/// comes once the limits are checked, the same for every address, and the
/// lookup, the lock of the user's account and the email's writing follow
/// it in the background (`Domain::reply_before_sending`).
pub async fn request_password_reset(
    d: &Domain,
    email: &str,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let email = validation::email(email).map_err(|m| AppError::field("email", m))?;
    let who = Who { recipient: Some(email.clone()), client, ..Who::default() };
    if !d.reply_before_sending {
        return send_password_reset(d, &email, &who, ResetAsker::Anyone).await;
    }
    // On the read pool: waits for no writer. The mailbox's count is left to
    // the send, which answers nothing (see `send_password_reset`).
    let asked = Who { skip_mailbox: true, ..who.clone() };
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::PasswordReset, &asked).await?;
    let writer = d.reset_writers.clone().acquire_owned().await.map_err(|_| AppError::Internal)?;
    let later = d.clone();
    let work = async move {
        let _writer = writer;
        match send_password_reset(&later, &email, &who, ResetAsker::Anyone).await {
            Ok(()) => {}
            // Requests that raced past the check above: as answered, limited.
            Err(AppError::TooManyRequests(_)) => {
                tracing::debug!("a password reset raced past its limit and was not written")
            }
            Err(err) => tracing::error!(error = ?err, "a password reset could not be written"),
        }
    };
    // Its logs keep the request's id.
    d.background.spawn(work.instrument(tracing::Span::current()));
    Ok(())
}

/// Who asks for a reset link.
pub enum ResetAsker<'a> {
    /// Anyone, on the log-in page ("Forgot password?").
    Anyone,
    /// An admin of the user's account (Send Password Reset), who must still
    /// be one when the link is written, and whose request is recorded.
    Admin(&'a Admin, By<'a>),
}

/// Writes a reset link to `email`'s user, if there is one, not disabled and
/// not still invited (asked by anyone, an invitee is told that their
/// invitation sets the password, and a disabled user that they are
/// disabled), counted for `who` either way (so
/// neither the answer nor the limit tells whether the user exists or is
/// disabled). An admin who asks is refused, before the count, when nothing
/// would be sent: the user left the account, changed address or was
/// disabled since the admin's page read them.
pub async fn send_password_reset(
    d: &Domain,
    email: &str,
    who: &Who,
    asker: ResetAsker<'_>,
) -> Result<(), AppError> {
    let txn = d.begin().await?;
    // Refused past the limit before anything is looked up or locked, so a
    // refusal costs the same whether or not the address has an account. The
    // mailbox's count is not asked here (below).
    let asked = Who { skip_mailbox: true, ..who.clone() };
    quota::refuse_spent(&txn, &d.quotas, d.clock.now(), Action::PasswordReset, &asked).await?;
    let found = user::Entity::find().filter(user::Column::Email.eq(email)).one(&txn).await?;
    // The account's lock before the counts, as every link's transaction
    // takes it first; the user as read under it, still at that address and
    // not disabled meanwhile (gone or moved meanwhile: answered as unknown).
    let found = match found {
        Some(user) => match lock_account_of(&txn, user.id).await {
            Ok(user) => Some(user),
            Err(AppError::NotFound | AppError::Conflict(_)) => None,
            Err(err) => return Err(err),
        },
        None => None,
    };
    let found = found.filter(|user| user.email == email);
    // A disabled user is sent no link that signs in. Asked by anyone, they
    // are told why instead, as an invitee is below: sent nothing, they
    // would wait for a link that never comes. Only at an address proved
    // theirs: at a squatted one, "ask an admin" would not be true.
    let (found, disabled) = match found {
        Some(user) if user.disabled_at.is_some() => {
            let told = matches!(asker, ResetAsker::Anyone) && user.email_verified_at.is_some();
            (None, Some(user).filter(|_| told))
        }
        found => (found, None),
    };
    // An invited user has no password to reset: their invitation sets one
    // (and an admin's Reset Password sends it again). A reset link would
    // activate them at an address the admin may yet correct. Asked by
    // anyone, they are told so instead, counted as a link is: sent nothing,
    // they would wait for a link that never comes.
    let (found, invited) = match found {
        Some(user) if user.status == user::INVITED => {
            (None, Some(user).filter(|_| matches!(asker, ResetAsker::Anyone)))
        }
        found => (found, None),
    };
    if let ResetAsker::Admin(admin, _) = &asker {
        admin.recheck(&txn).await?;
        if found.as_ref().is_none_or(|user| user.account_id != admin.account_id()) {
            return Err(AppError::Conflict(RESET_TARGET_CHANGED.into()));
        }
    }
    // A verified user's own address is held to its own count alone
    // (`Who::skip_mailbox`): spellings of the mailbox signed up by someone
    // else must not use up its owner's resets. Another spelling whose
    // mailbox has none left is sent nothing, answered as any address is
    // (refused, it would tell that the address is no verified user's).
    let recipient = found.as_ref().or(invited.as_ref()).or(disabled.as_ref());
    let verified = recipient.is_some_and(|user| user.email_verified_at.is_some());
    let mailbox_spent = !verified
        && recipient.is_some()
        && matches!(asker, ResetAsker::Anyone)
        && quota::mailbox_spent(&txn, &d.quotas, d.clock.now(), Action::PasswordReset, email)
            .await?;
    let found = found.filter(|_| !mailbox_spent);
    let invited = invited.filter(|_| !mailbox_spent);
    let disabled = disabled.filter(|_| !mailbox_spent);
    let sends_nothing = found.is_none() && invited.is_none() && disabled.is_none();
    let who = Who { sends_nothing, skip_mailbox: verified || sends_nothing, ..who.clone() };
    d.spend(&txn, Action::PasswordReset, &who).await?;
    if let Some(user) = invited {
        let body = "Someone, hopefully you, asked to reset the password of your Voice Console \
                    account.\n\nYou have not accepted your invitation yet, so there is no \
                    password to reset: open the invitation email to choose your password. If you \
                    cannot find it, ask an admin of your company's account to send it again.\n\n\
                    If you did not ask, ignore this email.\n";
        let notice = Email {
            to: user.email.clone(),
            subject: "No password to reset yet".into(),
            body: body.into(),
        };
        mail::enqueue(&txn, &d.secrets, d.clock.now(), notice).await?;
    }
    if let Some(user) = disabled {
        let body = "Someone, hopefully you, asked to reset the password of your Voice Console \
                    account.\n\nYour user is disabled, so no link was sent: to be enabled \
                    again, ask an admin of your company's account.\n\nIf you did not ask, ignore \
                    this email.\n";
        let notice = Email {
            to: user.email.clone(),
            subject: "Your user is disabled".into(),
            body: body.into(),
        };
        mail::enqueue(&txn, &d.secrets, d.clock.now(), notice).await?;
    }
    if let Some(user) = found {
        let link = tokens::issue(d, &txn, user.id, Purpose::ResetPassword, None, None).await?;
        // Told as it happened: a user whose admin sent the link did not ask,
        // and is told which admin, to ask them if it is unexpected.
        let (asked, unasked) = match asker {
            ResetAsker::Anyone => (
                "Someone, hopefully you, asked to reset the password of your Voice Console \
                 account."
                    .to_owned(),
                "If you did not ask",
            ),
            ResetAsker::Admin(admin, _) => (
                format!(
                    "An admin of your company's Voice Console account, {}, sent you this link \
                     to choose a new password.",
                    people::named(&people::find(&txn, admin.member().user_id()).await?)
                ),
                "If you do not want a new password",
            ),
        };
        let body = format!(
            "{asked}\n\nTo choose a new password, open this link and press the button on the \
             page:\n\n{}\n\nThe link works once, for {}. {unasked}, ignore this email: \
             your password stays as it is.\n",
            d.link("/reset-password", &link.token),
            link.lifetime_text(),
        );
        let reset = Email { to: user.email.clone(), subject: "Reset your password".into(), body };
        mail::enqueue_with_link(&txn, &d.secrets, d.clock.now(), reset, &link.token).await?;
        if let ResetAsker::Admin(admin, by) = asker {
            let event = Event::new(ActivityKind::PasswordResetSent, &user.email)
                .about_other(admin.member(), user.id);
            activity::record(d, &txn, by, event).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Whether a reset link still works, for its page to say before a password
/// is typed. It only reads: mail scanners open links in advance.
pub async fn check_reset_link(d: &Domain, token: &str) -> Result<String, AppError> {
    let link = tokens::check(d, &d.read, token, Purpose::ResetPassword).await?;
    // Refused as pressing the button would be.
    match user::Entity::find_by_id(link.user_id).one(&d.read).await? {
        // The address the link was sent to, for a password manager to file
        // the new password under.
        Some(user) => people::refuse_disabled(&user).map(|()| user.email),
        None => Err(AppError::field("token", tokens::LINK_INVALID)),
    }
}

/// The button on the page a reset link opens: sets the new password, ends all
/// of the user's sessions, and signs them in afresh (through the second
/// factor when it is on). Using the link also proves they receive mail at
/// their address.
pub async fn reset_password(
    d: &Domain,
    token: &str,
    new_password: &str,
    user_agent: &str,
    client: Option<IpAddr>,
) -> Result<LogIn, AppError> {
    redeem_password_link(d, token, Purpose::ResetPassword, new_password, user_agent, client).await
}

/// Redeems a link that sets a password (a reset or an invitation's
/// activation) and signs the user in afresh ([`password_link::apply`]). With
/// the second factor on, nothing changes yet: the log-in challenge holds the
/// new password and the link, applied when the code is accepted, so the
/// mailbox alone cannot replace the password. A disabled user's link (sent
/// before they were disabled) is refused and changes nothing; it works
/// again, while it lasts, once they are enabled.
///
/// The password is hashed before the write transaction opens, so no
/// transaction holds the database's write lock while waiting for a hashing
/// slot; the link is checked then, and used up in the transaction.
pub async fn redeem_password_link(
    d: &Domain,
    token: &str,
    purpose: Purpose,
    new_password: &str,
    user_agent: &str,
    client: Option<IpAddr>,
) -> Result<LogIn, AppError> {
    let found = tokens::check(d, &d.read, token, purpose).await?;
    // Before the hash it would cost; checked again under the link's lock.
    log_in::refuse_busy_link(d, &d.db, &found.token_hash).await?;
    let user =
        user::Entity::find_by_id(found.user_id).one(&d.db).await?.ok_or(AppError::NotFound)?;
    // A disabled user's link is refused before anything costly; checked
    // again under the lock.
    people::refuse_disabled(&user)?;
    validation::password_length(new_password, "New Password")
        .map_err(|m| AppError::field("new_password", m))?;
    // With their codes locked, the code step this would open could not be
    // passed: said before the hash, as at log-in (not on a claim, which
    // removes that second factor).
    if two_factor::is_enabled(&d.db, user.id).await?
        && !password_link::claims(&d.db, &user, purpose).await?
    {
        let codes = throttle::Subjects::second_factor(user.id);
        throttle::lock_if_spent(d, &codes, user.id, client).await?;
    }
    // Each try costs a guessability check and a password hash, and a link
    // is not used up by a refused one: counted per client and per link's
    // user, in one conditional update each, so neither a loop nor a burst
    // of tries at once buys more.
    let who = Who { actor: Some(user.id), client, ..Who::default() };
    d.spend_alone(Action::PasswordStrength, &who).await?;
    let context = [user.first_name.as_str(), user.last_name.as_str(), user.email.as_str()];
    d.passwords
        .judge(new_password, &context, "New Password")
        .await?
        .map_err(|m| AppError::field("new_password", m))?;
    let hash = d.passwords.hash(new_password).await?;

    let txn = d.begin().await?;
    let user = lock_account_of(&txn, user.id).await?;
    // Redeems of one link take turns, so its count of open code steps holds.
    tokens::lock_hash(&txn, &found.token_hash).await?;
    let link = tokens::check(d, &txn, token, purpose).await?;
    people::refuse_disabled(&user)?;
    // With the second factor on, the change waits on the challenge for its
    // code. Not on a claim: that account's second factor was set up by
    // whoever signed up with the address, and `apply` removes it.
    if two_factor::is_enabled(&txn, user.id).await?
        && !password_link::claims(&txn, &user, purpose).await?
    {
        log_in::refuse_busy_link(d, &txn, &link.token_hash).await?;
        let pending = log_in::PendingLink { new_password_hash: hash, link_hash: link.token_hash };
        let challenge = log_in::challenge(d, &txn, user.id, Some(pending)).await?;
        txn.commit().await?;
        return Ok(LogIn::SecondFactor { challenge });
    }
    tokens::consume(d, &txn, token, purpose).await?;
    let user = password_link::apply(d, &txn, user, purpose, hash, client).await?;
    txn.commit().await?;
    log_in::after_password(d, &user, user_agent, client).await
}

/// Said when the address asked for is the actor's own already.
pub const ALREADY_YOURS: &str = "This is already your email address.";

/// Asks to change the actor's email: checks their password and the new
/// address, sends a confirmation link to the new address and a notice to the
/// old one. Nothing changes until the link is used.
pub async fn request_email_change(
    d: &Domain,
    actor: &Member,
    current_password: &str,
    new_email: &str,
    code: &str,
) -> Result<String, AppError> {
    // Asked for first, before the password is checked and counted: the form
    // shows the code's field only once this answer comes.
    two_factor::require_code_if_on(d, actor.user_id(), code).await?;
    let me = own_row(d, actor).await?;
    let mut errors = Errors::default();
    let new_email = errors.check("new_email", validation::email_as(new_email, "New Email Address"));
    if !new_email.is_empty() && new_email == me.email {
        errors.add("new_email", ALREADY_YOURS);
    } else if !new_email.is_empty() {
        refuse_email_change_spent(d, actor, &new_email).await?;
        count_address_lookup(d, actor).await?;
        let taken = email_taken(&d.db, &new_email).await?;
        // Anyone can sign up and, unverified, ask this: they are answered
        // as for a free address, and the address's owner is told instead
        // (`send_email_change`), so it does not say which addresses have an
        // account. A verified user is told, as an admin is.
        if taken && me.email_verified_at.is_some() {
            errors.add("new_email", EMAIL_TAKEN);
        } else if let Some(refusal) = people::declined(d, &d.db, me.account_id, &new_email).await? {
            // Its owner said no to this account's mail, as an admin's
            // edit would be told (`admin::users::update`).
            errors.add("new_email", refusal);
        }
    }
    reauth::current_password_in(d, actor, &me, current_password, &mut errors).await?;
    errors.into_result()?;

    let by = By::Member(activity::count_change(d, actor).await?);
    // With 2FA on, a code too: the new address would receive the resets.
    two_factor::with_code_if_on(d, me.id, code, actor.address(), async |txn| {
        // Two requests at once each expire the links committed before them:
        // queued, only the newest link counts. A claim committed since the
        // password was checked leaves it nothing to ask.
        let current = lock_account_of(txn, me.id).await?;
        reauth::refuse_changed_since(&me, &current, "current_password")?;
        // A change confirmed since `me` was read moved the address: asking
        // for that one again is no change, and the notice below goes to
        // the address the account has now.
        if new_email == current.email {
            return Err(AppError::field("new_email", ALREADY_YOURS));
        }
        // Again under the lock, which a decline takes too.
        if let Some(refusal) = people::declined(d, txn, me.account_id, &new_email).await? {
            return Err(AppError::field("new_email", refusal));
        }
        send_email_change(d, txn, actor, &current, &new_email).await?;
        let event = Event::new(ActivityKind::EmailChangeRequested, &current.email)
            .detail(format!("to {new_email}"));
        activity::record(d, txn, by, event).await?;
        Ok(new_email)
    })
    .await
}

/// Why Cancel finds nothing to cancel.
pub const NO_EMAIL_CHANGE: &str = "No email change is waiting: it was confirmed or cancelled, \
     or its link ended (it expired, or the password changed), a moment ago.";

/// The email change asked for the actor (by them or by an admin) whose link
/// still works: the Change Email Address section shows it after a reload,
/// with a way to cancel it.
pub async fn pending_email_change(
    d: &Domain,
    actor: &Member,
) -> Result<Option<PendingEmailChange>, AppError> {
    let link = live_email_change(d, &d.read, actor.user_id()).await?;
    Ok(link.and_then(|link| {
        let until = clock::shown(link.expires_at);
        link.new_email.map(|new_email| PendingEmailChange { new_email, until })
    }))
}

/// The addresses the email changes of `user_ids` wait on, for the user
/// table: by user, those whose link still works (the newest, should there be
/// two). The caller passes the ids of its own account's users.
pub(crate) async fn pending_email_changes<C: sea_orm::ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_ids: Vec<i32>,
) -> Result<HashMap<i32, String>, AppError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let links: Vec<(i32, Option<String>)> = email_token::Entity::find()
        .select_only()
        .column(email_token::Column::UserId)
        .column(email_token::Column::NewEmail)
        .filter(email_token::Column::UserId.is_in(user_ids))
        .filter(email_token::Column::Purpose.eq(Purpose::ChangeEmail.as_str()))
        .filter(email_token::Column::UsedAt.is_null())
        .filter(email_token::Column::ExpiresAt.gt(d.clock.now()))
        .order_by_asc(email_token::Column::CreatedAt)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(links.into_iter().filter_map(|(id, email)| Some((id, email?))).collect())
}

/// The newest email-change link of `user_id` that still works (issuing one
/// expires the others, so there is one at most).
async fn live_email_change<C: sea_orm::ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_id: i32,
) -> Result<Option<email_token::Model>, AppError> {
    Ok(email_token::Entity::find()
        .filter(email_token::Column::UserId.eq(user_id))
        .filter(email_token::Column::Purpose.eq(Purpose::ChangeEmail.as_str()))
        .filter(email_token::Column::UsedAt.is_null())
        .filter(email_token::Column::ExpiresAt.gt(d.clock.now()))
        .order_by_desc(email_token::Column::CreatedAt)
        .one(conn)
        .await?)
}

/// Cancels the actor's pending email change: its link stops working (opened
/// later, it says it was cancelled) and the address stays as it is. Bounded by the
/// email changes it undoes, which are counted.
pub async fn cancel_email_change(d: &Domain, actor: &Member) -> Result<(), AppError> {
    let nothing = || AppError::Conflict(NO_EMAIL_CHANGE.into());
    // Nothing to cancel takes no lock: a remedy is never counted, so this
    // is what a repeated press meets.
    live_email_change(d, &d.read, actor.user_id()).await?.ok_or_else(nothing)?;
    // A remedy (`activity::is_remedy`): never counted, so a user whose
    // changes are spent can still stop an address change they did not want.
    let by = By::Remedy(actor);
    let txn = d.begin().await?;
    // Under the lock a confirmation takes too: the link is either used or
    // cancelled, never both.
    let me = lock_account_of(&txn, actor.user_id()).await?;
    let pending = live_email_change(d, &txn, me.id)
        .await?
        .and_then(|link| link.new_email)
        .ok_or_else(nothing)?;
    tokens::expire(d, &txn, me.id, Purpose::ChangeEmail).await?;
    let event =
        Event::new(ActivityKind::EmailChangeCancelled, &me.email).detail(format!("to {pending}"));
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(())
}

/// Who an email change to `new_email` asked by `actor` is counted against.
fn email_change_counts(actor: &Member, new_email: &str) -> Who {
    Who {
        recipient: Some(new_email.to_owned()),
        actor: Some(actor.user_id()),
        // The account's admins and users together: one account's hundred
        // users each asking their ten an hour would be the platform's total.
        account: Some(actor.account_id()),
        client: actor.address(),
        ..Who::default()
    }
}

/// Refuses an email change whose counts are spent before the address is
/// looked up or the password checked, which it would spend for nothing
/// ([`send_email_change`] takes the count, under the lock).
pub async fn refuse_email_change_spent(
    d: &Domain,
    actor: &Member,
    new_email: &str,
) -> Result<(), AppError> {
    let who = email_change_counts(actor, new_email);
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::EmailChange, &who).await
}

/// Writes the confirmation link to the new address and the notice to the old
/// one, in the caller's transaction, counted against `actor` (the user
/// themself or an admin) and the client address they act from. When the new
/// address has an account already (asked by an unverified user, who is not
/// told), its owner is told that instead of getting a link; the link is
/// written all the same, so the page shows the change waiting as for any
/// address, and would be refused as taken if it were used.
pub async fn send_email_change(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Member,
    user: &user::Model,
    new_email: &str,
) -> Result<(), AppError> {
    let now = d.clock.now();
    d.spend(txn, Action::EmailChange, &email_change_counts(actor, new_email)).await?;
    // An admin's request is checked again when the link is used.
    let requested_by = (actor.user_id() != user.id).then(|| actor.user_id());
    let confirms = Some(new_email.to_owned());
    let link = tokens::issue(d, txn, user.id, Purpose::ChangeEmail, confirms, requested_by).await?;
    // Told as it happened: the user, or an admin of their account, asked.
    // The new address may be anyone's (a typo, or on purpose): its email
    // names the user by the address they have now, when it is verified (an
    // address never verified proves nothing: anyone may sign up with
    // anyone's), and assumes nothing.
    let by_themselves = actor.user_id() == user.id;
    // An admin's request names the admin, for whoever did not expect it to
    // know whom to ask.
    let admin = match by_themselves {
        true => String::new(),
        false => people::named(&people::find(txn, actor.user_id()).await?),
    };
    let (who_asked, if_theirs) = match (by_themselves, user.email_verified_at.is_some()) {
        (true, true) => (
            format!("The Voice Console user {} asked to log in with this address", user.email),
            "If that is your account, confirm",
        ),
        (true, false) => (
            format!(
                "Someone who signed up for Voice Console on {}, with an address not verified, \
                 asked to log in with this address",
                clock::shown(user.created_at)
            ),
            "If you signed up yourself, confirm",
        ),
        (false, true) => (
            format!(
                "An admin of their account, {admin}, asked that the Voice Console user {} log \
                 in with this address",
                user.email
            ),
            "If that is your account, confirm",
        ),
        (false, false) => (
            format!(
                "An admin of a Voice Console account, {admin}, asked that one of its users, \
                 whose address is not verified, log in with this address"
            ),
            "If you expected this, confirm",
        ),
    };
    let (someone_asked, if_unexpected) = if by_themselves {
        (
            "Someone asked".to_owned(),
            "If you did not expect this, change your password now and contact your account admin.",
        )
    } else {
        // A new password would not stop an admin's change: asking them does.
        (
            format!("An admin of your company's account, {admin}, asked"),
            "If you did not expect this, contact that admin or another admin of your account.",
        )
    };
    let confirm = if people::by_email(txn, new_email).await?.is_some() {
        let taken = Email {
            to: new_email.to_owned(),
            subject: "This address already has an account".into(),
            body: format!(
                "Someone asked to use this address for another Voice Console account. It \
                 already has one, so nothing was changed and no link is sent.\n\nIf it was \
                 you, log in with this address, or reset its password at \
                 {}/forgot-password.\n\nIf it was not you, you can ignore this email.\n",
                d.public_url,
            ),
        };
        (taken, None)
    } else {
        let email = Email {
            to: new_email.to_owned(),
            subject: "Confirm your new email address".into(),
            body: format!(
                "{who_asked} from now on.\n\n{if_theirs}: open this link and press the button \
             on the page:\n\n{}\n\nThe link works once, for {}. Nothing changes until \
             it is used.\n\nIf it is not your account, or you did not expect this, do not open \
             the link: ignore this email and nothing changes.\n",
                d.link("/confirm-email", &link.token),
                link.lifetime_text(),
            ),
        };
        (email, Some(&link.token))
    };
    let notice = Email {
        to: user.email.clone(),
        subject: "Your email address is being changed".into(),
        body: format!(
            "{someone_asked} to change the email address of your Voice Console account to \
             {new_email}.\n\nThe change happens only when the link sent to that address is used. \
             {if_unexpected}\n"
        ),
    };
    match confirm {
        (email, Some(token)) => mail::enqueue_with_link(txn, &d.secrets, now, email, token).await?,
        (email, None) => mail::enqueue(txn, &d.secrets, now, email).await?,
    }
    mail::enqueue_notice(txn, &d.secrets, now, user, notice).await?;
    Ok(())
}

/// Whether an email-change link still works, the address it would make
/// the user's and who the user is ([`EmailChangeLink`]), for its page to
/// say before the button is pressed (refused as pressing it would be). It
/// only reads: mail scanners open links in advance.
pub async fn check_email_change_link(d: &Domain, token: &str) -> Result<EmailChangeLink, AppError> {
    let link = tokens::check(d, &d.read, token, Purpose::ChangeEmail).await?;
    let user = match user::Entity::find_by_id(link.user_id).one(&d.read).await? {
        Some(user) => {
            people::refuse_disabled(&user)?;
            if let Some(admin_id) = link.requested_by {
                refuse_unless_admin_still(&d.read, admin_id, user.account_id).await?;
            }
            user
        }
        None => return Err(AppError::field("token", tokens::LINK_INVALID)),
    };
    let new_email = link.new_email.ok_or(AppError::Internal)?;
    // Someone may have taken the address since the link was sent.
    if people::by_email(&d.read, &new_email).await?.is_some() {
        return Err(AppError::field("token", EMAIL_TAKEN));
    }
    Ok(EmailChangeLink {
        to: new_email,
        from: user.email_verified_at.is_some().then_some(user.email),
        signed_up: clock::shown(user.created_at),
    })
}

/// Why an email-change link an admin asked for no longer works.
pub const REQUESTER_GONE: &str = "This link no longer works: the admin who asked for it is no \
     longer an admin of your account. Ask an admin to change your address again.";

/// Refuses an admin's email-change link once that admin is not an active
/// admin of the account any more: removing an admin must also stop a change
/// they set up towards an address they read. Demoting, disabling and
/// deleting them on the Users tab, or an account merge demoting them,
/// withdraws such links at once (`tokens::expire_requested_by`); this
/// catches every other way an admin stops being one (a change made outside
/// the console).
/// Read under the account's lock when confirming.
async fn refuse_unless_admin_still(
    conn: &impl sea_orm::ConnectionTrait,
    admin_id: i32,
    account_id: i32,
) -> Result<(), AppError> {
    let admin = user::Entity::find_by_id(admin_id).one(conn).await?;
    let still =
        admin.is_some_and(|a| a.account_id == account_id && a.is_admin && a.disabled_at.is_none());
    if still {
        Ok(())
    } else {
        Err(AppError::field("token", REQUESTER_GONE))
    }
}

/// The button on the page an email-change link opens.
pub async fn confirm_email_change(
    d: &Domain,
    token: &str,
    client: Option<IpAddr>,
) -> Result<String, AppError> {
    let link = tokens::check(d, &d.read, token, Purpose::ChangeEmail).await?;
    let txn = d.begin().await?;
    let user = lock_account_of(&txn, link.user_id).await?;
    let used = tokens::consume(d, &txn, token, Purpose::ChangeEmail).await?;
    let new_email = used.new_email.ok_or(AppError::Internal)?;
    people::refuse_disabled(&user)?;
    if let Some(admin_id) = used.requested_by {
        refuse_unless_admin_still(&txn, admin_id, user.account_id).await?;
    }
    let old_email = user.email.clone();
    let notice = changed_notice(d, &txn, &user, &new_email, used.requested_by).await?;
    // Whether the old address was verified decides whether it hears of it.
    let before = user.clone();
    let mut active = user.into_active_model();
    active.email = Set(new_email.clone());
    active.email_verified_at = Set(Some(d.clock.now()));
    // Someone may have taken the address since the link was sent.
    let user = active.update(&txn).await.map_err(|e| match email_conflict(e) {
        AppError::Invalid(_) => AppError::field("token", EMAIL_TAKEN),
        other => other,
    })?;
    // A reset link went to the old address, which no longer speaks for the user.
    tokens::expire(d, &txn, user.id, Purpose::ResetPassword).await?;
    let event =
        Event::new(ActivityKind::EmailChanged, &new_email).detail(format!("from {old_email}"));
    activity::record(d, &txn, By::User(&user, client), event).await?;
    mail::enqueue_notice(&txn, &d.secrets, d.clock.now(), &before, notice).await?;
    txn.commit().await?;
    Ok(new_email)
}

/// The old address's notice that the change took effect, as it was told
/// when it was asked: its owner may have missed the first notice, and no
/// email about the account reaches them after this one. Bounded as the
/// link it follows is (one per link, each counted as an email change).
async fn changed_notice(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    user: &user::Model,
    new_email: &str,
    requested_by: Option<i32>,
) -> Result<Email, AppError> {
    let (by, if_unexpected) = match requested_by {
        None => (
            String::new(),
            format!(
                "If you did not expect this, {} or an admin of your company's account, who \
                 can change the address back.",
                d.contact_support()
            ),
        ),
        Some(admin_id) => (
            format!(
                ", as an admin of your account, {}, asked",
                people::named(&people::find(txn, admin_id).await?)
            ),
            format!(
                "If you did not expect this, contact that admin or another admin of your \
                 company's account, or {}.",
                d.contact_support()
            ),
        ),
    };
    Ok(Email {
        to: user.email.clone(),
        subject: "Your email address was changed".into(),
        body: format!(
            "The email address of your Voice Console account was changed from this address \
             to {new_email} on {}{by}. You now log in with {new_email}, and emails about the \
             account go there.\n\n{if_unexpected}\n",
            clock::shown(d.clock.now()),
        ),
    })
}
