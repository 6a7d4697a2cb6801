//! The admin's user table and the rules that keep an account safe.
use app::domain::admin::invitations;
use app::domain::admin::users::{self, UserEdit, UserForm, LAST_ADMIN, NOT_YOURSELF, OWN_EMAIL};
use app::domain::core::actor::{Admin, NOT_ADMIN};
use app::domain::core::directory::{self, PAGE_SIZE};
use app::domain::core::edits::changed_meanwhile;
use app::domain::core::people::EMAIL_TAKEN;
use app::domain::core::tokens::{link_withdrawn, Purpose};
use app::domain::core::Domain;
use app::domain::entity::{
    activity_event, email_outbox as outbox, invitation_decline, session, user,
};
use app::domain::identity::email_links::{self, REQUESTER_GONE};
use app::domain::identity::sessions;
use app::domain::testing::log_in_by_password;
use app::domain::testing::{
    account_with_admin, add_user, body_of, fresh_concurrent_domain, fresh_domain, link_token,
    query_plan, Snapshot, PASSWORD,
};
use app::model::{AppError, UserPage, UserRow, UserSort};
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

fn form(first: &str, email: &str) -> UserForm {
    UserForm {
        first_name: first.into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    }
}

/// The one email sent to `to`.
async fn email_to(d: &Domain, to: &str) -> outbox::Model {
    let sent = outbox::Entity::find().filter(outbox::Column::ToAddress.eq(to)).all(&d.db).await;
    let mut sent = sent.unwrap();
    assert_eq!(sent.len(), 1, "one email to {to}");
    sent.remove(0)
}

#[tokio::test]
async fn an_invited_user_activates_with_a_single_use_48_hour_link() {
    let (d, clock) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let row =
        users::invite(&d, &admin, UserForm { can_create: true, ..form("Bob", "Bob@Example.com") })
            .await
            .unwrap();
    assert!(row.invited && row.can_create && !row.can_share && !row.is_admin);
    assert_eq!(row.email, "bob@example.com");
    // Whoever signs up names their company as they like: the subject carries
    // none of it, and the body quotes it beside who invited.
    let sent = email_to(&d, "bob@example.com").await;
    assert_eq!(sent.subject, "Your invitation");
    let inviter =
        "\"Ada Lovelace\" (ada@example.com) invited you to join \"Acme\" on Voice Console.";
    let body = body_of(&d, &sent);
    assert!(body.starts_with(inviter), "{body}");
    assert!(!body.contains("earlier invitation"), "a first invitation replaces nothing: {body}");
    // The time as well as the length: an email may arrive hours late.
    let until = app::domain::core::clock::shown(d.clock.now() + Duration::hours(48));
    assert!(body.contains(&format!("works once, for 48 hours, until {until}.")), "{body}");
    let token = link_token(&d, "bob@example.com", "/activate").await;
    // The failed log-in is counted (login_failures) and recorded; nothing
    // else changes.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let guess = log_in_by_password(&d, "bob@example.com", "A-Guess-9", "t").await;
    assert!(guess.is_err(), "no password yet");
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed bob@example.com"]);

    let before = Snapshot::take(&d).await;
    let weak = invitations::activate(&d, &token, "password1", "t", None).await.err().unwrap();
    assert!(weak.message_for("new_password").is_some());
    before.assert_unchanged(&d).await;
    let session = invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None)
        .await
        .and_then(app::domain::identity::log_in::LogIn::into_session)
        .unwrap();
    assert!(!session.member.is_admin());
    assert!(log_in_by_password(&d, "bob@example.com", "Maple-Canyon-Drift-19", "t").await.is_ok());
    let before = Snapshot::take(&d).await;
    let again =
        invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None).await.err().unwrap();
    assert!(again.message_for("token").unwrap().contains("already been used"));
    before.assert_unchanged(&d).await;

    // A second invitation's link expires after 48 hours; a resend replaces it.
    // The table says when an invitee waits on a link that expired.
    let carl = users::invite(&d, &admin, form("Carl", "carl@example.com")).await.unwrap();
    assert!(carl.invited && !carl.invitation_expired);
    let first = link_token(&d, "carl@example.com", "/activate").await;
    let carls_row = |d: Domain, admin: Admin| async move {
        let page = users::list_users(&d, &admin, "carl", UserSort::Email, None).await.unwrap();
        let row = page.rows.into_iter().next().unwrap();
        (row.invited, row.invitation_expired)
    };
    clock.advance(Duration::hours(47));
    assert_eq!(carls_row(d.clone(), admin.clone()).await, (true, false));
    clock.advance(Duration::hours(2));
    assert_eq!(carls_row(d.clone(), admin.clone()).await, (true, true));
    let before = Snapshot::take(&d).await;
    let late =
        invitations::activate(&d, &first, "Maple-Canyon-Drift-19", "t", None).await.err().unwrap();
    assert_eq!(late.message_for("token").unwrap(), invitations::INVITATION_EXPIRED);
    before.assert_unchanged(&d).await;
    users::resend_invitation(&d, &admin, carl.id).await.unwrap();
    assert_eq!(carls_row(d.clone(), admin.clone()).await, (true, false));
    // The resent email says the earlier one's link stopped working.
    let resent = outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq("carl@example.com"))
        .order_by_desc(outbox::Column::Id)
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    let body = body_of(&d, &resent);
    assert!(
        body.contains("If you received an earlier invitation email, its link no longer works"),
        "{body}"
    );
    let fresh = link_token(&d, "carl@example.com", "/activate").await;
    assert!(invitations::activate(&d, &fresh, "Maple-Canyon-Drift-19", "t", None).await.is_ok());
    // Once active, there is no invitation to send again.
    let before = Snapshot::take(&d).await;
    let refused = users::resend_invitation(&d, &admin, carl.id).await.unwrap_err();
    assert_eq!(
        refused.message_for("form").as_deref(),
        Some("This user has already activated their account: use Reset Password to send them a link.")
    );
    before.assert_unchanged(&d).await;
}

/// An admin who names themself and their company to look like the platform
/// (or a bank) still cannot write an invitation that reads as the
/// platform's own: both names are quoted, quotes inside escaped, and the
/// verified address stands beside the inviter's.
#[tokio::test]
async fn an_invitation_cannot_pass_for_the_platform() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Voice Console\" Security", "ada@example.com").await;
    let row = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut row = row.into_active_model();
    (row.first_name, row.last_name) = (Set("The Voice Console".into()), Set("team".into()));
    row.update(&d.db).await.unwrap();
    users::invite(&d, &ada.admin().unwrap(), form("Bob", "bob@example.com")).await.unwrap();
    let sent = email_to(&d, "bob@example.com").await;
    assert_eq!(sent.subject, "Your invitation");
    let body = body_of(&d, &sent);
    let first = body.lines().next().unwrap();
    assert_eq!(
        first,
        r#""The Voice Console team" (ada@example.com) invited you to join "Voice Console\" Security" on Voice Console."#
    );
}

/// A decline hands what the invitee was given to another active admin
/// (`phone_numbers.rs` shows the hand-over); with none at the moment, it is
/// refused and the link is not used up.
#[tokio::test]
async fn a_decline_with_no_active_admin_to_inherit_changes_nothing() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
    let token = link_token(&d, "cy@example.com", "/activate").await;
    let ada = user::Entity::find_by_id(admin.member().user_id()).one(&d.db).await.unwrap().unwrap();
    let mut disabled: user::ActiveModel = ada.clone().into();
    disabled.disabled_at = sea_orm::Set(Some(d.clock.now()));
    sea_orm::ActiveModelTrait::update(disabled, &d.db).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = invitations::decline_invitation(&d, &token).await;
    assert!(matches!(&refused, Err(AppError::Conflict(m)) if m.contains("no active admin")));
    before.assert_unchanged(&d).await;
    let mut enabled: user::ActiveModel = ada.into();
    enabled.disabled_at = sea_orm::Set(None);
    sea_orm::ActiveModelTrait::update(enabled, &d.db).await.unwrap();
    invitations::decline_invitation(&d, &token).await.unwrap();
}

