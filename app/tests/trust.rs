//! Trust and abuse: limits on every email and shared resource, kept in the
//! database; the number pool's cool-down; a second factor that counts wrong
//! codes across log-ins; password re-checks; claiming an unverified account.
use std::net::IpAddr;

use app::domain::admin::invitations;
use app::domain::admin::users::{self, UserForm};
use app::domain::core::actor::{unverified_refusal, Member};
use app::domain::core::clock::Clock;
use app::domain::core::people::{self, SIGN_UP_EMAIL_TAKEN};
use app::domain::core::provisioning::{self, default_pool};
use app::domain::core::quota::{QuotaPolicy, GROUP_FACTOR};
use app::domain::entity::{email_outbox as outbox, local_number_pool, login_failure, user};
use app::domain::features::js_libraries::{self, LibraryForm};
use app::domain::features::{applications, phone_numbers};
use app::domain::identity::email_links;
use app::domain::identity::log_in::{self, LogIn};
use app::domain::identity::sessions;
use app::domain::identity::sign_up::{self, SignUp};
use app::domain::identity::{developer_keys, profile, two_factor};
use app::domain::jobs;
use app::domain::testing::log_in_by_password;
use app::domain::testing::{
    account_with_admin, add_user, fresh_concurrent_domain, fresh_domain, link_token,
    mark_unverified, Snapshot, PASSWORD,
};
use app::domain::Domain;
use app::model::AppError;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn emails_to(d: &Domain, to: &str) -> u64 {
    outbox::Entity::find().filter(outbox::Column::ToAddress.eq(to)).count(&d.db).await.unwrap()
}

fn try_again(result: Result<(), AppError>) -> String {
    match result {
        Err(AppError::TooManyRequests(message)) => message,
        other => panic!("expected a limit, got {other:?}"),
    }
}

fn invitee(email: &str) -> UserForm {
    UserForm {
        first_name: "Bob".into(),
        last_name: "Builder".into(),
        email: email.into(),
        ..Default::default()
    }
}

fn sign_up_input(email: &str) -> SignUp {
    SignUp {
        company_name: "Acme".into(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: email.into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_and_past_it_writes_no_email() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    for _ in 0..3 {
        email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    }
    assert_eq!(emails_to(&d, "ada@example.com").await, 3);
    let before = Snapshot::take(&d).await;
    let refused = email_links::request_password_reset(&d, "ADA@example.com", None).await;
    assert_eq!(
        try_again(refused),
        "Too many password-reset emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    // An unknown address gets the same limit, so the limit tells nothing.
    for _ in 0..3 {
        email_links::request_password_reset(&d, "nobody@example.com", None).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let unknown = email_links::request_password_reset(&d, "nobody@example.com", None).await;
    assert!(try_again(unknown).contains("Try again in 60 minutes"));
    // The window passes and the address may ask again.
    clock.advance(Duration::minutes(45));
    let later = email_links::request_password_reset(&d, "ada@example.com", None).await;
    assert!(try_again(later).contains("Try again in 15 minutes"));
    before.assert_unchanged(&d).await;
    clock.advance(Duration::minutes(15));
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, 4);
}

/// "Forgot password?" answers before it looks the address up: for an
/// address with an account, as for one without, while that account's lock
/// is held (on SQLite, the writer), and the link is written once the lock
/// is free. Before, its answer waited for the lock (the one without did
/// not), which told that the address has an account.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgot_password_answers_before_it_looks_the_address_up() {
    use app::domain::core::scope::lock_account_of;
    let (mut d, _) = fresh_concurrent_domain().await;
    d.reply_before_sending = true;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let held = d.begin().await.unwrap();
    lock_account_of(&held, ada.user_id()).await.unwrap();
    for address in ["ada@example.com", "nobody@example.com"] {
        let asked = email_links::request_password_reset(&d, address, None);
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), asked).await;
        assert_eq!(answer.expect("answered while the account is locked"), Ok(()), "{address}");
    }
    held.commit().await.unwrap();
    d.background.close();
    d.background.wait().await;
    assert_eq!(emails_to(&d, "ada@example.com").await, 1);
    assert_eq!(emails_to(&d, "nobody@example.com").await, 0);
}

/// Tagging an address anew for each email ("ada+1@", "ada+2@", Gmail's
/// dots) reaches one mailbox: its spellings share four times one
/// address's limit, so a mailbox cannot be flooded by spelling it anew.
/// Each spelling here is an unverified user's (anyone can sign one up), so
/// each reset is sent until the mailbox's count is spent; past it a reset
/// is answered as any other and sends nothing (a refusal would tell that
/// the address is no verified user's). The mailbox's verified owner is held
/// to their own address's count alone: spellings signed up by someone else
/// do not close their "Forgot password?".
#[tokio::test]
async fn the_spellings_of_one_mailbox_share_a_few_times_one_addresss_limit() {
    use app::domain::core::quota::mailbox_key;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.recipient=1/60").unwrap();
    for n in 0..=GROUP_FACTOR {
        let tagged = format!("ada+{n}@example.com");
        let squatter = account_with_admin(&d, &format!("Company {n}"), &tagged).await;
        mark_unverified(&d, squatter.user_id()).await;
    }
    account_with_admin(&d, "Acme", "ada@example.com").await;
    for n in 0..GROUP_FACTOR {
        let tagged = format!("ada+{n}@example.com");
        email_links::request_password_reset(&d, &tagged, None).await.unwrap();
        assert_eq!(emails_to(&d, &tagged).await, 1, "{tagged}");
    }
    // The mailbox's count is spent: a spelling with a user and one without
    // get the same answer, and neither is sent anything.
    let last = format!("ada+{GROUP_FACTOR}@example.com");
    let mixed = format!("Ada+{GROUP_FACTOR}@Example.com");
    for spelling in [mixed.as_str(), "ada+99@example.com"] {
        email_links::request_password_reset(&d, spelling, None).await.unwrap();
    }
    assert_eq!(emails_to(&d, &last).await, 0);
    assert_eq!(emails_to(&d, "ada+99@example.com").await, 0);
    // The verified owner's own address still gets its link, and then its
    // own address's limit holds.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, 1);
    let before = Snapshot::take(&d).await;
    let again = email_links::request_password_reset(&d, "ada@example.com", None).await;
    assert!(try_again(again).contains("password-reset emails"));
    before.assert_unchanged(&d).await;
    email_links::request_password_reset(&d, "bob+1@example.com", None).await.unwrap();
    // Which spellings are one mailbox.
    let one = |a: &str, b: &str| mailbox_key(a) == mailbox_key(b);
    assert!(one("ada+x@example.com", "ADA@example.com"));
    assert!(one("a.d.a@gmail.com", "ada+y@googlemail.com"));
    assert!(!one("a.da@example.com", "ada@example.com"), "dots matter outside Gmail");
    assert!(!one("ada@example.com", "ada@example.org"));
    assert_eq!(mailbox_key("+tag@example.com"), None);
}

/// Resets asked for made-up spellings of someone's address send nothing,
/// so they take nothing from the mailbox's count: from one client address,
/// under its own limit, they cannot block the owner's "Forgot password?"
/// without one email reaching them.
#[tokio::test]
async fn made_up_spellings_of_an_address_cannot_block_its_owners_reset() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.recipient=1/60").unwrap();
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let attacker: IpAddr = "203.0.113.9".parse().unwrap();
    for n in 0..2 * GROUP_FACTOR {
        let made_up = format!("ada+{n}@example.com");
        email_links::request_password_reset(&d, &made_up, Some(attacker)).await.unwrap();
    }
    assert_eq!(emails_to(&d, "ada+0@example.com").await, 0, "nothing was sent");
    let before = emails_to(&d, "ada@example.com").await;
    let owner: IpAddr = "198.51.100.7".parse().unwrap();
    email_links::request_password_reset(&d, "ada@example.com", Some(owner)).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, before + 1, "the owner's link is sent");
}

