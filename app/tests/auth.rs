//! Sign-up, log-in and sessions, against a fresh database per test.
use app::domain::core::actor::Operator;
use app::domain::entity::{account, session, user};
use app::domain::identity::log_in::WRONG_CREDENTIALS;
use app::domain::identity::profile;
use app::domain::identity::sessions;
use app::domain::identity::sign_up;
use app::domain::identity::sign_up::SignUp;
use app::domain::operator::{self, NewUserByOperator};
use app::domain::testing::log_in_by_password;
use app::domain::testing::{account_with_admin, add_user, fresh_domain, Snapshot, PASSWORD};
use app::model::AppError;
use chrono::Duration;
use sea_orm::{EntityTrait, PaginatorTrait};

fn sign_up_input(email: &str) -> SignUp {
    SignUp {
        company_name: "Acme Voice".into(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: email.into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
async fn sign_up_creates_an_account_whose_first_user_is_its_admin() {
    let (d, _) = fresh_domain().await;
    let session =
        sign_up::sign_up(&d, sign_up_input("  Grace@Example.COM "), "test", None).await.unwrap();
    assert!(session.member.is_admin());
    let me = profile::current_user(&d, &session.member).await.unwrap();
    assert_eq!(me.email, "grace@example.com");
    assert_eq!(me.company_name, "Acme Voice");
    assert_eq!((me.first_name.as_str(), me.last_name.as_str()), ("Grace", "Hopper"));
    let stored = user::Entity::find_by_id(me.id).one(&d.db).await.unwrap().unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert_eq!(account::Entity::find().one(&d.db).await.unwrap().unwrap().plan, "demo");
    // The cookie token itself is never stored, only its hash.
    let row = session::Entity::find().one(&d.db).await.unwrap().unwrap();
    assert_ne!(row.token_hash, session.token);
    assert_eq!(sessions::authenticate(&d, &session.token).await.unwrap(), session.member);
}

#[tokio::test]
async fn a_taken_email_is_refused_in_any_case_and_spacing_and_nothing_is_written() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "First", "taken@example.com").await;
    // The attempt is counted against the sign-up limits (quota_counters).
    let before = Snapshot::take_except(&d, &["quota_counters"]).await;
    let err = sign_up::sign_up(&d, sign_up_input(" TAKEN@example.com"), "test", None)
        .await
        .err()
        .unwrap();
    assert!(err.message_for("email").unwrap().contains("already exists"), "{err:?}");
    before.assert_unchanged(&d).await;
    assert_eq!(account::Entity::find().count(&d.db).await.unwrap(), 1);
    assert_eq!(user::Entity::find().count(&d.db).await.unwrap(), 1);
}

#[tokio::test]
async fn sign_up_reports_every_bad_field_and_writes_nothing() {
    let (d, _) = fresh_domain().await;
    let input = SignUp {
        company_name: " ".into(),
        first_name: "x".repeat(101),
        last_name: "".into(),
        email: "not-an-email".into(),
        password: "password".into(),
    };
    let before = Snapshot::take(&d).await;
    let Err(AppError::Invalid(errors)) = sign_up::sign_up(&d, input, "test", None).await else {
        panic!("expected field errors");
    };
    before.assert_unchanged(&d).await;
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["company_name", "first_name", "last_name", "email", "password"]);
    assert_eq!(account::Entity::find().count(&d.db).await.unwrap(), 0);
}

#[tokio::test]
async fn log_in_gives_the_same_answer_for_a_wrong_password_and_an_unknown_email() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    // A failed log-in is counted (login_failures), known email or not; nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let wrong_password =
        log_in_by_password(&d, "ada@example.com", "not the password", "t").await.err().unwrap();
    let unknown_email =
        log_in_by_password(&d, "nobody@example.com", PASSWORD, "t").await.err().unwrap();
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed ada@example.com"]);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password.message_for("password").unwrap(), WRONG_CREDENTIALS);
    assert_eq!(session::Entity::find().count(&d.db).await.unwrap(), 0);

    let ok = log_in_by_password(&d, " ADA@example.com ", PASSWORD, "t").await.unwrap();
    assert_eq!(sessions::authenticate(&d, &ok.token).await.unwrap(), ok.member);
}

#[tokio::test]
async fn a_user_without_a_password_cannot_log_in() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    operator::add_user(
        &d,
        &Operator::from_command_line(),
        NewUserByOperator {
            account_of: "ada@example.com".into(),
            email: "invited@example.com".into(),
            first_name: "In".into(),
            last_name: "Vited".into(),
            is_admin: false,
            password: None,
        },
    )
    .await
    .unwrap();
    // The failed log-in is counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let err = log_in_by_password(&d, "invited@example.com", "A-Guess-9", "t").await.err().unwrap();
    assert_eq!(err.message_for("password").unwrap(), WRONG_CREDENTIALS);
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed invited@example.com"]);
}

