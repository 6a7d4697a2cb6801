//! Verified sign-up, forgot password and confirmed email change: the emails
//! they write to the outbox and the links in them.
use app::domain::admin::invitations;
use app::domain::core::tokens::{link_withdrawn, Purpose, LINK_EXPIRED, LINK_INVALID, LINK_USED};
use app::domain::entity::{account, activity_event, email_outbox as outbox, email_token, user};
use app::domain::identity::email_links::{self, UNVERIFIED_ACCOUNT_LIFETIME};
use app::domain::identity::log_in;
use app::domain::identity::profile;
use app::domain::identity::reauth;
use app::domain::identity::sessions;
use app::domain::identity::sign_up;
use app::domain::identity::sign_up::SignUp;
use app::domain::testing::log_in_by_password;
use app::domain::testing::{
    account_with_admin, add_user, body_of, fresh_concurrent_domain, fresh_domain, link_token,
    query_plan, Snapshot, PASSWORD,
};
use app::domain::{jobs, Domain};
use app::model::{ActivityKind, AppError, VerificationLink};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QueryTrait};

async fn outbox_to(d: &Domain, address: &str) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq(address))
        .order_by_asc(outbox::Column::Id)
        .all(&d.db)
        .await
        .unwrap()
}

/// Grace's sign-up for Acme with `email`.
fn sign_up_as(email: &str) -> SignUp {
    SignUp {
        company_name: "Acme".into(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: email.into(),
        password: PASSWORD.into(),
    }
}

async fn sign_up(d: &Domain, email: &str) -> sessions::NewSession {
    sign_up::sign_up(d, sign_up_as(email), "test", None).await.unwrap()
}

fn field(err: &AppError, name: &str) -> String {
    err.message_for(name).unwrap_or_else(|| panic!("no {name} error in {err:?}"))
}

#[tokio::test]
async fn sign_up_writes_a_verification_link_and_using_it_verifies_the_address() {
    let (d, _) = fresh_domain().await;
    let s = sign_up(&d, "grace@example.com").await;
    assert!(!profile::current_user(&d, &s.member).await.unwrap().email_verified);
    let emails = outbox_to(&d, "grace@example.com").await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].subject, "Verify your email address");
    let token = link_token(&d, "grace@example.com", "/verify-email").await;
    // Only a hash of the token is stored.
    let stored = email_token::Entity::find().all(&d.db).await.unwrap();
    assert!(stored.iter().all(|t| t.token_hash != token && !t.token_hash.contains(&token)));
    assert!(token.len() >= 43, "256 bits");

    email_links::verify_email(&d, &token, None).await.unwrap();
    assert!(profile::current_user(&d, &s.member).await.unwrap().email_verified);
    // The link again is told the address is verified (all it was for),
    // not to ask for a new one; nothing changes.
    let before = Snapshot::take(&d).await;
    email_links::verify_email(&d, &token, None).await.unwrap();
    let forged = email_links::verify_email(&d, "forged-token", None).await.err().unwrap();
    assert_eq!(field(&forged, "token"), LINK_INVALID);
    before.assert_unchanged(&d).await;
}

/// The link pressed twice at once (a double click without scripts shows
/// the second answer): both are told the address is verified, and it is
/// recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verification_link_pressed_twice_at_once_says_verified_both_times() {
    let (d, _) = fresh_concurrent_domain().await;
    for round in 0..8 {
        let email = format!("grace{round}@example.com");
        let s = sign_up(&d, &email).await;
        let token = link_token(&d, &email, "/verify-email").await;
        let presses: Vec<_> = (0..2)
            .map(|_| {
                let (d, token) = (d.clone(), token.clone());
                tokio::spawn(async move { email_links::verify_email(&d, &token, None).await })
            })
            .collect();
        for press in presses {
            assert_eq!(press.await.unwrap(), Ok(()), "round {round}");
        }
        assert!(profile::current_user(&d, &s.member).await.unwrap().email_verified);
        let recorded = activity_event::Entity::find()
            .filter(activity_event::Column::Kind.eq(ActivityKind::EmailVerified.as_str()))
            .filter(activity_event::Column::Target.eq(email.as_str()))
            .count(&d.db)
            .await
            .unwrap();
        assert_eq!(recorded, 1, "round {round}");
    }
}