#[tokio::test]
async fn one_client_address_asking_for_many_resets_is_limited() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.client=2/60").unwrap();
    let client: IpAddr = "203.0.113.9".parse().unwrap();
    for n in 0..2 {
        let to = format!("user{n}@example.com");
        email_links::request_password_reset(&d, &to, Some(client)).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let third = email_links::request_password_reset(&d, "user3@example.com", Some(client)).await;
    assert!(try_again(third).contains("password-reset emails"));
    before.assert_unchanged(&d).await;
    let elsewhere = "198.51.100.7".parse().ok();
    email_links::request_password_reset(&d, "user3@example.com", elsewhere).await.unwrap();
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let (d, _) = fresh_domain().await;
    let client: IpAddr = "203.0.113.9".parse().unwrap();
    for n in 0..5 {
        let input = sign_up_input(&format!("founder{n}@example.com"));
        sign_up::sign_up(&d, input, "t", Some(client)).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let sixth =
        sign_up::sign_up(&d, sign_up_input("founder5@example.com"), "t", Some(client)).await;
    assert!(
        matches!(&sixth, Err(AppError::TooManyRequests(m)) if m.contains("sign-ups")),
        "{:?}",
        sixth.err()
    );
    before.assert_unchanged(&d).await;
    let other = "198.51.100.7".parse().ok();
    sign_up::sign_up(&d, sign_up_input("founder5@example.com"), "t", other).await.unwrap();
}

/// A client address is an IPv6 /64, but a provider hands one customer a
/// /56 (256 /64s): its /64s share four times one's limit.
#[tokio::test]
async fn the_64s_of_one_56_share_a_few_times_one_clients_limit() {
    use app::domain::core::quota::{Action, Limit, Per, GROUP_FACTOR};
    let (mut d, _) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::SignUp, per: Per::Client, max: 1, window: hour });
    let in_56 = |n: u16| Some(IpAddr::from([0x2001, 0xdb8, 0x7, n, 0, 0, 0, 1]));
    for n in 0..GROUP_FACTOR as u16 {
        let input = sign_up_input(&format!("founder{n}@example.com"));
        sign_up::sign_up(&d, input, "t", in_56(n)).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let next = sign_up::sign_up(&d, sign_up_input("next@example.com"), "t", in_56(0xff)).await;
    assert!(
        matches!(&next, Err(AppError::TooManyRequests(m)) if m.contains("sign-ups")),
        "{:?}",
        next.err()
    );
    before.assert_unchanged(&d).await;
    // The next /56 counts apart; so does every IPv4 address, however near.
    sign_up::sign_up(&d, sign_up_input("next@example.com"), "t", in_56(0x100)).await.unwrap();
    for last in 1..=GROUP_FACTOR as u8 + 1 {
        let v4 = Some(IpAddr::from([198, 51, 100, last]));
        let input = sign_up_input(&format!("v4-{last}@example.com"));
        sign_up::sign_up(&d, input, "t", v4).await.unwrap();
    }
}

#[tokio::test]
async fn sign_ups_on_a_taken_address_are_counted_and_stop_telling_at_the_limit() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "First", "taken@example.com").await;
    let client: IpAddr = "203.0.113.9".parse().unwrap();
    // Each is counted (quota_counters); nothing else is written.
    let before = Snapshot::take_except(&d, &["quota_counters"]).await;
    for _ in 0..5 {
        let input = sign_up_input("taken@example.com");
        let err = sign_up::sign_up(&d, input, "t", Some(client)).await.err().unwrap();
        assert_eq!(err.message_for("email").unwrap(), SIGN_UP_EMAIL_TAKEN);
    }
    before.assert_unchanged(&d).await;
    // Past the limit the answer no longer tells whether an address has an
    // account (the limit comes before the lookup and the hash), and nothing
    // is written, whatever the address.
    let before = Snapshot::take(&d).await;
    for email in ["taken@example.com", "fresh@example.com"] {
        let sixth = sign_up::sign_up(&d, sign_up_input(email), "t", Some(client)).await;
        assert!(
            matches!(&sixth, Err(AppError::TooManyRequests(m)) if m.contains("sign-ups")),
            "{:?}",
            sixth.err()
        );
    }
    before.assert_unchanged(&d).await;
}

/// The platform-wide total of resets bounds what the platform sends. Resets
/// asked for made-up addresses send nothing: counted against it, a few
/// client addresses could close "Forgot password?" to everyone for the rest
/// of the hour.
#[tokio::test]
async fn resets_for_made_up_addresses_do_not_use_up_the_platform_total() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.total=2/60").unwrap();
    account_with_admin(&d, "Acme", "ada@example.com").await;
    account_with_admin(&d, "Beta", "bea@example.com").await;
    for n in 0..5 {
        let client: IpAddr = format!("203.0.113.{n}").parse().unwrap();
        let made_up = format!("nobody{n}@example.com");
        email_links::request_password_reset(&d, &made_up, Some(client)).await.unwrap();
    }
    // Real resets still have the whole total, and no more.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    email_links::request_password_reset(&d, "bea@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await + emails_to(&d, "bea@example.com").await, 2);
    let before = Snapshot::take(&d).await;
    let reset = email_links::request_password_reset(&d, "ada@example.com", None).await;
    assert!(try_again(reset).contains("password-reset emails"));
    // Past the total, an unknown address is refused alike: it tells nothing.
    let unknown = email_links::request_password_reset(&d, "nobody9@example.com", None).await;
    assert!(try_again(unknown).contains("password-reset emails"));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn invitations_are_limited_per_recipient_and_per_admin() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("invitation.actor=4/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = users::invite(&d, &admin, invitee("bob@example.com")).await.unwrap();
    users::resend_invitation(&d, &admin, bob.id).await.unwrap();
    users::resend_invitation(&d, &admin, bob.id).await.unwrap();
    let before = Snapshot::take(&d).await;
    let fourth = users::resend_invitation(&d, &admin, bob.id).await;
    assert_eq!(try_again(fourth), "Too many invitations for now. Try again in 24 hours.");
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@example.com").await, 3);
    // The admin's own limit: one more invitation, then none.
    users::invite(&d, &admin, invitee("carol@example.com")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let fifth = users::invite(&d, &admin, invitee("dave@example.com")).await;
    assert!(matches!(fifth, Err(AppError::TooManyRequests(_))));
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "dave@example.com").await, 0);
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::Email.eq("dave@example.com"))
            .count(&d.db)
            .await
            .unwrap(),
        0,
        "the refused invitation left no user behind"
    );
}

#[tokio::test]
async fn email_change_confirmations_are_limited() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    for n in 0..3 {
        email_links::request_email_change(&d, &ada, PASSWORD, "new@example.com", "").await.unwrap();
        assert_eq!(emails_to(&d, "new@example.com").await, n + 1);
    }
    let before = Snapshot::take(&d).await;
    let fourth = email_links::request_email_change(&d, &ada, PASSWORD, "new@example.com", "").await;
    assert!(matches!(&fourth, Err(AppError::TooManyRequests(m)) if m.contains("email-change")));
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "new@example.com").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_requests_writes_at_most_the_limit() {
    let (d, _) = fresh_concurrent_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let burst = || {
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let d = d.clone();
                tokio::spawn(async move {
                    email_links::request_password_reset(&d, "ada@example.com", None).await
                })
            })
            .collect();
        async move {
            let mut sent = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(()) => sent += 1,
                    Err(AppError::TooManyRequests(_)) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            sent
        }
    };
    assert_eq!(burst().await, 3, "exactly the limit was admitted");
    assert_eq!(emails_to(&d, "ada@example.com").await, 3);
    // Past the limit, a whole burst is refused and writes nothing.
    let before = Snapshot::take(&d).await;
    assert_eq!(burst().await, 0);
    before.assert_unchanged(&d).await;
}