/// Whoever an invitation reaches can decline it from the link's page: the
/// invitation goes, and its account cannot invite the address again for the
/// hold, while another account can.
#[tokio::test]
async fn a_declined_invitation_is_removed_and_the_address_is_not_invited_again_for_a_while() {
    let (d, clock) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let dee = users::invite(&d, &admin, form("Dee", "dee@example.com")).await.unwrap();
    let cy = users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
    let invitation = outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq("cy@example.com"))
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    assert!(body_of(&d, &invitation).contains("Decline Invitation"), "the email says how");
    let token = link_token(&d, "cy@example.com", "/activate").await;
    let dee_first = link_token(&d, "dee@example.com", "/activate").await;
    users::resend_invitation(&d, &admin, dee.id).await.unwrap();

    let before = Snapshot::take(&d).await;
    let wrong = invitations::decline_invitation(&d, "not-the-link").await.err().unwrap();
    assert_eq!(wrong.message_for("token").as_deref(), Some(invitations::LINK_UNKNOWN));
    // No link at all is no invitation that ended.
    let bare = invitations::read_invitation(&d, " ", false).await.err().unwrap();
    assert_eq!(bare.message_for("token").as_deref(), Some(app::domain::core::tokens::LINK_INVALID));
    // A link a newer invitation replaced declines nothing, and says where
    // the link that still works is.
    let replaced = invitations::decline_invitation(&d, &dee_first).await.err().unwrap();
    assert_eq!(replaced.message_for("token").as_deref(), Some(link_withdrawn(Purpose::Activate)));
    // An expired link is told so, without "ask for a new one".
    clock.advance(Duration::hours(49));
    let late = invitations::decline_invitation(&d, &token).await.err().unwrap();
    assert_eq!(late.message_for("token").as_deref(), Some(invitations::DECLINE_EXPIRED));
    before.assert_unchanged(&d).await;
    users::resend_invitation(&d, &admin, cy.id).await.unwrap();
    // Sent again since, the expired link points to the newest one rather
    // than saying there is nothing to decline or to ask for a new one.
    let before = Snapshot::take(&d).await;
    let replaced = Some(invitations::LINK_REPLACED);
    let old = invitations::decline_invitation(&d, &token).await.err().unwrap();
    assert_eq!(old.message_for("token").as_deref(), replaced);
    let read = invitations::read_invitation(&d, &token, false).await.err().unwrap();
    assert_eq!(read.message_for("token").as_deref(), replaced);
    let activated = invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None).await;
    assert_eq!(activated.err().unwrap().message_for("token").as_deref(), replaced);
    before.assert_unchanged(&d).await;
    let token = link_token(&d, "cy@example.com", "/activate").await;

    invitations::decline_invitation(&d, &token).await.unwrap();
    assert!(user::Entity::find_by_id(cy.id).one(&d.db).await.unwrap().is_none());
    let events = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("user.invitation_declined"))
        .all(&d.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].account_id, events[0].target.as_str()),
        (admin.account_id(), "cy@example.com")
    );

    // The link went with the invitation: neither declining again nor
    // activating does anything, and each says the link was declined.
    let before = Snapshot::take(&d).await;
    let again = invitations::decline_invitation(&d, &token).await.err().unwrap();
    assert_eq!(again.message_for("token").as_deref(), Some(invitations::LINK_DECLINED));
    let activated = invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None).await;
    assert_eq!(
        activated.err().unwrap().message_for("token").as_deref(),
        Some(invitations::LINK_DECLINED)
    );
    let forged =
        invitations::activate(&d, "not-the-link", "Maple-Canyon-Drift-19", "t", None).await;
    assert_eq!(
        forged.err().unwrap().message_for("token").as_deref(),
        Some(invitations::LINK_UNKNOWN)
    );
    // Acme cannot invite the address again, nor move another invitation to it.
    let invited = users::invite(&d, &admin, form("Cy", " CY@example.com")).await.err().unwrap();
    let declined = invited.message_for("email").unwrap();
    assert!(declined.contains("declined an invitation"), "{declined}");
    let moved = users::update(&d, &admin, dee.id, form("Dee", "cy@example.com")).await;
    assert_eq!(moved.err().unwrap().message_for("email").as_deref(), Some(declined.as_str()));
    before.assert_unchanged(&d).await;
    // Nor send an active user's email-change link there.
    let bob = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    let before = Snapshot::take(&d).await;
    let active = users::update(&d, &admin, bob.user_id(), form("Bob", "cy@example.com")).await;
    assert_eq!(active.err().unwrap().message_for("email").as_deref(), Some(declined.as_str()));
    before.assert_unchanged(&d).await;
    // Nor may a user of Acme, the admin included, ask for it as their own
    // new address: the confirmation would be Acme's mail all the same.
    for asker in [&bob, admin.member()] {
        let before = Snapshot::take(&d).await;
        let own = app::domain::identity::email_links::request_email_change(
            &d,
            asker,
            app::domain::testing::PASSWORD,
            "Cy@example.com",
            "",
        );
        let refused = own.await.err().unwrap().message_for("new_email").unwrap();
        assert_eq!(refused, declined, "the refusal an admin's edit gets");
        before.assert_unchanged(&d).await;
    }

    // Another account, ten days later, is not held back by Acme's refusal.
    clock.advance(Duration::days(10));
    let other = account_with_admin(&d, "Other", "eve@other.example").await.admin().unwrap();
    users::invite(&d, &other, form("Cy", "cy@example.com")).await.unwrap();
    let theirs = link_token(&d, "cy@example.com", "/activate").await;
    invitations::decline_invitation(&d, &theirs).await.unwrap();

    // Once the hold is over, Acme may invite the address again, and the
    // hourly clean-up forgets the decline.
    clock.advance(invitations::DECLINE_HOLD - Duration::days(10) - Duration::minutes(1));
    let before = Snapshot::take(&d).await;
    let late = users::invite(&d, &admin, form("Cy", "cy@example.com")).await.err().unwrap();
    assert_eq!(late.message_for("email").as_deref(), Some(declined.as_str()));
    before.assert_unchanged(&d).await;
    clock.advance(Duration::minutes(2));
    users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
    let kept = || invitation_decline::Entity::find().count(&d.db);
    assert_eq!(kept().await.unwrap(), 2, "Acme's and Other's, until the clean-up");
    app::domain::jobs::forget_expired(&d).await.unwrap();
    assert_eq!(kept().await.unwrap(), 1, "Other's decline came later and still holds");
}

/// An address that declines again once its hold ran out, before the
/// hourly clean-up forgot the first decline, keeps one row, moved on: the
/// new hold starts from the second decline, and its link says it was declined.
#[tokio::test]
async fn a_second_decline_after_the_hold_moves_the_one_decline_on() {
    let (d, clock) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
    let first = link_token(&d, "cy@example.com", "/activate").await;
    invitations::decline_invitation(&d, &first).await.unwrap();
    clock.advance(invitations::DECLINE_HOLD + Duration::minutes(1));
    users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
    let second = link_token(&d, "cy@example.com", "/activate").await;
    invitations::decline_invitation(&d, &second).await.unwrap();
    let declines = invitation_decline::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(declines.len(), 1, "{declines:?}");
    assert_eq!(declines[0].declined_at, d.clock.now());
    let before = Snapshot::take(&d).await;
    let again = invitations::decline_invitation(&d, &second).await.err().unwrap();
    assert_eq!(again.message_for("token").as_deref(), Some(invitations::LINK_DECLINED));
    let held = users::invite(&d, &admin, form("Cy", "cy@example.com")).await.err().unwrap();
    assert!(held.message_for("email").unwrap().contains("declined an invitation"), "{held:?}");
    before.assert_unchanged(&d).await;
}

