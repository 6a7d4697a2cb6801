//! Disabling a user instead of deleting them (SPEC "Activity and
//! offboarding"): no sign-in, sessions and developer keys stop at once,
//! everything they own stays; the last active admin cannot be disabled,
//! nobody disables themself; enabling restores sign-in. (Two admins
//! disabling each other at once: `user_admin.rs`, beside the other races.)
use app::domain::admin::account_info;
use app::domain::admin::invitations::{self, TARGET_DISABLED};
use app::domain::admin::users::{
    self, UserForm, LAST_ACTIVE_ADMIN, LAST_ADMIN, NOT_YOURSELF_DISABLE,
};
use app::domain::core::activity::{By, Counted};
use app::domain::core::actor::{Member, Operator, NOT_ADMIN};
use app::domain::core::clock::ManualClock;
use app::domain::core::directory::{self, PAGE_SIZE};
use app::domain::core::people::DISABLED;
use app::domain::core::provisioning;
use app::domain::core::quota::Who;
use app::domain::core::scope::Scoped;
use app::domain::entity::{email_outbox as outbox, login_challenge, quota_counter, session, user};
use app::domain::features::integrations::{self, NewIntegration};
use app::domain::features::{applications, phone_numbers};
use app::domain::identity::log_in::{self, LogIn, WRONG_CREDENTIALS};
use app::domain::identity::sessions::SecondFactor;
use app::domain::identity::two_factor::{self, code_at, step_of};
use app::domain::identity::{developer_keys, email_links, profile, sessions};
use app::domain::testing::log_in_by_password;
use app::domain::testing::samples;
use app::domain::testing::{
    account_with_admin, add_user, fresh_domain, link_token, mark_unverified, query_plan,
    s3_integration, Snapshot, PASSWORD,
};
use app::domain::{operator, Domain};
use app::model::{AppError, UserSort, UserState};
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};

const NEW_PASSWORD: &str = "Maple-Canyon-Drift-19";

/// The Add User and Edit User form of a non-admin.
fn form(first: &str, email: &str) -> UserForm {
    UserForm {
        first_name: first.into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    }
}

fn disabled() -> AppError {
    AppError::Forbidden(DISABLED.into())
}

async fn sessions_of(d: &Domain, user_id: i32) -> u64 {
    session::Entity::find().filter(session::Column::UserId.eq(user_id)).count(&d.db).await.unwrap()
}

/// A session of `user_id` stored as a version before log-ins checked the
/// disable under the lock could leave one, opened by `token`.
async fn stray_session(d: &Domain, user_id: i32, token: &str) {
    session::ActiveModel {
        token_hash: Set(app::domain::core::crypto::token_hash(token)),
        user_id: Set(user_id),
        user_agent: Set("stray".into()),
        client_address: Set(None),
        created_at: Set(d.clock.now()),
        last_seen_at: Set(d.clock.now()),
    }
    .insert(&d.db)
    .await
    .unwrap();
}

async fn emails_to(d: &Domain, to: &str) -> u64 {
    outbox::Entity::find().filter(outbox::Column::ToAddress.eq(to)).count(&d.db).await.unwrap()
}

/// The changes counted against `member` (`change:actor:<id>`).
async fn changes_counted(d: &Domain, member: &Member) -> i32 {
    let key = format!("change:actor:{}", member.user_id());
    let counter = quota_counter::Entity::find_by_id(key).one(&d.db).await.unwrap();
    counter.map_or(0, |counter| counter.count)
}

