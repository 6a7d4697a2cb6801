//! Invitations: the link an invited user gets (from an admin's Add User or
//! Send Password Reset, or an operator's `user add`), what its page does
//! (read, decline, activate), and the clean-up of invitations nobody
//! accepted. An invitation is an invited user row with an activation link;
//! while it waits, its address is held, within bounds: a link lasts 48
//! hours, the invitee goes [`INVITEE_HOLD`] after their last link expired
//! and [`INVITATION_MAX_AGE`] after the first, and a decline keeps the
//! account from inviting that address again for [`DECLINE_HOLD`].
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::hand_over::hand_over;
use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Admin;
use crate::domain::core::clock;
use crate::domain::core::crypto::token_hash;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people;
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::{lock_account, AccountOwned, Scoped};
use crate::domain::core::tokens::{self, Issued, Purpose};
use crate::domain::core::Domain;
use crate::domain::entity::{account, email_token, invitation_decline, user};
use crate::domain::identity::email_links;
use crate::domain::identity::log_in::LogIn;
use crate::model::{ActivityKind, AppError, Invitation, DECLINE_HOLD_DAYS};

pub use crate::domain::core::people::DECLINE_HOLD;
pub const DECLINE_EXPIRED: &str = "This invitation's link has expired, so there is nothing to \
     decline: an invitation nobody accepts is removed on its own within a week.";
/// What an invitation link says once it has been declined.
pub const LINK_DECLINED: &str = "This invitation was declined, so its link no longer works. \
     Nothing more is needed.";
/// What an invitation link the console does not know says. An invitation
/// that ends (deleted by an admin, or removed by the clean-up after it
/// expired) takes its links with it, and a used link is forgotten a month
/// after it would have expired, so a real link, opened late, ends here too:
/// "check that you copied it" alone sent its invitee looking for a typo.
pub const LINK_UNKNOWN: &str = "This invitation link is not valid. Check that you copied all of \
     it; if you did, the invitation has ended (it expired, or an admin withdrew it), so please \
     ask the admin who invited you for a new one. If you already activated your account, log \
     in instead.";
/// What an expired invitation link says: the generic "ask for a new one"
/// left its invitee, who has no log-in yet, to guess whom to ask. (Not
/// "the admin who invited you": an operator's `user add` invites too, and
/// the inviter may have gone since.)
pub const INVITATION_EXPIRED: &str = "This invitation link has expired. Please ask an admin of \
     the account to send you a new invitation.";
/// What an expired invitation link says once a newer invitation went to its
/// address: "ask for a new one" (or, declining, "nothing to decline") would
/// be untrue while the newer one waits.
pub const LINK_REPLACED: &str = "This invitation link has expired, but a newer invitation was \
     sent since (perhaps to a corrected address): please use the link in the newest invitation \
     email.";
/// Why a disabled user is sent no link that signs in.
pub const TARGET_DISABLED: &str =
    "This user is disabled. Enable them first; then they can get a link by email.";

/// The invitation. Anyone can sign up and name themself and their company
/// as they like, so the subject carries none of an account's own words, and
/// the body quotes the inviter's name (beside their verified address) and
/// the company's, quotes inside escaped: a made-up name ("Your bank", "The
/// Voice Console team") reads as a name someone typed, not as the platform
/// speaking.
/// `again`: sent again (Resend Invitation), so an invitee who kept an
/// earlier email must be told which one to use. Said as "if", since an
/// earlier one may never have arrived (not sent once its link was
/// replaced, or sent to an address corrected since).
fn invitation_email(
    d: &Domain,
    to: &str,
    company: &str,
    inviter: &str,
    link: &Issued,
    again: bool,
) -> Email {
    let again = match again {
        true => {
            " If you received an earlier invitation email, its link no longer works: \
                  use this one."
        }
        false => "",
    };
    Email {
        to: to.into(),
        subject: "Your invitation".into(),
        body: format!(
            "{inviter} invited you to join {company:?} on Voice Console.{again}\n\nTo choose \
             your password and log in, open this link and press the button on the page:\n\n\
             {}\n\nThe link works once, for {}. If it expires, ask the account's admin to \
             send a new one.\n\nNot expecting this? Open the same link and choose Decline \
             Invitation; they will not be able to invite this address again for \
             {DECLINE_HOLD_DAYS} days.\n",
            d.link("/activate", &link.token),
            link.lifetime_text(),
        ),
    }
}