/// Turns 2FA on for `member` by hand: these tests need it on, not its setup
/// (which the security tests cover).
async fn two_factor_on(d: &Domain, member: &Member) {
    use app::domain::entity::two_factor as row;
    two_factor::begin_setup(d, member).await.unwrap();
    row::Entity::update_many()
        .col_expr(row::Column::EnabledAt, sea_orm::sea_query::Expr::value(Some(d.clock.now())))
        .filter(row::Column::UserId.eq(member.user_id()))
        .exec(&d.db)
        .await
        .unwrap();
}

async fn unverified(d: &Domain, email: &str) -> Member {
    sign_up::sign_up(d, sign_up_input(email), "t", None).await.unwrap().member
}

#[tokio::test]
async fn an_unverified_sign_up_cannot_spend_or_invite_until_it_verifies() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let grace = unverified(&d, "grace@example.com").await;
    let admin = grace.admin().unwrap();
    let before = Snapshot::take(&d).await;
    let invite = users::invite(&d, &admin, invitee("bob@example.com")).await;
    assert_eq!(invite.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;
    // Nor is it told which addresses have an account: a taken one gets the
    // same answer as a free one, from Add User and Edit User alike.
    account_with_admin(&d, "Other", "eve@other.example").await;
    let dan = add_user(&d, grace.account_id(), "dan@example.com", false).await;
    let before = Snapshot::take(&d).await;
    let taken = users::invite(&d, &admin, invitee("eve@other.example")).await;
    assert_eq!(taken.err(), Some(AppError::Forbidden(unverified_refusal())));
    for email in ["eve@other.example", "dan.new@example.com"] {
        let edited = users::update(&d, &admin, dan.user_id(), invitee(email)).await;
        assert_eq!(edited.err(), Some(AppError::Forbidden(unverified_refusal())), "{email}");
    }
    let number = phone_numbers::request(&d, &admin).await;
    assert_eq!(number.err(), Some(AppError::Forbidden(unverified_refusal())));
    let key = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await;
    assert_eq!(key.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;

    let token = link_token(&d, "grace@example.com", "/verify-email").await;
    email_links::verify_email(&d, &token, None).await.unwrap();
    users::invite(&d, &admin, invitee("bob@example.com")).await.unwrap();
    phone_numbers::request(&d, &admin).await.unwrap();
    developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
}

/// A sign-up needs no mailbox, so an unverified one stores no code: no
/// JavaScript library, no application, no copy of one. (A user whose
/// verification lapsed is made here by clearing it.)
#[tokio::test]
async fn an_unverified_user_stores_no_libraries_or_applications() {
    let (d, _) = fresh_domain().await;
    let library = || LibraryForm {
        name: "Helpers".into(),
        description: String::new(),
        code: "export const a = 1;".into(),
    };
    let grace = unverified(&d, "grace@example.com").await;
    let before = Snapshot::take(&d).await;
    let added = js_libraries::add(&d, &grace, library()).await;
    assert_eq!(added.err(), Some(AppError::Forbidden(unverified_refusal())));
    let created = applications::create(&d, &grace, "IVR").await;
    assert_eq!(created.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;

    let ada = account_with_admin(&d, "Initech", "ada@example.com").await;
    let kept = js_libraries::add(&d, &ada, library()).await.unwrap();
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    mark_unverified(&d, ada.user_id()).await;
    let before = Snapshot::take(&d).await;
    let updated = js_libraries::update(&d, &ada, kept.id, library()).await;
    assert_eq!(updated.err(), Some(AppError::Forbidden(unverified_refusal())));
    let copied = applications::clone(&d, &ada, app.id).await;
    assert_eq!(copied.err(), Some(AppError::Forbidden(unverified_refusal())));
    let attached = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &[kept.id], &[]),
    )
    .await;
    assert_eq!(attached.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;
}

/// A new secret for an existing developer key is a new key as far as trust
/// goes: a user whose verification lapsed mints none, even with the right
/// password, and the old secret stays as it was.
#[tokio::test]
async fn a_user_whose_verification_lapsed_regenerates_no_developer_key() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Initech", "ada@example.com").await;
    let key = developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await.unwrap();
    mark_unverified(&d, ada.user_id()).await;
    let before = Snapshot::take(&d).await;
    let regenerated = developer_keys::regenerate(&d, &ada, key.row.id, PASSWORD, "").await;
    assert_eq!(regenerated.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn sign_ups_cannot_drain_the_number_pool() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("number_request.total=3/60").unwrap();
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    // Unverified sign-ups get no number at all.
    for n in 0..5 {
        let member = unverified(&d, &format!("drain{n}@example.com")).await;
        let before = Snapshot::take(&d).await;
        let refused = phone_numbers::request(&d, &member.admin().unwrap()).await;
        assert_eq!(refused.err(), Some(AppError::Forbidden(unverified_refusal())));
        before.assert_unchanged(&d).await;
    }
    // Verified accounts get theirs until the total for the hour is spent.
    let mut refused = 0;
    for n in 0..5 {
        let member = account_with_admin(&d, "Co", &format!("verified{n}@example.com")).await;
        let before = Snapshot::take(&d).await;
        match phone_numbers::request(&d, &member.admin().unwrap()).await {
            Ok(_) => {}
            Err(AppError::TooManyRequests(m)) => {
                assert!(m.contains("phone-number requests"));
                before.assert_unchanged(&d).await;
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(refused, 2);
    let free = local_number_pool::Entity::find()
        .filter(local_number_pool::Column::TakenBy.is_null())
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(free, 40 - 3);
}

#[tokio::test]
async fn a_removed_accounts_numbers_return_to_the_pool_after_the_cooldown() {
    let (d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()[..1]).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    // An account that never verified (made so by hand: one can no longer
    // take a number before verifying) is removed after its week.
    mark_unverified(&d, ada.user_id()).await;
    clock.advance(Duration::days(8));
    assert_eq!(jobs::remove_unverified_accounts(&d).await.unwrap(), 1);
    let pooled = local_number_pool::Entity::find_by_id(number.e164.clone())
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pooled.taken_by, None, "given back");
    assert_eq!(pooled.released_at, Some(clock.now()));
    let grace = account_with_admin(&d, "Globex", "grace@example.com").await;
    let before = Snapshot::take(&d).await;
    let resting = phone_numbers::request(&d, &grace.admin().unwrap()).await.err();
    assert_eq!(resting, Some(AppError::Conflict(phone_numbers::POOL_EMPTY.into())), "resting");
    before.assert_unchanged(&d).await;
    clock.advance(provisioning::COOLDOWN);
    assert_eq!(
        phone_numbers::request(&d, &grace.admin().unwrap()).await.unwrap().e164,
        number.e164
    );
}

async fn failures(d: &Domain, subject_prefix: &str) -> i32 {
    login_failure::Entity::find()
        .filter(login_failure::Column::Subject.starts_with(subject_prefix))
        .all(&d.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.failures)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_is_admitted_only_up_to_the_lock() {
    let (mut d, _) = fresh_concurrent_domain().await;
    // No backoff here: the clock stands still, and backoff would refuse the
    // burst before the lock is ever reached.
    d.throttle.email_slow_after = 1000;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let burst = (0..30).map(|_| {
        let d = d.clone();
        tokio::spawn(async move { log_in_by_password(&d, "ada@example.com", "wrong", "t").await })
    });
    let mut checked = 0;
    for task in burst {
        match task.await.unwrap() {
            Err(AppError::Invalid(_)) => checked += 1,
            Err(AppError::TooManyRequests(m)) => {
                assert!(m.contains("Try again in 15 minutes"), "{m}")
            }
            other => panic!("unexpected {:?}", other.err()),
        }
    }
    assert_eq!(checked, d.throttle.email_lock_after, "exactly the limit was checked");
    assert_eq!(failures(&d, "email:").await, d.throttle.email_lock_after);
    let before = Snapshot::take(&d).await;
    let right = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await;
    assert!(
        matches!(&right, Err(AppError::TooManyRequests(m)) if m.contains("Try again in 15 minutes")),
        "locked, even for the right password"
    );
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn password_rechecks_are_throttled_per_user() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let new = "Quartz-Harbor-Lantern-77";
    // Every re-check is counted (login_failures); none changes anything
    // else, but for the lock, recorded in Ada's activity.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    for _ in 0..d.throttle.email_lock_after {
        let wrong = profile::change_password(&d, &ada, "none", "wrong", new).await.err().unwrap();
        assert!(wrong.message_for("current_password").is_some());
    }
    let right = profile::change_password(&d, &ada, "none", PASSWORD, new).await;
    assert!(matches!(right, Err(AppError::TooManyRequests(m)) if m.contains("wrong passwords")));
    let key = developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await;
    assert!(matches!(key, Err(AppError::TooManyRequests(_))), "one count for every re-check");
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.locked ada@example.com"]);
    {
        use app::domain::entity::activity_event;
        use sea_orm::{EntityTrait, QueryOrder};
        let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
        let lock = newest.one(&d.db).await.unwrap().unwrap();
        let said = "too many wrong passwords in the settings; log-in is not locked";
        assert_eq!(lock.detail.as_deref(), Some(said));
    }
    clock.advance(d.throttle.lock);
    profile::change_password(&d, &ada, "none", PASSWORD, new).await.unwrap();
}

#[tokio::test]
async fn keys_and_two_factor_ask_for_the_password() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    two_factor::begin_setup(&d, &ada).await.unwrap();
    // A wrong password counts against the user's re-checks, and nothing else.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let key = developer_keys::generate(&d, &ada, "CI", "wrong", "").await.err().unwrap();
    assert_eq!(key.message_for("password").as_deref(), Some("The current password is incorrect."));
    let on = two_factor::confirm_setup(&d, &ada, "t", "wrong", "123456", None).await.err().unwrap();
    assert_eq!(on.message_for("password").as_deref(), Some("The current password is incorrect."));
    before.assert_unchanged(&d).await;
    assert!(!two_factor::is_enabled(&d.db, ada.user_id()).await.unwrap());
}

#[tokio::test]
async fn claiming_an_unverified_sign_up_by_a_reset_ends_what_it_had() {
    let (d, _) = fresh_domain().await;
    // Someone signs up with Grace's address and never verifies it.
    let squatter =
        sign_up::sign_up(&d, sign_up_input("grace@example.com"), "t", None).await.unwrap();
    // (Invited before invitations needed a verified address.)
    let invite = async |email: &str| {
        app::domain::core::people::NewUser {
            account_id: squatter.member.account_id(),
            email: email.into(),
            first_name: "Mal".into(),
            last_name: "Lory".into(),
            password_hash: None,
            is_admin: true,
            can_create: true,
            can_share: true,
            email_verified_at: None,
        }
        .insert(&d.db, d.clock.now())
        .await
        .unwrap()
    };
    let invited = invite("zed@example.com").await;
    invite("accomplice@example.com").await;
    // … and turned on a second factor, which would lock Grace out.
    two_factor_on(&d, &squatter.member).await;
    assert!(two_factor::is_enabled(&d.db, squatter.member.user_id()).await.unwrap());
    let verification = link_token(&d, "grace@example.com", "/verify-email").await;
    // Grace claims her address through "Forgot password?".
    email_links::request_password_reset(&d, "grace@example.com", None).await.unwrap();
    let token = link_token(&d, "grace@example.com", "/reset-password").await;
    // Signed in at once: the squatter's second factor is gone with the rest.
    let claimed = email_links::reset_password(&d, &token, "Quartz-Harbor-Lantern-77", "t", None)
        .await
        .and_then(LogIn::into_session)
        .unwrap();
    assert!(!two_factor::is_enabled(&d.db, squatter.member.user_id()).await.unwrap());
    assert_eq!(sessions::authenticate(&d, &squatter.token).await, Err(AppError::Unauthenticated));
    assert!(sessions::authenticate(&d, &claimed.token).await.is_ok());
    assert!(user::Entity::find_by_id(invited.id).one(&d.db).await.unwrap().is_none());
    // Grace's own security list says why users and keys are gone.
    let mine = app::domain::identity::activity::mine(&d, &claimed.member, None).await.unwrap();
    let reset = mine.rows.iter().find(|event| event.kind == "password.reset").unwrap();
    assert_eq!(
        reset.detail.as_deref(),
        Some(
            "the account, whose addresses nobody had verified, was claimed: every log-in, second \
             factor, developer key and emailed link of its users ended; invitations withdrawn: \
             accomplice@example.com, zed@example.com"
        )
    );
    // The squatter's pending verification link does nothing: the address
    // is verified already (by Grace's reset), which is all it would say.
    let before = Snapshot::take(&d).await;
    email_links::verify_email(&d, &verification, None).await.unwrap();
    before.assert_unchanged(&d).await;
}

/// A squatter who knows the password they signed up with cannot withdraw
/// the address's owner's reset link by changing it: on an account nobody
/// proved an address of, the link claims the account whatever its password.
#[tokio::test]
async fn a_squatters_password_change_does_not_withdraw_the_owners_reset() {
    let (d, _) = fresh_domain().await;
    let squatter =
        sign_up::sign_up(&d, sign_up_input("grace@example.com"), "t", None).await.unwrap();
    email_links::request_password_reset(&d, "grace@example.com", None).await.unwrap();
    let token = link_token(&d, "grace@example.com", "/reset-password").await;
    let (member, session) = (&squatter.member, &squatter.token);
    profile::change_password(&d, member, session, PASSWORD, "Maple-Canyon-Drift-19").await.unwrap();
    let claimed = email_links::reset_password(&d, &token, "Quartz-Harbor-Lantern-77", "t", None)
        .await
        .and_then(LogIn::into_session)
        .unwrap();
    assert_eq!(sessions::authenticate(&d, &squatter.token).await, Err(AppError::Unauthenticated));
    assert!(sessions::authenticate(&d, &claimed.token).await.is_ok());
    // On a verified account the password's owner withdraws it as before.
    email_links::request_password_reset(&d, "grace@example.com", None).await.unwrap();
    let token = link_token(&d, "grace@example.com", "/reset-password").await;
    let new = "Quartz-Harbor-Lantern-78";
    profile::change_password(&d, &claimed.member, &claimed.token, "Quartz-Harbor-Lantern-77", new)
        .await
        .unwrap();
    let before = Snapshot::take(&d).await;
    let refused = email_links::reset_password(&d, &token, "Cobalt-Meadow-Fern-21", "t", None).await;
    let withdrawn = app::domain::core::tokens::link_withdrawn(
        app::domain::core::tokens::Purpose::ResetPassword,
    );
    assert_eq!(refused.err().and_then(|e| e.message_for("token")).as_deref(), Some(withdrawn));
    before.assert_unchanged(&d).await;
}

/// Sends 12 wrong codes at once on one fresh challenge; returns how many
/// were checked (the others were refused before checking).
async fn guess_in_parallel(d: &Domain) -> i32 {
    let LogIn::SecondFactor { challenge } =
        log_in::log_in(d, "ada@example.com", PASSWORD, "t", None).await.unwrap()
    else {
        panic!("2FA is on")
    };
    let guesses = (0..12).map(|n| {
        let (d, challenge) = (d.clone(), challenge.clone());
        tokio::spawn(async move {
            log_in::complete_second_factor(&d, &challenge, &format!("{n:06}"), "t", None).await
        })
    });
    let mut checked = 0;
    for guess in guesses {
        if let Err(e) = guess.await.unwrap() {
            if e.message_for("code").as_deref() == Some(two_factor::WRONG_CODE) {
                checked += 1;
            }
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_on_one_challenge_each_count() {
    let (mut d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    two_factor_on(&d, &ada).await;
    // The challenge's own five tries, each taken once however they race.
    d.throttle.code_lock_after = 100;
    assert_eq!(guess_in_parallel(&d).await, log_in::CHALLENGE_ATTEMPTS);
    assert_eq!(failures(&d, "code:").await, log_in::CHALLENGE_ATTEMPTS);
    // The user's count across challenges: each guess counted once.
    d.throttle.code_lock_after = 8;
    assert_eq!(guess_in_parallel(&d).await, 8 - log_in::CHALLENGE_ATTEMPTS);
    assert_eq!(failures(&d, "code:").await, 8);
}

#[tokio::test]
async fn an_expired_invitation_stops_holding_its_address_after_a_week() {
    let (d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = users::invite(&d, &admin, invitee("bob@example.com")).await.unwrap();
    let bobs_link = link_token(&d, "bob@example.com", "/activate").await;
    let carol = users::invite(&d, &admin, invitee("carol@example.com")).await.unwrap();
    // Bob was given a number before he activated.
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let change = [app::model::OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: bob.id,
    }];
    phone_numbers::save_owners(&d, &admin, &change).await.unwrap();
    // Carol's invitation is sent again on day 5, so her week starts later.
    clock.advance(Duration::days(5));
    users::resend_invitation(&d, &admin, carol.id).await.unwrap();
    clock.advance(
        Duration::hours(48) + invitations::INVITEE_HOLD - Duration::days(5) - Duration::minutes(1),
    );
    assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 0, "a minute early");
    let said = |err: AppError| err.message_for("token");
    let held = invitations::read_invitation(&d, &bobs_link, false).await.err().unwrap();
    assert_eq!(said(held).as_deref(), Some(invitations::INVITATION_EXPIRED));
    clock.advance(Duration::minutes(1));
    assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 1);
    assert!(user::Entity::find_by_id(bob.id).one(&d.db).await.unwrap().is_none());
    // His link, opened later, does not send him looking for a typo alone.
    let gone = invitations::read_invitation(&d, &bobs_link, false).await.err().unwrap();
    assert_eq!(said(gone).as_deref(), Some(invitations::LINK_UNKNOWN));
    assert!(user::Entity::find_by_id(carol.id).one(&d.db).await.unwrap().is_some());
    // Bob's number passed to the admin; his address is free again.
    let owned = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    assert_eq!(owned.iter().map(|n| n.id).collect::<Vec<_>>(), vec![number.id]);
    sign_up::sign_up(&d, sign_up_input("bob@example.com"), "t", None).await.unwrap();
}

/// Resending an invitation every few days keeps its link alive, and so kept
/// the invitee (and their address, which then could neither sign up nor be
/// invited by a real employer) for as long as someone pressed Resend. An
/// invitation holds its address 30 days from the first, however often sent.
#[tokio::test]
async fn resending_an_invitation_holds_its_address_at_most_thirty_days() {
    let (d, clock) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let dee = users::invite(&d, &admin, invitee("dee@example.com")).await.unwrap();
    for _ in 0..4 {
        clock.advance(Duration::days(6));
        users::resend_invitation(&d, &admin, dee.id).await.unwrap();
        assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 0);
    }
    // Day 28: a new link would outlive the invitation.
    clock.advance(Duration::days(4) + Duration::minutes(1));
    let before = Snapshot::take(&d).await;
    let refused = users::resend_invitation(&d, &admin, dee.id).await.err().unwrap();
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("removed 30 days after")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    // Day 30: removed, though the link of day 24 expired only four days ago.
    clock.advance(Duration::days(2) - Duration::minutes(2));
    assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 0, "a minute early");
    clock.advance(Duration::minutes(2));
    assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 1);
    assert!(user::Entity::find_by_id(dee.id).one(&d.db).await.unwrap().is_none());
    sign_up::sign_up(&d, sign_up_input("dee@example.com"), "t", None).await.unwrap();
}

/// Moving an invitee to a new address sends the invitation again, so past
/// day 28 it is refused as a resend is: a new address must not restart the
/// thirty days either. The edit writes the address, its event and the end of
/// the old links before the invitation is refused; all of it rolls back.
/// An edit that sends nothing (a new name) still goes through.
#[tokio::test]
async fn an_invitee_past_day_twenty_eight_is_not_moved_to_a_new_address() {
    let (d, clock) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let dee = users::invite(&d, &admin, invitee("dee@example.com")).await.unwrap();
    clock.advance(Duration::days(28) + Duration::minutes(1));
    let before = Snapshot::take(&d).await;
    let refused =
        users::update(&d, &admin, dee.id, invitee("dee@new.example")).await.err().unwrap();
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("removed 30 days after")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "dee@new.example").await, 0);
    let row = user::Entity::find_by_id(dee.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(row.email, "dee@example.com");

    let renamed = UserForm { first_name: "Deirdre".into(), ..invitee("dee@example.com") };
    let row = users::update(&d, &admin, dee.id, renamed).await.unwrap();
    assert_eq!((row.first_name.as_str(), row.email.as_str()), ("Deirdre", "dee@example.com"));
}

