//! Personal security: TOTP two-factor with replay protection and recovery
//! codes, log-in throttling with its expiry, developer keys, sessions.
use app::domain::admin::{invitations, users};
use app::domain::core::actor::Operator;
use app::domain::core::clock::ManualClock;
use app::domain::core::crypto::{token_hash, PasswordHasher};
use app::domain::core::people;
use app::domain::core::tokens;
use app::domain::entity::{email_outbox as outbox, login_failure, session, user};
use app::domain::identity::log_in::{self, LogIn};
use app::domain::identity::sessions::SecondFactor;
use app::domain::identity::two_factor::{self, code_at, step_of};
use app::domain::identity::{developer_keys, email_links, reauth};
use app::domain::identity::{sessions, throttle};
use app::domain::testing::{
    account_with_admin, add_user, fresh_concurrent_domain, fresh_domain, query_plan, Snapshot,
    PASSWORD,
};
use app::domain::testing::{link_token, log_in_by_password};
use app::domain::{jobs, operator, Domain};
use app::model::AppError;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryTrait};

fn current_code(d: &Domain, secret: &[u8]) -> String {
    format!("{:06}", code_at(secret, step_of(d.clock.now())))
}

async fn subjects_of_mail(d: &Domain, to: &str) -> Vec<String> {
    outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq(to))
        .all(&d.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

/// Turns 2FA on for `email`; returns the secret and the recovery codes.
async fn enable(d: &Domain, clock: &ManualClock, email: &str) -> (Vec<u8>, Vec<String>) {
    let signed_in = log_in_by_password(d, email, PASSWORD, "t").await.unwrap();
    let me = signed_in.member;
    let setup = two_factor::begin_setup(d, &me).await.unwrap();
    assert!(setup.qr_svg.starts_with("<?xml") || setup.qr_svg.contains("<svg"), "an SVG QR code");
    assert!(setup.otpauth_uri.starts_with("otpauth://totp/Voice%20Console:"));
    let secret = app::domain::testing::base32_decode(&setup.secret);
    let codes = two_factor::confirm_setup(
        d,
        &me,
        &signed_in.token,
        PASSWORD,
        &current_code(d, &secret),
        None,
    )
    .await
    .unwrap();
    clock.advance(Duration::seconds(30));
    (secret, codes)
}

/// An address may hold characters an `otpauth://` address gives a meaning
/// (`#` starts a fragment, `?` the query, `%` an escape): escaped in the
/// label, the authenticator app still finds the secret and the address.
#[tokio::test]
async fn the_setup_address_keeps_its_secret_whatever_the_email_holds() {
    use percent_encoding::percent_decode_str;
    let (d, _) = fresh_domain().await;
    let email = "ann#ops?x=1&y%41@example.com";
    assert_eq!(app::domain::core::validation::email(email).as_deref(), Ok(email));
    let ann = account_with_admin(&d, "Acme", email).await;
    let setup = two_factor::begin_setup(&d, &ann).await.unwrap();
    let rest = setup.otpauth_uri.strip_prefix("otpauth://totp/").unwrap();
    assert!(!rest.contains('#'), "{rest}");
    let (label, query) = rest.split_once('?').unwrap();
    assert_eq!(percent_decode_str(label).decode_utf8().unwrap(), format!("Voice Console:{email}"));
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    assert!(pairs.contains(&("secret", setup.secret.as_str())), "{pairs:?}");
    assert!(pairs.contains(&("issuer", "Voice%20Console")), "{pairs:?}");
}

/// What a refused second-factor code writes: the challenge's tries
/// (login_challenges, ended at the last), the user's count (login_failures)
/// and, at log-in, the failed sign-in's event (activity_events).
const CODE_COUNTS: &[&str] = &["login_challenges", "login_failures", "activity_events"];

/// Nothing changed but what a refused code counts: the tables of
/// [`CODE_COUNTS`] aside, all is as before, and every event since is a
/// failed sign-in or the lock it started (no recovery code used, no
/// password reset, no sign-in).
async fn assert_code_refused(before: &Snapshot, d: &Domain) {
    before.assert_unchanged(d).await;
    let events = before.new_events(d).await;
    let refusal = |e: &String| e.starts_with("sign_in.failed ") || e.starts_with("sign_in.locked ");
    assert!(events.iter().all(refusal), "{events:?}");
}

async fn second_step(d: &Domain, email: &str) -> String {
    match log_in::log_in(d, email, PASSWORD, "t", None).await.unwrap() {
        LogIn::SecondFactor { challenge } => challenge,
        LogIn::Session(_) => panic!("2FA is on: the password alone must not open a session"),
    }
}

/// An empty field is said beside it and counts nothing: not a failed
/// log-in (towards the address's lock), nor a wrong code (towards the
/// user's code lock or the log-in's tries), whichever step it is.
#[tokio::test]
async fn empty_log_in_fields_and_codes_are_required_and_count_nothing() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let challenge = second_step(&d, "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    let no_email = log_in::log_in(&d, "  ", PASSWORD, "t", None).await.err().unwrap();
    assert_eq!(no_email.message_for("email").as_deref(), Some(log_in::EMAIL_REQUIRED));
    let no_password = log_in::log_in(&d, "ada@example.com", "", "t", None).await.err().unwrap();
    assert_eq!(no_password.message_for("password").as_deref(), Some(log_in::PASSWORD_REQUIRED));
    for _ in 0..log_in::CHALLENGE_ATTEMPTS {
        let no_code = log_in::complete_second_factor(&d, &challenge, " ", "t", None).await;
        let no_code = no_code.err().unwrap();
        assert_eq!(no_code.message_for("code").as_deref(), Some(two_factor::CODE_REQUIRED));
    }
    before.assert_nothing_counted(&d).await;
    // The step kept all its tries: the right code opens the session.
    let code = current_code(&d, &secret);
    assert!(log_in::complete_second_factor(&d, &challenge, &code, "t", None).await.is_ok());
    // Turning 2FA off checks the password first (counted as any check is),
    // then the code: an empty one spends none of the code's tries.
    clock.advance(Duration::seconds(30));
    let before = Snapshot::take_except(&d, &["quota_counters"]).await;
    let off = two_factor::disable(&d, &ada, PASSWORD, "").await.err().unwrap();
    assert_eq!(off.message_for("code").as_deref(), Some(two_factor::CODE_REQUIRED));
    before.assert_unchanged(&d).await;
}

/// A right code whose change is then refused (inside its transaction) is
/// not used up, and the count it was checked under is given back: a
/// recovery code stays unused, with no "recovery code used" in the log.
#[tokio::test]
async fn a_right_code_for_a_refused_change_is_not_used_up() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, recovery) = enable(&d, &clock, "ada@example.com").await;
    let refused = || {
        async |_: &sea_orm::DatabaseTransaction| -> Result<(), AppError> {
            Err(AppError::Conflict("refused for another reason".into()))
        }
    };
    // A wrong code first, counted; the right ones after give it back.
    let wrong = two_factor::with_code(&d, ada.user_id(), "000000", None, refused()).await;
    assert_eq!(wrong.err().unwrap().message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    for code in [current_code(&d, &secret), recovery[0].clone()] {
        let answer = two_factor::with_code(&d, ada.user_id(), &code, None, refused()).await;
        assert_eq!(answer, Err(AppError::Conflict("refused for another reason".into())));
    }
    before.assert_unchanged(&d).await;
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), 0, "given back");
    // Both still work.
    for code in [current_code(&d, &secret), recovery[0].clone()] {
        two_factor::with_code(&d, ada.user_id(), &code, None, async |_| Ok(())).await.unwrap();
    }
}

#[tokio::test]
async fn confirmations_at_the_same_moment_turn_two_factor_on_once() {
    let (mut d, _) = fresh_concurrent_domain().await;
    // A hashing slot for each password check, so the confirmations overlap
    // instead of queueing behind one another. Several rounds: each overlap
    // is a matter of timing (without the guard, one round in three turned
    // it on twice on PostgreSQL).
    d.passwords = PasswordHasher::new(8);
    for round in 0..5 {
        let email = format!("ada{round}@example.com");
        let ada = account_with_admin(&d, "Acme", &email).await;
        let setup = two_factor::begin_setup(&d, &ada).await.unwrap();
        let code = current_code(&d, &app::domain::testing::base32_decode(&setup.secret));
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let (d, ada, code) = (d.clone(), ada.clone(), code.clone());
                tokio::spawn(async move {
                    two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, None).await
                })
            })
            .collect();
        let mut shown = Vec::new();
        for task in tries {
            // Each other one is refused as too late, never as an error.
            match task.await.unwrap() {
                Ok(codes) => shown.push(codes),
                Err(AppError::Conflict(why)) => assert!(
                    [two_factor::NOT_SET_UP, two_factor::CHANGED_MEANWHILE].contains(&why.as_str()),
                    "{why}"
                ),
                Err(other) => assert_eq!(
                    other.message_for("code").as_deref(),
                    Some(two_factor::WRONG_CODE),
                    "{other:?}"
                ),
            }
        }
        assert_eq!(shown.len(), 1, "one confirmation turns it on");
        assert_eq!(shown[0].len(), two_factor::RECOVERY_CODES);
        let on = subjects_of_mail(&d, &email).await;
        assert_eq!(on.iter().filter(|s| *s == "Two-factor authentication is on").count(), 1);
        // The recovery codes shown are the ones that work.
        let challenge = second_step(&d, &email).await;
        log_in::complete_second_factor(&d, &challenge, &shown[0][0], "t", None).await.unwrap();
    }
}

/// Set Up pressed in a second window replaces the first window's secret:
/// the first window's right code is refused as replaced, not called wrong
/// (nor counted as a wrong code), and nothing turns on; the newest set-up's
/// code, sent with its id, turns 2FA on.
#[tokio::test]
async fn a_setup_replaced_in_another_window_is_said_so() {
    let (d, _clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let first = two_factor::begin_setup(&d, &ada).await.unwrap();
    let second = two_factor::begin_setup(&d, &ada).await.unwrap();
    assert_ne!(first.setup_id, second.setup_id);
    let first_secret = app::domain::testing::base32_decode(&first.secret);
    let before = Snapshot::take(&d).await;
    let code = current_code(&d, &first_secret);
    let refused =
        two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, Some(&first.setup_id)).await;
    assert_eq!(refused, Err(AppError::Conflict(two_factor::SETUP_REPLACED.into())));
    before.assert_unchanged(&d).await;
    assert!(!two_factor::status(&d, &ada).await.unwrap().enabled);

    let second_secret = app::domain::testing::base32_decode(&second.secret);
    let code = current_code(&d, &second_secret);
    two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, Some(&second.setup_id))
        .await
        .unwrap();
    assert!(two_factor::status(&d, &ada).await.unwrap().enabled);
}

#[tokio::test]
async fn enabling_takes_a_valid_code_and_then_log_in_asks_for_one() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let setup = two_factor::begin_setup(&d, &ada).await.unwrap();
    let secret = app::domain::testing::base32_decode(&setup.secret);
    // A wrong code leaves 2FA off, and log-in as it was, and changes
    // nothing (the password's check is counted; the code guards nothing
    // yet: whoever types it holds the secret it is made from).
    let before = Snapshot::take(&d).await;
    let wrong =
        two_factor::confirm_setup(&d, &ada, "t", PASSWORD, "000000", None).await.unwrap_err();
    assert_eq!(
        wrong.message_for("code").as_deref(),
        Some("That code is not valid. Enter the current 6-digit code from your authenticator app.")
    );
    before.assert_unchanged(&d).await;
    assert!(!two_factor::status(&d, &ada).await.unwrap().enabled);
    assert!(log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.is_ok());

    let codes =
        two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &current_code(&d, &secret), None)
            .await
            .unwrap();
    assert_eq!(codes.len(), 10);
    // Each code holds 80 random bits (16 base32 symbols): its stored SHA-256
    // must not be worth trying every value of, as it was at 40 bits.
    for code in &codes {
        let symbols: String = code.chars().filter(|c| *c != '-').collect();
        assert_eq!(symbols.len(), 16, "{code}");
        assert!(symbols.chars().all(|c| matches!(c, 'a'..='z' | '2'..='7')), "{code}");
    }
    let distinct: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    let status = two_factor::status(&d, &ada).await.unwrap();
    assert!(status.enabled && status.recovery_codes_left == 10);
    let row = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    assert!(row.two_factor_enabled, "the user table shows it");
    assert!(subjects_of_mail(&d, "ada@example.com")
        .await
        .contains(&"Two-factor authentication is on".to_string()));

    // The code that confirmed setup cannot log in: it was used.
    let challenge = second_step(&d, "ada@example.com").await;
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let replay =
        log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None).await;
    assert_eq!(replay.err().unwrap().message_for("code").as_deref(), Some(two_factor::CODE_USED));
    assert_code_refused(&before, &d).await;
    // A failed sign-in all the same, told apart in the user's activity.
    use app::domain::entity::activity_event;
    use sea_orm::QueryOrder;
    let newest =
        activity_event::Entity::find().order_by_desc(activity_event::Column::Id).one(&d.db);
    let newest = newest.await.unwrap().unwrap();
    assert_eq!(
        (newest.kind.as_str(), newest.detail.as_deref()),
        ("sign_in.failed", Some("two-factor code already used"))
    );
    clock.advance(Duration::seconds(30));
    let fresh = current_code(&d, &secret);
    let session = log_in::complete_second_factor(&d, &challenge, &fresh, "t", None).await.unwrap();
    assert_eq!(session.member.user_id(), ada.user_id());
    // The challenge opened one session; the same code does not work twice.
    let again = second_step(&d, "ada@example.com").await;
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let code_error =
        |r: Result<sessions::NewSession, AppError>| r.err().unwrap().message_for("code");
    let replayed = log_in::complete_second_factor(&d, &again, &fresh, "t", None).await;
    assert_eq!(code_error(replayed).as_deref(), Some(two_factor::CODE_USED));
    let used = log_in::complete_second_factor(&d, &challenge, &fresh, "t", None).await;
    assert_eq!(code_error(used).as_deref(), Some(log_in::CHALLENGE_EXPIRED));
    // The convenience log-in without a second step refuses.
    let password_only = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await;
    assert_eq!(code_error(password_only).as_deref(), Some("Enter your two-factor code."));
    assert_code_refused(&before, &d).await;
}