/// A decline holds back the person, not one spelling of their address: a
/// tag or Gmail's dots would otherwise start the invitations again at once.
#[tokio::test]
async fn a_decline_holds_back_every_spelling_of_its_mailbox() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let waiting = users::invite(&d, &admin, form("Cy", "cy+home@example.com")).await.unwrap();
    for declined in ["cy+work@example.com", "c.y@gmail.com"] {
        users::invite(&d, &admin, form("Cy", declined)).await.unwrap();
        let token = link_token(&d, declined, "/activate").await;
        invitations::decline_invitation(&d, &token).await.unwrap();
    }
    let bob = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    let before = Snapshot::take(&d).await;
    for spelling in
        ["cy@example.com", "CY+news@example.com", "cy@gmail.com", "c.y+x@googlemail.com"]
    {
        let invited = users::invite(&d, &admin, form("Cy", spelling)).await.err().unwrap();
        let refusal = invited.message_for("email").unwrap();
        assert!(refusal.contains("declined an invitation"), "{spelling}: {refusal}");
        let own = app::domain::identity::email_links::request_email_change(
            &d, &bob, PASSWORD, spelling, "",
        );
        assert_eq!(own.await.err().unwrap().message_for("new_email").unwrap(), refusal);
    }
    // Nor does an invitation sent to another spelling before the decline
    // go out again.
    let resent = users::resend_invitation(&d, &admin, waiting.id).await.unwrap_err();
    assert!(matches!(&resent, AppError::Conflict(m) if m.contains("declined an invitation")));
    before.assert_unchanged(&d).await;
    // Another mailbox at the same domain, or the same name elsewhere, is
    // someone else.
    users::invite(&d, &admin, form("Cyd", "cyd@example.com")).await.unwrap();
    users::invite(&d, &admin, form("Cy", "cy@example.org")).await.unwrap();
}

/// Declines written before the mailbox was kept hold their exact address,
/// as they did, until they run out.
#[tokio::test]
async fn a_decline_written_before_mailboxes_holds_its_exact_address() {
    use sea_orm::{ActiveModelTrait, Set};
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    invitation_decline::ActiveModel {
        account_id: Set(admin.account_id()),
        email: Set("cy+work@example.com".into()),
        mailbox: Set(None),
        declined_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    let before = Snapshot::take(&d).await;
    let held = users::invite(&d, &admin, form("Cy", "cy+work@example.com")).await.err().unwrap();
    assert!(held.message_for("email").unwrap().contains("declined an invitation"));
    before.assert_unchanged(&d).await;
    users::invite(&d, &admin, form("Cy", "cy@example.com")).await.unwrap();
}

#[tokio::test]
async fn emails_stay_unique_across_all_accounts() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    account_with_admin(&d, "Other", "eve@other.example").await;
    let before = Snapshot::take(&d).await;
    let err = users::invite(&d, &admin, form("Eve", " EVE@other.example")).await.err().unwrap();
    assert_eq!(err.message_for("email").as_deref(), Some(app::domain::core::people::EMAIL_TAKEN));
    before.assert_unchanged(&d).await;
    // Add User's bad input is refused beside each field, with no user and
    // no email written.
    let bad = UserForm { last_name: " ".into(), ..form("Bob", "not-an-address") };
    let err = users::invite(&d, &admin, bad).await.err().unwrap();
    assert_eq!(err.message_for("last_name").as_deref(), Some("Last Name is required."));
    assert_eq!(
        err.message_for("email").as_deref(),
        Some("Enter an email address like name@example.com.")
    );
    before.assert_unchanged(&d).await;
    let bob = users::invite(&d, &admin, form("Bob", "bob@example.com")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let err =
        users::update(&d, &admin, bob.id, form("Bob", "eve@other.example")).await.err().unwrap();
    assert_eq!(err.message_for("email").as_deref(), Some(app::domain::core::people::EMAIL_TAKEN));
    // A bad form is refused beside each field it gets wrong, before the
    // admin's change is counted (the snapshot leaves change counts out).
    use app::domain::entity::quota_counter;
    let changes = format!("change:actor:{}", admin.member().user_id());
    let counted = || quota_counter::Entity::find_by_id(changes.clone()).one(&d.db);
    let counted_before = counted().await.unwrap().map(|c| c.count);
    let bad = UserForm { last_name: "".into(), ..form(" ", "not-an-address") };
    let err = users::update(&d, &admin, bob.id, bad).await.err().unwrap();
    assert_eq!(counted().await.unwrap().map(|c| c.count), counted_before);
    assert_eq!(err.message_for("first_name").as_deref(), Some("First Name is required."));
    assert_eq!(err.message_for("last_name").as_deref(), Some("Last Name is required."));
    assert_eq!(
        err.message_for("email").as_deref(),
        Some("Enter an email address like name@example.com.")
    );
    before.assert_unchanged(&d).await;
    assert_eq!(user::Entity::find().count(&d.db).await.unwrap(), 3);
}

#[tokio::test]
async fn editing_an_invited_users_email_sends_the_invitation_to_the_new_address() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let bob = users::invite(&d, &admin, form("Bob", "bob@example.com")).await.unwrap();
    let old = link_token(&d, "bob@example.com", "/activate").await;
    let updated =
        users::update(&d, &admin, bob.id, form("Robert", "rob@example.com")).await.unwrap();
    assert_eq!(
        (updated.first_name.as_str(), updated.email.as_str()),
        ("Robert", "rob@example.com")
    );
    let new = link_token(&d, "rob@example.com", "/activate").await;
    let before = Snapshot::take(&d).await;
    let void = invitations::activate(&d, &old, "Maple-Canyon-Drift-19", "t", None).await;
    let withdrawn = link_withdrawn(Purpose::Activate);
    assert_eq!(void.err().unwrap().message_for("token").as_deref(), Some(withdrawn));
    before.assert_unchanged(&d).await;
    assert!(invitations::activate(&d, &new, "Maple-Canyon-Drift-19", "t", None).await.is_ok());
}