/// A request already past its session check when an admin disables its
/// user carries the `Member` that check gave: each change it can reach is
/// refused, the password-checked ones under the account's lock
/// (`reauth::refuse_changed_since`), a name change before it is counted
/// (its check under the lock, for a Disable that lands after that one, is
/// not reached here), and nothing is written but the counts of the
/// password checks tried.
#[tokio::test]
async fn work_checked_before_a_disable_is_refused_under_the_lock() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let setup = two_factor::begin_setup(&d, &bob).await.unwrap();
    let secret = app::domain::testing::base32_decode(&setup.secret);
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        profile::change_password(&d, &bob, "a-session", PASSWORD, NEW_PASSWORD).await,
        Err(disabled())
    );
    // A name change is refused before it is counted: not even a count
    // (which a snapshot allows, as it allows every attempt's).
    assert_eq!(profile::update_name(&d, &bob, "Robert", "Doe").await, Err(disabled()));
    assert_eq!(changes_counted(&d, &bob).await, 0);
    let change = email_links::request_email_change(&d, &bob, PASSWORD, "robert@example.com", "");
    assert_eq!(change.await, Err(disabled()));
    let code = format!("{:06}", code_at(&secret, step_of(d.clock.now())));
    let confirmed = two_factor::confirm_setup(&d, &bob, "a-session", PASSWORD, &code, None).await;
    assert_eq!(confirmed.map(|_| ()), Err(disabled()));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn disabling_ends_sessions_and_keys_at_once_and_keeps_what_they_own() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    // Bob is an admin too, so he can own a number, an application and an integration.
    add_user(&d, ada.account_id(), "bob@example.com", true).await;
    let bob_session = log_in_by_password(&d, "bob@example.com", PASSWORD, "laptop").await.unwrap();
    let other_session = log_in_by_password(&d, "bob@example.com", PASSWORD, "phone").await.unwrap();
    let bob = bob_session.member.clone();
    let key = developer_keys::generate(&d, &bob, "Script", PASSWORD, "").await.unwrap().key;
    provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
    let number = phone_numbers::request(&d, &bob.admin().unwrap()).await.unwrap();
    let application = applications::create(&d, &bob, "IVR").await.unwrap();
    s3_integration(&d, &bob, "Recordings").await;
    assert_eq!(sessions::authenticate(&d, &bob_session.token).await.unwrap(), bob);
    assert_eq!(developer_keys::authenticate(&d, &key).await.unwrap(), bob);

    // Only Bob's row and his sessions change (and the event recording it):
    // his number, application, integration and keys (rows) all stay, nothing
    // is handed over.
    let before = Snapshot::take_except(&d, &["users", "sessions", "activity_events"]).await;
    let row = users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    assert!(row.disabled && row.is_admin && !row.invited);
    before.assert_unchanged(&d).await;
    let stored = user::Entity::find_by_id(bob.user_id()).one(&d.db).await.unwrap().unwrap();
    assert_eq!(stored.disabled_at, Some(d.clock.now()));
    assert_eq!(sessions_of(&d, bob.user_id()).await, 0, "every session of his ended");

    // His sessions' tokens no longer open anything. Nor does one stored
    // all the same (by a version before log-ins checked the disable under
    // the lock: `a_log_in_checked_before_a_disable_opens_nothing_after_it`):
    // every lookup reads the user.
    let stray = "stray-session-token";
    stray_session(&d, bob.user_id(), stray).await;
    let before = Snapshot::take(&d).await;
    for token in [bob_session.token.as_str(), other_session.token.as_str(), stray] {
        assert_eq!(sessions::authenticate(&d, token).await, Err(AppError::Unauthenticated));
    }
    // The key is told why (the holder of a right key may know).
    assert_eq!(developer_keys::authenticate(&d, &key).await, Err(disabled()));
    // A capability proved before the disable (a request in flight) acts no more.
    let bob_admin = bob.admin().unwrap();
    // (Add User first reads whether he may send mail at all: he no longer
    // may do anything, as an ended session says.)
    assert_eq!(
        users::invite(&d, &bob_admin, form("Eve", "eve@example.com")).await,
        Err(AppError::Unauthenticated)
    );
    assert_eq!(
        users::disable(&d, &bob_admin, ada.user_id()).await,
        Err(AppError::Forbidden(NOT_ADMIN.into()))
    );
    assert_eq!(applications::create(&d, &bob, "Another").await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;

    // What he owned is still his, as the admin's lists show it.
    let numbers = phone_numbers::list(&d, &ada.admin().unwrap()).await.unwrap();
    let listed = numbers.rows.iter().find(|n| n.id == number.id).expect("the number stays");
    assert_eq!(listed.owner.id, bob.user_id());
    let still = app::domain::entity::application::Entity::find_by_id(application.id)
        .one(&d.db)
        .await
        .unwrap()
        .expect("the application stays");
    assert_eq!(still.owner_id, bob.user_id());

    // Enabled again: his keys work again, his old sessions stay ended, and he
    // signs in afresh.
    users::enable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    assert_eq!(developer_keys::authenticate(&d, &key).await.unwrap(), bob);
    assert_eq!(sessions_of(&d, bob.user_id()).await, 0, "the stray one ended too");
    for token in [bob_session.token.as_str(), other_session.token.as_str(), stray] {
        assert_eq!(sessions::authenticate(&d, token).await, Err(AppError::Unauthenticated));
    }
    let again = log_in_by_password(&d, "bob@example.com", PASSWORD, "laptop").await.unwrap();
    assert_eq!(sessions::authenticate(&d, &again.token).await.unwrap(), bob);
}