/// Each count is forgotten once its own window is over, not only after the
/// longest window of all (a month, for a demo's number requests): an hourly
/// count of a client address is not kept for thirty days.
#[tokio::test]
async fn each_count_is_forgotten_when_its_own_window_is_over() {
    use app::domain::core::quota::{Action, Who};
    use app::domain::entity::quota_counter;
    let (d, clock) = fresh_domain().await;
    let hourly = Who { actor: Some(7), ..Who::default() };
    let monthly = Who { account: Some(7), ..Who::default() };
    d.spend(&d.db, Action::SignIn, &hourly).await.unwrap();
    d.spend(&d.db, Action::DemoNumberRequest, &monthly).await.unwrap();
    let keys = async || {
        let rows = quota_counter::Entity::find().all(&d.db).await.unwrap();
        let mut keys: Vec<String> = rows.into_iter().map(|r| r.key).collect();
        keys.sort();
        keys
    };
    let monthly = ["demo_number_request:account:7", "demo_number_request:total:all"];
    assert_eq!(keys().await, [monthly[0], monthly[1], "sign_in:actor:7"]);
    clock.advance(Duration::minutes(59));
    jobs::forget_expired(&d).await.unwrap();
    assert_eq!(keys().await.len(), 3, "every window is still running");
    clock.advance(Duration::minutes(2));
    jobs::forget_expired(&d).await.unwrap();
    assert_eq!(keys().await, monthly);
    clock.advance(Duration::days(30));
    jobs::forget_expired(&d).await.unwrap();
    assert_eq!(keys().await, Vec::<String>::new());
}