/// An address stored under older rules (one the mailer cannot address,
/// taken before the check refused it) does not block the user's other
/// edits while the form leaves it as it is; a new address must pass.
#[tokio::test]
async fn an_address_stored_under_older_rules_does_not_block_other_edits() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let stored = user::Entity::find_by_id(bob.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut old_rules = stored.into_active_model();
    old_rules.email = Set(".bob@example.com".into());
    old_rules.update(&d.db).await.unwrap();
    let renamed =
        users::update(&d, &admin, bob.user_id(), form("Robert", ".bob@example.com")).await.unwrap();
    assert_eq!(
        (renamed.first_name.as_str(), renamed.email.as_str()),
        ("Robert", ".bob@example.com")
    );
    let before = Snapshot::take(&d).await;
    let refused = users::update(&d, &admin, bob.user_id(), form("Robert", "..bob@example.com"))
        .await
        .unwrap_err();
    assert!(refused.message_for("email").is_some(), "{refused:?}");
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn editing_an_active_users_email_waits_for_confirmation_from_the_new_address() {
    let (d, clock) = fresh_domain().await;
    let admin_member = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = admin_member.admin().unwrap();
    let bob = add_user(&d, admin_member.account_id(), "bob@example.com", false).await;
    let updated = users::update(
        &d,
        &admin,
        bob.user_id(),
        UserForm { can_share: true, ..form("Bob", "bobby@example.com") },
    )
    .await
    .unwrap();
    assert_eq!(updated.email, "bob@example.com", "not until confirmed");
    assert_eq!(updated.pending_email.as_deref(), Some("bobby@example.com"));
    assert!(updated.can_share);
    // The log does not say the address changed before it has.
    let logged = activity_event::Entity::find()
        .filter(activity_event::Column::Target.eq("bob@example.com"))
        .all(&d.db)
        .await
        .unwrap();
    let detail = logged.last().and_then(|e| e.detail.clone()).unwrap_or_default();
    assert!(
        detail.ends_with("; email change to bobby@example.com awaits confirmation"),
        "{detail}"
    );
    assert!(!detail.contains("email: "), "{detail}");
    // The table shows the change waiting on Bob's row only, and an edit of
    // his name alone keeps it waiting.
    let pending = |d: Domain, admin: Admin| async move {
        let page = users::list_users(&d, &admin, "", UserSort::Email, None).await.unwrap();
        page.rows.into_iter().map(|r| (r.email, r.pending_email)).collect::<Vec<_>>()
    };
    let waiting = vec![
        ("ada@example.com".to_owned(), None),
        ("bob@example.com".to_owned(), Some("bobby@example.com".to_owned())),
    ];
    assert_eq!(pending(d.clone(), admin.clone()).await, waiting);
    let renamed =
        users::update(&d, &admin, bob.user_id(), form("Robert", "bob@example.com")).await.unwrap();
    assert_eq!(renamed.pending_email.as_deref(), Some("bobby@example.com"));
    assert_eq!(pending(d.clone(), admin.clone()).await, waiting);
    // Both emails say which admin asked, not Bob; the new address, which
    // may be anyone's, is told which account by the address it has now.
    let asked = [
        (
            "bobby@example.com",
            "An admin of their account, \"Ada Lovelace\" (ada@example.com), asked that the \
             Voice Console user bob@example.com log in",
        ),
        (
            "bob@example.com",
            "An admin of your company's account, \"Ada Lovelace\" (ada@example.com), asked",
        ),
    ];
    for (to, opening) in asked {
        let sent = outbox::Entity::find().filter(outbox::Column::ToAddress.eq(to)).one(&d.db);
        let sent = sent.await.unwrap().unwrap();
        let body = body_of(&d, &sent);
        assert!(body.starts_with(opening), "{to}: {body}");
        // A new password would not stop an admin's change.
        assert!(!body.contains("change your password"), "{to}");
    }
    let token = link_token(&d, "bobby@example.com", "/confirm-email").await;
    app::domain::identity::email_links::confirm_email_change(&d, &token, None).await.unwrap();
    assert!(log_in_by_password(&d, "bobby@example.com", PASSWORD, "t").await.is_ok());
    // The old address hears it happened, and at whose asking.
    let told = outbox::Entity::find().filter(outbox::Column::ToAddress.eq("bob@example.com"));
    let told = told.order_by_desc(outbox::Column::Id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(told.subject, "Your email address was changed");
    let body = body_of(&d, &told);
    let by = "to bobby@example.com on ";
    assert!(body.contains(by), "{body}");
    assert!(
        body.contains(", as an admin of your account, \"Ada Lovelace\" (ada@example.com), asked."),
        "{body}"
    );
    assert!(body.contains("contact that admin or another admin"), "{body}");
    let confirmed =
        vec![("ada@example.com".to_owned(), None), ("bobby@example.com".to_owned(), None)];
    assert_eq!(pending(d.clone(), admin.clone()).await, confirmed);

    // A change whose link has expired waits on nothing.
    users::update(&d, &admin, bob.user_id(), form("Robert", "rob@example.com")).await.unwrap();
    assert_eq!(pending(d.clone(), admin.clone()).await[1].1.as_deref(), Some("rob@example.com"));
    clock.advance(Purpose::ChangeEmail.lifetime() + Duration::seconds(1));
    assert_eq!(pending(d.clone(), admin.clone()).await, confirmed);
}

/// An email change an admin asked for stops working once that admin is no
/// longer an active admin of the account, whichever way they went: a
/// removed admin must not move a colleague's address to one they read. The
/// Users tab's removals withdraw the link at once (the change no longer
/// shows as waiting); any other way is refused when the link is used.
#[tokio::test]
async fn an_admins_email_change_link_stops_when_the_admin_is_removed() {
    for removal in ["demoted", "disabled", "deleted", "merged away", "demoted elsewhere"] {
        let (d, _) = fresh_domain().await;
        let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
        let gil = account_with_admin(&d, "Globex", "gil@example.com").await.admin().unwrap();
        let mal = add_user(&d, ada.account_id(), "mal@example.com", true).await;
        let val = add_user(&d, ada.account_id(), "val@example.com", false).await;
        let (ada, mal_admin) = (ada.admin().unwrap(), mal.admin().unwrap());
        users::update(&d, &mal_admin, val.user_id(), form("Val", "val@mal.example")).await.unwrap();
        let token = link_token(&d, "val@mal.example", "/confirm-email").await;
        match removal {
            "demoted" => users::update(&d, &ada, mal.user_id(), form("Mal", "mal@example.com"))
                .await
                .map(|_| ()),
            "disabled" => users::disable(&d, &ada, mal.user_id()).await.map(|_| ()),
            "deleted" => users::delete(&d, &ada, mal.user_id()).await,
            // The operator merges Acme into Globex: Acme's admins become users.
            "merged away" => {
                let operator = app::domain::core::actor::Operator::from_command_line();
                let merged = app::domain::operator::merge_accounts(
                    &d,
                    &operator,
                    "ada@example.com",
                    "gil@example.com",
                );
                merged.await.map(|_| ())
            }
            _ => user::Entity::update_many()
                .col_expr(user::Column::IsAdmin, sea_orm::sea_query::Expr::value(false))
                .filter(user::Column::Id.eq(mal.user_id()))
                .exec(&d.db)
                .await
                .map(|_| ())
                .map_err(AppError::from),
        }
        .unwrap();
        let why = match removal {
            "demoted elsewhere" => REQUESTER_GONE,
            _ => link_withdrawn(Purpose::ChangeEmail),
        };
        if why != REQUESTER_GONE {
            let admin = if removal == "merged away" { &gil } else { &ada };
            let page = users::list_users(&d, admin, "", UserSort::Email, None).await.unwrap();
            let val_row = page.rows.iter().find(|r| r.id == val.user_id()).unwrap();
            assert_eq!(val_row.pending_email, None, "{removal}: nothing waits any more");
        }
        let page = email_links::check_email_change_link(&d, &token).await.err().unwrap();
        assert_eq!(page.message_for("token").as_deref(), Some(why), "{removal}");
        let before = Snapshot::take(&d).await;
        let refused = email_links::confirm_email_change(&d, &token, None).await.err().unwrap();
        assert_eq!(refused.message_for("token").as_deref(), Some(why), "{removal}");
        before.assert_unchanged(&d).await;
        let val_now = user::Entity::find_by_id(val.user_id()).one(&d.db).await.unwrap().unwrap();
        assert_eq!(val_now.email, "val@example.com", "{removal}");
    }
}

/// `form` (no admin) for the account's last admin, `id`: refused beside the field.
async fn refused_as_last_admin(d: &Domain, admin: &Admin, id: i32, form: UserForm) {
    let err = users::update(d, admin, id, form).await.err().unwrap();
    assert_eq!(err.message_for("is_admin").unwrap(), LAST_ADMIN);
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_deleted_and_nobody_deletes_themself() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let before = Snapshot::take(&d).await;
    refused_as_last_admin(&d, &admin, ada.user_id(), form("Ada", "ada@example.com")).await;
    assert_eq!(
        users::delete(&d, &admin, ada.user_id()).await,
        Err(AppError::Forbidden(NOT_YOURSELF.into()))
    );
    before.assert_unchanged(&d).await;

    // With a second admin, one may step down.
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    users::update(&d, &admin, ada.user_id(), form("Ada", "ada@example.com")).await.unwrap();
    // Now Ada is no admin: her old capability no longer works...
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::delete(&d, &admin, grace.user_id()).await,
        Err(AppError::Forbidden(NOT_ADMIN.into()))
    );
    // ...and Grace, the last admin, cannot be demoted.
    let grace_admin = grace.admin().unwrap();
    let demoted = form("Grace", "grace@example.com");
    refused_as_last_admin(&d, &grace_admin, grace.user_id(), demoted).await;
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn an_invited_admin_does_not_count_until_they_activate() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    // A mistyped address: the link may never be opened, and when it expires
    // the invitation is removed.
    users::invite(&d, &admin, UserForm { is_admin: true, ..form("Cy", "cy@typo.example") })
        .await
        .unwrap();
    let before = Snapshot::take(&d).await;
    refused_as_last_admin(&d, &admin, ada.user_id(), form("Ada", "ada@example.com")).await;
    before.assert_unchanged(&d).await;

    // Once Cy has activated, Ada may step down.
    let token = link_token(&d, "cy@typo.example", "/activate").await;
    invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None).await.unwrap();
    let ada_row =
        users::update(&d, &admin, ada.user_id(), form("Ada", "ada@example.com")).await.unwrap();
    assert!(!ada_row.is_admin);
}