/// A NUL in the address (which PostgreSQL refuses in a query) is an
/// unknown address, not a server error, and neither is a NUL in the id of
/// a session to end.
#[tokio::test]
async fn an_address_or_a_session_id_with_a_nul_is_unknown_not_an_error() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    let err = log_in_by_password(&d, "ada@example.com\u{0}", PASSWORD, "t").await.err().unwrap();
    assert_eq!(err.message_for("password").as_deref(), Some(WRONG_CREDENTIALS));
    assert_eq!(sessions::end(&d, &ada, "\u{0}").await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn log_out_ends_the_session() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let s = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    sessions::log_out(&d, &s.token).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(sessions::authenticate(&d, &s.token).await, Err(AppError::Unauthenticated));
    assert_eq!(sessions::authenticate(&d, "made-up-token").await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn sessions_expire_after_inactivity_and_after_their_absolute_lifetime() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;

    let idle = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    clock.advance(d.sessions.idle - Duration::minutes(1));
    assert!(sessions::authenticate(&d, &idle.token).await.is_ok(), "used just in time");
    clock.advance(d.sessions.idle + Duration::minutes(1));
    // A refused expired session is deleted (sessions); nothing else changes.
    let before = Snapshot::take_except(&d, &["sessions"]).await;
    assert_eq!(sessions::authenticate(&d, &idle.token).await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;
    assert_eq!(session::Entity::find().count(&d.db).await.unwrap(), 0, "the expired one is gone");

    let busy = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let start = clock_now(&d);
    // Used every day, it still ends once the absolute lifetime is over.
    while clock_now(&d) - start < d.sessions.absolute - Duration::days(1) {
        clock.advance(Duration::days(1));
        assert!(sessions::authenticate(&d, &busy.token).await.is_ok());
    }
    clock.advance(Duration::days(2));
    let other = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let before = Snapshot::take_except(&d, &["sessions"]).await;
    assert_eq!(sessions::authenticate(&d, &busy.token).await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;
    // Only the expired one is gone: the session opened since stays.
    assert_eq!(session::Entity::find().count(&d.db).await.unwrap(), 1);
    assert!(sessions::authenticate(&d, &other.token).await.is_ok());
}

/// Signing in again and again does not grow the sessions without bound: past
/// the most a user keeps, the least recently seen one ends; others' stay.
#[tokio::test]
async fn a_user_keeps_at_most_their_share_of_sessions_and_the_least_recently_seen_ends() {
    let (mut d, clock) = fresh_domain().await;
    d.sessions.kept_per_user = 3;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let bob = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    let mut ada_sessions = Vec::new();
    for _ in 0..3 {
        ada_sessions.push(log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap());
        clock.advance(Duration::minutes(2));
    }
    // The first is used again, so the second is now the least recently seen.
    assert!(sessions::authenticate(&d, &ada_sessions[0].token).await.is_ok());
    clock.advance(Duration::minutes(2));
    let fourth = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();

    let works = async |token: &str| sessions::authenticate(&d, token).await.is_ok();
    assert!(!works(&ada_sessions[1].token).await, "the least recently seen ended");
    for token in [&ada_sessions[0].token, &ada_sessions[2].token, &fourth.token, &bob.token] {
        assert!(works(token).await);
    }
    assert_eq!(session::Entity::find().count(&d.db).await.unwrap(), 4, "Ada's 3 and Bob's");
}

/// Right passwords are counted per user: a script that signs in again and
/// again stops writing sessions and sign-in events at the limit, and is
/// refused before its password is checked, so it cannot hold the hashing
/// thread. Nobody else can spend a user's count, and an hour frees it.
#[tokio::test]
async fn a_user_who_signs_in_too_often_is_refused_before_the_password_is_checked() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    d.quotas.set(Limit {
        action: Action::SignIn,
        per: Per::Actor,
        max: 3,
        window: Duration::hours(1),
    });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    add_user(&d, ada.account_id(), "bob@example.com", false).await;
    // Wrong passwords do not count: only the owner of the password can.
    for _ in 0..3 {
        let wrong = log_in_by_password(&d, "ada@example.com", "not-her-password", "t").await;
        assert_eq!(
            wrong.err().unwrap().message_for("password").as_deref(),
            Some(WRONG_CREDENTIALS)
        );
    }
    clock.advance(Duration::minutes(1)); // past the failures' slow-down
    for _ in 0..3 {
        log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    }
    // The log-in throttle counts every attempt; nothing else may move.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    for password in [PASSWORD, "not-her-password"] {
        let refused = log_in_by_password(&d, "ada@example.com", password, "t").await;
        assert!(
            matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("log-ins")),
            "{:?}",
            refused.err()
        );
    }
    before.assert_unchanged(&d).await;
    log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    clock.advance(Duration::hours(1));
    log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
}