/// Resending the verification link writes an email each time: three an hour
/// to one address, then refused with nothing written.
#[tokio::test]
async fn verification_resends_are_limited_per_address() {
    let (d, clock) = fresh_domain().await;
    let grace = unverified(&d, "grace@example.com").await;
    // The sign-up's email counts as the first of three.
    for _ in 0..2 {
        email_links::resend_verification(&d, &grace).await.unwrap();
    }
    assert_eq!(emails_to(&d, "grace@example.com").await, 3, "the sign-up's and two resends");
    let before = Snapshot::take(&d).await;
    let refused = email_links::resend_verification(&d, &grace).await;
    assert_eq!(
        try_again(refused),
        "Too many verification emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    clock.advance(Duration::hours(1));
    email_links::resend_verification(&d, &grace).await.unwrap();
}

/// Sign-ups with new spellings of one mailbox (`ada+1@`, `ada+2@`, …), from
/// as many client addresses, send its owner at most a few times one
/// address's verification limit: each is a new address, and the welcome
/// email is counted against the mailbox as well. Past that count a sign-up
/// still goes through, without its email (Resend sends it once the count
/// allows): refused, spellings someone else signed up would close sign-up
/// to others of the mailbox. The mailbox's own spelling is held to its own
/// count alone, so its owner's sign-up is sent its email.
#[tokio::test]
async fn sign_ups_with_new_spellings_of_one_mailbox_send_it_a_few_emails_at_most() {
    let (mut d, clock) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("verification.recipient=1/60").unwrap();
    let client = |n: i32| Some(IpAddr::from([203, 0, 113, n as u8]));
    for n in 1..=GROUP_FACTOR {
        let tagged = format!("ada+{n}@example.com");
        sign_up::sign_up(&d, sign_up_input(&tagged), "t", client(n)).await.unwrap();
        assert_eq!(emails_to(&d, &tagged).await, 1, "{tagged}");
    }
    let next = GROUP_FACTOR + 1;
    let tagged = format!("ada+{next}@example.com");
    let late = sign_up::sign_up(&d, sign_up_input(&tagged), "t", client(next))
        .await
        .expect("signed up past the mailbox's count")
        .member;
    assert_eq!(emails_to(&d, &tagged).await, 0);
    sign_up::sign_up(&d, sign_up_input("ada@example.com"), "t", client(next + 1)).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, 1, "the owner's own spelling");
    // Resend is refused, and said so, until the mailbox's hour is over.
    let before = Snapshot::take(&d).await;
    let refused = email_links::resend_verification(&d, &late).await;
    assert_eq!(
        try_again(refused),
        "Too many verification emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    // Another mailbox is not held back, nor this one an hour later.
    sign_up::sign_up(&d, sign_up_input("bob+1@example.com"), "t", client(next)).await.unwrap();
    assert_eq!(emails_to(&d, "bob+1@example.com").await, 1);
    clock.advance(Duration::hours(1));
    email_links::resend_verification(&d, &late).await.unwrap();
    assert_eq!(emails_to(&d, &tagged).await, 1);
}

/// A sign-up whose verification email the platform's total no longer
/// allows is refused before its account is made: no account, user, link or
/// email, and only the sign-up itself counted (it asked whether the address
/// is taken). An hour later it goes through.
#[tokio::test]
async fn a_sign_up_with_no_verification_email_left_in_total_is_refused_whole() {
    use app::domain::entity::quota_counter;
    let (mut d, clock) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("verification.total=1/60").unwrap();
    sign_up::sign_up(&d, sign_up_input("ada@example.com"), "t", None).await.unwrap();
    let other_counts = async |d: &Domain| {
        let rows = quota_counter::Entity::find().all(&d.db).await.unwrap();
        let rows = rows.into_iter().filter(|r| !r.key.starts_with("sign_up:"));
        rows.map(|r| format!("{r:?}")).collect::<Vec<_>>()
    };
    let counted_before = other_counts(&d).await;
    let before = Snapshot::take_except(&d, &["quota_counters"]).await;
    let refused = sign_up::sign_up(&d, sign_up_input("bob@example.com"), "t", None).await;
    assert_eq!(
        try_again(refused.map(|_| ())),
        "Too many verification emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    assert_eq!(other_counts(&d).await, counted_before);
    clock.advance(Duration::hours(1));
    sign_up::sign_up(&d, sign_up_input("bob@example.com"), "t", None).await.unwrap();
    assert_eq!(emails_to(&d, "bob@example.com").await, 1);
}

/// Every kind of email to the spellings of one mailbox, together, is held
/// to a day's count ([`MAILBOX_DAY_MAX`]) besides each kind's hourly ones;
/// the mailbox's own spelling is not.
#[tokio::test]
async fn the_spellings_of_one_mailbox_are_sent_a_few_emails_a_day() {
    use app::domain::core::quota::MAILBOX_DAY_MAX;
    let (mut d, clock) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.recipient=10/60").unwrap();
    let spellings = MAILBOX_DAY_MAX + 1;
    for n in 0..spellings {
        let tagged = format!("ada+{n}@example.com");
        let squatter = account_with_admin(&d, &format!("Company {n}"), &tagged).await;
        mark_unverified(&d, squatter.user_id()).await;
    }
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let mut sent = 0;
    for hour in 0..2 {
        for n in 0..spellings {
            let tagged = format!("ada+{n}@example.com");
            email_links::request_password_reset(&d, &tagged, None).await.unwrap();
        }
        sent = 0;
        for n in 0..spellings {
            sent += emails_to(&d, &format!("ada+{n}@example.com")).await;
        }
        assert_eq!(sent, MAILBOX_DAY_MAX as u64, "hour {hour}");
        clock.advance(Duration::hours(1));
    }
    // The mailbox's own spelling is not held to it.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, 1);
    // A day later the mailbox's spellings are sent again.
    clock.advance(Duration::hours(23));
    email_links::request_password_reset(&d, "ada+0@example.com", None).await.unwrap();
    assert_eq!(emails_to(&d, "ada+0@example.com").await, 2, "after {sent}");
}

/// Of sign-ups racing for one address, the ones refused as taken spend
/// none of its mailbox's emails: its owner can still have the link sent
/// again as often as the limit says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ups_racing_for_one_address_spend_one_of_its_emails() {
    let (mut d, _) = fresh_concurrent_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("verification.recipient=2/60").unwrap();
    let tasks: Vec<_> = (1..=3)
        .map(|n| {
            let d = d.clone();
            let client = Some(IpAddr::from([203, 0, 113, n]));
            tokio::spawn(async move {
                sign_up::sign_up(&d, sign_up_input("ada@example.com"), "t", client).await
            })
        })
        .collect();
    let mut signed_up = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(session) => signed_up.push(session),
            Err(refused) => assert_eq!(
                refused.message_for("email").as_deref(),
                Some(SIGN_UP_EMAIL_TAKEN),
                "{refused:?}"
            ),
        }
    }
    assert_eq!(signed_up.len(), 1);
    assert_eq!(emails_to(&d, "ada@example.com").await, 1);
    // The second of the mailbox's two emails is left for a resend.
    email_links::resend_verification(&d, &signed_up[0].member).await.unwrap();
    assert_eq!(emails_to(&d, "ada@example.com").await, 2);
}