#[tokio::test]
async fn an_admin_changes_their_own_email_only_where_the_password_is_asked() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let before = Snapshot::take(&d).await;
    let mine = UserForm { is_admin: true, ..form("Ada", "eve@attacker.example") };
    let err = users::update(&d, &admin, ada.user_id(), mine).await.err().unwrap();
    assert_eq!(err.message_for("email").unwrap(), OWN_EMAIL);
    // Refused before a change or a lookup is counted.
    before.assert_nothing_counted(&d).await;
    // Her name still changes from the table.
    let renamed = UserForm { is_admin: true, ..form("Adeline", "ada@example.com") };
    let row = users::update(&d, &admin, ada.user_id(), renamed).await.unwrap();
    assert_eq!(row.first_name, "Adeline");
}

/// Ada and Grace, the two admins of one account, each acting on the other at
/// the same moment through `act` (the domain, the acting admin, the other's
/// id and email), on a database with several connections (a file on
/// SQLite), so the two changes really run at once. Returns both results.
async fn two_admins_at_once<T, F, Fut>(act: F) -> (Domain, [Result<T, AppError>; 2])
where
    F: Fn(Domain, Admin, i32, &'static str) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
    T: Send + 'static,
{
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let (a, g) = (ada.admin().unwrap(), grace.admin().unwrap());
    let on_grace = tokio::spawn(act(d.clone(), a, grace.user_id(), "grace@example.com"));
    let on_ada = tokio::spawn(act(d.clone(), g, ada.user_id(), "ada@example.com"));
    let results = [on_grace.await.unwrap(), on_ada.await.unwrap()];
    (d, results)
}

/// Two admins inviting one address at the same moment, of one account or
/// of two: one invitation is made and sent, the other is refused beside
/// the email field, and nothing of it is written or sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_invitations_of_one_address_at_once_make_one_user_and_one_email() {
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let eve = account_with_admin(&d, "Other", "eve@other.example").await;
    for (round, second) in [(0, grace), (1, eve)] {
        let to = format!("cy{round}@example.com");
        let admins = [ada.admin().unwrap(), second.admin().unwrap()];
        let tasks: Vec<_> = admins
            .into_iter()
            .map(|admin| {
                let (d, to) = (d.clone(), to.clone());
                tokio::spawn(async move { users::invite(&d, &admin, form("Cy", &to)).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(refused.message_for("email").as_deref(), Some(EMAIL_TAKEN), "{results:?}");
        let users = user::Entity::find().filter(user::Column::Email.eq(to.as_str()));
        assert_eq!(users.count(&d.db).await.unwrap(), 1);
        let sent = outbox::Entity::find().filter(outbox::Column::ToAddress.eq(to.as_str()));
        assert_eq!(sent.count(&d.db).await.unwrap(), 1);
        let invited = activity_event::Entity::find()
            .filter(activity_event::Column::Kind.eq("user.invited"))
            .filter(activity_event::Column::Target.eq(to.as_str()));
        assert_eq!(invited.count(&d.db).await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let (d, results) = two_admins_at_once(|d, admin, other, email| async move {
        users::update(&d, &admin, other, form("Demoted", email)).await
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    // The loser was demoted before it acted: it is refused as no admin.
    let refused = results.iter().find_map(|r| r.as_ref().err());
    assert_eq!(refused, Some(&AppError::Forbidden(NOT_ADMIN.into())), "{results:?}");
    let admins =
        user::Entity::find().filter(user::Column::IsAdmin.eq(true)).all(&d.db).await.unwrap();
    assert_eq!(admins.len(), 1);
    // Nothing of the refused edit was written: the admin left keeps their name.
    assert_ne!(admins[0].first_name, "Demoted");
    let renamed = user::Entity::find().filter(user::Column::FirstName.eq("Demoted"));
    assert_eq!(renamed.count(&d.db).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_disabling_each_other_at_once_leave_one_active_admin() {
    let (d, results) =
        two_admins_at_once(
            |d, admin, other, _| async move { users::disable(&d, &admin, other).await },
        )
        .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    // The loser was disabled before it acted: it is refused as no admin.
    assert!(results.contains(&Err(AppError::Forbidden(NOT_ADMIN.into()))), "{results:?}");
    let active_admins = user::Entity::find()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::DisabledAt.is_null())
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(active_admins, 1);
    // One disable, recorded once: the refused one wrote nothing.
    let disabled = user::Entity::find().filter(user::Column::DisabledAt.is_not_null());
    assert_eq!(disabled.count(&d.db).await.unwrap(), 1);
    let events = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("user.disabled"))
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(events, 1);
}

/// Ada and Grace deleting each other at the same moment: one of them is
/// gone, the other is still there and still an admin, so the account is
/// never left with nobody to run it. The loser, deleted first, is refused as
/// no admin, and only the one deletion is in the activity log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_deleting_each_other_at_once_leave_one_admin() {
    let (d, results) =
        two_admins_at_once(
            |d, admin, other, _| async move { users::delete(&d, &admin, other).await },
        )
        .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.contains(&Err(AppError::Forbidden(NOT_ADMIN.into()))), "{results:?}");
    let left = user::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].is_admin);
    assert!(["ada@example.com", "grace@example.com"].contains(&left[0].email.as_str()));
    let deleted = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("user.deleted"))
        .all(&d.db)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    // The event names the one deleted, not the one left.
    assert_ne!(deleted[0].target, left[0].email);
}

/// Changes that wait for the account's lock behind their admin's demotion
/// are refused once it commits: the admin is read again under the lock, not
/// before it. (SQLite runs one transaction at a time, so PostgreSQL is the
/// run where the changes really wait on the lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_waiting_behind_their_admins_demotion_are_refused() {
    use app::domain::admin::account_info;
    use app::domain::core::provisioning;
    use app::domain::entity::{account, integration, phone_number};
    use app::domain::features::integrations::{self, NewIntegration};
    use app::domain::features::phone_numbers;
    use app::domain::testing::samples::{AWS_KEY, AWS_SECRET};
    use sea_orm::Set;
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", true).await;
    let (stale, admin) = (bob.admin().unwrap(), ada.admin().unwrap());
    provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let mut info = account_info::get(&d, &admin).await.unwrap();
    info.company_name = "Bob's Company".into();
    let events = activity_event::Entity::find().count(&d.db).await.unwrap();
    // The users' table changes: Bob is demoted.
    let before = app::domain::testing::Snapshot::take_except(&d, &["users"]).await;

    let demotion = app::domain::testing::change_user_under_lock(&d, bob.user_id(), |bob| {
        bob.is_admin = Set(false)
    })
    .await;
    let add = tokio::spawn({
        let (d, stale) = (d.clone(), stale.clone());
        let input = NewIntegration {
            service: "s3".into(),
            name: "Backups".into(),
            key: AWS_KEY.into(),
            secret: AWS_SECRET.into(),
            ..Default::default()
        };
        async move { integrations::add(&d, &stale, input).await }
    });
    let save = tokio::spawn({
        let (d, stale) = (d.clone(), stale.clone());
        async move { account_info::save(&d, &stale, info).await }
    });
    let release = tokio::spawn({
        let d = d.clone();
        async move { phone_numbers::release(&d, &stale, number.id).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 3).await;
    demotion.commit().await.unwrap();

    let not_admin = Some(AppError::Forbidden(NOT_ADMIN.into()));
    assert_eq!(add.await.unwrap().err(), not_admin);
    assert_eq!(save.await.unwrap().err(), not_admin);
    assert_eq!(release.await.unwrap().err(), not_admin);
    assert_eq!(integration::Entity::find().count(&d.db).await.unwrap(), 0);
    let company = account::Entity::find_by_id(ada.account_id()).one(&d.db).await.unwrap();
    assert_eq!(company.unwrap().company_name, "Acme");
    assert!(phone_number::Entity::find_by_id(number.id).one(&d.db).await.unwrap().is_some());
    // Their counts are spent (counted before the lock, as every change is),
    // but no event says they happened, and nothing else changed.
    assert_eq!(activity_event::Entity::find().count(&d.db).await.unwrap(), events);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn deleting_a_user_removes_them_and_their_sessions() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let bob_session = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    users::delete(&d, &ada.admin().unwrap(), bob_session.member.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        sessions::authenticate(&d, &bob_session.token).await,
        Err(AppError::Unauthenticated)
    );
    before.assert_unchanged(&d).await;
    assert_eq!(
        session::Entity::find()
            .filter(session::Column::UserId.eq(bob_session.member.user_id()))
            .count(&d.db)
            .await
            .unwrap(),
        0
    );
    assert!(user::Entity::find_by_id(bob_session.member.user_id())
        .one(&d.db)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn another_accounts_user_is_not_found_and_nothing_changes() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let eve = account_with_admin(&d, "Other", "eve@other.example").await;
    let id = eve.user_id();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::update(&d, &ada, id, form("Hacked", "eve@other.example")).await,
        Err(AppError::NotFound)
    );
    assert_eq!(users::delete(&d, &ada, id).await, Err(AppError::NotFound));
    assert_eq!(users::send_password_reset(&d, &ada, id).await, Err(AppError::NotFound));
    assert_eq!(users::resend_invitation(&d, &ada, id).await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;
    let still = user::Entity::find_by_id(id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(still.first_name, "Eve");
    assert_eq!(outbox::Entity::find().count(&d.db).await.unwrap(), 0);
}

#[tokio::test]
async fn reset_password_sends_a_link_to_the_user_not_the_admin() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    users::send_password_reset(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let emails = outbox::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to_address, "bob@example.com");
    // Bob did not ask: the email says who did.
    let body = body_of(&d, &emails[0]);
    let opening = "An admin of your company's Voice Console account, \"Ada Lovelace\" \
                   (ada@example.com), sent you this link";
    assert!(body.starts_with(opening), "{body}");
    assert!(!body.contains("hopefully you"));
}

#[tokio::test]
async fn search_sort_and_keyset_pages_cover_every_user_once_in_order() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let total = PAGE_SIZE as usize * 2 + 7;
    for i in 1..total {
        let email = format!("user{i:03}@example.com");
        let u = add_user(&d, ada.account_id(), &email, false).await;
        let name = format!("Name{:03}", (i * 37) % 100);
        let f = UserForm { first_name: name, last_name: "Doe".into(), email, ..Default::default() };
        users::update(&d, &admin, u.user_id(), f).await.unwrap();
    }
    // Three invited users, so the Status order has two groups to keep apart.
    for name in ["Zoe", "Abe", "Mia"] {
        let email = format!("{}@invited.example", name.to_lowercase());
        let f = UserForm {
            first_name: name.into(),
            last_name: "New".into(),
            email,
            ..Default::default()
        };
        let invited = users::invite(&d, &admin, f).await.unwrap();
        if name == "Mia" {
            users::disable(&d, &admin, invited.id).await.unwrap();
        }
    }
    // Ten active users disabled, so the Status order has a third group, and
    // its pages break inside it (row 50 of 60 is the first disabled user).
    let disabled = (2..=56).step_by(6).map(|i| format!("user{i:03}@example.com"));
    for email in disabled {
        let id = user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(&d.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        users::disable(&d, &admin, id).await.unwrap();
    }
    let total = total + 3;
    let disabled_total = 11;
    account_with_admin(&d, "Other", "zed@other.example").await;
    for sort in [UserSort::Name, UserSort::Email, UserSort::Status] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = users::list_users(&d, &admin, "", sort, after.as_deref()).await.unwrap();
            assert!(page.several_users);
            assert!(page.rows.len() <= PAGE_SIZE as usize);
            seen.extend(page.rows);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), total, "{sort:?}: every user once");
        let mut ids: Vec<_> = seen.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total);
        assert!(!seen.iter().any(|r| r.email.ends_with("other.example")), "only this account");
        if sort == UserSort::Email {
            assert!(seen.windows(2).all(|w| w[0].email < w[1].email));
        }
        if sort == UserSort::Name {
            let keys: Vec<_> = seen
                .iter()
                .map(|r| format!("{} {}", r.first_name, r.last_name).to_lowercase())
                .collect();
            assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        }
        if sort == UserSort::Status {
            // As the Status column reads: active users first (by name), then
            // the invited ones, then the disabled ones, invited or not.
            let group = |r: &UserRow| match (r.disabled, r.invited) {
                (true, _) => 2,
                (false, true) => 1,
                (false, false) => 0,
            };
            let keys: Vec<_> = seen
                .iter()
                .map(|r| (group(r), format!("{} {}", r.first_name, r.last_name).to_lowercase()))
                .collect();
            assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
            // Invited Abe and Zoe, then the disabled ones, Mia first.
            let tail = total - disabled_total - 2;
            let invited: Vec<_> = seen[tail..tail + 2].iter().map(|r| r.email.as_str()).collect();
            assert_eq!(invited, ["abe@invited.example", "zoe@invited.example"]);
            assert_eq!(seen[tail + 2].email, "mia@invited.example");
            assert!(seen[tail + 2..].iter().all(|r| r.disabled));
            assert!(seen[..tail].iter().all(|r| !r.invited && !r.disabled));
            assert_eq!(tail + 2, 2 * PAGE_SIZE as usize - 1, "a page starts after a disabled user");
        }
    }
    let found = users::list_users(&d, &admin, "NAME085", UserSort::Name, None).await.unwrap();
    assert!(!found.rows.is_empty() && found.rows.iter().all(|r| r.first_name == "Name085"));
    let by_email = users::list_users(&d, &admin, "user01", UserSort::Email, None).await.unwrap();
    assert_eq!(by_email.rows.len(), 10, "user010..user019");
    let literal = users::list_users(&d, &admin, "%", UserSort::Name, None).await.unwrap();
    assert!(literal.rows.is_empty(), "% is not a wildcard");
    let before = Snapshot::take(&d).await;
    let bad =
        users::list_users(&d, &admin, "", UserSort::Name, Some("garbage")).await.err().unwrap();
    assert!(bad.message_for("after").is_some());
    // A cursor made up to carry a NUL (which PostgreSQL refuses in a query's
    // text) is a bad link, not a failed query; each sort's.
    use base64::Engine as _;
    let forged = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    for (sort, json) in [
        (UserSort::Email, r#"{"Email":{"email":"a\u0000b"}}"#),
        (UserSort::Name, r#"{"Name":{"name_key":"\u0000","id":1}}"#),
        (UserSort::Status, r#"{"Status":{"status_order":0,"name_key":"a\u0007","id":1}}"#),
    ] {
        let after = forged(json);
        let bad = users::list_users(&d, &admin, "", sort, Some(&after)).await.err().unwrap();
        assert!(bad.message_for("after").is_some(), "{json}: {bad:?}");
    }
    before.assert_unchanged(&d).await;
}

/// "Sort By: Status" follows a user as they are disabled and enabled: the
/// Status column says "Disabled" whatever else, and they sort with those.
#[tokio::test]
async fn disabled_users_sort_after_active_and_invited_ones_until_enabled() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await.user_id();
    let dee = add_user(&d, ada.account_id(), "dee@example.com", false).await.user_id();
    let f = UserForm {
        first_name: "Zack".into(),
        last_name: "Zed".into(),
        email: "zack@example.com".into(),
        ..Default::default()
    };
    let zack = users::invite(&d, &admin, f).await.unwrap().id;
    let by_status = || async {
        let page = users::list_users(&d, &admin, "", UserSort::Status, None).await.unwrap();
        page.rows.into_iter().map(|r| r.email.replace("@example.com", "")).collect::<Vec<_>>()
    };
    assert_eq!(by_status().await, ["ada", "bob", "dee", "zack"]);
    users::disable(&d, &admin, bob).await.unwrap();
    assert_eq!(by_status().await, ["ada", "dee", "zack", "bob"]);
    // An invited user put on hold joins the disabled, by name.
    users::disable(&d, &admin, zack).await.unwrap();
    assert_eq!(by_status().await, ["ada", "dee", "bob", "zack"]);
    users::enable(&d, &admin, bob).await.unwrap();
    assert_eq!(by_status().await, ["ada", "bob", "dee", "zack"]);
    users::disable(&d, &admin, dee).await.unwrap();
    users::enable(&d, &admin, zack).await.unwrap();
    assert_eq!(by_status().await, ["ada", "bob", "zack", "dee"]);
    // Activated, an invited user joins the active ones (ahead of Yan, who
    // is still invited).
    let f = UserForm {
        first_name: "Yan".into(),
        last_name: "Young".into(),
        email: "yan@example.com".into(),
        ..Default::default()
    };
    users::invite(&d, &admin, f).await.unwrap();
    assert_eq!(by_status().await, ["ada", "bob", "yan", "zack", "dee"]);
    let token = link_token(&d, "zack@example.com", "/activate").await;
    invitations::activate(&d, &token, "Maple-Canyon-Drift-19", "t", None).await.unwrap();
    assert_eq!(by_status().await, ["ada", "bob", "zack", "yan", "dee"]);
    let zack = user::Entity::find_by_id(zack).one(&d.db).await.unwrap().unwrap();
    assert_eq!((zack.status.as_str(), zack.status_order), (user::ACTIVE, user::ACTIVE_ORDER));

    // The database keeps the order, whatever writes the row: an earlier
    // build, during a rolling deploy, knows nothing of it. Dee enabled by
    // a write of `disabled_at` alone, and an invitee inserted without it.
    user::ActiveModel { id: Set(dee), disabled_at: Set(None), ..Default::default() }
        .update(&d.db)
        .await
        .unwrap();
    let insert = format!(
        "INSERT INTO users (account_id, email, first_name, last_name, is_admin, can_create, \
         can_share, created_at, name_key, search_text, status, two_factor_enabled, search_grams) \
         VALUES ({}, 'abe@example.com', 'Abe', 'Old', false, false, false, \
         '2026-01-01 00:00:00+00:00', 'abe old', 'abe old abe@example.com', 'invited', false, '')",
        ada.account_id()
    );
    d.db.execute_unprepared(&insert).await.unwrap();
    assert_eq!(by_status().await, ["ada", "bob", "dee", "zack", "abe", "yan"]);
}

/// Users disabled before the Status order existed are sorted with the
/// disabled ones once it is added.
#[tokio::test]
async fn the_status_order_migration_orders_the_users_already_there() {
    use app::domain::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await.user_id();
    add_user(&d, ada.account_id(), "cy@example.com", false).await;
    let f = UserForm {
        first_name: "Abe".into(),
        last_name: "New".into(),
        email: "abe@example.com".into(),
        ..Default::default()
    };
    users::invite(&d, &admin, f).await.unwrap();
    // Aaron, invited and on hold, sorts with the disabled (after Abe, whom
    // he would come before among the invited).
    let f = UserForm {
        first_name: "Aaron".into(),
        last_name: "Held".into(),
        email: "aaron@example.com".into(),
        ..Default::default()
    };
    let aaron = users::invite(&d, &admin, f).await.unwrap().id;
    users::disable(&d, &admin, bob).await.unwrap();
    users::disable(&d, &admin, aaron).await.unwrap();
    let before = users::list_users(&d, &admin, "", UserSort::Status, None).await.unwrap();
    let emails = |page: UserPage| page.rows.into_iter().map(|r| r.email).collect::<Vec<_>>();
    let before = emails(before);
    let order = ["ada", "cy", "abe", "aaron", "bob"].map(|name| format!("{name}@example.com"));
    assert_eq!(before, order);

    let since = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261208_000031_status_order")
        .expect("the migration is listed");
    Migrator::down(&d.db, Some(since as u32 + 1)).await.unwrap();
    Migrator::up(&d.db, None).await.unwrap();
    let after = users::list_users(&d, &admin, "", UserSort::Status, None).await.unwrap();
    assert_eq!(emails(after), before);
}

#[tokio::test]
async fn a_lone_user_sees_no_table() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let page = users::list_users(&d, &admin, "", UserSort::Name, None).await.unwrap();
    assert!(!page.several_users);
}

/// The plan the database makes for a page query, one line per step.
async fn plan(
    d: &Domain,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
    account_id: i32,
) -> String {
    use sea_orm::{QuerySelect, QueryTrait};
    let scope = user::Entity::find().filter(user::Column::AccountId.eq(account_id));
    let backend = d.db.get_database_backend();
    assert!(search.is_empty(), "searches are planned in user_search.rs");
    let built = directory::ordered(scope, sort, after).unwrap().limit(PAGE_SIZE + 1).build(backend);
    query_plan(d, built).await
}

#[tokio::test]
async fn search_and_sort_use_indexes() {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    for i in 0..60 {
        add_user(&d, ada.account_id(), &format!("user{i:02}@example.com"), false).await;
    }
    let postgres = d.db.get_database_backend() == DatabaseBackend::Postgres;
    if postgres {
        d.db.execute_unprepared("ANALYZE users").await.unwrap();
    }
    let page =
        users::list_users(&d, &ada.admin().unwrap(), "", UserSort::Name, None).await.unwrap();
    let cursor = page.next.unwrap();
    // Email order may also come from the unique index on email alone.
    let email_indexes = ["idx_users_account_email", "users_email_key", "sqlite_autoindex_users"];
    let cases: [(&str, UserSort, Option<&str>, &[&str]); 4] = [
        ("", UserSort::Name, None, &["idx_users_account_name"]),
        ("", UserSort::Name, Some(cursor.as_str()), &["idx_users_account_name"]),
        ("", UserSort::Email, None, &email_indexes),
        ("", UserSort::Status, None, &["idx_users_account_status"]),
        // Searches through the index: see user_search.rs, on enough rows
        // for PostgreSQL's planner to prefer it.
    ];
    for (search, sort, after, indexes) in cases {
        let plan = plan(&d, search, sort, after, ada.account_id()).await;
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "{search:?} {sort:?} {after:?} should use one of {indexes:?}:\n{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "a sequential scan:\n{plan}");
        if search.is_empty() {
            assert!(!plan.contains("TEMP B-TREE"), "sorted outside the index:\n{plan}");
        }
        if !postgres {
            assert!(
                plan.lines().all(|l| !l.starts_with("SCAN users") || l.contains("INDEX")),
                "{plan}"
            );
        }
        if postgres && search.is_empty() {
            assert!(!plan.contains("Sort  ("), "sorted outside the index:\n{plan}");
        }
    }
}

/// An email is written with its change or not at all: a refused invitation
/// or edit leaves no outbox row, an accepted one exactly its emails.
#[tokio::test]
async fn an_email_is_written_with_its_change_or_not_at_all() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let outbox_rows = || async { outbox::Entity::find().count(&d.db).await.unwrap() };
    let form = |first: &str, email: &str| UserForm {
        first_name: first.into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    };
    // Refused: the address is taken, or a field is bad; no row, no email.
    let before = Snapshot::take(&d).await;
    let taken = users::invite(&d, &admin, form("Bob", "ADA@example.com")).await.err().unwrap();
    assert_eq!(taken.message_for("email").as_deref(), Some(EMAIL_TAKEN));
    let nameless = users::invite(&d, &admin, form("", "bob@example.com")).await.err().unwrap();
    assert_eq!(nameless.message_for("first_name").as_deref(), Some("First Name is required."));
    before.assert_unchanged(&d).await;
    // Accepted: the user and exactly one invitation.
    let bob = users::invite(&d, &admin, form("Bob", "bob@example.com")).await.unwrap();
    assert_eq!(outbox_rows().await, 1);
    // A refused edit (the new address is taken) sends neither the confirmation
    // nor the notice an accepted one would.
    let before = Snapshot::take(&d).await;
    let refused = users::update(&d, &admin, bob.id, form("Bob", "ada@example.com")).await;
    assert_eq!(
        refused.unwrap_err().message_for("email").as_deref(),
        Some(app::domain::core::people::EMAIL_TAKEN)
    );
    before.assert_unchanged(&d).await;
}

/// Whether an address is taken says whether it has an account anywhere
/// here, so an admin's invitations and address changes are counted before
/// the look-up, taken or not: past the limit the form is refused without an
/// answer and nothing changes. Entering a user's own address again is no
/// look-up; another admin is not held back; an hour frees the count.
#[tokio::test]
async fn addresses_entered_are_counted_so_the_taken_answer_cannot_be_asked_without_end() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::AddressLookup, per: Per::Actor, max: 3, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    account_with_admin(&d, "Globex", "hal@example.com").await;
    let form = |email: &str| UserForm {
        first_name: "Bob".into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    };
    // Refused for the taken address (its look-up counted), and nothing else.
    let before = Snapshot::take(&d).await;
    let taken = users::invite(&d, &admin, form("hal@example.com")).await;
    assert_eq!(
        taken.unwrap_err().message_for("email").as_deref(),
        Some(app::domain::core::people::EMAIL_TAKEN)
    );
    before.assert_unchanged(&d).await;
    let bob = users::invite(&d, &admin, form("bob@example.com")).await.unwrap();
    let moved = users::update(&d, &admin, bob.id, form("bob@example.org")).await;
    assert_eq!(moved.unwrap().email, "bob@example.org");
    // Saving the user with the address they have asks nothing.
    users::update(&d, &admin, bob.id, form("bob@example.org")).await.unwrap();
    let refused = || async {
        let before = Snapshot::take(&d).await;
        let why = |result: Result<_, AppError>| match result {
            Err(AppError::TooManyRequests(m)) => m,
            other => panic!("not refused: {other:?}"),
        };
        let invite = why(users::invite(&d, &admin, form("hal@example.com")).await);
        let update = why(users::update(&d, &admin, bob.id, form("hal@example.com")).await);
        before.assert_unchanged(&d).await;
        (invite, update)
    };
    let (invite, update) = refused().await;
    assert!(invite.contains("new addresses entered") && update == invite, "{invite}");
    // A form that leaves the address as it opened asks nothing, though the
    // user's address is another now (changed since the form opened): its
    // other change is saved past the spent count, and the address stays.
    let renamed = UserForm { first_name: "Robert".into(), ..form("bob@example.com") };
    let stale = UserEdit { form: renamed, was: Some(form("bob@example.com")) };
    let saved = users::update(&d, &admin, bob.id, stale).await.unwrap();
    assert_eq!((saved.first_name.as_str(), saved.email.as_str()), ("Robert", "bob@example.org"));
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    users::invite(&d, &grace.admin().unwrap(), form("cy@example.com")).await.unwrap();
    clock.advance(hour);
    users::invite(&d, &admin, form("di@example.com")).await.unwrap();
}