#[tokio::test]
async fn a_disabled_user_cannot_confirm_an_email_change_or_verify_an_address() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    email_links::request_email_change(&d, &bob, PASSWORD, "bob@elsewhere.example", "")
        .await
        .unwrap();
    let change = link_token(&d, "bob@elsewhere.example", "/confirm-email").await;
    mark_unverified(&d, bob.user_id()).await;
    email_links::resend_verification(&d, &bob).await.unwrap();
    let verify = link_token(&d, "bob@example.com", "/verify-email").await;
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();

    // Refused like his other links, by their pages as they open and by their
    // buttons: nothing changes and they are not used up.
    let before = Snapshot::take(&d).await;
    assert_eq!(email_links::check_email_change_link(&d, &change).await.err(), Some(disabled()));
    assert_eq!(email_links::check_verification_link(&d, &verify).await.err(), Some(disabled()));
    assert_eq!(email_links::confirm_email_change(&d, &change, None).await.err(), Some(disabled()));
    assert_eq!(email_links::verify_email(&d, &verify, None).await.err(), Some(disabled()));
    // Nor is he sent another link.
    assert_eq!(email_links::resend_verification(&d, &bob).await, Err(disabled()));
    before.assert_unchanged(&d).await;
    // Enabled again, the change goes through while its link lasts.
    users::enable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let to = email_links::confirm_email_change(&d, &change, None).await.unwrap();
    assert_eq!(to, "bob@elsewhere.example");
}