/// A right code sent twice at once (a double submit, two tabs) opens one
/// session; the other is told the log-in step is over, and no failed
/// sign-in is written for it (it was: "two-factor code already used").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_code_sent_twice_at_once_opens_one_session_and_fails_nothing() {
    let (d, clock) = fresh_concurrent_domain().await;
    for round in 0..4 {
        let email = format!("ada{round}@example.com");
        account_with_admin(&d, "Acme", &email).await;
        let (secret, _) = enable(&d, &clock, &email).await;
        let challenge = second_step(&d, &email).await;
        let code = current_code(&d, &secret);
        let before = Snapshot::take(&d).await;
        let tries: Vec<_> = (0..2)
            .map(|_| {
                let (d, challenge, code) = (d.clone(), challenge.clone(), code.clone());
                tokio::spawn(async move {
                    log_in::complete_second_factor(&d, &challenge, &code, "t", None).await
                })
            })
            .collect();
        let mut opened = 0;
        for attempt in tries {
            match attempt.await.unwrap() {
                Ok(_) => opened += 1,
                Err(e) => assert_eq!(
                    e.message_for("code").as_deref(),
                    Some(log_in::CHALLENGE_EXPIRED),
                    "round {round}: {e:?}"
                ),
            }
        }
        assert_eq!(opened, 1, "round {round}");
        let events = before.new_events(&d).await;
        assert!(events.iter().all(|e| !e.starts_with("sign_in.failed")), "{events:?}");
    }
}

/// The loser of a double submit that finds, under the account's lock, that
/// the log-in step is gone checked no code: its try is given back, not left
/// counted against the user's codes. (Which of two parallel submits gets
/// this far is up to timing, so the step's end is made to happen here.)
#[tokio::test]
async fn a_code_for_a_step_gone_meanwhile_is_not_counted() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let subject = format!("{}{}", throttle::CODE_SUBJECT, ada.user_id());
    let counted = async || {
        let row = login_failure::Entity::find_by_id(subject.clone()).one(&d.db).await.unwrap();
        row.map_or(0, |r| r.failures)
    };
    // One wrong code first: giving back takes this try's count only.
    let wrong = two_factor::with_code(&d, ada.user_id(), "000000", None, async |_| Ok(())).await;
    assert!(matches!(wrong, Err(AppError::Invalid(_))), "{wrong:?}");
    assert_eq!(counted().await, 1);
    let before = Snapshot::take(&d).await;
    let gone = || AppError::field("code", log_in::CHALLENGE_EXPIRED);
    let code = current_code(&d, &secret);
    let refused = two_factor::with_code_while(
        &d,
        ada.user_id(),
        &code,
        None,
        async |_| Err(gone()),
        async |_| Ok(()),
    )
    .await;
    assert_eq!(refused, Err(gone()));
    assert_eq!(counted().await, 1, "the wrong code's count stays, this one is given back");
    before.assert_unchanged(&d).await;
}

/// Once 2FA is turned off in another window, a code step opened before is
/// gone (its log-in starts again, without a code), and a right code for a
/// setting is refused as a change made meanwhile: not called wrong, not
/// counted, nothing changed.
#[tokio::test]
async fn a_right_code_after_two_factor_was_turned_off_elsewhere_is_not_called_wrong() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let challenge = second_step(&d, "ada@example.com").await;
    let code = current_code(&d, &secret);
    two_factor::disable(&d, &ada, PASSWORD, &code).await.unwrap();
    clock.advance(Duration::seconds(30));
    let code = current_code(&d, &secret);
    // The regenerate's change is counted before its code is asked for; a
    // code's count is taken and given back (its row stays at 0); no failed
    // sign-in is recorded.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let step = log_in::complete_second_factor(&d, &challenge, &code, "t", None).await;
    let said = step.err().unwrap().message_for("code");
    assert_eq!(said.as_deref(), Some(log_in::CHALLENGE_EXPIRED), "log in again, not a wrong code");
    let refused = two_factor::regenerate_recovery_codes(&d, &ada, PASSWORD, &code).await;
    assert_eq!(refused, Err(AppError::Conflict(two_factor::CHANGED_MEANWHILE.into())));
    before.assert_unchanged(&d).await;
    let counted = login_failure::Entity::find().all(&d.db).await.unwrap();
    assert!(counted.iter().all(|row| row.failures == 0), "{counted:?}");
}

/// A process whose key file lacks the key that sealed a user's TOTP secret
/// (a host the file has not reached yet) cannot check their codes. That is
/// its fault, not the codes': the failures do not count towards locking
/// them, and a recovery code, stored as a hash, still signs the user in.
#[tokio::test]
async fn a_secret_this_process_cannot_open_leaves_the_recovery_codes() {
    let url = app::domain::testing::fresh_shared_database_url().await;
    let (d, clock) = app::domain::testing::domain_on(&url).await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, codes) = enable(&d, &clock, "ada@example.com").await;
    // Another process on the same database, with keys of its own.
    let (other, others_clock) = app::domain::testing::domain_on(&url).await;
    others_clock.set(d.clock.now());
    let challenge = second_step(&other, "ada@example.com").await;
    for _ in 0..4 {
        let code = current_code(&other, &secret);
        let refused = log_in::complete_second_factor(&other, &challenge, &code, "t", None).await;
        assert_eq!(refused.err(), Some(AppError::Conflict(two_factor::CODES_UNCHECKABLE.into())));
    }
    let challenge = second_step(&other, "ada@example.com").await;
    let code = current_code(&other, &secret);
    let refused = log_in::complete_second_factor(&other, &challenge, &code, "t", None).await;
    let uncheckable = AppError::Conflict(two_factor::CODES_UNCHECKABLE.into());
    assert_eq!(refused.err(), Some(uncheckable), "not locked: none of them counted");
    // A wrong recovery code is wrong there as anywhere, and counted: what
    // such a process cannot check is a TOTP code alone.
    let before = Snapshot::take_except(&other, CODE_COUNTS).await;
    let wrong =
        log_in::complete_second_factor(&other, &challenge, "aaaa-bbbb-cccc-dddd", "t", None)
            .await
            .err()
            .unwrap();
    assert_eq!(wrong.message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    assert_code_refused(&before, &other).await;
    let counted = login_failure::Entity::find().all(&other.db).await.unwrap();
    let codes_of_ada: Vec<i32> =
        counted.iter().filter(|f| f.subject.starts_with("code:")).map(|f| f.failures).collect();
    assert_eq!(codes_of_ada, [1], "{counted:?}");
    let challenge = second_step(&other, "ada@example.com").await;
    log_in::complete_second_factor(&other, &challenge, &codes[0], "t", None).await.unwrap();
    // The process holding the key checks the codes as ever.
    let challenge = second_step(&d, "ada@example.com").await;
    clock.advance(Duration::seconds(30));
    log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None)
        .await
        .unwrap();
}

#[tokio::test]
async fn recovery_codes_work_once_and_challenges_expire() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (_, codes) = enable(&d, &clock, "ada@example.com").await;
    let challenge = second_step(&d, "ada@example.com").await;
    log_in::complete_second_factor(&d, &challenge, &codes[0].to_uppercase(), "t", None)
        .await
        .unwrap();
    let challenge = second_step(&d, "ada@example.com").await;
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let used_up = log_in::complete_second_factor(&d, &challenge, &codes[0], "t", None).await;
    assert_eq!(
        used_up.err().unwrap().message_for("code").as_deref(),
        Some(two_factor::WRONG_CODE),
        "used up"
    );

    // Five wrong codes in all end the challenge, even before it expires,
    // and lock the codes: the sixth try is told so.
    for _ in 0..4 {
        assert!(log_in::complete_second_factor(&d, &challenge, "123456", "t", None).await.is_err());
    }
    let sixth = log_in::complete_second_factor(&d, &challenge, "123456", "t", None).await;
    let locked = "Too many wrong two-factor codes. Try again in 15 minutes.";
    assert_eq!(sixth.err(), Some(AppError::TooManyRequests(locked.into())));
    let ended =
        log_in::complete_second_factor(&d, &challenge, &codes[1], "t", None).await.err().unwrap();
    assert_eq!(ended.message_for("code").as_deref(), Some(log_in::CHALLENGE_EXPIRED));
    assert_code_refused(&before, &d).await;
    // And an unused challenge expires after five minutes (once the lock
    // those wrong codes started is over).
    clock.advance(d.throttle.lock);
    let slow = second_step(&d, "ada@example.com").await;
    clock.advance(Duration::minutes(6));
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let late = log_in::complete_second_factor(&d, &slow, &codes[1], "t", None).await.err().unwrap();
    assert_eq!(late.message_for("code").as_deref(), Some(log_in::CHALLENGE_EXPIRED));
    assert_code_refused(&before, &d).await;
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_code() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, codes) = enable(&d, &clock, "ada@example.com").await;
    let code = current_code(&d, &secret);
    // Wrong passwords and codes are counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let wrong_password = two_factor::disable(&d, &ada, "not it", &code).await.unwrap_err();
    assert_eq!(wrong_password.message_for("password").as_deref(), Some(reauth::WRONG_PASSWORD));
    let wrong_code = two_factor::disable(&d, &ada, PASSWORD, "999999").await.unwrap_err();
    assert_eq!(wrong_code.message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    // New recovery codes need a right code too; the old ones stay.
    let wrong =
        two_factor::regenerate_recovery_codes(&d, &ada, PASSWORD, "999999").await.unwrap_err();
    assert_eq!(wrong.message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    // And the password first: a stolen session alone cannot spend (and
    // lock) the user's codes.
    let subject = format!("{}{}", throttle::CODE_SUBJECT, ada.user_id());
    let code_failures = async || {
        let row = login_failure::Entity::find_by_id(subject.clone()).one(&d.db).await.unwrap();
        row.map_or(0, |r| r.failures)
    };
    let counted = code_failures().await;
    let no_password = two_factor::regenerate_recovery_codes(&d, &ada, "not it", "999999").await;
    let no_password = no_password.unwrap_err();
    assert_eq!(no_password.message_for("password").as_deref(), Some(reauth::WRONG_PASSWORD));
    assert_eq!(code_failures().await, counted, "the wrong code was not counted");
    before.assert_unchanged(&d).await;
    assert!(two_factor::status(&d, &ada).await.unwrap().enabled);
    // Set-up is refused while it is on.
    let before = Snapshot::take(&d).await;
    let refused = two_factor::begin_setup(&d, &ada).await.err();
    assert_eq!(refused, Some(AppError::Conflict(two_factor::ALREADY_ON.into())));
    before.assert_unchanged(&d).await;
    // New recovery codes replace the old ones.
    let fresh_codes =
        two_factor::regenerate_recovery_codes(&d, &ada, PASSWORD, &code).await.unwrap();
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let void = two_factor::disable(&d, &ada, PASSWORD, &codes[0]).await.unwrap_err();
    assert_eq!(
        void.message_for("code").as_deref(),
        Some(two_factor::WRONG_CODE),
        "old codes are void"
    );
    before.assert_unchanged(&d).await;
    let from = ada.clone().from_address(Some("198.51.100.7".parse().unwrap()));
    two_factor::disable(&d, &from, PASSWORD, &fresh_codes[0]).await.unwrap();
    assert!(!two_factor::status(&d, &ada).await.unwrap().enabled);
    // The notice says when, and from which address.
    let notice = outbox::Entity::find()
        .filter(outbox::Column::Subject.eq("Two-factor authentication is off"))
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    let said = app::domain::testing::body_of(&d, &notice);
    let when = d.clock.now().format("%Y-%m-%d %H:%M UTC");
    assert!(
        said.contains(&format!(
            "turned off for your Voice Console user at {when} from 198.51.100.7"
        )),
        "{said}"
    );
    assert!(said.contains("If this was not you, reset your password at once"), "{said}");
    // Off, with no set-up begun, a confirmation has nothing to turn on.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let code = current_code(&d, &secret);
    let refused = two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, None).await.err();
    assert_eq!(refused, Some(AppError::Conflict(two_factor::NOT_SET_UP.into())));
    before.assert_unchanged(&d).await;
    assert!(log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.is_ok());
    assert!(subjects_of_mail(&d, "ada@example.com")
        .await
        .contains(&"Two-factor authentication is off".to_string()));
}

#[tokio::test]
async fn an_operator_resets_2fa_and_the_user_is_told() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    enable(&d, &clock, "ada@example.com").await;
    operator::reset_two_factor(&d, &Operator::from_command_line(), "ADA@example.com")
        .await
        .unwrap();
    assert!(log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.is_ok());
    assert!(subjects_of_mail(&d, "ada@example.com")
        .await
        .contains(&"Two-factor authentication was reset".to_string()));
    let before = Snapshot::take(&d).await;
    assert_eq!(
        operator::reset_two_factor(&d, &Operator::from_command_line(), "nobody@example.com").await,
        Err(AppError::NotFound)
    );
    before.assert_unchanged(&d).await;
    // Now off: a second reset (or one for a user who never had it) is
    // refused, with no email telling them support turned something off.
    let op = Operator::from_command_line();
    match operator::reset_two_factor(&d, &op, "ada@example.com").await {
        Err(AppError::Conflict(why)) => {
            assert!(why.contains("does not have two-factor authentication on"), "{why}")
        }
        other => panic!("a reset of nothing was not refused: {other:?}"),
    }
    before.assert_unchanged(&d).await;
}