/// What Edit User shows for the user now, as its form opens with the row
/// of the users table (a small account's first page).
async fn opened(d: &Domain, admin: &Admin, user_id: i32) -> UserForm {
    let page = users::list_users(d, admin, "", UserSort::Name, None).await.unwrap();
    let row = page.rows.into_iter().find(|r| r.id == user_id).unwrap();
    UserForm {
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        is_admin: row.is_admin,
        can_create: row.can_create,
        can_share: row.can_share,
        pending_email: row.pending_email.unwrap_or_default(),
    }
}

/// A change of address waits for its link, and a new one replaces it: a
/// form that did not show the waiting change (asked by another admin, or
/// by the user, since it opened) is refused rather than replace it unseen.
#[tokio::test]
async fn an_address_change_asked_since_the_form_opened_is_not_replaced_unseen() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let (adas, graces) = (ada.admin().unwrap(), grace.admin().unwrap());
    let to = |was: &UserForm, email: &str| UserEdit {
        form: UserForm { email: email.into(), ..was.clone() },
        was: Some(was.clone()),
    };
    let refused = |result: Result<_, AppError>, waiting: &str| {
        let said = result.unwrap_err().message_for("email");
        assert_eq!(said, Some(users::address_asked_meanwhile(waiting)));
    };

    // Both admins open Bob's form; Grace asks for a new address first.
    let was = opened(&d, &adas, bob.user_id()).await;
    assert_eq!(was.pending_email, "");
    users::update(&d, &graces, bob.user_id(), to(&was, "bob@grace.example")).await.unwrap();
    let before = Snapshot::take(&d).await;
    refused(
        users::update(&d, &adas, bob.user_id(), to(&was, "bob@ada.example")).await,
        "bob@grace.example",
    );
    before.assert_unchanged(&d).await;

    // A form that showed the waiting change may replace it.
    let was = opened(&d, &adas, bob.user_id()).await;
    assert_eq!(was.pending_email, "bob@grace.example");
    users::update(&d, &adas, bob.user_id(), to(&was, "bob@ada.example")).await.unwrap();
    assert_eq!(opened(&d, &adas, bob.user_id()).await.pending_email, "bob@ada.example");

    // Bob's own request since the form opened is not replaced either.
    let was = opened(&d, &graces, bob.user_id()).await;
    email_links::request_email_change(&d, &bob, PASSWORD, "bob@home.example", "").await.unwrap();
    let before = Snapshot::take(&d).await;
    refused(
        users::update(&d, &graces, bob.user_id(), to(&was, "bob@work.example")).await,
        "bob@home.example",
    );
    before.assert_unchanged(&d).await;
    assert_eq!(opened(&d, &graces, bob.user_id()).await.pending_email, "bob@home.example");
}