/// The account is removed a week after its sign-up, not after its latest
/// verification email: a resend on the sixth day says when, not "7 days".
#[tokio::test]
async fn a_verification_email_says_when_the_unverified_account_goes() {
    let (d, clock) = fresh_domain().await;
    let signed_up_at = d.clock.now();
    let s = sign_up(&d, "grace@example.com").await;
    let goes = (signed_up_at + UNVERIFIED_ACCOUNT_LIFETIME).format("%Y-%m-%d %H:%M UTC");
    let kept_until = format!("account is kept until {goes} (");
    let body = body_of(&d, &outbox_to(&d, "grace@example.com").await[0]);
    assert!(body.contains(&format!("{kept_until}7 days from now)")), "{body}");
    clock.advance(Duration::days(6));
    email_links::resend_verification(&d, &s.member).await.unwrap();
    let body = body_of(&d, &outbox_to(&d, "grace@example.com").await[1]);
    assert!(body.contains(&format!("{kept_until}24 hours from now)")), "{body}");
    // With a verified user beside them (one merged in), the account stays:
    // no date is promised that will not come.
    add_user(&d, s.member.account_id(), "verified@example.com", false).await;
    clock.advance(Duration::minutes(10));
    email_links::resend_verification(&d, &s.member).await.unwrap();
    let body = body_of(&d, &outbox_to(&d, "grace@example.com").await[2]);
    assert!(!body.contains("kept until") && body.contains("If you did not ask for this"), "{body}");
    // The link's own time is said instead.
    let until = (d.clock.now() + Duration::days(7)).format("%Y-%m-%d %H:%M UTC");
    assert!(body.contains(&format!("The link works for 7 days, until {until}.")), "{body}");
}

#[tokio::test]
async fn a_resent_verification_link_replaces_the_old_one() {
    let (d, _) = fresh_domain().await;
    let s = sign_up(&d, "grace@example.com").await;
    let first = link_token(&d, "grace@example.com", "/verify-email").await;
    email_links::resend_verification(&d, &s.member).await.unwrap();
    let second = link_token(&d, "grace@example.com", "/verify-email").await;
    assert_ne!(first, second);
    let before = Snapshot::take(&d).await;
    // Its page says so before the button, and so does the button.
    let check = email_links::check_verification_link(&d, &first).await.err().unwrap();
    assert_eq!(field(&check, "token"), link_withdrawn(Purpose::VerifyEmail));
    assert_eq!(
        field(&email_links::verify_email(&d, &first, None).await.err().unwrap(), "token"),
        link_withdrawn(Purpose::VerifyEmail)
    );
    // Its page names whose account it verifies, for a stranger's sign-up
    // to be told from one's own.
    let waiting = email_links::check_verification_link(&d, &second).await.unwrap();
    assert!(
        matches!(&waiting, VerificationLink::Waiting { company, name, .. } if company == "Acme" && name == "Grace Hopper"),
        "{waiting:?}"
    );
    before.assert_unchanged(&d).await;
    email_links::verify_email(&d, &second, None).await.unwrap();
    let before = Snapshot::take(&d).await;
    // The first link, opened once the second verified: verified, nothing to do.
    assert_eq!(
        email_links::check_verification_link(&d, &first).await,
        Ok(VerificationLink::Verified)
    );
    email_links::verify_email(&d, &first, None).await.unwrap();
    let again = email_links::resend_verification(&d, &s.member).await.err().unwrap();
    assert_eq!(field(&again, "form"), "Your email address is already verified.");
    before.assert_unchanged(&d).await;
}

/// The hourly clean-ups of unverified accounts and expired invitees ask of
/// each candidate whether one row exists (a verified user, a live
/// invitation): never `NOT IN` the list of every such row, which
/// PostgreSQL, once the list outgrows its memory, rescans for each
/// candidate (it has no other plan for `NOT IN`; for `NOT EXISTS` it
/// chooses between an anti-join, a hashed list that fits and a probe of an
/// index per candidate). SQLite's plan shows the shape: a "LIST SUBQUERY"
/// is a whole list, a "CORRELATED" one a probe per candidate.
#[tokio::test]
async fn the_clean_ups_check_each_candidate_not_against_a_whole_list() {
    let (d, _) = fresh_domain().await;
    let backend = d.db.get_database_backend();
    let now = d.clock.now();
    let unverified = account::Entity::find().filter(jobs::never_verified_before(now));
    let invitees = user::Entity::find().filter(invitations::expired_invitees(now));
    for (what, statement) in
        [("unverified accounts", unverified.build(backend)), ("invitees", invitees.build(backend))]
    {
        assert!(
            statement.sql.contains("NOT EXISTS") && !statement.sql.contains("NOT IN"),
            "{what}: {}",
            statement.sql
        );
        if backend == sea_orm::DatabaseBackend::Sqlite {
            let plan = query_plan(&d, statement).await;
            assert!(
                plan.contains("CORRELATED") && !plan.contains("LIST SUBQUERY"),
                "{what}:\n{plan}"
            );
        }
    }
}