/// A burst of wrong passwords at once lets through only what one after
/// another would before the email waits: from the count after which it
/// waits, one; from a fresh email, that count. The others are told to wait.
/// The backoff holds on PostgreSQL too, where each attempt reads the count
/// before the others have written theirs (several threads: on one, the
/// attempts mostly took turns and the test passed without the guard; with
/// them it failed on PostgreSQL, two let through, and from a fresh email
/// six of eight; SQLite's one writer takes such a burst in turns).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_failed_log_ins_at_once_still_waits_its_turn() {
    let (d, _) = fresh_concurrent_domain().await;
    let slow_after = d.throttle.email_slow_after;
    for round in 0..6 {
        let email = format!("ada{round}@example.com");
        account_with_admin(&d, "Acme", &email).await;
        // Even rounds start fresh, odd ones one failure short of waiting.
        let before = if round % 2 == 0 { 0 } else { slow_after - 1 };
        for _ in 0..before {
            let failed = log_in_by_password(&d, &email, "wrong", "t").await.err();
            assert!(matches!(failed, Some(AppError::Invalid(_))), "{failed:?}");
        }
        let burst: Vec<_> = (0..8)
            .map(|_| {
                let (d, email) = (d.clone(), email.clone());
                tokio::spawn(async move { log_in_by_password(&d, &email, "wrong", "t").await })
            })
            .collect();
        let (mut checked, mut waited) = (0, 0);
        for attempt in burst {
            match attempt.await.unwrap().err() {
                Some(AppError::Invalid(_)) => checked += 1,
                Some(AppError::TooManyRequests(why)) if why.contains("Wait") => waited += 1,
                other => panic!("{other:?}"),
            }
        }
        let let_through = slow_after - before;
        assert_eq!((checked, waited), (let_through, 8 - let_through), "round {round}");
        let row = login_failure::Entity::find_by_id(format!("email:{}", token_hash(&email)))
            .one(&d.db)
            .await;
        let counted = row.unwrap().map(|r| r.failures);
        assert_eq!(counted, Some(slow_after), "round {round}");
    }
}

#[tokio::test]
async fn failed_log_ins_slow_down_then_lock_briefly_known_email_or_not() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    // Every refusal is counted (login_failures); none opens a session or changes anything else.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let attempt = |password: &'static str| log_in_by_password(&d, email, password, "t");
        for _ in 0..3 {
            assert!(matches!(attempt("wrong").await, Err(AppError::Invalid(_))));
        }
        // From the third failure each attempt waits: 2 s, then 4 s, …
        let wait = attempt("wrong").await.err().unwrap().to_string();
        assert_eq!(wait, "Too many failed log-ins. Wait 2 seconds and try again.", "{email}");
        clock.advance(Duration::seconds(1));
        let wait = attempt("wrong").await.err().unwrap().to_string();
        assert_eq!(wait, "Too many failed log-ins. Wait 1 second and try again.", "{email}");
        for failures in 3..10 {
            clock.advance(Duration::seconds(61));
            assert!(
                matches!(attempt("wrong").await, Err(AppError::Invalid(_))),
                "{email} {failures}"
            );
        }
        // Ten failures lock the email for 15 minutes, correct password or not,
        // with the same answer for a real account and an unknown address.
        clock.advance(Duration::seconds(61));
        let locked = attempt(PASSWORD).await.err().unwrap();
        assert!(
            matches!(&locked, AppError::TooManyRequests(m) if m.contains("Try again in")),
            "{email}: {locked:?}"
        );
        // Still locked after the 15-minute counting window has passed...
        clock.advance(Duration::minutes(10));
        assert!(matches!(attempt(PASSWORD).await, Err(AppError::TooManyRequests(_))), "{email}");
        clock.advance(Duration::seconds(270));
        let last_minute = attempt(PASSWORD).await.err().unwrap().to_string();
        assert!(last_minute.contains("Try again in 1 minute, or"), "{email}: {last_minute}");
        // ...and free once the lock's own 15 minutes are over.
        clock.advance(Duration::seconds(90));
    }
    before.assert_unchanged(&d).await;
    // Ada's list shows each failure and the lock (the attempts made to wait
    // were not tried); the unknown address has nobody to show them to.
    let mut seen = vec!["sign_in.failed ada@example.com"; 10];
    seen.push("sign_in.locked ada@example.com");
    assert_eq!(before.new_events(&d).await, seen);
    // Once over, the records are forgotten (the worker does this hourly).
    clock.advance(Duration::minutes(16));
    assert!(app::domain::jobs::forget_expired(&d).await.unwrap() >= 1);
    // The lock has expired: the real user logs in.
    assert!(log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.is_ok());
}

#[tokio::test]
async fn a_successful_log_in_clears_the_failure_count() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let attempt = |password: &'static str| log_in_by_password(&d, "ada@example.com", password, "t");
    for _ in 0..2 {
        assert!(matches!(attempt("wrong").await, Err(AppError::Invalid(_))));
    }
    assert!(attempt(PASSWORD).await.is_ok());
    // Counted afresh: three more failures are answered at once. Had the two
    // earlier ones still counted, the third would have to wait. They are
    // counted (login_failures) and change nothing else.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    for n in 1..=3 {
        assert!(matches!(attempt("wrong").await, Err(AppError::Invalid(_))), "failure {n}");
    }
    assert!(matches!(attempt("wrong").await, Err(AppError::TooManyRequests(_))));
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed ada@example.com"; 3]);
}

/// A try at a locked or waiting address is refused by reads alone: with
/// SQLite's one writer held by another transaction, the refusal comes at
/// once, where each used to wait its turn at the writer (a flood at a
/// locked address would queue everyone's writes). PostgreSQL's writers do
/// not queue so; there the answer is the same.
#[tokio::test]
async fn a_locked_address_is_refused_without_a_turn_at_the_writer() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let (d, _) = fresh_concurrent_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let attempt = || log_in::log_in(&d, "ada@example.com", "wrong", "t", None);
    let mut tries = 0;
    while !matches!(attempt().await, Err(AppError::TooManyRequests(_))) {
        tries += 1;
        assert!(tries < 20, "never refused");
    }
    let held = d.db.begin().await.unwrap();
    held.execute_unprepared("UPDATE accounts SET company_name = company_name").await.unwrap();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(2), attempt()).await;
    let refused = answered.expect("answered without waiting for the writer");
    assert!(matches!(refused, Err(AppError::TooManyRequests(_))), "{:?}", refused.err());
    held.rollback().await.unwrap();
}

#[tokio::test]
async fn one_address_trying_many_emails_is_locked() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let address = Some("203.0.113.9".parse().unwrap());
    // The failures are counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    for i in 0..50 {
        let email = format!("guess{i}@example.com");
        let result = log_in::log_in(&d, &email, "wrong", "t", address).await;
        assert!(matches!(result, Err(AppError::Invalid(_))), "attempt {i}");
    }
    let locked = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", address).await;
    assert!(matches!(locked, Err(AppError::TooManyRequests(_))));
    before.assert_unchanged(&d).await;
    // Another address is not affected.
    let other =
        log_in::log_in(&d, "ada@example.com", PASSWORD, "t", Some("198.51.100.7".parse().unwrap()))
            .await;
    assert!(matches!(other, Ok(LogIn::Session(_))));
    // The address's lock ends after its 15 minutes, and not before.
    clock.advance(Duration::minutes(14));
    // Refused by the address before anything is counted: a client it locked
    // cannot go on to lock out, at no cost of a hash, the users it names.
    let before = Snapshot::take(&d).await;
    for _ in 0..=d.throttle.email_lock_after {
        let still = log_in::log_in(&d, "ada@example.com", "wrong", "t", address).await;
        assert!(matches!(still, Err(AppError::TooManyRequests(_))));
    }
    before.assert_unchanged(&d).await;
    let elsewhere = Some("198.51.100.7".parse().unwrap());
    let ada = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", elsewhere).await;
    assert!(matches!(ada, Ok(LogIn::Session(_))), "{:?}", ada.err());
    clock.advance(Duration::minutes(2));
    let freed = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", address).await;
    assert!(matches!(freed, Ok(LogIn::Session(_))), "{:?}", freed.err());
}

/// The /64s of one IPv6 /56 (what a provider hands one customer) share a
/// lock four times one address's: a customer cannot try passwords from 256
/// addresses that each count alone. A locked /64 is refused before it
/// counts against its /56, so it cannot lock its neighbours out for free.
#[tokio::test]
async fn the_64s_of_one_56_share_a_log_in_lock() {
    use app::domain::core::quota::GROUP_FACTOR;
    let (mut d, _) = fresh_domain().await;
    d.throttle.address_lock_after = 2;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let in_56 =
        |net: u16, n: u16| Some(std::net::IpAddr::from([0x2001, 0xdb8, net, n, 0, 0, 0, 1]));
    let guess = async |n: u16, address| {
        log_in::log_in(&d, &format!("guess{n}@example.com"), "wrong", "t", address).await
    };
    let most = 2 * GROUP_FACTOR as u16;
    for n in 0..most {
        // Two guesses from each /64 stay within its own lock.
        let result = guess(n, in_56(7, n / 2)).await;
        assert!(matches!(result, Err(AppError::Invalid(_))), "attempt {n}: {:?}", result.err());
    }
    // The attempt past the limit starts the /56's lock (login_failures) and
    // changes nothing else; the next ones change nothing at all.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let locked = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", in_56(7, most)).await;
    assert!(matches!(locked, Err(AppError::TooManyRequests(_))), "{:?}", locked.err());
    before.assert_unchanged(&d).await;
    let before = Snapshot::take(&d).await;
    let locked = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", in_56(7, 0xff)).await;
    assert!(matches!(locked, Err(AppError::TooManyRequests(_))), "{:?}", locked.err());
    before.assert_unchanged(&d).await;
    // The next /56 up is another customer's.
    let ada = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", in_56(7, 0x100)).await;
    assert!(matches!(ada, Ok(LogIn::Session(_))), "{:?}", ada.err());

    // In another /56, one /64 locks itself; its attempts then cost its /56 nothing.
    for n in 0..3 {
        let _ = guess(n, in_56(9, 0)).await;
    }
    let counted = async || {
        let subject = "ip:2001:db8:9:0::/56".to_owned();
        login_failure::Entity::find_by_id(subject).one(&d.db).await.unwrap().unwrap().failures
    };
    assert_eq!(counted().await, 2);
    let before = Snapshot::take(&d).await;
    for n in 0..most {
        let refused = guess(n, in_56(9, 0)).await;
        assert!(matches!(refused, Err(AppError::TooManyRequests(_))), "{:?}", refused.err());
    }
    before.assert_unchanged(&d).await;
    assert_eq!(counted().await, 2);
}

/// Two regenerates of one key at once (a second click, another tab): one
/// shows a new secret, the other is refused instead of replacing that
/// secret before it is copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_regenerates_of_one_key_at_once_leave_the_secret_shown_working() {
    use app::domain::entity::activity_event;
    use app::domain::testing::{change_user_under_lock, wait_for_lock_waiters};
    use sea_orm::Set;
    let (d, _) = fresh_concurrent_domain().await;
    if d.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        // The server's one SQLite connection runs the two in turn, each
        // reading the key after the other's commit: nothing races.
        eprintln!("SQLite: the two regenerates cannot overlap");
        return;
    }
    let grace = account_with_admin(&d, "Acme", "grace@example.com").await;
    let old = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    let held = change_user_under_lock(&d, grace.user_id(), |u| u.last_name = Set("H".into())).await;
    let regenerate = || {
        let (d, grace, id) = (d.clone(), grace.clone(), old.row.id);
        tokio::spawn(async move { developer_keys::regenerate(&d, &grace, id, PASSWORD, "").await })
    };
    let (first, second) = (regenerate(), regenerate());
    wait_for_lock_waiters(&d, 2).await;
    held.commit().await.unwrap();
    let answers = [first.await.unwrap(), second.await.unwrap()];
    let shown: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(shown.len(), 1, "{answers:?}");
    let refused = AppError::Conflict(developer_keys::REGENERATED_MEANWHILE.into());
    assert!(answers.iter().any(|a| a.as_ref().err() == Some(&refused)), "{answers:?}");
    assert!(developer_keys::authenticate(&d, &shown[0].key).await.is_ok());
    assert_eq!(developer_keys::authenticate(&d, &old.key).await, Err(AppError::Unauthenticated));
    let regenerated = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("developer_key.regenerated"))
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(regenerated, 1);
}

/// A transaction left open that writes the key `id` a new secret, as
/// `regenerate` does: a request racing the regenerate waits for it.
async fn regenerate_held_open(d: &Domain, id: i32) -> sea_orm::DatabaseTransaction {
    use app::domain::entity::developer_key;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let held = d.begin().await.unwrap();
    let row = developer_key::Entity::find_by_id(id).one(&held).await.unwrap().unwrap();
    let mut row = row.into_active_model();
    row.key_hash = Set(token_hash("vk_the-new-secret"));
    row.last_used_at = Set(None);
    row.update(&held).await.unwrap();
    held
}