#[tokio::test]
async fn an_edit_from_a_stale_form_saves_only_what_it_changed() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", true).await;
    let (adas, graces) = (ada.admin().unwrap(), grace.admin().unwrap());
    // Both admins open Bob's form; Grace renames and demotes him first.
    let was = opened(&d, &adas, bob.user_id()).await;
    let edit = |form: UserForm| UserEdit { form, was: Some(was.clone()) };
    let graces_form = UserForm { first_name: "Robert".into(), is_admin: false, ..was.clone() };
    users::update(&d, &graces, bob.user_id(), edit(graces_form)).await.unwrap();

    // Ada's form, as it opened, renames him too: refused beside the field,
    // nothing changed.
    let before = Snapshot::take(&d).await;
    let renamed = UserForm { first_name: "Bobby".into(), can_share: true, ..was.clone() };
    let refused = users::update(&d, &adas, bob.user_id(), edit(renamed)).await.unwrap_err();
    assert_eq!(refused.message_for("first_name"), Some(changed_meanwhile("First Name")));
    before.assert_unchanged(&d).await;

    // Changing only what Grace left alone saves that, and Grace's changes
    // stand: the stale form's "Account Admin: Yes" does not undo the demotion.
    let other_fields =
        UserForm { last_name: "Builder".into(), can_share: !was.can_share, ..was.clone() };
    let saved = users::update(&d, &adas, bob.user_id(), edit(other_fields)).await.unwrap();
    assert_eq!((saved.first_name.as_str(), saved.last_name.as_str()), ("Robert", "Builder"));
    assert!(!saved.is_admin && saved.can_share != was.can_share, "{saved:?}");
    assert_eq!(saved.can_create, was.can_create);
    // The same change Grace made is no conflict.
    let same = UserForm { first_name: "Robert".into(), ..was.clone() };
    let saved = users::update(&d, &adas, bob.user_id(), edit(same)).await.unwrap();
    assert_eq!(opened(&d, &adas, bob.user_id()).await.last_name, "Builder");
    assert!(!saved.is_admin);
}