/// An admin who never verified their address cannot delete the one user
/// whose address is verified (an operator's `user add`, a merge): the
/// account would become one nobody verified, removed by the next clean-up
/// with everything in it, and claimable through its sign-up address.
#[tokio::test]
async fn the_last_verified_user_is_not_deleted_by_an_admin_never_verified() {
    use app::domain::admin::users;
    let (d, clock) = fresh_domain().await;
    let grace = sign_up(&d, "grace@example.com").await.member;
    let bob = add_user(&d, grace.account_id(), "bob@example.com", false).await;
    let admin = grace.admin().unwrap();
    let before = Snapshot::take(&d).await;
    let refused = users::delete(&d, &admin, bob.user_id()).await;
    assert_eq!(refused, Err(AppError::Forbidden(users::LAST_VERIFIED.into())));
    before.assert_unchanged(&d).await;
    clock.advance(UNVERIFIED_ACCOUNT_LIFETIME + Duration::hours(1));
    assert_eq!(jobs::remove_unverified_accounts(&d).await.unwrap(), 0, "kept by Bob's");
    // Once Grace's address is verified too, Bob's is not the only one.
    email_links::resend_verification(&d, &grace).await.unwrap();
    let token = link_token(&d, "grace@example.com", "/verify-email").await;
    email_links::verify_email(&d, &token, None).await.unwrap();
    users::delete(&d, &admin, bob.user_id()).await.unwrap();
    assert_eq!(jobs::remove_unverified_accounts(&d).await.unwrap(), 0, "kept by Grace's");
    assert_eq!(account::Entity::find().count(&d.db).await.unwrap(), 1);
}

#[tokio::test]
async fn an_account_never_verified_is_removed_after_seven_days_freeing_the_address() {
    let (d, clock) = fresh_domain().await;
    sign_up(&d, "squatter@example.com").await;
    let kept = sign_up(&d, "real@example.com").await;
    let token = link_token(&d, "real@example.com", "/verify-email").await;
    email_links::verify_email(&d, &token, None).await.unwrap();

    clock.advance(UNVERIFIED_ACCOUNT_LIFETIME - Duration::minutes(1));
    assert_eq!(app::domain::jobs::remove_unverified_accounts(&d).await.unwrap(), 0);
    clock.advance(Duration::minutes(2));
    assert_eq!(app::domain::jobs::remove_unverified_accounts(&d).await.unwrap(), 1);
    assert_eq!(account::Entity::find().count(&d.db).await.unwrap(), 1);
    assert!(profile::current_user(&d, &kept.member).await.is_ok());
    // The address is free again.
    sign_up(&d, "squatter@example.com").await;
}

#[tokio::test]
async fn forgot_password_answers_the_same_whether_or_not_the_address_exists() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    assert_eq!(email_links::request_password_reset(&d, "nobody@example.com", None).await, Ok(()));
    assert_eq!(email_links::request_password_reset(&d, " ADA@example.com", None).await, Ok(()));
    assert!(outbox_to(&d, "nobody@example.com").await.is_empty());
    assert_eq!(outbox_to(&d, "ada@example.com").await.len(), 1);
    let before = Snapshot::take(&d).await;
    let bad = email_links::request_password_reset(&d, "not an email", None).await.err().unwrap();
    assert!(bad.message_for("email").is_some());
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_ends_every_session_and_signs_in() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let old_session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;

    // A refused password leaves the link working, and changes nothing.
    let before = Snapshot::take(&d).await;
    let weak = email_links::reset_password(&d, &token, "password1", "t", None).await.err().unwrap();
    assert!(field(&weak, "new_password").contains("too easy"));
    before.assert_unchanged(&d).await;

    let new_password = "Quartz-Harbor-Lantern-77";
    let fresh = email_links::reset_password(&d, &token, new_password, "t", None)
        .await
        .and_then(log_in::LogIn::into_session)
        .unwrap();
    assert_eq!(
        sessions::authenticate(&d, &old_session.token).await,
        Err(AppError::Unauthenticated)
    );
    assert!(sessions::authenticate(&d, &fresh.token).await.is_ok());
    assert!(log_in_by_password(&d, "ada@example.com", new_password, "t").await.is_ok());
    let before = Snapshot::take(&d).await;
    let reused = email_links::reset_password(&d, &token, "Another-Fine-Phrase-88", "t", None)
        .await
        .err()
        .unwrap();
    assert_eq!(field(&reused, "token"), LINK_USED);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    clock.advance(Duration::minutes(61));
    let before = Snapshot::take(&d).await;
    let late = email_links::reset_password(&d, &token, "Quartz-Harbor-Lantern-77", "t", None)
        .await
        .err()
        .unwrap();
    assert_eq!(field(&late, "token"), LINK_EXPIRED);
    before.assert_unchanged(&d).await;
    assert!(
        log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.is_ok(),
        "password unchanged"
    );
}