/// Accounts made from one client address resend their links under one count
/// (ten an hour): together they cannot use up the platform's total, while
/// the same accounts from elsewhere are not held back by it.
#[tokio::test]
async fn verification_resends_from_one_client_address_are_limited_together() {
    let (d, _) = fresh_domain().await;
    let here: IpAddr = "203.0.113.9".parse().unwrap();
    let elsewhere: IpAddr = "198.51.100.4".parse().unwrap();
    let mut accounts = Vec::new();
    for n in 0..6 {
        accounts.push(unverified(&d, &format!("squat{n}@example.com")).await);
    }
    // Ten resends by five accounts (two each, the most per address beside
    // its sign-up's email), and an eleventh by a sixth.
    for member in &accounts[..5] {
        for _ in 0..2 {
            let from_here = member.clone().from_address(Some(here));
            email_links::resend_verification(&d, &from_here).await.unwrap();
        }
    }
    let last = accounts[5].clone();
    let before = Snapshot::take(&d).await;
    let refused =
        email_links::resend_verification(&d, &last.clone().from_address(Some(here))).await;
    assert_eq!(
        try_again(refused),
        "Too many verification emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "squat5@example.com").await, 1, "the sign-up's only");
    email_links::resend_verification(&d, &last.from_address(Some(elsewhere))).await.unwrap();
    assert_eq!(emails_to(&d, "squat5@example.com").await, 2);
}

/// Invitations and email-change links are counted per client address
/// across accounts: two accounts' admins at one address share the count,
/// and a refusal writes nothing; the same admin elsewhere is not held back.
#[tokio::test]
async fn invitations_and_email_changes_from_one_client_address_share_a_count() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default()
        .with_overrides("invitation.client=2/60,email_change.client=1/60")
        .unwrap();
    let here: IpAddr = "203.0.113.9".parse().unwrap();
    let elsewhere: IpAddr = "198.51.100.4".parse().unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Other", "eve@other.example").await;
    let at = |member: &Member, address: IpAddr| {
        member.clone().from_address(Some(address)).admin().unwrap()
    };
    users::invite(&d, &at(&ada, here), invitee("bob@example.com")).await.unwrap();
    users::invite(&d, &at(&eve, here), invitee("cy@other.example")).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = users::invite(&d, &at(&eve, here), invitee("dee@other.example")).await;
    assert_eq!(
        try_again(refused.map(|_| ())),
        "Too many invitations for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    users::invite(&d, &at(&eve, elsewhere), invitee("dee@other.example")).await.unwrap();

    let asked = |member: &Member, address: IpAddr, to: &'static str| {
        let asker = member.clone().from_address(Some(address));
        let d = &d;
        async move { email_links::request_email_change(d, &asker, PASSWORD, to, "").await.map(|_| ()) }
    };
    asked(&ada, here, "ada@new.example").await.unwrap();
    // Said before the address is looked up or the password checked, so
    // nothing at all is counted; so is an admin's change of a user's.
    let carl = add_user(&d, ada.account_id(), "carl@example.com", false).await;
    let before = Snapshot::take(&d).await;
    let refused = asked(&eve, here, "eve@new.example").await;
    assert_eq!(
        try_again(refused),
        "Too many email-change confirmations for now. Try again in 60 minutes."
    );
    let moved = UserForm { last_name: "Lovelace".into(), ..invitee("carl@new.example") };
    let refused = users::update(&d, &at(&ada, here), carl.user_id(), moved).await;
    assert_eq!(
        try_again(refused.map(|_| ())),
        "Too many email-change confirmations for now. Try again in 60 minutes."
    );
    before.assert_nothing_counted(&d).await;
    assert_eq!(emails_to(&d, "eve@new.example").await, 0);
    asked(&eve, elsewhere, "eve@new.example").await.unwrap();
    assert_eq!(emails_to(&d, "eve@new.example").await, 1);
}