/// A log-in whose password was checked just before an admin's Disable
/// committed opens no session and no code step: each is refused under the
/// lock that Disable takes, and nothing is written. (A session left behind
/// would work again once the user is enabled by the operator's `promote`.)
#[tokio::test]
async fn a_log_in_checked_before_a_disable_opens_nothing_after_it() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", false).await;
    two_factor_on(&d, &clock, "grace@example.com").await;
    let as_checked = |id: i32| {
        let d = d.clone();
        async move { user::Entity::find_by_id(id).one(&d.db).await.unwrap().unwrap() }
    };
    let (bob_checked, grace_checked) =
        (as_checked(bob.user_id()).await, as_checked(grace.user_id()).await);
    let admin = ada.admin().unwrap();
    users::disable(&d, &admin, bob.user_id()).await.unwrap();
    users::disable(&d, &admin, grace.user_id()).await.unwrap();

    let before = Snapshot::take(&d).await;
    let session =
        sessions::start_session(&d, &bob_checked, "t", None, SecondFactor::NotAsked).await;
    assert_eq!(session.err(), Some(disabled()));
    let step = log_in::after_password(&d, &grace_checked, "t", None).await;
    assert_eq!(step.err(), Some(disabled()));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_a_wrong_password_answers_as_always() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    // A reset link asked for before the disable.
    email_links::request_password_reset(&d, "bob@example.com", None).await.unwrap();
    let early_link = link_token(&d, "bob@example.com", "/reset-password").await;
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();

    // The right password is told the user is disabled; a wrong one gets the
    // usual answer. Only the attempts are counted (login_failures).
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let refused = log_in::log_in(&d, "bob@example.com", PASSWORD, "t", None).await;
    assert_eq!(refused.err(), Some(disabled()));
    let wrong =
        log_in::log_in(&d, "bob@example.com", "Not-His-Password-1", "t", None).await.err().unwrap();
    assert_eq!(wrong.message_for("password").as_deref(), Some(WRONG_CREDENTIALS));
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed bob@example.com"]);

    // The reset link from before does nothing (the password stays, the link
    // is not used up, no session), and no new link is sent: the request gets
    // the usual answer (it is counted, in quota_counters) and an email that
    // says why, with no link (in email_outbox), so Bob waits for none.
    let before = Snapshot::take_except(&d, &["quota_counters", "email_outbox"]).await;
    let reset = email_links::reset_password(&d, &early_link, NEW_PASSWORD, "t", None).await;
    assert_eq!(reset.err(), Some(disabled()));
    email_links::request_password_reset(&d, "bob@example.com", None).await.unwrap();
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@example.com").await, 2, "the link from before, and why not");
    let told = outbox::Entity::find()
        .filter(outbox::Column::Subject.eq("Your user is disabled"))
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    let said = app::domain::testing::body_of(&d, &told);
    assert!(said.contains("no link was sent: to be enabled again, ask an admin"), "{said}");
    assert!(!said.contains("/reset-password"), "{said}");
    // At an address nobody proved is Bob's, "ask an admin" may be untrue:
    // nothing is sent there.
    mark_unverified(&d, bob.user_id()).await;
    email_links::request_password_reset(&d, "bob@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "bob@example.com").await, 2, "nothing more");
    // The admin cannot send him one either, and is told why.
    let admin = ada.admin().unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::send_password_reset(&d, &admin, bob.user_id()).await,
        Err(AppError::Conflict(TARGET_DISABLED.into()))
    );
    before.assert_unchanged(&d).await;

    // Enabled: the password works again, and so does the link while it lasts.
    let row = users::enable(&d, &admin, bob.user_id()).await.unwrap();
    assert!(!row.disabled);
    let session = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    assert_eq!(session.member.user_id(), bob.user_id());
    let reset =
        email_links::reset_password(&d, &early_link, NEW_PASSWORD, "t", None).await.unwrap();
    assert!(matches!(reset, LogIn::Session(_)));
    assert!(log_in_by_password(&d, "bob@example.com", NEW_PASSWORD, "t").await.is_ok());
}

#[tokio::test]
async fn a_disabled_invitee_cannot_activate_and_gets_no_new_invitation() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let carl = users::invite(&d, &admin, form("Carl", "carl@example.com")).await.unwrap();
    let token = link_token(&d, "carl@example.com", "/activate").await;
    let row = users::disable(&d, &admin, carl.id).await.unwrap();
    assert!(row.disabled && row.invited);
    let before = Snapshot::take(&d).await;
    assert_eq!(
        invitations::activate(&d, &token, NEW_PASSWORD, "t", None).await.err(),
        Some(disabled())
    );
    let conflict = Err(AppError::Conflict(TARGET_DISABLED.into()));
    assert_eq!(users::resend_invitation(&d, &admin, carl.id).await, conflict);
    assert_eq!(users::send_password_reset(&d, &admin, carl.id).await, conflict);
    before.assert_unchanged(&d).await;
    users::enable(&d, &admin, carl.id).await.unwrap();
    assert!(invitations::activate(&d, &token, NEW_PASSWORD, "t", None).await.is_ok());
}