/// Anyone may sign up with anyone's address: a user whose address was never
/// verified is not named by it when they move to another (its owner would
/// take the account for theirs), neither in the email nor on the link's
/// page, which say when they signed up instead. Once the move verified the
/// user, the sign-up's verification link, still in the mistyped inbox,
/// shows nothing of the account.
#[tokio::test]
async fn a_user_never_verified_is_not_named_by_their_address_when_moving_to_another() {
    let (d, _) = fresh_domain().await;
    let s = sign_up(&d, "grace@corp.example").await;
    let verify = link_token(&d, "grace@corp.example", "/verify-email").await;
    email_links::request_email_change(&d, &s.member, PASSWORD, "grace@home.example", "")
        .await
        .unwrap();
    let sent = outbox_to(&d, "grace@home.example").await;
    let body = body_of(&d, &sent[0]);
    assert!(body.starts_with("Someone who signed up for Voice Console on "), "{body}");
    assert!(body.contains("If you signed up yourself, confirm"), "{body}");
    assert!(!body.contains("grace@corp.example"), "{body}");
    let token = link_token(&d, "grace@home.example", "/confirm-email").await;
    let page = email_links::check_email_change_link(&d, &token).await.unwrap();
    assert_eq!((page.from, page.to.as_str()), (None, "grace@home.example"));
    email_links::confirm_email_change(&d, &token, None).await.unwrap();
    // Nor is the address never verified told of the change, before or after.
    let told = outbox_to(&d, "grace@corp.example").await;
    let subjects: Vec<&str> = told.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["Verify your email address"]);
    let old_link = email_links::check_verification_link(&d, &verify).await;
    assert_eq!(old_link, Ok(VerificationLink::Verified));
}

#[tokio::test]
async fn an_email_change_takes_effect_only_from_the_new_address_and_tells_the_old_one() {
    let (d, _) = fresh_domain().await;
    let me = account_with_admin(&d, "Acme", "ada@example.com").await;
    account_with_admin(&d, "Other", "taken@example.com").await;

    // The wrong password counts against the user's re-checks (login_failures);
    // nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let wrong = email_links::request_email_change(&d, &me, "wrong", "new@example.com", "")
        .await
        .err()
        .unwrap();
    assert!(wrong.message_for("current_password").is_some());
    let taken = email_links::request_email_change(&d, &me, PASSWORD, "Taken@example.com", "")
        .await
        .err()
        .unwrap();
    assert!(field(&taken, "new_email").contains("already in use"));
    let malformed =
        email_links::request_email_change(&d, &me, PASSWORD, "nope", "").await.err().unwrap();
    assert!(malformed.message_for("new_email").is_some());
    before.assert_unchanged(&d).await;
    assert_eq!(outbox::Entity::find().count(&d.db).await.unwrap(), 0, "refusals send nothing");

    let to = email_links::request_email_change(&d, &me, PASSWORD, " New@Example.com ", "")
        .await
        .unwrap();
    assert_eq!(to, "new@example.com");
    assert_eq!(profile::current_user(&d, &me).await.unwrap().email, "ada@example.com", "not yet");
    let notice = outbox_to(&d, "ada@example.com").await;
    assert_eq!(notice.len(), 1);
    let notice = body_of(&d, &notice[0]);
    assert!(notice.contains("new@example.com"));
    assert!(!notice.contains("token="), "the old address gets no link");

    let token = link_token(&d, "new@example.com", "/confirm-email").await;
    assert_eq!(
        email_links::confirm_email_change(&d, &token, None).await.unwrap(),
        "new@example.com"
    );
    assert_eq!(profile::current_user(&d, &me).await.unwrap().email, "new@example.com");
    // The old address hears the change took effect: the last email it gets.
    let told = outbox_to(&d, "ada@example.com").await;
    assert_eq!(told.len(), 2);
    assert_eq!(told[1].subject, "Your email address was changed");
    let body = body_of(&d, &told[1]);
    let changed = "changed from this address to new@example.com on ";
    assert!(body.contains(changed) && body.contains("contact support"), "{body}");
    assert!(!body.contains("token=") && !body.contains("an admin of your account,"), "{body}");
    assert!(log_in_by_password(&d, "new@example.com", PASSWORD, "t").await.is_ok());
    // The old address's failed log-in is counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let refused = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.err().unwrap();
    assert_eq!(refused.message_for("password").as_deref(), Some(log_in::WRONG_CREDENTIALS));
    assert_eq!(
        field(&email_links::confirm_email_change(&d, &token, None).await.err().unwrap(), "token"),
        LINK_USED
    );
    before.assert_unchanged(&d).await;
}