/// A request with the old secret that read the key just before a
/// regenerate committed is refused once it has, and does not mark the new
/// secret as used. Here a transaction left open writes the new secret as
/// `regenerate` does, and the request waits for it (on PostgreSQL, where it
/// can read the key meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_with_the_old_secret_racing_a_regenerate_is_refused() {
    use app::domain::entity::developer_key;
    let (d, _) = fresh_concurrent_domain().await;
    if d.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        // The server's one SQLite connection waits for the held write
        // before the request reads the key at all: nothing races.
        eprintln!("SQLite: the request cannot read the key before the regenerate commits");
        return;
    }
    let grace = account_with_admin(&d, "Acme", "grace@example.com").await;
    let old = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    let held = regenerate_held_open(&d, old.row.id).await;
    let request = tokio::spawn({
        let (d, key) = (d.clone(), old.key.clone());
        async move { developer_keys::authenticate(&d, &key).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 1).await;
    held.commit().await.unwrap();
    assert_eq!(request.await.unwrap(), Err(AppError::Unauthenticated));
    let now = developer_key::Entity::find_by_id(old.row.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(now.last_used_at, None, "the new secret was never used");
}

/// An API request with a key used a moment ago (so its time is not written
/// again) that read the key before a regenerate committed is refused once
/// it has: on SQLite the request's count waits for the writer the
/// regenerate holds, and the key is read again after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recently_used_key_racing_a_regenerate_is_refused_after_its_count() {
    let (d, _) = fresh_concurrent_domain().await;
    if d.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The count takes no lock the regenerate holds: the request is
        // simply before it, as it would be a moment earlier.
        eprintln!("PostgreSQL: the request's count does not wait for the regenerate");
        return;
    }
    let grace = account_with_admin(&d, "Acme", "grace@example.com").await;
    let old = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    let client = Some("192.0.2.1".parse().unwrap());
    developer_keys::admit_request(&d, &old.key, client).await.unwrap();
    let held = regenerate_held_open(&d, old.row.id).await;
    let request = tokio::spawn({
        let (d, key) = (d.clone(), old.key.clone());
        async move { developer_keys::admit_request(&d, &key, client).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 1).await;
    held.commit().await.unwrap();
    let refused = request.await.unwrap().map(|m| m.user_id()).map_err(|r| r.error);
    assert_eq!(refused, Err(AppError::Unauthenticated));
}

/// A burst of API requests at once with one key is admitted exactly up to
/// the user's limit, however they interleave, and every refusal names the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_api_requests_is_admitted_up_to_the_limit() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, _) = fresh_concurrent_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("api_request.actor=5/1").unwrap();
    let grace = account_with_admin(&d, "Acme", "grace@example.com").await;
    let key = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap().key;
    let client = Some("192.0.2.1".parse().unwrap());
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (d, key) = (d.clone(), key.clone());
            tokio::spawn(async move { developer_keys::admit_request(&d, &key, client).await })
        })
        .collect();
    let mut admitted = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok(member) => {
                assert_eq!((member.user_id(), member.address()), (grace.user_id(), client));
                admitted += 1;
            }
            Err(refused) => {
                assert!(matches!(refused.error, AppError::TooManyRequests(_)), "{refused:?}");
                assert_eq!(refused.retry_after, Some(Duration::seconds(60)));
            }
        }
    }
    assert_eq!(admitted, 5);
}

/// The users of one account share its count, whoever's key and wherever
/// from; another account's users have their own.
#[tokio::test]
async fn an_accounts_api_requests_are_counted_together() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("api_request.account=3/1").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = account_with_admin(&d, "Globex", "bob@example.com").await;
    let mut keys = Vec::new();
    for (member, name) in [(&ada, "CI"), (&grace, "CI"), (&bob, "CI"), (&grace, "Unused")] {
        keys.push(developer_keys::generate(&d, member, name, PASSWORD, "").await.unwrap().key);
    }
    let from = |i: u8| Some(std::net::IpAddr::from([192, 0, 2, i]));
    for (i, key) in [&keys[0], &keys[1], &keys[0]].into_iter().enumerate() {
        assert!(developer_keys::admit_request(&d, key, from(i as u8)).await.is_ok(), "{i}");
    }
    // Refused, a request writes nothing: not even its unused key's "Last Used".
    let before = Snapshot::take(&d).await;
    for key in [&keys[1], &keys[3]] {
        let refused = developer_keys::admit_request(&d, key, from(9)).await.unwrap_err();
        assert!(matches!(refused.error, AppError::TooManyRequests(_)), "{refused:?}");
        assert_eq!(refused.retry_after, Some(Duration::seconds(60)));
    }
    before.assert_unchanged(&d).await;
    assert!(developer_keys::admit_request(&d, &keys[2], from(9)).await.is_ok(), "another account");
}

#[tokio::test]
async fn developer_keys_act_as_their_user_until_revoked_deleted_or_demoted() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    // A key needs a name of at most 100 characters; a refused one is no key.
    let before = Snapshot::take(&d).await;
    for bad in ["  ", &"k".repeat(101)] {
        let refused = developer_keys::generate(&d, &grace, bad, PASSWORD, "").await.err().unwrap();
        assert!(
            refused.message_for("name").is_some_and(|m| m.starts_with("Key Name ")),
            "{refused:?}"
        );
    }
    before.assert_unchanged(&d).await;
    let first = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    assert!(first.key.starts_with("vk_") && first.key.len() > 40);
    // A second key of the same name, whatever its case, could not be told apart.
    let before = Snapshot::take(&d).await;
    let twin = developer_keys::generate(&d, &grace, " ci ", PASSWORD, "").await.err().unwrap();
    assert_eq!(
        twin.message_for("name").as_deref(),
        Some("You already have a key named ci: choose another, or regenerate that key.")
    );
    before.assert_unchanged(&d).await;
    assert!(first.key.starts_with(&first.row.prefix));
    let listed = developer_keys::list(&d, &grace).await.unwrap();
    assert_eq!(listed, vec![first.row.clone()]);
    assert!(serde_json::to_string(&listed).unwrap().find(&first.key).is_none(), "never listed");
    let acting = developer_keys::authenticate(&d, &first.key).await.unwrap();
    assert!(acting.admin().is_ok());
    assert!(developer_keys::list(&d, &grace).await.unwrap()[0].last_used.is_some());

    // Regenerating replaces the secret; revoking ends it.
    let second = developer_keys::regenerate(&d, &grace, first.row.id, PASSWORD, "").await.unwrap();
    // A refused key changes nothing (a key that works notes its last use).
    let before = Snapshot::take(&d).await;
    assert_eq!(developer_keys::authenticate(&d, &first.key).await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;
    assert!(developer_keys::authenticate(&d, &second.key).await.is_ok());
    // Another user (here an admin of the same account) can neither revoke
    // nor regenerate it, and trying changes nothing: the key still works.
    let before = Snapshot::take(&d).await;
    assert_eq!(developer_keys::revoke(&d, &ada, second.row.id).await, Err(AppError::NotFound));
    assert_eq!(
        developer_keys::regenerate(&d, &ada, second.row.id, PASSWORD, "").await.map(|k| k.key),
        Err(AppError::NotFound)
    );
    before.assert_unchanged(&d).await;
    // Its own user needs the right password; a wrong one is counted only.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let wrong = developer_keys::regenerate(&d, &grace, second.row.id, "not it", "").await;
    assert_eq!(
        wrong.map(|k| k.key).unwrap_err().message_for("password").as_deref(),
        Some(reauth::WRONG_PASSWORD)
    );
    before.assert_unchanged(&d).await;
    assert!(developer_keys::authenticate(&d, &second.key).await.is_ok());
    let third = developer_keys::generate(&d, &grace, "Reports", PASSWORD, "").await.unwrap();
    developer_keys::revoke(&d, &grace, second.row.id).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(developer_keys::authenticate(&d, &second.key).await, Err(AppError::Unauthenticated));
    before.assert_unchanged(&d).await;

    // A demoted admin's key loses admin rights at once.
    let form = users::UserForm {
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: "grace@example.com".into(),
        ..Default::default()
    };
    users::update(&d, &ada.admin().unwrap(), grace.user_id(), form).await.unwrap();
    let demoted = developer_keys::authenticate(&d, &third.key).await.unwrap();
    assert!(demoted.admin().is_err());
    // A deleted user's keys stop working.
    users::delete(&d, &ada.admin().unwrap(), grace.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(developer_keys::authenticate(&d, &third.key).await, Err(AppError::Unauthenticated));
    assert_eq!(
        developer_keys::authenticate(&d, "vk_made-up").await,
        Err(AppError::Unauthenticated)
    );
    before.assert_unchanged(&d).await;
}

/// A key's name and prefix are its user's to see: Ada, an admin of the
/// same account, lists her own key and none of Grace's, nor anything by
/// which to tell Grace's keys apart.
#[tokio::test]
async fn each_user_lists_only_their_own_keys() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", false).await;
    let graces =
        developer_keys::generate(&d, &grace, "Grace's deploys", PASSWORD, "").await.unwrap();
    let adas = developer_keys::generate(&d, &ada, "Ada's reports", PASSWORD, "").await.unwrap();
    let before = Snapshot::take(&d).await;
    let listed = developer_keys::list(&d, &ada).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&adas.row));
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains(&graces.row.name) && !shown.contains(&graces.row.prefix), "{shown}");
    assert_eq!(developer_keys::list(&d, &grace).await.unwrap(), [graces.row]);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn sessions_are_listed_and_ended_by_their_user_only() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let firefox =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0";
    let office = Some("203.0.113.7".parse().unwrap());
    let laptop = log_in::log_in(&d, "ada@example.com", PASSWORD, firefox, office).await;
    let laptop = laptop.unwrap().into_session().unwrap();
    clock.advance(Duration::minutes(5));
    let phone = log_in_by_password(
        &d,
        "ada@example.com",
        PASSWORD,
        "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36",
    )
    .await
    .unwrap();
    let bobs = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    let listed = sessions::list(&d, &ada, &phone.token).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.device.as_str(), s.client_address.as_str(), s.current))
            .collect::<Vec<_>>(),
        vec![("Chrome on Android", "", true), ("Firefox on Windows", "203.0.113.7", false)],
        "an unknown address is left empty"
    );
    assert!(
        serde_json::to_string(&listed).unwrap().find(&laptop.token).is_none(),
        "ids are not tokens"
    );

    // Bob cannot end Ada's session.
    let laptop_id = listed[1].id.clone();
    let before = Snapshot::take(&d).await;
    assert_eq!(sessions::end(&d, &bob, &laptop_id).await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;
    sessions::end(&d, &ada, &laptop_id).await.unwrap();
    assert_eq!(sessions::authenticate(&d, &laptop.token).await, Err(AppError::Unauthenticated));
    let again = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    sessions::end_others(&d, &ada, &phone.token).await.unwrap();
    assert_eq!(sessions::authenticate(&d, &again.token).await, Err(AppError::Unauthenticated));
    assert!(sessions::authenticate(&d, &phone.token).await.is_ok());
    assert!(sessions::authenticate(&d, &bobs.token).await.is_ok(), "Bob's sessions are his");

    // Idle time ends sessions (the absolute lifetime: `auth.rs`).
    clock.advance(Duration::days(8));
    assert_eq!(sessions::authenticate(&d, &phone.token).await, Err(AppError::Unauthenticated));
}

/// A log-in of `email` whose code step is given a wrong code, and says so.
async fn wrong_code_at_log_in(d: &Domain, email: &str) {
    let challenge = second_step(d, email).await;
    let wrong = log_in::complete_second_factor(d, &challenge, "000000", "t", None).await;
    assert_eq!(wrong.err().unwrap().message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
}

#[tokio::test]
async fn wrong_codes_count_across_log_ins_and_lock_the_second_factor() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    // A fresh challenge per log-in does not give fresh tries.
    for _ in 1..d.throttle.code_lock_after {
        wrong_code_at_log_in(&d, "ada@example.com").await;
    }
    // The last wrong code: after it the right one is refused, and the lock
    // starts.
    let challenge = second_step(&d, "ada@example.com").await;
    let wrong = log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await;
    assert_eq!(wrong.err().unwrap().message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let right =
        log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None).await;
    let locked = "Too many wrong two-factor codes. Try again in 15 minutes.";
    assert_eq!(right.err(), Some(AppError::TooManyRequests(locked.into())));
    assert_code_refused(&before, &d).await;
    // The lock is in Ada's activity, once, saying why.
    use app::domain::entity::activity_event;
    use sea_orm::QueryOrder;
    assert_eq!(before.new_events(&d).await, ["sign_in.locked ada@example.com"]);
    let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
    let event = newest.one(&d.db).await.unwrap().unwrap();
    assert_eq!(event.detail.as_deref(), Some("too many wrong two-factor codes"));
    // The password step says so too, and opens no code step none can pass.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let refused = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
    assert_eq!(refused.err(), Some(AppError::TooManyRequests(locked.into())));
    before.assert_unchanged(&d).await;
    // So does a reset link, before it costs a hash, and it is not used up.
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let link = link_token(&d, "ada@example.com", "/reset-password").await;
    let before = Snapshot::take(&d).await;
    let reset = email_links::reset_password(&d, &link, "Brand-New-Lantern-42", "t", None).await;
    assert_eq!(reset.err(), Some(AppError::TooManyRequests(locked.into())));
    before.assert_unchanged(&d).await;
    // The lock is short; then the right code works and clears the count.
    clock.advance(d.throttle.lock);
    let challenge = second_step(&d, "ada@example.com").await;
    log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None)
        .await
        .unwrap();
}