/// Moving a disabled user to a new address would send them a link (an
/// invitation, or an active user's confirmation) that a disabled user is
/// never sent, and whose page would refuse them: the admin is told beside
/// the field, and nothing is written, counted for the address or emailed.
#[tokio::test]
async fn a_disabled_user_is_not_moved_to_a_new_address() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let carl = users::invite(&d, &admin, form("Carl", "carl@example.com")).await.unwrap();
    users::disable(&d, &admin, carl.id).await.unwrap();
    let bob = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    users::disable(&d, &admin, bob.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    for (id, first, to) in
        [(carl.id, "Carl", "carl@new.example"), (bob.user_id(), "Bob", "bob@new.example")]
    {
        let moved = users::update(&d, &admin, id, form(first, to)).await;
        assert_eq!(
            moved.err().and_then(|e| e.message_for("email")).as_deref(),
            Some(TARGET_DISABLED)
        );
        assert_eq!(emails_to(&d, to).await, 0);
    }
    // Refused before a change, a lookup or an email change is counted.
    before.assert_nothing_counted(&d).await;
    let row = user::Entity::find_by_id(carl.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(row.email, "carl@example.com");
    // Enabled again, the change goes through as for anyone.
    users::enable(&d, &admin, bob.user_id()).await.unwrap();
    users::update(&d, &admin, bob.user_id(), form("Bob", "bob@new.example")).await.unwrap();
    assert_eq!(emails_to(&d, "bob@new.example").await, 1);
}

fn current_code(d: &Domain, secret: &[u8]) -> String {
    format!("{:06}", code_at(secret, step_of(d.clock.now())))
}

/// Turns 2FA on for `member`; returns the secret.
async fn two_factor_on(d: &Domain, clock: &ManualClock, email: &str) -> Vec<u8> {
    let me = log_in_by_password(d, email, PASSWORD, "t").await.unwrap().member;
    let setup = two_factor::begin_setup(d, &me).await.unwrap();
    let secret = app::domain::testing::base32_decode(&setup.secret);
    two_factor::confirm_setup(d, &me, "t", PASSWORD, &current_code(d, &secret), None)
        .await
        .unwrap();
    clock.advance(Duration::seconds(30));
    secret
}

#[tokio::test]
async fn the_second_step_of_a_log_in_opens_no_session_for_a_disabled_user() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let secret = two_factor_on(&d, &clock, "bob@example.com").await;
    let LogIn::SecondFactor { challenge } =
        log_in::log_in(&d, "bob@example.com", PASSWORD, "t", None).await.unwrap()
    else {
        panic!("2FA is on")
    };
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let pending = login_challenge::Entity::find()
        .filter(login_challenge::Column::UserId.eq(bob.user_id()))
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(pending, 0, "the disable ended the log-in half done");
    let before = Snapshot::take_except(&d, &["login_challenges", "login_failures"]).await;
    let code = current_code(&d, &secret);
    let refused = log_in::complete_second_factor(&d, &challenge, &code, "t", None).await;
    assert_eq!(
        refused.err().unwrap().message_for("code").as_deref(),
        Some(log_in::CHALLENGE_EXPIRED)
    );
    // A challenge opened just before the disable committed (a race): the
    // right code still opens no session.
    let raced = log_in::challenge(&d, &d.db, bob.user_id(), None).await.unwrap();
    let raced = log_in::complete_second_factor(&d, &raced, &code, "t", None).await;
    assert_eq!(raced.err(), Some(disabled()));
    // And the password step tells him at once, before any code.
    let refused = log_in::log_in(&d, "bob@example.com", PASSWORD, "t", None).await;
    assert_eq!(refused.err(), Some(disabled()));
    before.assert_unchanged(&d).await;
    assert_eq!(sessions_of(&d, bob.user_id()).await, 0);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_disabled_and_nobody_disables_themself() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::disable(&d, &admin, ada.user_id()).await,
        Err(AppError::Forbidden(LAST_ACTIVE_ADMIN.into()))
    );
    before.assert_unchanged(&d).await;

    // With a second active admin, the first still cannot disable themself.
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::disable(&d, &admin, ada.user_id()).await,
        Err(AppError::Forbidden(NOT_YOURSELF_DISABLE.into()))
    );
    before.assert_unchanged(&d).await;

    // A disabled admin does not count as an admin for the last-admin rules:
    // Ada is the last active one, so she can neither disable nor demote herself.
    users::disable(&d, &admin, grace.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        users::disable(&d, &admin, ada.user_id()).await,
        Err(AppError::Forbidden(LAST_ACTIVE_ADMIN.into()))
    );
    let demote_self = form("Ada", "ada@example.com");
    let err = users::update(&d, &admin, ada.user_id(), demote_self).await.err().unwrap();
    assert_eq!(err.message_for("is_admin").as_deref(), Some(LAST_ADMIN));
    // Grace, disabled, cannot enable herself with the capability she had.
    assert_eq!(
        users::enable(&d, &grace.admin().unwrap(), grace.user_id()).await,
        Err(AppError::Forbidden(NOT_ADMIN.into()))
    );
    before.assert_unchanged(&d).await;

    // Disabling twice, or enabling an enabled user, changes nothing more.
    let before = Snapshot::take(&d).await;
    assert!(users::disable(&d, &admin, grace.user_id()).await.unwrap().disabled);
    assert!(!users::enable(&d, &admin, ada.user_id()).await.unwrap().disabled);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn another_accounts_user_is_not_found_and_a_demoted_admin_is_forbidden() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let eve = account_with_admin(&d, "Other", "eve@other.example").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", true).await;
    let before = Snapshot::take(&d).await;
    assert_eq!(users::disable(&d, &admin, eve.user_id()).await, Err(AppError::NotFound));
    assert_eq!(users::enable(&d, &admin, eve.user_id()).await, Err(AppError::NotFound));
    assert_eq!(users::disable(&d, &admin, 999_999).await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;

    // A member is no admin; an admin demoted a moment ago acts as one no more.
    let member = add_user(&d, ada.account_id(), "cy@example.com", false).await;
    let signed_in = log_in_by_password(&d, "cy@example.com", PASSWORD, "t").await.unwrap();
    let read_back = sessions::authenticate(&d, &signed_in.token).await.unwrap();
    assert_eq!(read_back.admin().err(), Some(AppError::Forbidden(NOT_ADMIN.into())));
    let invited = users::invite(&d, &admin, form("Dee", "dee@example.com")).await.unwrap();
    let bucket = s3_integration(&d, &ada, "Recordings").await;
    provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let stale = bob.admin().unwrap();
    users::update(&d, &admin, bob.user_id(), form("Bob", "bob@example.com")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let forbidden = Err(AppError::Forbidden(NOT_ADMIN.into()));
    assert_eq!(users::disable(&d, &stale, member.user_id()).await, forbidden);
    assert_eq!(users::enable(&d, &stale, member.user_id()).await, forbidden);
    // Nor makes himself admin again, nor edits anyone.
    let mut back = form("Bob", "bob@example.com");
    back.is_admin = true;
    assert_eq!(users::update(&d, &stale, bob.user_id(), back).await, forbidden);
    let renamed = form("Cyrus", "cy@example.com");
    assert_eq!(users::update(&d, &stale, member.user_id(), renamed).await, forbidden);
    // A save that would change nothing is refused too, not answered.
    let as_stored = form("Bob", "bob@example.com");
    assert_eq!(users::update(&d, &stale, bob.user_id(), as_stored).await, forbidden);
    // And a move of his own address, refused for any admin, is refused
    // him as no admin.
    let moved = form("Bob", "bob@new.example");
    assert_eq!(users::update(&d, &stale, bob.user_id(), moved).await, forbidden);
    // Nor sends invitations, keeps integrations or company details.
    let not_admin = Some(AppError::Forbidden(NOT_ADMIN.into()));
    assert_eq!(users::resend_invitation(&d, &stale, invited.id).await.err(), not_admin);
    let input = NewIntegration {
        service: "s3".into(),
        name: "Backups".into(),
        key: samples::AWS_KEY.into(),
        secret: samples::AWS_SECRET.into(),
        ..Default::default()
    };
    assert_eq!(integrations::add(&d, &stale, input).await.err(), not_admin);
    let renamed = integrations::update(&d, &stale, bucket, "Old recordings", "", None).await;
    assert_eq!(renamed.err(), not_admin);
    // Its save of what is stored is refused too, not answered with the
    // applications that use it.
    let as_stored = integrations::update(&d, &stale, bucket, "Recordings", "", None).await;
    assert_eq!(as_stored.err(), not_admin);
    assert_eq!(
        integrations::delete(&d, &stale, bucket, &app::domain::testing::used_by(&[], 0))
            .await
            .err(),
        not_admin
    );
    let info = account_info::get(&d, &admin).await.unwrap();
    assert_eq!(account_info::save(&d, &stale, info).await.err(), not_admin);
    // Nor sends a password reset, nor reads an integration's secrets.
    assert_eq!(users::send_password_reset(&d, &stale, member.user_id()).await.err(), not_admin);
    assert_eq!(integrations::credentials(&d, &stale, bucket).await.err(), not_admin);
    // Nor gives a number back, invites or deletes anyone.
    assert_eq!(phone_numbers::release(&d, &stale, number.id).await.err(), not_admin);
    assert_eq!(users::invite(&d, &stale, form("Eli", "eli@example.com")).await.err(), not_admin);
    assert_eq!(users::delete(&d, &stale, member.user_id()).await.err(), not_admin);
    assert_eq!(users::delete(&d, &stale, invited.id).await.err(), not_admin);
    before.assert_unchanged(&d).await;

    // A reset for a user who changed since the admin's page read them (here:
    // the address of another account's user) is refused, and nothing is sent.
    let who = Who { recipient: Some("eve@other.example".into()), ..Who::default() };
    let by = By::Member(Counted::assumed(admin.member()));
    let asker = email_links::ResetAsker::Admin(&admin, by);
    let sent = email_links::send_password_reset(&d, "eve@other.example", &who, asker).await;
    assert_eq!(sent, Err(AppError::Conflict(email_links::RESET_TARGET_CHANGED.into())));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn the_table_shows_and_filters_by_state_with_search_sort_and_pages() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    // More than a page in each state.
    let total = PAGE_SIZE as usize * 2 + 10;
    let mut disabled_ids = Vec::new();
    for i in 1..total {
        let member =
            add_user(&d, ada.account_id(), &format!("user{i:03}@example.com"), false).await;
        if i % 2 == 0 {
            users::disable(&d, &admin, member.user_id()).await.unwrap();
            disabled_ids.push(member.user_id());
        }
    }
    // Another account's disabled user, written directly: never in our lists.
    let zed = account_with_admin(&d, "Other", "zed@other.example").await;
    let zed = user::Entity::find_by_id(zed.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut zed = zed.into_active_model();
    zed.disabled_at = Set(Some(d.clock.now()));
    zed.update(&d.db).await.unwrap();

    for sort in UserSort::ALL {
        for (state, search) in [
            (UserState::All, ""),
            (UserState::Enabled, ""),
            (UserState::Disabled, ""),
            (UserState::Disabled, "user0"),
            (UserState::Enabled, "USER0"),
        ] {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page =
                    users::list_users_in_state(&d, &admin, search, state, sort, after.as_deref())
                        .await
                        .unwrap();
                assert!(page.several_users);
                assert!(page.rows.len() <= PAGE_SIZE as usize);
                seen.extend(page.rows);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected: Vec<i32> = user::Entity::find()
                .filter(user::Column::AccountId.eq(ada.account_id()))
                .all(&d.db)
                .await
                .unwrap()
                .into_iter()
                .filter(|u| u.email.contains(&search.to_lowercase()))
                .filter(|u| match state {
                    UserState::All => true,
                    UserState::Enabled => u.disabled_at.is_none(),
                    UserState::Disabled => u.disabled_at.is_some(),
                })
                .map(|u| u.id)
                .collect();
            expected.sort();
            let mut ids: Vec<i32> = seen.iter().map(|r| r.id).collect();
            ids.sort();
            assert_eq!(ids, expected, "{sort:?} {state:?} {search:?}: each matching user once");
            assert!(!expected.is_empty());
            for row in &seen {
                assert_eq!(row.disabled, disabled_ids.contains(&row.id), "the row shows its state");
            }
            if sort == UserSort::Email {
                assert!(seen.windows(2).all(|w| w[0].email < w[1].email), "{state:?}");
            }
        }
    }
    let everyone =
        users::list_users(&d, &admin, "", UserSort::Name, None).await.unwrap().rows.len();
    assert_eq!(everyone, PAGE_SIZE as usize, "the unfiltered list is unchanged");
    assert_eq!(
        UserState::parse(Some("asleep")).err().and_then(|e| e.message_for("state")).as_deref(),
        Some(app::model::STATE_KEYS)
    );
    assert_eq!(UserState::parse(None), Ok(UserState::All));
    assert_eq!(UserState::parse(Some("disabled")), Ok(UserState::Disabled));
}

/// The "Disabled" filter reads the few disabled users through their own
/// partial index (PostgreSQL may then sort those few); "Enabled" walks the
/// name index in order, as the whole list does.
#[tokio::test]
async fn the_state_filters_are_served_by_indexes_in_order() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, QuerySelect, QueryTrait};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    for i in 0..60 {
        let member =
            add_user(&d, ada.account_id(), &format!("user{i:02}@example.com"), false).await;
        if i % 20 == 0 {
            users::disable(&d, &admin, member.user_id()).await.unwrap();
        }
    }
    let backend = d.db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        d.db.execute_unprepared("ANALYZE users").await.unwrap();
    }
    for (state, index) in [
        (UserState::Disabled, "idx_users_account_disabled"),
        (UserState::Enabled, "idx_users_account_name"),
    ] {
        let scope = directory::in_state(Scoped::of(&ada).users(), state);
        let page = directory::ordered(scope, UserSort::Name, None).unwrap().limit(PAGE_SIZE + 1);
        let plan = query_plan(&d, page.build(backend)).await;
        assert!(plan.contains(index), "{state:?} should use {index}:\n{plan}");
        let sorted = plan.contains("TEMP B-TREE") || plan.contains("Sort  (");
        assert!(state == UserState::Disabled || !sorted, "sorted outside the index:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "a sequential scan:\n{plan}");
    }
}