/// A client with accounts of its own cannot multiply the per-user count of
/// right passwords by their number: log-ins from one client address are
/// counted together, and past that count the next, whoever's (an unknown
/// address's too), is refused before its password is checked, with nothing
/// written, not even a failed attempt. Another address
/// is not held back, and an hour frees the count.
#[tokio::test]
async fn right_passwords_from_one_client_address_are_counted_together() {
    use app::domain::core::quota::{Action, Limit, Per};
    use app::domain::identity::log_in::log_in;
    let (mut d, clock) = fresh_domain().await;
    d.quotas.set(Limit {
        action: Action::SignIn,
        per: Per::Client,
        max: 3,
        window: Duration::hours(1),
    });
    for (company, email) in
        [("Acme", "ada@example.com"), ("Beta", "bob@example.com"), ("Gamma", "cy@example.com")]
    {
        account_with_admin(&d, company, email).await;
    }
    let client = Some("203.0.113.7".parse().unwrap());
    let elsewhere = Some("198.51.100.9".parse().unwrap());
    for email in ["ada@example.com", "bob@example.com", "ada@example.com"] {
        log_in(&d, email, PASSWORD, "t", client).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    // A known address with its password, a wrong one, and an unknown
    // address: one answer, so the spent address learns nothing of who has
    // an account; and no attempt is counted towards a lock.
    for (email, password) in [
        ("cy@example.com", PASSWORD),
        ("cy@example.com", "Wrong-Guess-Copper-31"),
        ("nobody@example.com", PASSWORD),
    ] {
        let refused = log_in(&d, email, password, "t", client).await;
        assert!(
            matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("log-ins")),
            "{email}: {:?}",
            refused.err()
        );
    }
    before.assert_unchanged(&d).await;
    log_in(&d, "cy@example.com", PASSWORD, "t", elsewhere).await.unwrap();
    clock.advance(Duration::hours(1));
    log_in(&d, "cy@example.com", PASSWORD, "t", client).await.unwrap();
}

/// A session past its idle or its absolute lifetime is removed by the
/// hourly clean-up, with the client address and browser it kept, even when
/// nobody comes back with it; a live session stays.
#[tokio::test]
async fn the_clean_up_removes_sessions_past_their_lifetime() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    add_user(&d, ada.account_id(), "bob@example.com", false).await;
    // Used every five days: never idle, but past 30 days old at the end.
    let old = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    for step in 1..=5 {
        clock.advance(Duration::days(5));
        sessions::authenticate(&d, &old.token).await.unwrap();
        if step == 4 {
            // Opened at day 20 and never used again: idle at the end.
            log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
        }
    }
    clock.advance(Duration::days(5) + Duration::hours(1));
    let live = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    assert_eq!(session::Entity::find().count(&d.db).await.unwrap(), 3);
    app::domain::jobs::forget_expired(&d).await.unwrap();
    let kept: Vec<i32> =
        session::Entity::find().all(&d.db).await.unwrap().iter().map(|s| s.user_id).collect();
    assert_eq!(kept, vec![live.member.user_id()]);
    sessions::authenticate(&d, &live.token).await.unwrap();
}

fn clock_now(d: &app::domain::core::Domain) -> chrono::DateTime<chrono::Utc> {
    d.clock.now()
}

#[tokio::test]
async fn a_demotion_takes_effect_on_the_next_request() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await;
    add_user(&d, admin.account_id(), "second@example.com", true).await;
    let s = log_in_by_password(&d, "second@example.com", PASSWORD, "t").await.unwrap();
    assert!(sessions::authenticate(&d, &s.token).await.unwrap().admin().is_ok());
    let row = user::Entity::find_by_id(s.member.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut active: user::ActiveModel = row.into();
    active.is_admin = sea_orm::Set(false);
    sea_orm::ActiveModelTrait::update(active, &d.db).await.unwrap();
    let before = Snapshot::take(&d).await;
    let member = sessions::authenticate(&d, &s.token).await.unwrap();
    assert!(matches!(member.admin(), Err(AppError::Forbidden(_))));
    before.assert_unchanged(&d).await;
}

/// The suite runs twice, on SQLite and on PostgreSQL: make sure the second
/// run really talks to PostgreSQL instead of quietly falling back.
#[tokio::test]
async fn the_tests_run_on_the_database_that_was_asked_for() {
    use sea_orm::DatabaseBackend;
    let (d, _) = fresh_domain().await;
    let wanted = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => DatabaseBackend::Postgres,
        _ => DatabaseBackend::Sqlite,
    };
    assert_eq!(d.db.get_database_backend(), wanted);
}