/// With 2FA on, what outlives the session and a password change (a developer
/// key; the email address that resets go to) also asks for a code: a stolen
/// session and the password alone no longer keep a way in.
#[tokio::test]
async fn with_two_factor_on_keys_and_email_changes_also_ask_for_a_code() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let key = developer_keys::generate(&d, &ada, "Before", PASSWORD, "").await.unwrap().row.id;
    let (secret, recovery) = enable(&d, &clock, "ada@example.com").await;

    // No code, or a wrong one: refused beside the code's field, and nothing
    // is made (a wrong code is counted, as every code is).
    for (code, said, counted) in
        [("", two_factor::CODE_NEEDED, false), ("000000", two_factor::WRONG_CODE, true)]
    {
        // Asked for a code before anything else: not even the password's
        // check or the change's count is spent.
        let except: &[&str] = if counted { &["quota_counters", "login_failures"] } else { &[] };
        let before = Snapshot::take_except(&d, except).await;
        let made = developer_keys::generate(&d, &ada, "CI", PASSWORD, code).await.err().unwrap();
        let again = developer_keys::regenerate(&d, &ada, key, PASSWORD, code).await.err().unwrap();
        let moved = email_links::request_email_change(&d, &ada, PASSWORD, "new@example.com", code)
            .await
            .err()
            .unwrap();
        for refused in [made, again, moved] {
            assert_eq!(refused.message_for("code").as_deref(), Some(said), "{refused:?}");
        }
        match counted {
            true => before.assert_unchanged(&d).await,
            false => before.assert_nothing_counted(&d).await,
        }
    }

    // A name taken is said before the code is asked for: the right code is
    // not used up, and nothing is counted. A recovery code likewise: not
    // used up, and no "recovery code used" in the log.
    let code = current_code(&d, &secret);
    let before = Snapshot::take(&d).await;
    for code in [code.as_str(), recovery[0].as_str()] {
        let taken = developer_keys::generate(&d, &ada, "before", PASSWORD, code).await;
        let taken = taken.err().unwrap();
        assert!(taken.message_for("name").unwrap().starts_with(developer_keys::KEY_NAME_TAKEN));
    }
    before.assert_nothing_counted(&d).await;
    developer_keys::generate(&d, &ada, "Laptop", PASSWORD, &recovery[0]).await.unwrap();
    assert_eq!(before.new_events(&d).await[0], "recovery_code.used ada@example.com");
    developer_keys::generate(&d, &ada, "CI", PASSWORD, &code).await.unwrap();
    let failures = login_failure::Entity::find().count(&d.db).await.unwrap();
    assert_eq!(failures, 0, "the right code gave the wrong ones' counts back");
    // The same code a second time is a replay: the key keeps its secret.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let replayed = developer_keys::regenerate(&d, &ada, key, PASSWORD, &code).await.err().unwrap();
    assert_eq!(replayed.message_for("code").as_deref(), Some(two_factor::CODE_USED));
    before.assert_unchanged(&d).await;
    clock.advance(Duration::seconds(30));
    developer_keys::regenerate(&d, &ada, key, PASSWORD, &current_code(&d, &secret)).await.unwrap();
    clock.advance(Duration::seconds(30));
    let to = email_links::request_email_change(
        &d,
        &ada,
        PASSWORD,
        "new@example.com",
        &current_code(&d, &secret),
    )
    .await
    .unwrap();
    assert_eq!(to, "new@example.com");
}

/// Whoever has the password could try five codes every quarter of an hour
/// for ever (about 480 a day); each lock in a row now lasts twice the one
/// before, up to a day, until a right code.
#[tokio::test]
async fn each_code_lock_in_a_row_lasts_twice_as_long_until_a_right_code() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let wrong_codes_until_locked = async || {
        for _ in 0..d.throttle.code_lock_after {
            let challenge = second_step(&d, "ada@example.com").await;
            let wrong = log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await;
            assert_eq!(
                wrong.err().unwrap().message_for("code").as_deref(),
                Some(two_factor::WRONG_CODE)
            );
        }
        // The password step tells of the lock (and starts it).
        let refused = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
        match refused.err() {
            Some(AppError::TooManyRequests(message)) => message,
            other => panic!("not locked: {other:?}"),
        }
    };
    let mut told = Vec::new();
    for _ in 0..8 {
        told.push(wrong_codes_until_locked().await);
        // Not a minute early: the right code is refused until the lock ends.
        let wait = login_failure::Entity::find_by_id(format!("code:{}", user_id(&d).await))
            .one(&d.db)
            .await
            .unwrap()
            .unwrap()
            .locked_until
            .unwrap()
            - d.clock.now();
        clock.advance(wait - Duration::minutes(1));
        let before = Snapshot::take_except(&d, CODE_COUNTS).await;
        let early = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
        assert!(matches!(early.err(), Some(AppError::TooManyRequests(_))), "refused early");
        assert_code_refused(&before, &d).await;
        // The clean-up between two locks, once the count's window is over
        // too, keeps the run.
        clock.advance(Duration::minutes(1) + d.throttle.window);
        jobs::forget_expired(&d).await.unwrap();
    }
    let waits: Vec<&str> = told
        .iter()
        .map(|m| m.strip_prefix("Too many wrong two-factor codes. Try again in ").unwrap())
        .collect();
    assert_eq!(
        waits,
        [
            "15 minutes.",
            "30 minutes.",
            "60 minutes.",
            "120 minutes.",
            "4 hours.",
            "8 hours.",
            "16 hours.",
            "24 hours."
        ]
    );
    // A right code ends the run: the next lock is short again.
    let challenge = second_step(&d, "ada@example.com").await;
    log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None)
        .await
        .unwrap();
    assert_eq!(
        wrong_codes_until_locked().await,
        "Too many wrong two-factor codes. Try again in 15 minutes."
    );
    // A run is remembered for a week after its last wrong code, then forgotten.
    clock.advance(d.throttle.lock);
    wrong_codes_until_locked().await;
    clock.advance(d.throttle.code_locks_remembered - Duration::minutes(1));
    jobs::forget_expired(&d).await.unwrap();
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), 1, "kept a week");
    clock.advance(Duration::minutes(2));
    jobs::forget_expired(&d).await.unwrap();
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), 0, "then forgotten");
}

/// Spacing the wrong codes out does not help: they count until a right
/// one, not per window, so the fifth locks whenever it comes, and the
/// clean-up keeps them meanwhile.
#[tokio::test]
async fn wrong_codes_spaced_out_over_windows_still_lock() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    for _ in 0..d.throttle.code_lock_after {
        wrong_code_at_log_in(&d, "ada@example.com").await;
        // Each a window and an hourly clean-up apart.
        clock.advance(d.throttle.window + Duration::hours(1));
        jobs::forget_expired(&d).await.unwrap();
    }
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let refused = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
    assert_eq!(
        refused.err(),
        Some(AppError::TooManyRequests(
            "Too many wrong two-factor codes. Try again in 15 minutes.".into()
        ))
    );
    before.assert_unchanged(&d).await;
    // The password step started the lock: recorded as a code's would be.
    assert_eq!(before.new_events(&d).await, ["sign_in.locked ada@example.com"]);
    // The lock over, the right code works and ends the count.
    clock.advance(d.throttle.lock);
    let challenge = second_step(&d, "ada@example.com").await;
    log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None)
        .await
        .unwrap();
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), 0);
}

/// Support's reset of a locked-out user's second factor ends the lock and
/// its run with it: the user who sets 2FA up again is not still refused.
#[tokio::test]
async fn a_second_factor_reset_forgets_its_lock() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    enable(&d, &clock, "ada@example.com").await;
    for _ in 0..d.throttle.code_lock_after {
        wrong_code_at_log_in(&d, "ada@example.com").await;
    }
    let locked = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
    assert!(matches!(locked.err(), Some(AppError::TooManyRequests(_))));
    let op = Operator::from_command_line();
    operator::reset_two_factor(&d, &op, "ada@example.com").await.unwrap();
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), 0);
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let challenge = second_step(&d, "ada@example.com").await;
    log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None)
        .await
        .unwrap();
}

async fn user_id(d: &Domain) -> i32 {
    let ada = user::Entity::find().filter(user::Column::Email.eq("ada@example.com"));
    ada.one(&d.db).await.unwrap().unwrap().id
}

#[tokio::test]
async fn a_code_step_out_of_tries_says_why_and_what_to_do() {
    let (mut d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let right = |d: &Domain| current_code(d, &secret);
    // Five wrong codes use up one code step and the user's tries: the next
    // code, right or not, is told of the lock, not of a log-in expired.
    let challenge = second_step(&d, "ada@example.com").await;
    for _ in 0..log_in::CHALLENGE_ATTEMPTS {
        assert!(log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await.is_err());
    }
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let sixth = log_in::complete_second_factor(&d, &challenge, &right(&d), "t", None).await;
    let locked = "Too many wrong two-factor codes. Try again in 15 minutes.";
    assert_eq!(sixth.err(), Some(AppError::TooManyRequests(locked.into())));
    assert_code_refused(&before, &d).await;

    // With more tries per user than per step, a step out of tries sends the
    // user back to the password, which opens a new one.
    clock.advance(d.throttle.lock);
    d.throttle.code_lock_after = 20;
    let challenge = second_step(&d, "ada@example.com").await;
    for _ in 0..log_in::CHALLENGE_ATTEMPTS {
        assert!(log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await.is_err());
    }
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let sixth = log_in::complete_second_factor(&d, &challenge, &right(&d), "t", None).await;
    assert_eq!(
        sixth.err().unwrap().message_for("code").as_deref(),
        Some(log_in::CHALLENGE_TRIES_USED)
    );
    assert_code_refused(&before, &d).await;
    let challenge = second_step(&d, "ada@example.com").await;
    assert!(log_in::complete_second_factor(&d, &challenge, &right(&d), "t", None).await.is_ok());
}

/// Turning 2FA on (and off, which needs it on first) emails the user each
/// time, so a loop of the two is counted: past the limit, turning it on is
/// refused and changes nothing; a day later it works again.
#[tokio::test]
async fn turning_two_factor_on_is_counted_so_on_and_off_cannot_flood_the_mailbox() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let day = Duration::days(1);
    d.quotas.set(Limit { action: Action::TwoFactorOn, per: Per::Actor, max: 2, window: day });
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let me = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap().member;
    for _ in 0..2 {
        let (secret, _) = enable(&d, &clock, "ada@example.com").await;
        two_factor::disable(&d, &me, PASSWORD, &current_code(&d, &secret)).await.unwrap();
        clock.advance(Duration::seconds(30));
    }
    let setup = two_factor::begin_setup(&d, &me).await.unwrap();
    let secret = app::domain::testing::base32_decode(&setup.secret);
    let before = Snapshot::take(&d).await;
    // Said before the password is checked, which is not counted either.
    let refused =
        two_factor::confirm_setup(&d, &me, "t", PASSWORD, &current_code(&d, &secret), None).await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("two-factor set-ups")),
        "{refused:?}"
    );
    before.assert_nothing_counted(&d).await;
    assert_eq!(subjects_of_mail(&d, "ada@example.com").await.len(), 4, "two on, two off");
    clock.advance(day);
    let code = current_code(&d, &secret);
    two_factor::confirm_setup(&d, &me, "t", PASSWORD, &code, None).await.unwrap();
}

/// Each Set Up seals and writes a new secret, so they are counted per user:
/// past the count a set-up is refused with nothing written, the pending one
/// still turns on, and an hour later set-ups work again. Its own count: a
/// user whose changes are spent may still secure their account.
#[tokio::test]
async fn two_factor_set_ups_are_counted_so_a_loop_cannot_hold_the_writer() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::TwoFactorSetup, per: Per::Actor, max: 3, window: hour });
    d.quotas.set(Limit { action: Action::Change, per: Per::Actor, max: 0, window: hour });
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let me = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap().member;
    let mut last = None;
    for _ in 0..3 {
        last = Some(two_factor::begin_setup(&d, &me).await.unwrap());
    }
    let before = Snapshot::take(&d).await;
    let refused = two_factor::begin_setup(&d, &me).await.err();
    assert!(
        matches!(&refused, Some(AppError::TooManyRequests(m)) if m.contains("new two-factor secrets")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    let secret = app::domain::testing::base32_decode(&last.unwrap().secret);
    two_factor::confirm_setup(&d, &me, "t", PASSWORD, &current_code(&d, &secret), None)
        .await
        .unwrap();
    clock.advance(Duration::seconds(30));
    two_factor::disable(&d, &me, PASSWORD, &current_code(&d, &secret)).await.unwrap();
    clock.advance(hour);
    two_factor::begin_setup(&d, &me).await.unwrap();
}

/// A password link's code step that ran out says to open the link again
/// only while the link works: replaced by a newer one meanwhile, it says
/// that instead.
#[tokio::test]
async fn a_link_step_that_ran_out_says_why_its_link_no_longer_works() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    let new_password = "Quartz-Harbor-Lantern-77";
    let step = email_links::reset_password(&d, &token, new_password, "t", None).await.unwrap();
    let LogIn::SecondFactor { challenge } = step else { panic!("no code step") };
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    clock.advance(log_in::CHALLENGE_LIFETIME + Duration::seconds(1));
    let code = current_code(&d, &secret);
    // Only the step ends: no password, session or link changes.
    let before = Snapshot::take_except(&d, &["login_challenges"]).await;
    let late = log_in::complete_second_factor(&d, &challenge, &code, "t", None).await;
    let replaced = tokens::link_withdrawn(tokens::Purpose::ResetPassword);
    assert_eq!(late.err().unwrap().message_for("token").as_deref(), Some(replaced));
    before.assert_unchanged(&d).await;
    let steps = app::domain::entity::login_challenge::Entity::find().all(&d.db).await.unwrap();
    assert!(steps.is_empty(), "the step ended: {steps:?}");
}