/// Anyone can sign up, and an unverified user asking to move to an address
/// that has an account is answered as for a free one, so Change Email does
/// not tell them which addresses have an account (a verified user is told,
/// in the test above). The address's owner is told instead, with no link.
#[tokio::test]
async fn an_unverified_user_is_not_told_that_an_address_has_an_account() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Other", "taken@example.com").await;
    let me = sign_up(&d, "grace@example.com").await.member;
    let free =
        email_links::request_email_change(&d, &me, PASSWORD, "free@example.com", "").await.unwrap();
    let taken = email_links::request_email_change(&d, &me, PASSWORD, "Taken@example.com", "")
        .await
        .unwrap();
    assert_eq!((free.as_str(), taken.as_str()), ("free@example.com", "taken@example.com"));
    let waiting = email_links::pending_email_change(&d, &me).await.unwrap().unwrap();
    assert_eq!(waiting.new_email, "taken@example.com", "shown waiting, as a free address is");

    let link = outbox_to(&d, "free@example.com").await;
    assert_eq!(link[0].subject, "Confirm your new email address");
    // Anyone may be sent it (an unverified sign-up too): a stranger is told
    // to leave it, as the link would verify their inbox for someone else.
    let body = body_of(&d, &link[0]);
    assert!(body.contains("do not open the link: ignore this email and nothing changes"), "{body}");
    let told = outbox_to(&d, "taken@example.com").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].subject, "This address already has an account");
    let body = body_of(&d, &told[0]);
    assert!(!body.contains("token="), "no link to take over the address: {body}");
    assert!(body.contains("http://127.0.0.1:3000/forgot-password"), "{body}");
    assert_eq!(profile::current_user(&d, &me).await.unwrap().email, "grace@example.com");
}

/// Asking to move to the address one already has, in any capitals, is
/// refused beside the field before anything is looked up or sent: no link
/// to oneself and no notice. With the right password nothing at all changes
/// (a wrong one is counted, as in the test above, so it is not used here).
#[tokio::test]
async fn an_email_change_to_ones_own_address_is_refused_and_changes_nothing() {
    let (d, _) = fresh_domain().await;
    let me = account_with_admin(&d, "Acme", "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    for same in ["ada@example.com", " ADA@Example.com "] {
        let refused =
            email_links::request_email_change(&d, &me, PASSWORD, same, "").await.err().unwrap();
        assert_eq!(
            refused,
            AppError::field("new_email", "This is already your email address."),
            "{same}"
        );
    }
    before.assert_unchanged(&d).await;
    assert_eq!(email_links::pending_email_change(&d, &me).await.unwrap(), None);
}