/// Who sends an invitation: an admin of the account, or the operators
/// (`server user add`).
#[derive(Clone, Copy)]
pub enum Inviter<'a> {
    Admin(&'a Admin),
    Operator,
}

impl Inviter<'_> {
    /// How the invitation names them, read in the caller's transaction.
    async fn named(self, conn: &impl ConnectionTrait) -> Result<String, AppError> {
        match self {
            Inviter::Admin(admin) => {
                Ok(people::named(&people::find(conn, admin.member().user_id()).await?))
            }
            Inviter::Operator => Ok("The Voice Console team".into()),
        }
    }
}

async fn company(conn: &impl ConnectionTrait, account_id: i32) -> Result<String, AppError> {
    Ok(account::Entity::find_by_id(account_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?
        .company_name)
}

/// Counts an invitation an admin sends, per address, admin, account and
/// client address (verified accounts from one address, together, cannot use
/// up the platform's total); only a verified admin sends invitations.
pub(super) async fn spend_invitation(
    d: &Domain,
    txn: &DatabaseTransaction,
    admin: &Admin,
    to: &str,
) -> Result<(), AppError> {
    admin.member().verified(txn).await?;
    let who = Who {
        recipient: Some(to.to_owned()),
        actor: Some(admin.member().user_id()),
        account: Some(admin.account_id()),
        client: admin.member().address(),
        ..Who::default()
    };
    d.spend(txn, Action::Invitation, &who).await
}

/// Writes a fresh activation link for an invited user (the old one stops
/// working) in the caller's transaction. `again`: Resend Invitation, whose
/// email says that an earlier one's link no longer works.
pub async fn send_invitation(
    d: &Domain,
    txn: &DatabaseTransaction,
    user: &user::Model,
    inviter: Inviter<'_>,
    again: bool,
) -> Result<(), AppError> {
    if user.status != user::INVITED {
        return Err(AppError::field(
            "form",
            "This user has already activated their account: use Reset Password to send them a link.",
        ));
    }
    if user.disabled_at.is_some() {
        return Err(AppError::Conflict(TARGET_DISABLED.into()));
    }
    // A link sent now must work for its whole life before the clean-up
    // removes the invitee at INVITATION_MAX_AGE.
    if user.created_at + INVITATION_MAX_AGE - Purpose::Activate.lifetime() < d.clock.now() {
        return Err(AppError::Conflict(format!(
            "This invitation was first sent on {}, and an invitation is removed {} days after \
             that: a new link would not last its {}. Delete the user and add them again \
             to invite them anew.",
            clock::shown(user.created_at),
            INVITATION_MAX_AGE.num_days(),
            Purpose::Activate.lifetime_text(),
        )));
    }
    let link = tokens::issue(d, txn, user.id, Purpose::Activate, None, None).await?;
    let company = company(txn, user.account_id).await?;
    let inviter = inviter.named(txn).await?;
    let email = invitation_email(d, &user.email, &company, &inviter, &link, again);
    mail::enqueue_with_link(txn, &d.secrets, d.clock.now(), email, &link.token).await
}

/// Which of the invitees `user_ids` hold an invitation link that still
/// works (unused, unexpired), for the user table: the others wait on
/// nothing until an admin resends it. One query, none for no invitee.
pub(crate) async fn with_live_link<C: ConnectionTrait>(
    d: &Domain,
    conn: &C,
    user_ids: Vec<i32>,
) -> Result<std::collections::HashSet<i32>, AppError> {
    if user_ids.is_empty() {
        return Ok(Default::default());
    }
    let live: Vec<i32> = email_token::Entity::find()
        .select_only()
        .column(email_token::Column::UserId)
        .filter(email_token::Column::UserId.is_in(user_ids))
        .filter(email_token::Column::Purpose.eq(Purpose::Activate.as_str()))
        .filter(email_token::Column::UsedAt.is_null())
        .filter(email_token::Column::ExpiresAt.gt(d.clock.now()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(live.into_iter().collect())
}

/// How long an invited user keeps their address after their last
/// invitation link expired: then they are removed, so nobody's invitation
/// blocks an address for ever.
pub const INVITEE_HOLD: chrono::Duration = chrono::Duration::days(7);

/// How long an invitation holds its address however often it is sent
/// again: without a bound, an account resending every few days would keep
/// anyone's address from signing up for ever.
pub const INVITATION_MAX_AGE: chrono::Duration = chrono::Duration::days(30);

/// Removes invited users whose newest link expired more than
/// [`INVITEE_HOLD`] ago, or who were first invited more than
/// [`INVITATION_MAX_AGE`] ago (the `batch` oldest a run); what an admin gave them
/// passes to the account's longest-standing other active admin. An invitee
/// whose account has no such admin stays (an operator can help); they are
/// few, as the last active admin cannot be deleted or demoted. Returns how
/// many were removed.
pub async fn remove_expired_invitees(d: &Domain, batch: u64) -> Result<u64, AppError> {
    // Read a short page at a time, however many a run removes.
    const PAGE: u64 = 500;
    let now = d.clock.now();
    let expired = |query: sea_orm::Select<user::Entity>| query.filter(expired_invitees(now));
    let mut removed = 0;
    let mut after = 0;
    // Page by id, so invitees who must stay never hold up the others.
    while removed < batch {
        let page = expired(user::Entity::find())
            .filter(user::Column::Id.gt(after))
            .order_by_asc(user::Column::Id)
            .limit(batch.min(PAGE))
            .all(&d.db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        removed += remove_invitees(d, page, &expired).await?;
    }
    if removed > 0 {
        tracing::info!(removed, "removed invited users whose invitation expired");
    }
    Ok(removed)
}

/// The invited users [`remove_expired_invitees`] removes at `now`.
pub fn expired_invitees(now: chrono::DateTime<chrono::Utc>) -> Condition {
    let cutoff = now - INVITEE_HOLD;
    let unheld = Condition::all()
        .add(tokens::unheld(Purpose::Activate, cutoff))
        .add(user::Column::CreatedAt.lt(cutoff));
    Condition::all()
        .add(user::Column::Status.eq(user::INVITED))
        .add(Condition::any().add(unheld).add(user::Column::CreatedAt.lt(now - INVITATION_MAX_AGE)))
}

async fn remove_invitees(
    d: &Domain,
    candidates: Vec<user::Model>,
    expired: &impl Fn(sea_orm::Select<user::Entity>) -> sea_orm::Select<user::Entity>,
) -> Result<u64, AppError> {
    let mut removed = 0;
    for candidate in candidates {
        let txn = d.begin().await?;
        // Checked again under the account's lock (which a resend takes too):
        // an invitation sent or accepted a moment ago keeps the user.
        lock_account(&txn, candidate.account_id).await?;
        let Some(invitee) = expired(user::Entity::find_by_id(candidate.id)).one(&txn).await? else {
            continue;
        };
        // Moved meanwhile by a merge, whose account's lock this is not: left
        // to the next pass, which takes the right one.
        if invitee.account_id != candidate.account_id {
            continue;
        }
        let Some(heir) = heir_of(&txn, &invitee).await? else {
            tracing::warn!(user = invitee.id, "an expired invitee's account has no active admin");
            continue;
        };
        let handed_over = hand_over(d, &txn, &invitee, &heir).await?;
        removed += user::Entity::delete_by_id(invitee.id).exec(&txn).await?.rows_affected;
        // Nobody asked for this: without an event of its own, an admin saw
        // the invitee and their numbers' owner change with no reason given.
        let mut events = vec![Event::new(ActivityKind::InvitationExpired, &invitee.email)];
        events.extend(handed_over.events);
        let by = By::System { account_id: invitee.account_id };
        activity::record_all(d, &txn, by, events).await?;
        txn.commit().await?;
        handed_over.dropped.disconnect_unless_held(d).await;
    }
    Ok(removed)
}

/// Who receives what an admin gave an invitee who goes: the account's
/// longest-standing other active admin, if it has one.
async fn heir_of(
    txn: &DatabaseTransaction,
    invitee: &user::Model,
) -> Result<Option<user::Model>, AppError> {
    Ok(people::active_admins_but(&Scoped::account(invitee.account_id), invitee.id)
        .order_by_asc(user::Column::Id)
        .one(txn)
        .await?)
}

/// Decline Invitation, on the page an invitation link opens, by whoever holds
/// the link: the invitation is removed at once, and the account cannot invite
/// the address again for [`DECLINE_HOLD`], so nobody keeps mailing an address
/// that said no. What an admin gave the invitee passes to an heir as when an
/// invitation expires ([`heir_of`]). The link goes with the invitee, so
/// declining again or activating finds no such link.
pub async fn decline_invitation(d: &Domain, token: &str) -> Result<(), AppError> {
    let link = match tokens::check(d, &d.read, token, Purpose::Activate).await {
        Ok(link) => link,
        Err(err) => return Err(as_decline(why_not(d, token, err).await?)),
    };
    let account_id = user::Entity::find_by_id(link.user_id)
        .one(&d.db)
        .await?
        .ok_or(AppError::NotFound)?
        .account_id;
    let txn = d.begin().await?;
    // The lock every change of the account's users takes: an invitation sent
    // again or edited at this moment waits, then finds the invitee gone.
    lock_account(&txn, account_id).await?;
    tokens::consume(d, &txn, token, Purpose::Activate).await?;
    let invitee = user::Entity::find_by_id(link.user_id).one(&txn).await?;
    let Some(invitee) = invitee.filter(|u| u.status == user::INVITED) else {
        // A valid activation link belongs to an invited user; one made
        // active some other way has no invitation left to decline.
        return Err(AppError::field("token", tokens::LINK_USED));
    };
    if invitee.account_id != account_id {
        // Moved by an account merge since the lock was chosen.
        return Err(AppError::Conflict("Please try again.".into()));
    }
    let heir = heir_of(&txn, &invitee).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "This account has no active admin at the moment, so the invitation cannot be \
             declined now. Try again later, or ignore it: its link stops working at {}.",
            clock::shown(link.expires_at)
        ))
    })?;
    let handed_over = hand_over(d, &txn, &invitee, &heir).await?;
    user::Entity::delete_by_id(invitee.id).exec(&txn).await?;
    // An address that declines again, after an earlier hold ran out, moves
    // its time on (one row per account and address). In one statement: the
    // hourly clean-up, which takes no account's lock, may remove that
    // earlier row at any moment.
    use invitation_decline::Column;
    invitation_decline::Entity::insert(invitation_decline::ActiveModel {
        account_id: Set(account_id),
        email: Set(invitee.email.clone()),
        mailbox: Set(Some(quota::mailbox_of(&invitee.email))),
        declined_at: Set(d.clock.now()),
        link_hash: Set(Some(link.token_hash.clone())),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([invitation_decline::Entity::account_column(), Column::Email])
            .update_columns([Column::Mailbox, Column::DeclinedAt, Column::LinkHash])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    // Without the decliner's address: they owe the account that invited
    // them nothing, as an unknown address's failed log-in is nobody's.
    let mut events = vec![Event::new(ActivityKind::InvitationDeclined, &invitee.email)];
    events.extend(handed_over.events);
    activity::record_all(d, &txn, By::User(&invitee, None), events).await?;
    txn.commit().await?;
    handed_over.dropped.disconnect_unless_held(d).await;
    Ok(())
}

/// What the page an invitation link opens names before anything is pressed:
/// the account and the address invited. It only reads (mail scanners open
/// links in advance); a link that no longer works says why at once, in the
/// words pressing Activate would get.
/// `declining`: read for the decline page, whose refusals say what a
/// decline would ([`as_decline`]).
pub async fn read_invitation(
    d: &Domain,
    token: &str,
    declining: bool,
) -> Result<Invitation, AppError> {
    let link = match tokens::check(d, &d.read, token, Purpose::Activate).await {
        Ok(link) => link,
        Err(err) => {
            let err = why_not(d, token, err).await?;
            return Err(if declining { as_decline(err) } else { err });
        }
    };
    let invitee =
        user::Entity::find_by_id(link.user_id).one(&d.read).await?.ok_or(AppError::NotFound)?;
    // A disabled invitee's invitation is on hold: Activate is refused, but
    // whoever holds the address (perhaps not whom the admin meant) can
    // still decline it rather than wait for the clean-up.
    Ok(Invitation {
        company: company(&d.read, invitee.account_id).await?,
        email: invitee.email,
        on_hold: invitee.disabled_at.is_some(),
    })
}

/// The button on the page an activation link opens: sets the first password
/// and signs the new user in.
pub async fn activate(
    d: &Domain,
    token: &str,
    password: &str,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LogIn, AppError> {
    match email_links::redeem_password_link(
        d,
        token,
        Purpose::Activate,
        password,
        user_agent,
        client,
    )
    .await
    {
        Err(err) => Err(why_not(d, token, err).await?),
        done => done,
    }
}

/// `err` as said to someone declining: "ask for a new one" is no advice to
/// someone who wants none.
fn as_decline(err: AppError) -> AppError {
    match err.message_for("token").as_deref() == Some(INVITATION_EXPIRED) {
        true => AppError::field("token", DECLINE_EXPIRED),
        false => err,
    }
}

/// `err`, said for an invitation: an unknown link was declined (the
/// decline keeps its hash) or is [`LINK_UNKNOWN`]; an expired one is
/// [`LINK_REPLACED`] when its invitee has a newer link that works,
/// otherwise [`INVITATION_EXPIRED`]. On the read
/// pool: a link that does not work costs the single SQLite writer nothing,
/// however many anyone sends to the page.
async fn why_not(d: &Domain, token: &str, err: AppError) -> Result<AppError, AppError> {
    let said = err.message_for("token");
    if said.as_deref() == Some(tokens::LINK_EXPIRED) {
        let Some(invitee) = tokens::holder(&d.read, token, Purpose::Activate).await? else {
            return Ok(AppError::field("token", INVITATION_EXPIRED));
        };
        let newer = email_token::Entity::find()
            .filter(email_token::Column::UserId.eq(invitee))
            .filter(email_token::Column::Purpose.eq(Purpose::Activate.as_str()))
            .filter(email_token::Column::UsedAt.is_null())
            .filter(email_token::Column::ExpiresAt.gt(d.clock.now()))
            .one(&d.read)
            .await?;
        return Ok(AppError::field(
            "token",
            if newer.is_some() { LINK_REPLACED } else { INVITATION_EXPIRED },
        ));
    }
    // No link at all (the page opened bare) is no invitation that ended.
    if said.as_deref() != Some(tokens::LINK_INVALID) || token.trim().is_empty() {
        return Ok(err);
    }
    let declined = invitation_decline::Entity::find()
        .filter(invitation_decline::Column::LinkHash.eq(token_hash(token.trim())))
        .one(&d.read)
        .await?;
    Ok(match declined {
        Some(_) => AppError::field("token", LINK_DECLINED),
        None => AppError::field("token", LINK_UNKNOWN),
    })
}