/// Turn off sent twice (a double click, two windows): the second finds 2FA
/// off already and says so; its right code is not called wrong nor counted,
/// and no second notice is emailed.
#[tokio::test]
async fn turning_two_factor_off_twice_says_it_changed_meanwhile_and_counts_nothing() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let code = current_code(&d, &secret);
    two_factor::disable(&d, &ada, PASSWORD, &code).await.unwrap();
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let again = two_factor::disable(&d, &ada, PASSWORD, &code).await;
    assert_eq!(again, Err(AppError::Conflict(two_factor::CHANGED_MEANWHILE.into())));
    before.assert_unchanged(&d).await;
    let counted = login_failure::Entity::find().all(&d.db).await.unwrap();
    assert!(counted.iter().all(|row| row.failures == 0), "{counted:?}");
}

/// A password link's code step out of tries (with more tries per user than
/// per step, so no lock speaks first) says the password was not changed and
/// to open the link again, not to type a password: the link still works.
#[tokio::test]
async fn a_link_step_out_of_tries_says_to_open_the_link_again() {
    let (mut d, clock) = fresh_domain().await;
    d.throttle.code_lock_after = 20;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    let new_password = "Quartz-Harbor-Lantern-77";
    let reset = || email_links::reset_password(&d, &token, new_password, "t", None);
    let LogIn::SecondFactor { challenge } = reset().await.unwrap() else { panic!("no code step") };
    for _ in 0..log_in::CHALLENGE_ATTEMPTS {
        assert!(log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await.is_err());
    }
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let sixth =
        log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None).await;
    assert_eq!(
        sixth.err().unwrap().message_for("code").as_deref(),
        Some(log_in::LINK_STEP_TRIES_USED)
    );
    assert_code_refused(&before, &d).await;
    // As it says, the link opens a new step, and a right code sets the password.
    let LogIn::SecondFactor { challenge } = reset().await.unwrap() else { panic!("no code step") };
    let code = current_code(&d, &secret);
    assert!(log_in::complete_second_factor(&d, &challenge, &code, "t", None).await.is_ok());
    assert!(log_in::log_in(&d, "ada@example.com", new_password, "t", None).await.is_ok());
}

/// Someone with the mailbox but not the authenticator gets nowhere with a
/// reset link: the password, the link and the sessions stay as they were
/// until a code is accepted, and then the link's password is set.
#[tokio::test]
async fn a_reset_with_two_factor_on_changes_nothing_until_the_code_is_accepted() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let ada = user::Entity::find().one(&d.db).await.unwrap().unwrap();
    let signed_in_before = session_ids(&d, ada.id).await;
    assert_eq!(signed_in_before.len(), 1, "enabling 2FA left Ada signed in");
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    let new_password = "Quartz-Harbor-Lantern-77";
    let reset = || email_links::reset_password(&d, &token, new_password, "t", None);

    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let LogIn::SecondFactor { challenge } = reset().await.unwrap() else {
        panic!("a reset signed in without the second factor")
    };
    let wrong = log_in::complete_second_factor(&d, &challenge, "000000", "t", None).await;
    assert_eq!(wrong.err().unwrap().message_for("code").as_deref(), Some(two_factor::WRONG_CODE));
    assert_code_refused(&before, &d).await;
    // The old password still leads to the code step; the new one is wrong.
    second_step(&d, "ada@example.com").await;
    let new_refused = log_in::log_in(&d, "ada@example.com", new_password, "t", None).await;
    assert_eq!(
        new_refused.err().unwrap().message_for("password").as_deref(),
        Some(log_in::WRONG_CREDENTIALS)
    );

    // A challenge left to expire changes nothing either: the link still
    // works, and the step says to open it again, not to type the password.
    clock.advance(log_in::CHALLENGE_LIFETIME + Duration::seconds(1));
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let late =
        log_in::complete_second_factor(&d, &challenge, &current_code(&d, &secret), "t", None).await;
    assert_eq!(late.err().unwrap().message_for("code").as_deref(), Some(log_in::LINK_STEP_EXPIRED));
    assert_code_refused(&before, &d).await;
    assert_eq!(session_ids(&d, ada.id).await, signed_in_before);

    // Two windows opened from one link: the first code accepted sets the
    // password and ends every other code step; the other opens no session.
    let LogIn::SecondFactor { challenge: first } = reset().await.unwrap() else { panic!() };
    let LogIn::SecondFactor { challenge: second } = reset().await.unwrap() else { panic!() };
    // Each try costs a password hash: a link has few code steps open at once.
    let _third = reset().await.unwrap();
    let before = Snapshot::take(&d).await;
    let busy = reset().await.err().unwrap();
    assert_eq!(busy, AppError::TooManyRequests(log_in::TOO_MANY_FOR_LINK.into()));
    before.assert_unchanged(&d).await;
    // That count is asked on every redemption: it reads the link's own
    // challenges through their index, not every live one.
    let count =
        log_in::open_for_link(&app::domain::core::crypto::token_hash(&token), d.clock.now());
    let plan = query_plan(&d, count.build(d.db.get_database_backend())).await;
    assert!(plan.contains("idx_login_challenges_link_hash"), "{plan}");
    let notices = || async {
        outbox::Entity::find()
            .filter(outbox::Column::Subject.eq("Your password was changed"))
            .count(&d.db)
            .await
            .unwrap()
    };
    assert_eq!(notices().await, 0, "nothing is changed until a code is accepted");
    let session =
        log_in::complete_second_factor(&d, &first, &current_code(&d, &secret), "t", None).await;
    let session = session.unwrap();
    assert_eq!(notices().await, 1, "the reset is told once it takes effect");
    clock.advance(Duration::seconds(30));
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let other =
        log_in::complete_second_factor(&d, &second, &current_code(&d, &secret), "t", None).await;
    assert_eq!(
        other.err().unwrap().message_for("code").as_deref(),
        Some(log_in::CHALLENGE_EXPIRED)
    );
    assert_code_refused(&before, &d).await;
    assert_eq!(notices().await, 1, "a second window of the same link tells nothing more");
    // That right code was not counted as a wrong one.
    let code_failures = login_failure::Entity::find_by_id(format!("code:{}", ada.id))
        .one(&d.db)
        .await
        .unwrap()
        .map_or(0, |row| row.failures);
    assert_eq!(code_failures, 0);
    // The sessions from before the reset ended; only the reset's is left.
    let signed_in_after = session_ids(&d, ada.id).await;
    assert_eq!(signed_in_after.len(), 1);
    assert!(signed_in_after.iter().all(|id| !signed_in_before.contains(id)));
    assert!(sessions::authenticate(&d, &session.token).await.is_ok());
    assert!(matches!(
        log_in::log_in(&d, "ada@example.com", new_password, "t", None).await,
        Ok(LogIn::SecondFactor { .. })
    ));
    let old_refused = log_in::log_in(&d, "ada@example.com", PASSWORD, "t", None).await;
    assert_eq!(
        old_refused.err().unwrap().message_for("password").as_deref(),
        Some(log_in::WRONG_CREDENTIALS)
    );
    let before = Snapshot::take(&d).await;
    assert_eq!(
        reset().await.err().unwrap().message_for("token").as_deref(),
        Some(tokens::LINK_USED)
    );
    before.assert_unchanged(&d).await;
}

async fn session_ids(d: &Domain, user_id: i32) -> Vec<String> {
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .all(&d.db)
        .await
        .unwrap();
    rows.into_iter().map(|s| s.token_hash).collect()
}

/// Each password asked again in the settings costs a hash, and a right one
/// clears the guessing throttle: every check is counted, right or wrong, and
/// past the limit the change is refused before the hash, with nothing
/// changed. Another user is not held back, and an hour frees the count.
#[tokio::test]
async fn password_checks_in_the_settings_are_counted_right_or_wrong() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::PasswordCheck, per: Per::Actor, max: 3, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", false).await;
    let wrong = developer_keys::generate(&d, &ada, "CI", "not-her-password", "").await;
    assert_eq!(
        wrong.err().unwrap().message_for("password").as_deref(),
        Some(reauth::WRONG_PASSWORD)
    );
    developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await.unwrap();
    developer_keys::generate(&d, &ada, "CD", PASSWORD, "").await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = developer_keys::generate(&d, &ada, "Nightly", PASSWORD, "").await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("password checks")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    clock.advance(hour);
    developer_keys::generate(&d, &ada, "Nightly", PASSWORD, "").await.unwrap();
}

/// Password checks are counted per client address too: a client's own
/// accounts, each with its own count, cannot together hold the hashing
/// threads longer. Past the address's count the check is refused before the
/// hash, whoever asks from there, with nothing changed; the same user from
/// another address is not held back.
#[tokio::test]
async fn password_checks_from_one_client_address_are_counted_together() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::PasswordCheck, per: Per::Client, max: 3, window: hour });
    let client = Some("203.0.113.7".parse().unwrap());
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.from_address(client);
    let bob = account_with_admin(&d, "Beta", "bob@example.com").await.from_address(client);
    let wrong = developer_keys::generate(&d, &ada, "CI", "not-her-password", "").await;
    assert_eq!(
        wrong.err().unwrap().message_for("password").as_deref(),
        Some(reauth::WRONG_PASSWORD)
    );
    developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await.unwrap();
    developer_keys::generate(&d, &bob, "CI", PASSWORD, "").await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = developer_keys::generate(&d, &bob, "CD", PASSWORD, "").await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("password checks")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    let bob_elsewhere = bob.from_address(Some("198.51.100.9".parse().unwrap()));
    developer_keys::generate(&d, &bob_elsewhere, "CD", PASSWORD, "").await.unwrap();
}

/// Someone who signs up with another person's address, never verified, gets
/// no way to write to it at will: the notices of their account's changes
/// (2FA on and off, an email change) go only to a verified address. The
/// confirmation of a new address still goes to that new address.
#[tokio::test]
async fn notices_go_only_to_a_verified_address() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    app::domain::testing::mark_unverified(&d, ada.user_id()).await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let me = ada.clone();
    two_factor::disable(&d, &me, PASSWORD, &current_code(&d, &secret)).await.unwrap();
    email_links::request_email_change(&d, &me, PASSWORD, "new@example.com", "").await.unwrap();
    assert_eq!(subjects_of_mail(&d, "ada@example.com").await, Vec::<String>::new());
    assert_eq!(subjects_of_mail(&d, "new@example.com").await, ["Confirm your new email address"]);
    // Once verified, the same changes are told to the address.
    let verified = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut verified: user::ActiveModel = verified.into();
    verified.email_verified_at = sea_orm::Set(Some(d.clock.now()));
    sea_orm::ActiveModelTrait::update(verified, &d.db).await.unwrap();
    clock.advance(Duration::hours(1));
    enable(&d, &clock, "ada@example.com").await;
    assert_eq!(subjects_of_mail(&d, "ada@example.com").await, ["Two-factor authentication is on"]);
}

/// What the password re-check tests change with the password: a developer
/// key's id (to regenerate) and a right code for a two-factor set-up begun.
async fn key_and_setup_code(d: &Domain, me: &app::domain::core::actor::Member) -> (i32, String) {
    let key = developer_keys::generate(d, me, "CI", PASSWORD, "").await.unwrap();
    let setup = two_factor::begin_setup(d, me).await.unwrap();
    let code = current_code(d, &app::domain::testing::base32_decode(&setup.secret));
    (key.row.id, code)
}

/// A form sent with its Current Password empty says it is required, not
/// that the password is wrong; nothing is hashed or counted (no password
/// check, nor the guessability check of a new password behind it).
#[tokio::test]
async fn an_empty_current_password_is_required_and_counts_nothing() {
    use app::domain::identity::profile;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (key, code) = key_and_setup_code(&d, &ada).await;
    let before = Snapshot::take(&d).await;
    let required = Some(reauth::PASSWORD_REQUIRED);
    let generated = developer_keys::generate(&d, &ada, "Deploy", "", "").await.err().unwrap();
    assert_eq!(generated.message_for("password").as_deref(), required);
    let regenerated = developer_keys::regenerate(&d, &ada, key, "", "").await.err().unwrap();
    assert_eq!(regenerated.message_for("password").as_deref(), required);
    let confirmed = two_factor::confirm_setup(&d, &ada, "t", "", &code, None).await.err().unwrap();
    assert_eq!(confirmed.message_for("password").as_deref(), required);
    // A new password's length is said at once; whether it is guessable
    // (the costly check) only after a counted check of the current one.
    let changed = profile::change_password(&d, &ada, "t", "", "").await.err().unwrap();
    assert_eq!(changed.message_for("current_password").as_deref(), required);
    assert_eq!(changed.message_for("new_password").as_deref(), Some("New Password is required."));
    let short = profile::change_password(&d, &ada, "t", "", "1234").await.err().unwrap();
    let said = short.message_for("new_password").unwrap_or_default();
    assert!(said.starts_with("New Password must be at least"), "{said}");
    let guessable = profile::change_password(&d, &ada, "t", "", "password1234").await;
    let guessable = guessable.err().unwrap();
    assert_eq!(guessable.message_for("current_password").as_deref(), required);
    assert_eq!(guessable.message_for("new_password"), None, "not judged without a counted check");
    before.assert_nothing_counted(&d).await;
    // The new address is looked up (and that is counted), the password not.
    let before = Snapshot::take(&d).await;
    let moved = email_links::request_email_change(&d, &ada, "", "new@example.com", "").await;
    assert_eq!(moved.err().unwrap().message_for("current_password").as_deref(), required);
    before.assert_unchanged(&d).await;
}