#[tokio::test]
async fn an_operator_promoting_a_disabled_user_enables_them() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let promoted =
        operator::promote(&d, &Operator::from_command_line(), "bob@example.com").await.unwrap();
    assert!(promoted.user.is_admin && promoted.user.disabled_at.is_none());
    assert!(promoted.enabled_again, "the operator is told");
    // And so are the account's admins, in its activity.
    use app::domain::entity::activity_event;
    use sea_orm::{EntityTrait, QueryOrder};
    let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
    let event = newest.one(&d.db).await.unwrap().unwrap();
    assert_eq!(event.kind, "operator.promoted");
    assert_eq!(event.detail.as_deref(), Some("enabled again (an admin had disabled them)"));
    let session = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    assert!(session.member.is_admin());
    // Promoted again, an admin already: nothing to write or log.
    let before = Snapshot::take(&d).await;
    let again =
        operator::promote(&d, &Operator::from_command_line(), "bob@example.com").await.unwrap();
    assert!(again.user.is_admin && again.changed_nothing() && !again.enabled_again);
    before.assert_unchanged(&d).await;

    // A disabled admin is only enabled: the log says so, not a promotion.
    // A session that outlived the disable (stored just as it committed)
    // does not come back with the enable, as with an admin's Enable.
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    users::disable(&d, &ada.admin().unwrap(), grace.user_id()).await.unwrap();
    stray_session(&d, grace.user_id(), "left over").await;
    let before = Snapshot::take(&d).await;
    let promoted =
        operator::promote(&d, &Operator::from_command_line(), "grace@example.com").await.unwrap();
    assert!(promoted.was_admin && promoted.enabled_again && !promoted.changed_nothing());
    assert_eq!(before.new_events(&d).await, ["user.enabled grace@example.com"]);
    let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
    let event = newest.one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        (event.actor.as_str(), event.detail.as_deref()),
        ("operator", Some("by promote, an admin already"))
    );
    assert_eq!(sessions_of(&d, grace.user_id()).await, 0);
    assert!(log_in_by_password(&d, "grace@example.com", PASSWORD, "t").await.is_ok());
}