/// A save of what is stored already (a double submit, the same edit made
/// in two windows), in Edit User or in one's own settings, answers as saved
/// and writes, counts and logs nothing; a real change still does all three.
#[tokio::test]
async fn a_save_that_changes_nothing_writes_counts_and_logs_nothing() {
    use app::domain::identity::profile;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let as_stored = UserForm { last_name: "Lovelace".into(), ..form(" Bob ", "BOB@example.com") };
    let before = Snapshot::take(&d).await;
    let row = users::update(&d, &admin, bob.user_id(), as_stored.clone()).await.unwrap();
    assert_eq!((row.first_name.as_str(), row.email.as_str()), ("Bob", "bob@example.com"));
    let me = profile::current_user(&d, &ada).await.unwrap();
    profile::update_name(&d, &ada, &me.first_name, &format!("{} ", me.last_name)).await.unwrap();
    before.assert_nothing_counted(&d).await;

    let renamed = UserForm { first_name: "Robert".into(), ..as_stored.clone() };
    users::update(&d, &admin, bob.user_id(), renamed).await.unwrap();
    assert_eq!(before.new_events(&d).await, ["user.updated bob@example.com"]);
    // A form opened before that rename, saved with nothing edited: nothing
    // is counted, and the rename stays.
    let before = Snapshot::take(&d).await;
    let unedited = UserEdit { form: as_stored.clone(), was: Some(as_stored) };
    let row = users::update(&d, &admin, bob.user_id(), unedited).await.unwrap();
    assert_eq!(row.first_name, "Robert");
    before.assert_nothing_counted(&d).await;
}