/// Every change a password check allows takes the account's lock after the
/// check. A reset committed in between refuses it there: a developer key
/// minted or re-minted, a new password or address chosen, or two-factor
/// turned on with the old password must not outlive the reset meant to lock
/// its holder out. (SQLite runs one transaction at a time, so there the
/// changes may read the new password first and be refused as wrong;
/// PostgreSQL is the run where they wait on the lock with the old one
/// checked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn changes_checked_with_a_password_replaced_meanwhile_are_refused() {
    use app::domain::identity::profile;
    use app::domain::testing::wait_for_lock_waiters;
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (key, code) = key_and_setup_code(&d, &ada).await;
    // The users table changes with the reset itself: its row is compared whole below.
    let before = Snapshot::take_except(&d, &["quota_counters", "users", "login_failures"]).await;

    let (reset, as_reset) = a_reset_not_yet_committed(&d, &ada).await;
    let new_hash = as_reset.password_hash.clone().unwrap();
    let tries = vec![
        tokio::spawn({
            let (d, ada) = (d.clone(), ada.clone());
            async move { developer_keys::generate(&d, &ada, "Deploy", PASSWORD, "").await.map(drop) }
        }),
        tokio::spawn({
            let (d, ada) = (d.clone(), ada.clone());
            async move { developer_keys::regenerate(&d, &ada, key, PASSWORD, "").await.map(drop) }
        }),
        tokio::spawn({
            let (d, ada) = (d.clone(), ada.clone());
            let new = "Quartz-Meadow-Lantern-88";
            async move { profile::change_password(&d, &ada, "t", PASSWORD, new).await }
        }),
        tokio::spawn({
            let (d, ada) = (d.clone(), ada.clone());
            let to = "new@example.com";
            async move { email_links::request_email_change(&d, &ada, PASSWORD, to, "").await.map(drop) }
        }),
        tokio::spawn({
            let (d, ada) = (d.clone(), ada.clone());
            async move {
                two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, None).await.map(drop)
            }
        }),
    ];
    wait_for_lock_waiters(&d, 5).await;
    reset.commit().await.unwrap();

    let on_postgres = d.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    for (n, task) in tries.into_iter().enumerate() {
        let refused =
            task.await.unwrap().err().unwrap_or_else(|| panic!("change {n} went through"));
        let said = refused.message_for("password").or(refused.message_for("current_password"));
        let said = said.unwrap_or_else(|| panic!("change {n}: {refused:?}"));
        // On SQLite a change may read the new password before its check.
        assert!(
            said == reauth::PASSWORD_CHANGED || (!on_postgres && said == reauth::WRONG_PASSWORD),
            "change {n}: {said}"
        );
    }
    before.assert_unchanged(&d).await;
    let now = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    assert_eq!(now, as_reset, "the user's row is as the reset left it");
    assert_eq!(now.password_hash, Some(new_hash));
}

/// The same for turning 2FA off, whose password check comes before the
/// code's transaction: a reset committed in between must not be followed
/// by the old password turning the second factor off.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_factor_is_not_turned_off_with_a_password_replaced_meanwhile() {
    use app::domain::testing::wait_for_lock_waiters;
    let (d, clock) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    let before = Snapshot::take_except(&d, &["quota_counters", "users", "login_failures"]).await;

    let (reset, _) = a_reset_not_yet_committed(&d, &ada).await;
    let off = tokio::spawn({
        let (d, ada, code) = (d.clone(), ada.clone(), current_code(&d, &secret));
        async move { two_factor::disable(&d, &ada, PASSWORD, &code).await }
    });
    wait_for_lock_waiters(&d, 1).await;
    reset.commit().await.unwrap();

    let refused = off.await.unwrap().expect_err("turned off with the old password");
    let said = refused.message_for("password").unwrap_or_else(|| panic!("{refused:?}"));
    let on_postgres = d.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    assert!(
        said == reauth::PASSWORD_CHANGED || (!on_postgres && said == reauth::WRONG_PASSWORD),
        "{said}"
    );
    before.assert_unchanged(&d).await;
    assert!(two_factor::is_enabled(&d.db, ada.user_id()).await.unwrap(), "2FA stays on");
}

/// A reset of `ada`'s password that holds her account's lock until the
/// caller commits it, and her row as it leaves it.
async fn a_reset_not_yet_committed(
    d: &Domain,
    ada: &app::domain::core::actor::Member,
) -> (sea_orm::DatabaseTransaction, user::Model) {
    use app::domain::core::scope::lock_account;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};
    let reset = d.db.begin().await.unwrap();
    lock_account(&reset, ada.account_id()).await.unwrap();
    let new_hash = d.passwords.hash("Maple-Canyon-Drift-19").await.unwrap();
    let row = user::Entity::find_by_id(ada.user_id()).one(&reset).await.unwrap().unwrap();
    let mut row = row.into_active_model();
    row.password_hash = Set(Some(new_hash));
    let as_reset = row.update(&reset).await.unwrap();
    (reset, as_reset)
}

/// A log-in checks the password, then opens the session in a transaction of
/// its own. A reset (or a password change, or the claim of an unverified
/// account) that commits between the two ends every session; the session
/// of the log-in that checked the old password must not follow it.
#[tokio::test]
async fn a_session_is_not_opened_for_a_password_changed_since_it_was_checked() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let checked = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::reset_password(&d, &token, "Maple-Canyon-Drift-19", "test", None).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = sessions::start_session(&d, &checked, "test", None, SecondFactor::NotAsked)
        .await
        .err()
        .unwrap();
    assert_eq!(refused.message_for("password").as_deref(), Some(reauth::PASSWORD_CHANGED));
    before.assert_unchanged(&d).await;
    // As read now, the user signs in.
    let current = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    sessions::start_session(&d, &current, "test", None, SecondFactor::NotAsked).await.unwrap();
}

/// A log-in that found 2FA off opens its session in a transaction of its
/// own: 2FA turned on in between (which ends every other session) must not
/// be followed by a session that skipped the code step. One that passed a
/// code opens.
#[tokio::test]
async fn a_session_that_skipped_the_code_step_is_not_opened_once_two_factor_is_on() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let checked = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    enable(&d, &clock, "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    let refused =
        sessions::start_session(&d, &checked, "t", None, SecondFactor::NotAsked).await.err();
    assert_eq!(refused, Some(AppError::Conflict(sessions::TWO_FACTOR_TURNED_ON.into())));
    before.assert_unchanged(&d).await;
    sessions::start_session(&d, &checked, "t", None, SecondFactor::Answered).await.unwrap();
}

/// The same with two-factor on: the log-in's code step is opened after the
/// password check, and a change committed in between (which ends the code
/// steps open then) must not be followed by one opened with the old
/// password, which a code would then turn into a session.
#[tokio::test]
async fn a_code_step_is_not_opened_for_a_password_changed_since_it_was_checked() {
    use app::domain::identity::profile;
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    enable(&d, &clock, "ada@example.com").await;
    let checked = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
    profile::change_password(&d, &ada, "t", PASSWORD, "Maple-Canyon-Drift-19").await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = log_in::after_password(&d, &checked, "t", None).await.err().unwrap();
    assert_eq!(refused.message_for("password").as_deref(), Some(reauth::PASSWORD_CHANGED));
    before.assert_unchanged(&d).await;
    let current = user::Entity::find_by_id(checked.id).one(&d.db).await.unwrap().unwrap();
    let step = log_in::after_password(&d, &current, "t", None).await.unwrap();
    assert!(matches!(step, LogIn::SecondFactor { .. }), "as read now, the code step opens");
}

/// Each password change emails its user a notice: a user's changes are
/// counted by the day and everyone's by the hour, and a refused one
/// changes nothing (the password stays, no email, no session ended). A user
/// whose address was never verified is sent nothing, so is not counted in
/// everyone's total: sign-ups cannot close it to everyone.
#[tokio::test]
async fn password_changes_are_counted_per_user_and_in_total() {
    use app::domain::core::quota::{Action, Limit, Per};
    use app::domain::identity::profile;
    let (mut d, _) = fresh_domain().await;
    let day = Duration::days(1);
    d.quotas.set(Limit { action: Action::PasswordChange, per: Per::Actor, max: 2, window: day });
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::PasswordChange, per: Per::Total, max: 4, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = account_with_admin(&d, "Globex", "grace@example.com").await;
    let cy = account_with_admin(&d, "Initech", "cy@example.com").await;
    let squatter = account_with_admin(&d, "Umbrella", "someone@example.com").await;
    app::domain::testing::mark_unverified(&d, squatter.user_id()).await;
    let passwords = [PASSWORD, "Maple-Canyon-Drift-19", "Quartz-Harbor-Lantern-77"];
    for pair in passwords.windows(2) {
        profile::change_password(&d, &ada, "t", pair[0], pair[1]).await.unwrap();
    }
    // Ada's own count is spent while everyone's has room.
    let before = Snapshot::take(&d).await;
    let mine = profile::change_password(&d, &ada, "t", passwords[2], "Cobalt-Meadow-Fern-21").await;
    assert!(
        matches!(&mine, Err(AppError::TooManyRequests(why)) if why.contains("password changes"))
    );
    // Said before the password is checked: not even that is counted.
    before.assert_nothing_counted(&d).await;
    assert!(log_in::log_in(&d, "ada@example.com", passwords[2], "t", None).await.is_ok());
    // An unverified address's changes send nothing and leave the total be.
    for me in [&squatter, &grace] {
        for pair in passwords.windows(2) {
            profile::change_password(&d, me, "t", pair[0], pair[1]).await.unwrap();
        }
    }
    // Everyone's is spent now: Cy, with her own count whole, is refused.
    let before = Snapshot::take(&d).await;
    let all = profile::change_password(&d, &cy, "t", PASSWORD, "Cobalt-Meadow-Fern-21").await;
    assert!(matches!(&all, Err(AppError::TooManyRequests(_))), "{all:?}");
    before.assert_unchanged(&d).await;
}

/// Turning two-factor on emails its user each time, so it is counted per
/// user (above) and per client address, but in no platform total: a crowd
/// of accounts spending one would keep everyone from securing theirs, and
/// dropping the notice instead would let a stolen session and password turn
/// it on unseen. Past the client's count it is refused before the password
/// is checked; from another address it goes, with its notice.
#[tokio::test]
async fn two_factor_turned_on_is_counted_per_client_address_and_in_no_total() {
    use app::domain::core::quota::{Action, Limit, Per};
    use app::domain::testing::base32_decode;
    let (mut d, _) = fresh_domain().await;
    assert_eq!(d.quotas.max(Action::TwoFactorOn, Per::Total), None);
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::TwoFactorOn, per: Per::Client, max: 1, window: hour });
    let (here, elsewhere) = ("203.0.113.9".parse().ok(), "198.51.100.4".parse().ok());
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.from_address(here);
    let grace = account_with_admin(&d, "Globex", "grace@example.com").await.from_address(here);
    let setup = async |me: &app::domain::core::actor::Member| {
        base32_decode(&two_factor::begin_setup(&d, me).await.unwrap().secret)
    };
    let secret = setup(&ada).await;
    let code = current_code(&d, &secret);
    two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &code, None).await.unwrap();
    let secret = setup(&grace).await;
    let code = current_code(&d, &secret);
    let before = Snapshot::take(&d).await;
    let refused = two_factor::confirm_setup(&d, &grace, "t", PASSWORD, &code, None).await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("two-factor set-ups")),
        "{refused:?}"
    );
    before.assert_nothing_counted(&d).await;
    let grace = grace.from_address(elsewhere);
    two_factor::confirm_setup(&d, &grace, "t", PASSWORD, &code, None).await.unwrap();
    assert_eq!(
        subjects_of_mail(&d, "grace@example.com").await,
        ["Two-factor authentication is on"]
    );
}

/// Whoever knew the old password and asked for an email change (the old
/// address is told, and advised to change the password) loses it with the
/// password: a change or a reset expires the pending link.
#[tokio::test]
async fn a_password_change_or_reset_ends_a_pending_email_change() {
    use app::domain::identity::profile;
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let me = session.member.clone();
    email_links::request_email_change(&d, &me, PASSWORD, "mallory@evil.example", "").await.unwrap();
    let taken = link_token(&d, "mallory@evil.example", "/confirm-email").await;
    let new_password = "Maple-Canyon-Drift-19";
    profile::change_password(&d, &me, &session.token, PASSWORD, new_password).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = email_links::confirm_email_change(&d, &taken, None).await.err().unwrap();
    let withdrawn = tokens::link_withdrawn(tokens::Purpose::ChangeEmail);
    assert_eq!(refused.message_for("token").as_deref(), Some(withdrawn));
    before.assert_unchanged(&d).await;
    let email = || async {
        user::Entity::find_by_id(me.user_id()).one(&d.db).await.unwrap().unwrap().email
    };
    assert_eq!(email().await, "ada@example.com");

    // The same through a reset link.
    email_links::request_email_change(&d, &me, new_password, "eve@evil.example", "").await.unwrap();
    let taken = link_token(&d, "eve@evil.example", "/confirm-email").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::reset_password(&d, &reset, "Quartz-Harbor-Lantern-77", "t", None).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = email_links::confirm_email_change(&d, &taken, None).await.err().unwrap();
    let withdrawn = tokens::link_withdrawn(tokens::Purpose::ChangeEmail);
    assert_eq!(refused.message_for("token").as_deref(), Some(withdrawn));
    before.assert_unchanged(&d).await;
    assert_eq!(email().await, "ada@example.com");
}