/// A change waiting for its link is shown after a reload, with its address
/// and the link's end, and can be cancelled: the link then says it was
/// withdrawn and the address stays. With nothing waiting (cancelled, confirmed or
/// expired) Cancel says so and changes nothing.
#[tokio::test]
async fn a_pending_email_change_is_shown_and_can_be_cancelled() {
    let (d, clock) = fresh_domain().await;
    let me = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, me.account_id(), "bob@example.com", false).await;
    assert_eq!(email_links::pending_email_change(&d, &me).await.unwrap(), None);
    let no_change = Some(AppError::Conflict(email_links::NO_EMAIL_CHANGE.into()));
    let before = Snapshot::take(&d).await;
    assert_eq!(email_links::cancel_email_change(&d, &me).await.err(), no_change);
    before.assert_unchanged(&d).await;

    let asked_at = d.clock.now();
    email_links::request_email_change(&d, &me, PASSWORD, "new@example.com", "").await.unwrap();
    let pending = email_links::pending_email_change(&d, &me).await.unwrap().unwrap();
    assert_eq!(pending.new_email, "new@example.com");
    let until = (asked_at + chrono::Duration::hours(24)).format("%Y-%m-%d %H:%M UTC");
    assert_eq!(pending.until, until.to_string());
    // Only the user it is for sees it.
    assert_eq!(email_links::pending_email_change(&d, &bob).await.unwrap(), None);
    // Bob's Cancel does not withdraw Ada's link.
    let before = Snapshot::take(&d).await;
    assert_eq!(email_links::cancel_email_change(&d, &bob).await.err(), no_change);
    before.assert_unchanged(&d).await;

    let token = link_token(&d, "new@example.com", "/confirm-email").await;
    let checked = email_links::check_email_change_link(&d, &token).await.unwrap();
    assert_eq!(
        (checked.from.as_deref(), checked.to.as_str()),
        (Some("ada@example.com"), "new@example.com"),
        "its page names the user by their verified address, and the new one"
    );
    email_links::cancel_email_change(&d, &me).await.unwrap();
    assert_eq!(email_links::pending_email_change(&d, &me).await.unwrap(), None);
    let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
    let event = newest.one(&d.db).await.unwrap().unwrap();
    assert_eq!(event.kind, ActivityKind::EmailChangeCancelled.as_str());
    assert_eq!(event.detail.as_deref(), Some("to new@example.com"));
    let before = Snapshot::take(&d).await;
    // Its page says why at once, and so does its button.
    let link = email_links::check_email_change_link(&d, &token).await.err().unwrap();
    assert_eq!(field(&link, "token"), link_withdrawn(Purpose::ChangeEmail));
    let link = email_links::confirm_email_change(&d, &token, None).await.err().unwrap();
    assert_eq!(field(&link, "token"), link_withdrawn(Purpose::ChangeEmail));
    assert_eq!(email_links::cancel_email_change(&d, &me).await.err(), no_change);
    before.assert_unchanged(&d).await;
    assert_eq!(profile::current_user(&d, &me).await.unwrap().email, "ada@example.com");

    // A confirmed change leaves nothing waiting, nor does an expired one.
    email_links::request_email_change(&d, &me, PASSWORD, "newer@example.com", "").await.unwrap();
    let token = link_token(&d, "newer@example.com", "/confirm-email").await;
    email_links::confirm_email_change(&d, &token, None).await.unwrap();
    assert_eq!(email_links::pending_email_change(&d, &me).await.unwrap(), None);
    email_links::request_email_change(&d, &me, PASSWORD, "newest@example.com", "").await.unwrap();
    let late = link_token(&d, "newest@example.com", "/confirm-email").await;
    clock.advance(chrono::Duration::hours(24));
    assert_eq!(email_links::pending_email_change(&d, &me).await.unwrap(), None);
    // Its time ran out: it says expired, not withdrawn.
    let expired = email_links::check_email_change_link(&d, &late).await.err().unwrap();
    assert_eq!(field(&expired, "token"), LINK_EXPIRED);
    let before = Snapshot::take(&d).await;
    assert_eq!(email_links::cancel_email_change(&d, &me).await.err(), no_change);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn an_email_change_link_cannot_take_an_address_claimed_meanwhile() {
    let (d, _) = fresh_domain().await;
    let me = account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_email_change(&d, &me, PASSWORD, "new@example.com", "").await.unwrap();
    let token = link_token(&d, "new@example.com", "/confirm-email").await;
    account_with_admin(&d, "Fast", "new@example.com").await;
    let before = Snapshot::take(&d).await;
    // Its page says so as it opens, and so does its button.
    let page = email_links::check_email_change_link(&d, &token).await.err().unwrap();
    assert_eq!(field(&page, "token"), app::domain::core::people::EMAIL_TAKEN);
    let err = email_links::confirm_email_change(&d, &token, None).await.err().unwrap();
    assert!(field(&err, "token").contains("already in use"));
    before.assert_unchanged(&d).await;
    let still = user::Entity::find_by_id(me.user_id()).one(&d.db).await.unwrap().unwrap();
    assert_eq!(still.email, "ada@example.com");
}

#[tokio::test]
async fn links_are_built_from_the_configured_public_url() {
    let (mut d, _) = fresh_domain().await;
    d.public_url = "https://console.example.com".into();
    account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let body = body_of(&d, &outbox_to(&d, "ada@example.com").await[0]);
    assert!(body.contains("https://console.example.com/reset-password?token="), "{body}");
}