/// The one costly check of a sign-up (the new password's guessability) is
/// counted per client address before it runs; a wrong length is told
/// without a count.
#[tokio::test]
async fn new_passwords_from_one_client_address_are_counted_before_they_are_judged() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_strength.client=2/60").unwrap();
    let client: IpAddr = "203.0.113.9".parse().unwrap();
    let try_password = |email: &str, password: &str| {
        let mut input = sign_up_input(email);
        input.password = password.into();
        sign_up::sign_up(&d, input, "t", Some(client))
    };
    // Each judged password is counted; no account is made.
    let before = Snapshot::take(&d).await;
    let too_easy = try_password("weak1@example.com", "password1").await.err().unwrap();
    assert!(too_easy.message_for("password").unwrap().contains("too easy"), "{too_easy:?}");
    let short = try_password("short@example.com", "short").await.err().unwrap();
    assert!(short.message_for("password").unwrap().contains("at least 8"), "{short:?}");
    // Still judged: the short one took no count.
    let too_easy = try_password("weak2@example.com", "password2").await.err().unwrap();
    assert!(too_easy.message_for("password").unwrap().contains("too easy"), "{too_easy:?}");
    before.assert_unchanged(&d).await;

    let before = Snapshot::take(&d).await;
    let third = try_password("strong@example.com", PASSWORD).await.map(|_| ());
    assert!(try_again(third).contains("new passwords tried"));
    before.assert_unchanged(&d).await;
    let elsewhere = "198.51.100.7".parse().ok();
    sign_up::sign_up(&d, sign_up_input("strong@example.com"), "t", elsewhere).await.unwrap();
}

/// A link is not used up by a refused password, so each try through it
/// (a guessability check and a hash) is counted per link's user and per
/// client; a disabled user's link is refused before any of it.
#[tokio::test]
async fn tries_through_one_link_are_counted_and_a_disabled_users_link_costs_nothing() {
    use app::domain::entity::quota_counter;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_strength.actor=2/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    let counted = |id: i32| {
        let key = format!("password_strength:actor:{id}");
        quota_counter::Entity::find_by_id(key).one(&d.db)
    };

    // Disabled: refused, and nothing was counted, so nothing was judged or hashed.
    let bob = app::domain::testing::add_user(&d, ada.account_id(), "bob@example.com", false).await;
    email_links::request_password_reset(&d, "bob@example.com", None).await.unwrap();
    let bobs = link_token(&d, "bob@example.com", "/reset-password").await;
    users::disable(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = email_links::reset_password(&d, &bobs, "Quartz-Harbor-Lantern-77", "t", None);
    assert_eq!(refused.await.err(), Some(AppError::Forbidden(people::DISABLED.into())));
    before.assert_unchanged(&d).await;
    assert!(counted(bob.user_id()).await.unwrap().is_none());

    // Two tries, from two addresses, take the link's user's count.
    for (n, client) in ["203.0.113.9", "198.51.100.7"].iter().enumerate() {
        let weak = format!("password{n}");
        let tried = email_links::reset_password(&d, &token, &weak, "t", client.parse().ok()).await;
        let err = tried.err().unwrap();
        assert!(err.message_for("new_password").unwrap().contains("too easy"), "{err:?}");
    }
    assert_eq!(counted(ada.user_id()).await.unwrap().unwrap().count, 2);
    let before = Snapshot::take(&d).await;
    let third = email_links::reset_password(&d, &token, "Quartz-Harbor-Lantern-77", "t", None)
        .await
        .map(|_| ());
    assert!(try_again(third).contains("new passwords tried"));
    before.assert_unchanged(&d).await;
    log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
}

// Each limit below is lowered to what one test can reach, and refuses on
// its own subject: were a call to count its action without that subject
// (say, no actor), these would pass where they must refuse.

#[tokio::test]
async fn an_admins_password_resets_are_limited_per_admin() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.actor=1/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", false).await;
    users::send_password_reset(&d, &admin, bob.user_id()).await.unwrap();
    // Another recipient, the same admin: refused, nothing sent.
    let before = Snapshot::take(&d).await;
    let second = users::send_password_reset(&d, &admin, cy.user_id()).await;
    assert_eq!(
        try_again(second),
        "Too many password-reset emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "cy@example.com").await, 0);
}

/// The resets that admins of accounts signed up at one client address send
/// share that address's count: together they cannot spend the platform's
/// total, which would close "Forgot password?" to everyone.
#[tokio::test]
async fn admins_resets_from_one_client_address_are_limited_together() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("password_reset.client=2/60").unwrap();
    let here: IpAddr = "203.0.113.9".parse().unwrap();
    let mut admins = Vec::new();
    for n in 0..3 {
        let ada = account_with_admin(&d, "Acme", &format!("ada{n}@example.com")).await;
        let bob = add_user(&d, ada.account_id(), &format!("bob{n}@example.com"), false).await;
        admins.push((ada.from_address(Some(here)).admin().unwrap(), bob.user_id()));
    }
    for (admin, bob) in &admins[..2] {
        users::send_password_reset(&d, admin, *bob).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let (admin, bob) = &admins[2];
    let third = users::send_password_reset(&d, admin, *bob).await;
    assert_eq!(
        try_again(third),
        "Too many password-reset emails for now. Try again in 60 minutes."
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob2@example.com").await, 0);
    let elsewhere = admin.member().clone().from_address("198.51.100.4".parse().ok());
    users::send_password_reset(&d, &elsewhere.admin().unwrap(), *bob).await.unwrap();
}

/// An admin who has not verified their address sends no reset email, as
/// they send no invitation.
#[tokio::test]
async fn an_unverified_admin_sends_no_password_reset() {
    let (d, _) = fresh_domain().await;
    let grace = unverified(&d, "grace@example.com").await;
    let bob = add_user(&d, grace.account_id(), "bob@example.com", false).await;
    let before = Snapshot::take(&d).await;
    let refused = users::send_password_reset(&d, &grace.admin().unwrap(), bob.user_id()).await;
    assert_eq!(refused.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@example.com").await, 0);
}

/// Nor does one resend an invitation, or send an invitee's reset (which
/// resends it): an admin whose address is not verified (here, it was made
/// unverified after inviting) sends no email to anyone.
#[tokio::test]
async fn an_unverified_admin_resends_no_invitation() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = users::invite(&d, &ada.admin().unwrap(), invitee("bob@example.com")).await.unwrap();
    mark_unverified(&d, ada.user_id()).await;
    let before = Snapshot::take(&d).await;
    let admin = ada.admin().unwrap();
    let resent = users::resend_invitation(&d, &admin, bob.id).await;
    assert_eq!(resent.err(), Some(AppError::Forbidden(unverified_refusal())));
    let reset = users::send_password_reset(&d, &admin, bob.id).await;
    assert_eq!(reset.err(), Some(AppError::Forbidden(unverified_refusal())));
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@example.com").await, 1, "the first invitation only");
}

#[tokio::test]
async fn email_changes_are_limited_per_user() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("email_change.actor=1/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_email_change(&d, &ada, PASSWORD, "ada@new.example", "").await.unwrap();
    // Another new address, the same user: refused, nothing sent.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let second =
        email_links::request_email_change(&d, &ada, PASSWORD, "ada@other.example", "").await;
    assert!(
        matches!(&second, Err(AppError::TooManyRequests(m)) if m.contains("email")),
        "{second:?}"
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "ada@other.example").await, 0);
}

#[tokio::test]
async fn email_changes_are_limited_per_account() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("email_change.account=1/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let eve = account_with_admin(&d, "Other", "eve@other.example").await;
    email_links::request_email_change(&d, &ada, PASSWORD, "ada@new.example", "").await.unwrap();
    // Another user of the same account: refused, nothing sent.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let second = email_links::request_email_change(&d, &bob, PASSWORD, "bob@new.example", "").await;
    assert!(
        matches!(&second, Err(AppError::TooManyRequests(m)) if m.contains("email")),
        "{second:?}"
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@new.example").await, 0);
    // An admin's edit that changes an active user's address counts in the
    // account too: refused whole, with the name and role changed beside it.
    let before = Snapshot::take(&d).await;
    let edit = UserForm {
        first_name: "Robert".into(),
        last_name: "Builder".into(),
        email: "bob@new.example".into(),
        is_admin: true,
        ..Default::default()
    };
    let edited = users::update(&d, &ada.admin().unwrap(), bob.user_id(), edit).await;
    assert!(
        matches!(&edited, Err(AppError::TooManyRequests(m)) if m.contains("email")),
        "{edited:?}"
    );
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "bob@new.example").await, 0);
    // Another account has a count of its own.
    email_links::request_email_change(&d, &eve, PASSWORD, "eve@new.example", "").await.unwrap();
}