/// An email change asked for with the password alone, before two-factor
/// authentication came on, is withdrawn by it: opened later, its link would
/// move the recovery address past the second factor.
#[tokio::test]
async fn turning_two_factor_on_ends_a_pending_email_change() {
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let me = session.member.clone();
    email_links::request_email_change(&d, &me, PASSWORD, "mallory@evil.example", "").await.unwrap();
    let taken = link_token(&d, "mallory@evil.example", "/confirm-email").await;
    enable(&d, &clock, "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    let refused = email_links::confirm_email_change(&d, &taken, None).await.err().unwrap();
    let withdrawn = tokens::link_withdrawn(tokens::Purpose::ChangeEmail);
    assert_eq!(refused.message_for("token").as_deref(), Some(withdrawn));
    before.assert_unchanged(&d).await;
    let email = user::Entity::find_by_id(me.user_id()).one(&d.db).await.unwrap().unwrap().email;
    assert_eq!(email, "ada@example.com");
    // The notice says what turning it on ended.
    let notice = outbox::Entity::find()
        .filter(outbox::Column::Subject.eq("Two-factor authentication is on"))
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    let said = app::domain::testing::body_of(&d, &notice);
    assert!(
        said.contains(
            "Your other sessions were logged out, and an email change waiting for its \
             confirmation, if any, was cancelled."
        ),
        "{said}"
    );
    // Someone else's second factor would stop a reset at its code step:
    // the advice is support, not a reset.
    assert!(said.contains("If this was not you, contact support at once"), "{said}");
    assert!(!said.contains("reset your password"), "{said}");
}

/// A log-in waiting for its code, opened with the old password, opens no
/// session once the password changed (by the user or by a reset).
#[tokio::test]
async fn a_code_step_opened_before_a_password_change_opens_no_session() {
    use app::domain::identity::profile;
    let (d, clock) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let (secret, _) = enable(&d, &clock, "ada@example.com").await;
    // Ada signs in on her phone; someone else, with her password, waits at the code step.
    let waiting = second_step(&d, "ada@example.com").await;
    let hers = second_step(&d, "ada@example.com").await;
    let code = current_code(&d, &secret);
    let session = log_in::complete_second_factor(&d, &hers, &code, "t", None).await.unwrap();
    clock.advance(Duration::seconds(30));
    let new_password = "Maple-Canyon-Drift-19";
    profile::change_password(&d, &session.member, &session.token, PASSWORD, new_password)
        .await
        .unwrap();
    let before = Snapshot::take_except(&d, CODE_COUNTS).await;
    let code = current_code(&d, &secret);
    let refused = log_in::complete_second_factor(&d, &waiting, &code, "t", None).await.err();
    assert_eq!(
        refused.and_then(|e| e.message_for("code")).as_deref(),
        Some(log_in::CHALLENGE_EXPIRED)
    );
    assert_code_refused(&before, &d).await;

    // The same after a reset by link.
    clock.advance(Duration::seconds(30));
    let waiting = match log_in::log_in(&d, "ada@example.com", new_password, "t", None).await {
        Ok(LogIn::SecondFactor { challenge }) => challenge,
        other => panic!("expected the code step, got {:?}", other.err()),
    };
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    let LogIn::SecondFactor { challenge } =
        email_links::reset_password(&d, &reset, "Quartz-Harbor-Lantern-77", "t", None)
            .await
            .unwrap()
    else {
        panic!("2FA is on: the reset waits for a code");
    };
    let code = current_code(&d, &secret);
    log_in::complete_second_factor(&d, &challenge, &code, "t", None).await.unwrap();
    clock.advance(Duration::seconds(30));
    let code = current_code(&d, &secret);
    let before = Snapshot::take(&d).await;
    let refused = log_in::complete_second_factor(&d, &waiting, &code, "t", None).await.err();
    assert_eq!(
        refused.and_then(|e| e.message_for("code")).as_deref(),
        Some(log_in::CHALLENGE_EXPIRED)
    );
    before.assert_unchanged(&d).await;
}

/// An invited user has no password to reset: "Forgot password?" sends them
/// no link (their invitation sets the password), so a link to an address
/// the admin then corrects cannot activate them. It tells them so instead
/// (the answer on screen is the same as for any address): sent nothing,
/// they would wait for a link that never comes.
#[tokio::test]
async fn forgot_password_tells_an_invited_user_their_invitation_sets_the_password() {
    use app::domain::entity::email_token;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let form = users::UserForm {
        first_name: "Bob".into(),
        last_name: "Builder".into(),
        email: "bob@typo.example".into(),
        ..Default::default()
    };
    users::invite(&d, &ada.admin().unwrap(), form).await.unwrap();
    let invitation = link_token(&d, "bob@typo.example", "/activate").await;
    let links = email_token::Entity::find().count(&d.db).await.unwrap();
    email_links::request_password_reset(&d, "Bob@typo.example", None).await.unwrap();
    assert_eq!(
        subjects_of_mail(&d, "bob@typo.example").await,
        ["Your invitation", "No password to reset yet"]
    );
    let notice = outbox::Entity::find()
        .filter(outbox::Column::Subject.eq("No password to reset yet"))
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    let said = app::domain::testing::body_of(&d, &notice);
    assert!(said.contains("open the invitation email to choose your password"), "{said}");
    assert!(!said.contains("token="), "no link: {said}");
    assert_eq!(email_token::Entity::find().count(&d.db).await.unwrap(), links, "no reset link");
    invitations::activate(&d, &invitation, "Quartz-Harbor-Lantern-77", "t", None).await.unwrap();
}

/// A link works only where it was sent for. The email-change link an admin
/// sends to an address of their choosing sets no password at the reset
/// page, and no other kind of link passes for another either: each is
/// refused as unknown, and nothing changes.
#[tokio::test]
async fn a_link_works_only_for_what_it_was_sent_for() {
    use app::domain::testing::mark_unverified;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let to_ada = users::UserForm {
        first_name: "Bob".into(),
        last_name: "Builder".into(),
        email: "ada+bob@example.com".into(),
        ..Default::default()
    };
    users::update(&d, &admin, bob.user_id(), to_ada).await.unwrap();
    let change = link_token(&d, "ada+bob@example.com", "/confirm-email").await;
    let cy = cy_form();
    users::invite(&d, &admin, cy).await.unwrap();
    let activation = link_token(&d, "cy@example.com", "/activate").await;
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let reset = link_token(&d, "ada@example.com", "/reset-password").await;
    mark_unverified(&d, bob.user_id()).await;
    email_links::resend_verification(&d, &bob).await.unwrap();
    let verify = link_token(&d, "bob@example.com", "/verify-email").await;

    let before = Snapshot::take(&d).await;
    let new_password = "Quartz-Harbor-Lantern-77";
    let refusals = [
        (
            "change at reset",
            email_links::reset_password(&d, &change, new_password, "t", None).await.err(),
        ),
        (
            "activation at reset",
            email_links::reset_password(&d, &activation, new_password, "t", None).await.err(),
        ),
        (
            "change at activate",
            invitations::activate(&d, &change, new_password, "t", None).await.err(),
        ),
        (
            "reset at activate",
            invitations::activate(&d, &reset, new_password, "t", None).await.err(),
        ),
        ("reset at verify", email_links::verify_email(&d, &reset, None).await.err()),
        (
            "activation at confirm",
            email_links::confirm_email_change(&d, &activation, None).await.err(),
        ),
        ("verify at confirm", email_links::confirm_email_change(&d, &verify, None).await.err()),
        ("verify at decline", invitations::decline_invitation(&d, &verify).await.err()),
    ];
    for (which, refused) in refusals {
        let refused = refused.unwrap_or_else(|| panic!("{which} was accepted"));
        // The invitation pages say so in their own words.
        let said = if which.ends_with("activate") || which.ends_with("decline") {
            invitations::LINK_UNKNOWN
        } else {
            tokens::LINK_INVALID
        };
        assert_eq!(refused.message_for("token").as_deref(), Some(said), "{which}");
    }
    before.assert_unchanged(&d).await;
}

/// An invitation link, once used to activate, declines nothing: declining
/// would delete the now active user and give away what they hold.
#[tokio::test]
async fn an_activated_invitation_cannot_be_declined_afterwards() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let form = cy_form();
    let cy = users::invite(&d, &ada.admin().unwrap(), form).await.unwrap();
    let token = link_token(&d, "cy@example.com", "/activate").await;
    invitations::activate(&d, &token, "Quartz-Harbor-Lantern-77", "t", None).await.unwrap();

    let before = Snapshot::take(&d).await;
    let refused = invitations::decline_invitation(&d, &token).await.err().unwrap();
    assert_eq!(refused.message_for("token").as_deref(), Some(tokens::LINK_USED));
    before.assert_unchanged(&d).await;
    let still = user::Entity::find_by_id(cy.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(still.status, user::ACTIVE);
}

/// The pages of an invitation and of a reset link refuse a disabled user's
/// link when they open, as their buttons would; looking changes nothing.
#[tokio::test]
async fn a_disabled_users_links_are_refused_when_their_page_opens() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    email_links::request_password_reset(&d, "bob@example.com", None).await.unwrap();
    let reset = link_token(&d, "bob@example.com", "/reset-password").await;
    let form = cy_form();
    let cy = users::invite(&d, &admin, form).await.unwrap();
    let activation = link_token(&d, "cy@example.com", "/activate").await;

    let before = Snapshot::take(&d).await;
    let address = email_links::check_reset_link(&d, &reset).await.unwrap();
    assert_eq!(address, "bob@example.com", "the page files the password under it");
    let invitation = invitations::read_invitation(&d, &activation, false).await.unwrap();
    assert_eq!(
        (invitation.company.as_str(), invitation.email.as_str()),
        ("Acme", "cy@example.com")
    );
    // Each page checks its own kind of link only.
    let crossed = email_links::check_reset_link(&d, &activation).await.err().unwrap();
    assert_eq!(crossed.message_for("token").as_deref(), Some(tokens::LINK_INVALID));
    let crossed = invitations::read_invitation(&d, &reset, false).await.err().unwrap();
    assert_eq!(crossed.message_for("token").as_deref(), Some(invitations::LINK_UNKNOWN));
    before.assert_unchanged(&d).await;

    users::disable(&d, &admin, bob.user_id()).await.unwrap();
    users::disable(&d, &admin, cy.id).await.unwrap();
    let before = Snapshot::take(&d).await;
    let disabled = Some(AppError::Forbidden(people::DISABLED.into()));
    assert_eq!(email_links::check_reset_link(&d, &reset).await.err(), disabled);
    // A disabled invitee's invitation is on hold: its page says so (and
    // offers only Decline); Activate is refused.
    let on_hold = invitations::read_invitation(&d, &activation, false).await.unwrap();
    assert!(on_hold.on_hold && !invitation.on_hold);
    let activated = invitations::activate(&d, &activation, "Quartz-Harbor-Lantern-77", "t", None);
    assert_eq!(activated.await.err(), disabled);
    before.assert_unchanged(&d).await;
    // Whoever holds the address can still decline it.
    invitations::decline_invitation(&d, &activation).await.unwrap();
    assert!(user::Entity::find_by_id(cy.id).one(&d.db).await.unwrap().is_none());
}

/// Add User's form for Cy Doe, cy@example.com.
fn cy_form() -> users::UserForm {
    users::UserForm {
        first_name: "Cy".into(),
        last_name: "Doe".into(),
        email: "cy@example.com".into(),
        ..Default::default()
    }
}

/// A flood from many addresses leaves thousands of expired failure records
/// and counts: the hourly clean-up removes them all, a batch at a time (one
/// statement over the whole table held SQLite's only writer for its run),
/// and keeps what still counts.
#[tokio::test]
async fn the_clean_up_forgets_a_flood_of_expired_records_in_batches() {
    use app::domain::entity::quota_counter;
    use sea_orm::Set;
    let (d, clock) = fresh_domain().await;
    let long_ago = d.clock.now() - Duration::days(400);
    const FLOOD: usize = 2_500;
    for chunk in (0..FLOOD).collect::<Vec<_>>().chunks(500) {
        let failures = chunk.iter().map(|i| login_failure::ActiveModel {
            subject: Set(format!("client 198.51.{}.{}", i / 256, i % 256)),
            failures: Set(3),
            window_started_at: Set(long_ago),
            last_failure_at: Set(long_ago),
            locked_until: Set(None),
            locks: Set(0),
        });
        login_failure::Entity::insert_many(failures).exec(&d.db).await.unwrap();
        let counts = chunk.iter().map(|i| quota_counter::ActiveModel {
            key: Set(format!("retired_action client 198.51.{}.{}", i / 256, i % 256)),
            count: Set(1),
            window_started_at: Set(long_ago),
        });
        quota_counter::Entity::insert_many(counts).exec(&d.db).await.unwrap();
    }
    // One failure that still counts.
    let attempt = log_in::log_in(&d, "nobody@example.com", "wrong", "t", None).await;
    assert!(attempt.is_err());
    let live = login_failure::Entity::find().count(&d.db).await.unwrap() - FLOOD as u64;
    assert!(live >= 1);
    clock.advance(Duration::minutes(1));
    assert!(jobs::forget_expired(&d).await.unwrap() >= 2 * FLOOD as u64);
    assert_eq!(login_failure::Entity::find().count(&d.db).await.unwrap(), live);
    let flood = quota_counter::Entity::find()
        .filter(quota_counter::Column::Key.starts_with("retired_action"))
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(flood, 0);
}