/// A changed password is told to the address, with where from and the
/// developer keys that keep working; a refused change tells nothing, and
/// an address nobody verified is not written to.
#[tokio::test]
async fn a_changed_or_reset_password_is_told_to_the_address_with_the_keys_that_still_work() {
    use app::domain::identity::developer_keys;
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let here: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    let me = session.member.clone().from_address(Some(here));
    let key = developer_keys::generate(&d, &me, "Nightly report", PASSWORD, "").await.unwrap();
    // A name chosen by whoever had the password, to read as the platform's.
    let forged = "Backup\" is safe. Support changed it";
    developer_keys::generate(&d, &me, forged, PASSWORD, "").await.unwrap();
    let notices = || async {
        let mut bodies = Vec::new();
        for email in outbox_to(&d, "ada@example.com").await {
            if email.subject == "Your password was changed" {
                bodies.push(body_of(&d, &email));
            }
        }
        bodies
    };

    // The wrong password is counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let wrong =
        profile::change_password(&d, &me, &session.token, "wrong", "Quartz-Harbor-Lantern-77");
    let wrong = wrong.await.err().unwrap();
    assert_eq!(wrong.message_for("current_password").as_deref(), Some(reauth::WRONG_PASSWORD));
    before.assert_unchanged(&d).await;

    let new_password = "Quartz-Harbor-Lantern-77";
    profile::change_password(&d, &me, &session.token, PASSWORD, new_password).await.unwrap();
    let told = notices().await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("was changed on the My Account page"), "{}", told[0]);
    assert!(told[0].contains("from 203.0.113.9"), "{}", told[0]);
    assert!(told[0].contains("Your other sessions were logged out."), "{}", told[0]);
    let made = d.clock.now().format("%Y-%m-%d %H:%M UTC");
    let named = format!("\n  - \"Nightly report\", made {made}\n");
    assert!(told[0].contains(&named), "the key that still works: {}", told[0]);
    let escaped = format!("\n  - \"Backup\\\" is safe. Support changed it\", made {made}\n");
    assert!(told[0].contains(&escaped), "quoted and escaped: {}", told[0]);
    assert!(told[0].contains("/forgot-password"), "{}", told[0]);
    assert!(!told[0].contains(&key.key), "never the key");
    assert!(!told[0].contains(&key.row.prefix), "nor its prefix, part of the secret");

    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::reset_password(&d, &reset, "Other-Password-Entirely-9", "t", None).await.unwrap();
    let told = notices().await;
    assert_eq!(told.len(), 2);
    assert!(told[1].contains("was reset with a link sent to this address"), "{}", told[1]);
    assert!(told[1].contains("All your sessions were logged out."), "{}", told[1]);
    assert!(told[1].contains(&named), "{}", told[1]);

    // An address someone signed up with and never verified may be a
    // stranger's: it hears nothing of the account.
    let grace = sign_up(&d, "grace@example.com").await;
    profile::change_password(&d, &grace.member, &grace.token, PASSWORD, new_password)
        .await
        .unwrap();
    let to_grace = outbox_to(&d, "grace@example.com").await;
    assert!(to_grace.iter().all(|e| e.subject != "Your password was changed"));
}

/// A developer key made or given a new secret is told to the address, with
/// when, where from and its name quoted: it acts as the user until revoked,
/// so whoever had their password and a session must not mint one unseen.
/// A refused one tells nothing. (An unverified user makes no key.) Each
/// emails, so they are counted: past the user's count a key is refused
/// and nothing changes.
#[tokio::test]
async fn a_developer_key_made_or_regenerated_is_told_to_the_address() {
    use app::domain::core::quota::{Action, Limit, Per};
    use app::domain::identity::developer_keys;
    let (mut d, _) = fresh_domain().await;
    let day = Duration::days(1);
    d.quotas.set(Limit { action: Action::DeveloperKey, per: Per::Actor, max: 2, window: day });
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let here: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    let me = session.member.clone().from_address(Some(here));
    let told = || async {
        let mut told = Vec::new();
        for email in outbox_to(&d, "ada@example.com").await {
            told.push((email.subject.clone(), body_of(&d, &email)));
        }
        told
    };
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    assert!(developer_keys::generate(&d, &me, "CI", "wrong", "").await.is_err());
    before.assert_unchanged(&d).await;

    let forged = "CI\" was made by support. Ignore";
    let key = developer_keys::generate(&d, &me, forged, PASSWORD, "").await.unwrap();
    let made = told().await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].0, "A developer key was made");
    let body = &made[0].1;
    let at = d.clock.now().format("%Y-%m-%d %H:%M UTC");
    let opening = format!(
        "A developer key of your Voice Console user ada@example.com was made at {at} from \
         203.0.113.9. Its name:\n\n  \"CI\\\" was made by support. Ignore\"\n\n"
    );
    assert!(body.starts_with(&opening), "{body}");
    assert!(body.contains("/forgot-password") && body.contains("Developer Keys"), "{body}");
    assert!(!body.contains(&key.key) && !body.contains(&key.row.prefix), "never the key");

    developer_keys::regenerate(&d, &me, key.row.id, PASSWORD, "").await.unwrap();
    let regenerated = told().await;
    assert_eq!(regenerated.len(), 2);
    assert_eq!(regenerated[1].0, "A developer key was regenerated");
    assert!(regenerated[1].1.contains("was given a new secret at"), "{}", regenerated[1].1);
    // Past the count: refused before the password is checked, nothing
    // written, nothing sent.
    let before = Snapshot::take(&d).await;
    let refused = developer_keys::regenerate(&d, &me, key.row.id, PASSWORD, "").await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("developer keys made")),
        "{refused:?}"
    );
    before.assert_nothing_counted(&d).await;
    // Revoking one needs no warning, nor a count.
    developer_keys::revoke(&d, &me, key.row.id).await.unwrap();
    assert_eq!(told().await.len(), 2);
}