#[tokio::test]
async fn addresses_looked_up_are_limited_per_client_address_across_accounts() {
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("address_lookup.client=1/60").unwrap();
    let office = Some(IpAddr::from([198, 51, 100, 4]));
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.from_address(office);
    let eve = account_with_admin(&d, "Other", "eve@other.example").await.from_address(office);
    users::invite(&d, &ada.admin().unwrap(), invitee("bob@example.com")).await.unwrap();
    // Another admin, of another account, behind the same address: refused.
    let before = Snapshot::take(&d).await;
    let refused = users::invite(&d, &eve.admin().unwrap(), invitee("carl@example.com")).await;
    assert!(matches!(&refused, Err(AppError::TooManyRequests(_))), "{refused:?}");
    before.assert_unchanged(&d).await;
    assert_eq!(emails_to(&d, "carl@example.com").await, 0);
}

#[tokio::test]
async fn phone_numbers_are_limited_per_admin_and_per_account() {
    use app::domain::core::actor::Operator;
    use app::domain::core::limits::Plan;
    use app::domain::operator;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default()
        .with_overrides("number_request.actor=1/60,number_request.account=2/1440")
        .unwrap();
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    operator::set_plan(&d, &Operator::from_command_line(), "ada@example.com", Plan::Full)
        .await
        .unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", true).await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", true).await;
    let ada = ada.admin().unwrap();
    phone_numbers::request(&d, &ada).await.unwrap();
    // Ada's second, within the hour: her own limit.
    let before = Snapshot::take(&d).await;
    let why = "Too many phone-number requests for now. Try again in 60 minutes.";
    assert_eq!(
        phone_numbers::request(&d, &ada).await.err(),
        Some(AppError::TooManyRequests(why.into()))
    );
    before.assert_unchanged(&d).await;
    // Bob's first is served; Cy's, the account's third today, is not.
    phone_numbers::request(&d, &bob.admin().unwrap()).await.unwrap();
    let before = Snapshot::take(&d).await;
    let third = phone_numbers::request(&d, &cy.admin().unwrap()).await.err();
    let why = "Too many phone-number requests for now. Try again in 24 hours.";
    assert_eq!(third, Some(AppError::TooManyRequests(why.into())));
    before.assert_unchanged(&d).await;
}

/// Stripe connections started count against the account, whoever starts
/// them: Ada and Bob of Acme use up its share, and then neither may start
/// another, each told to try again later with nothing kept for the refused
/// start; Eve of Globex still starts hers.
#[tokio::test]
async fn stripe_starts_are_limited_per_account() {
    use app::domain::core::actor::Operator;
    use app::domain::core::oauth_provider::{OAuthClient, OAuthConfig};
    use app::domain::features::oauth_tokens;
    use app::domain::operator;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("oauth_start.account=2/60").unwrap();
    let client = OAuthClient { client_id: "ca_test_local".into(), secret: "sk_test_local".into() };
    // Nowhere real: nothing here deletes a token, but nothing may reach Stripe.
    let config = OAuthConfig {
        test: Some(client),
        deauthorize_url: "http://127.0.0.1:9/deauthorize".into(),
        ..OAuthConfig::default()
    };
    d.oauth = std::sync::Arc::new(config);
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let eve = account_with_admin(&d, "Globex", "eve@globex.example").await;
    for admin in ["ada@example.com", "eve@globex.example"] {
        operator::enable_stripe(&d, &Operator::from_command_line(), admin).await.unwrap();
    }
    oauth_tokens::start(&d, &ada, "ada's session", "test").await.unwrap();
    oauth_tokens::start(&d, &bob, "bob's session", "test").await.unwrap();
    // Each has started one, far below their own limit: the account's is spent.
    let why = "Too many Stripe connections started for now. Try again in 60 minutes.";
    for (me, session) in [(&ada, "ada's session"), (&bob, "bob's session")] {
        let before = Snapshot::take(&d).await;
        let refused = oauth_tokens::start(&d, me, session, "test").await;
        assert_eq!(refused, Err(AppError::TooManyRequests(why.into())));
        before.assert_unchanged(&d).await;
    }
    let url = oauth_tokens::start(&d, &eve, "eve's session", "test").await.unwrap();
    assert!(url.contains("client_id=ca_test_local"), "{url}");
}