#[tokio::test]
async fn a_reset_link_stops_working_once_the_password_or_the_address_changes() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let me = session.member.clone();
    let new_password = "Quartz-Harbor-Lantern-77";

    // Someone with the mailbox asked for a reset; Ada then changes her password.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    profile::change_password(&d, &me, &session.token, PASSWORD, new_password).await.unwrap();
    let before = Snapshot::take(&d).await;
    let late = email_links::reset_password(&d, &reset, "Other-Password-Entirely-9", "t", None);
    assert_eq!(field(&late.await.err().unwrap(), "token"), link_withdrawn(Purpose::ResetPassword));
    before.assert_unchanged(&d).await;

    // A link sent to the old address stops when the new one is confirmed.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::request_email_change(&d, &me, new_password, "ada@new.example", "").await.unwrap();
    let confirm = link_token(&d, "ada@new.example", "/confirm-email").await;
    email_links::confirm_email_change(&d, &confirm, None).await.unwrap();
    let before = Snapshot::take(&d).await;
    let late = email_links::reset_password(&d, &reset, "Other-Password-Entirely-9", "t", None);
    assert_eq!(field(&late.await.err().unwrap(), "token"), link_withdrawn(Purpose::ResetPassword));
    before.assert_unchanged(&d).await;
    assert!(log_in_by_password(&d, "ada@new.example", new_password, "t").await.is_ok());
}

/// A verification at the moment the clean-up removes its account as never
/// verified: the account goes before the verification or not at all, so a
/// user told "verified" keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verification_at_the_moment_of_the_clean_up_keeps_its_account() {
    let (d, clock) = fresh_concurrent_domain().await;
    let mut tokens = Vec::new();
    for round in 0..12 {
        let email = format!("user{round}@example.com");
        let s = sign_up(&d, &email).await;
        // A link sent again later outlives the account's seven days.
        clock.advance(Duration::days(1));
        email_links::resend_verification(&d, &s.member).await.unwrap();
        tokens.push((s.member, link_token(&d, &email, "/verify-email").await));
        clock.advance(-Duration::days(1));
    }
    clock.advance(UNVERIFIED_ACCOUNT_LIFETIME + Duration::minutes(1));
    let clean_up = {
        let d = d.clone();
        tokio::spawn(async move { app::domain::jobs::remove_unverified_accounts(&d).await })
    };
    let verifications: Vec<_> = tokens
        .into_iter()
        .map(|(member, token)| {
            let d = d.clone();
            tokio::spawn(async move { (member, email_links::verify_email(&d, &token, None).await) })
        })
        .collect();
    clean_up.await.unwrap().unwrap();
    // Each outcome matches what is left: told verified, the account stays;
    // refused, it is gone.
    for task in verifications {
        let (member, verified) = task.await.unwrap();
        let kept = profile::current_user(&d, &member).await.is_ok();
        match verified {
            Ok(()) => assert!(kept, "told verified, then removed"),
            Err(refused) => assert!(!kept, "refused ({refused:?}), yet the account is kept"),
        }
    }
}

/// One hourly run removes every account past its week, however many: sign-ups
/// may come faster than one page of them an hour.
#[tokio::test]
async fn one_run_removes_every_account_past_its_week() {
    use sea_orm::{ActiveModelTrait, Set};
    let (d, clock) = fresh_domain().await;
    for n in 0..1_100 {
        app::domain::entity::account::ActiveModel {
            company_name: Set(format!("Never {n}")),
            plan: Set("demo".into()),
            created_at: Set(d.clock.now()),
            ..Default::default()
        }
        .insert(&d.db)
        .await
        .unwrap();
    }
    clock.advance(UNVERIFIED_ACCOUNT_LIFETIME + Duration::minutes(1));
    assert_eq!(app::domain::jobs::remove_unverified_accounts(&d).await.unwrap(), 1_100);
    assert_eq!(account::Entity::find().count(&d.db).await.unwrap(), 0);
}

/// An address the mailer could never send to is refused beside the field,
/// and nothing is written: no account holding it, no email queued.
#[tokio::test]
async fn a_sign_up_with_an_address_the_mailer_cannot_send_to_changes_nothing() {
    let (d, _) = fresh_domain().await;
    let before = Snapshot::take(&d).await;
    for email in [".grace@example.com", "grace..hopper@example.com", "grace.@example.com"] {
        let refused = sign_up::sign_up(&d, sign_up_as(email), "test", None).await.err().unwrap();
        assert_eq!(
            refused.message_for("email").as_deref(),
            Some("Enter an email address like name@example.com."),
            "{email}"
        );
    }
    before.assert_unchanged(&d).await;
}
