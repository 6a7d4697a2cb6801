//! `account merge`: everything of one account moves into another in one
//! transaction, the target's admins stay in charge, and a merge that cannot
//! keep every rule refuses whole, naming each conflict, changing nothing.
use std::collections::BTreeSet;

use app::domain::core::actor::{Member, Operator};
use app::domain::core::limits::Plan;
use app::domain::core::provisioning::{self, default_pool};
use app::domain::entity::{
    account, activity_event, application, certificate, integration, js_library, local_number_pool,
    oauth_token, phone_number, quota_counter, user,
};
use app::domain::features::certificates::{self, NewCertificate};
use app::domain::features::integrations::{self, Credentials};
use app::domain::features::js_libraries::{self, LibraryForm};
use app::domain::features::{applications, deployments, oauth_tokens, phone_numbers};
use app::domain::identity::sessions::SecondFactor;
use app::domain::identity::{developer_keys, sessions};
use app::domain::operator::{self, Merged};
use app::domain::testing::samples::{AWS_KEY, AWS_SECRET};
use app::domain::testing::{
    account_with_admin, add_user, fresh_concurrent_domain, fresh_domain, s3_integration,
    tables_whose_entity_has, Snapshot, PASSWORD,
};
use app::domain::Domain;
use app::model::AppError;
use rcgen::{CertificateParams, KeyPair};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

const OP: fn() -> Operator = Operator::from_command_line;

async fn merge(d: &Domain, from: &str, into: &str) -> Result<Merged, AppError> {
    operator::merge_accounts(d, &OP(), from, into).await
}

async fn stocked() -> Domain {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    d
}

async fn add_certificate(d: &Domain, me: &Member, domain: &str) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![domain.to_owned()]).unwrap().self_signed(&key).unwrap();
    let input = NewCertificate {
        domain: domain.into(),
        certificate: cert.pem(),
        private_key: key.serialize_pem(),
    };
    certificates::add(d, me, input).await.unwrap();
}

/// A Stripe token as the OAuth callback stores it.
async fn add_oauth_token(d: &Domain, me: &Member, access_token: &str) -> i32 {
    let json = serde_json::json!({ "access_token": access_token, "refresh_token": "r" });
    let sealed = d
        .secrets
        .seal(&json.to_string(), &oauth_tokens::seal_context(me.account_id(), me.user_id()));
    oauth_token::ActiveModel {
        account_id: Set(me.account_id()),
        owner_id: Set(me.user_id()),
        provider: Set("stripe".into()),
        livemode: Set(false),
        provider_account_id: Set("acct_1".into()),
        key_id: Set(sealed.key_id),
        ciphertext: Set(sealed.ciphertext),
        created_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap()
    .id
}

async fn user_row(d: &Domain, id: i32) -> user::Model {
    user::Entity::find_by_id(id).one(&d.db).await.unwrap().unwrap()
}

async fn counter(d: &Domain, key: String) -> Option<i32> {
    quota_counter::Entity::find_by_id(key).one(&d.db).await.unwrap().map(|c| c.count)
}

#[tokio::test]
async fn a_merge_moves_everything_and_keeps_the_targets_admins_in_charge() {
    let d = stocked().await;
    // The target: Grace (admin) and Bob, on the full plan, with Stripe.
    let grace = account_with_admin(&d, "Globex", "grace@globex.com").await;
    let bob = add_user(&d, grace.account_id(), "bob@globex.com", false).await;
    operator::set_plan(&d, &OP(), "grace@globex.com", Plan::Full).await.unwrap();
    operator::enable_stripe(&d, &OP(), "grace@globex.com").await.unwrap();
    phone_numbers::request(&d, &grace.admin().unwrap()).await.unwrap();
    // The source: Ada (admin) and Carl, with one of everything.
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    let carl = add_user(&d, ada.account_id(), "carl@globex.eu", false).await;
    let (from, into) = (ada.account_id(), grace.account_id());
    operator::enable_stripe(&d, &OP(), "ada@globex.eu").await.unwrap();
    let number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let integration = s3_integration(&d, &ada, "Recordings").await;
    let form = LibraryForm { name: "Helpers".into(), description: String::new(), code: "1".into() };
    let library = js_libraries::add(&d, &ada, form).await.unwrap().id;
    let app = applications::create(&d, &ada, "Hotline").await.unwrap().id;
    applications::save_settings(
        &d,
        &ada,
        app,
        applications::SettingsForm::new(None, &[library], &[integration]),
    )
    .await
    .unwrap();
    deployments::deploy(&d, &ada, number.id, app).await.unwrap();
    add_certificate(&d, &ada, "api.globex.eu").await;
    let token = add_oauth_token(&d, &carl, "sk_carl").await;
    let session = sessions::start_session(
        &d,
        &user_row(&d, ada.user_id()).await,
        "test",
        None,
        SecondFactor::NotAsked,
    )
    .await
    .unwrap();
    let key = developer_keys::generate(&d, &carl, "CI", PASSWORD, "").await.unwrap();
    let numbers_key = |account: i32| format!("number_request:account:{account}");
    assert_eq!(counter(&d, numbers_key(from)).await, Some(1));

    // Any user of either account names it.
    // The target has a library of the source's library's name.
    let taken =
        LibraryForm { name: "helpers".into(), description: String::new(), code: "1".into() };
    js_libraries::add(&d, &grace, taken).await.unwrap();
    let merged = merge(&d, "CARL@globex.eu ", "bob@globex.com").await.unwrap();

    assert_eq!((merged.from_account, merged.into_account), (from, into));
    assert_eq!(merged.demoted, vec!["ada@globex.eu".to_owned()]);
    // The target's admins see the demotion in their log, about Ada.
    let demotion = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("user.role_changed"))
        .all(&d.db)
        .await
        .unwrap();
    assert_eq!(demotion.len(), 1, "{demotion:?}");
    assert_eq!(
        (demotion[0].account_id, demotion[0].subject_user_id, demotion[0].detail.as_deref()),
        (into, Some(ada.user_id()), Some("account admin → user, on the merge into Globex"))
    );
    let renames = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("js_library.updated"))
        .all(&d.db)
        .await
        .unwrap();
    let said: Vec<_> =
        renames.iter().map(|e| (e.account_id, e.target.as_str(), e.detail.as_deref())).collect();
    let why = Some("renamed from Helpers on the merge");
    assert_eq!(said, [(into, "Helpers (from Globex Europe)", why)]);
    let renamed = ("Helpers".to_owned(), "Helpers (from Globex Europe)".to_owned());
    assert_eq!(merged.renamed, vec![renamed]);
    let moved_library = js_library::Entity::find_by_id(library).one(&d.db).await.unwrap().unwrap();
    assert_eq!(moved_library.name, "Helpers (from Globex Europe)");
    let moved: BTreeSet<String> = merged.moved.keys().map(|t| t.to_string()).collect();
    assert_eq!(
        moved,
        tables_whose_entity_has("pub account_id:"),
        "every table with an account_id is merged"
    );
    for (table, count) in [
        ("users", 2),
        ("phone_numbers", 1),
        ("integrations", 1),
        ("js_libraries", 1),
        ("applications", 1),
        ("certificates", 1),
        ("oauth_tokens", 1),
    ] {
        assert_eq!(merged.moved[table], count, "{table}");
    }
    // The source account is gone; every row of it is in the target.
    assert!(account::Entity::find_by_id(from).one(&d.db).await.unwrap().is_none());
    let target = account::Entity::find_by_id(into).one(&d.db).await.unwrap().unwrap();
    assert_eq!((target.company_name.as_str(), target.plan.as_str()), ("Globex", "full"));
    macro_rules! account_of {
        ($entity:ident, $id:expr) => {
            $entity::Entity::find_by_id($id).one(&d.db).await.unwrap().unwrap().account_id
        };
    }
    let accounts = [
        account_of!(phone_number, number.id),
        account_of!(integration, integration),
        account_of!(js_library, library),
        account_of!(application, app),
        account_of!(oauth_token, token),
    ];
    assert_eq!(accounts, [into; 5]);
    let certs = certificate::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(certs.iter().map(|c| c.account_id).collect::<Vec<_>>(), vec![into]);
    // The provider knows the number's new account.
    let pooled = local_number_pool::Entity::find_by_id(number.e164.clone()).one(&d.db).await;
    assert_eq!(pooled.unwrap().unwrap().taken_by, Some(into));
    // Per-account limits count both accounts' requests together.
    assert_eq!(counter(&d, numbers_key(from)).await, None);
    assert_eq!(counter(&d, numbers_key(into)).await, Some(2));

    // Grace and Bob are as they were; Ada is a regular user who keeps her
    // permissions; Carl is Carl.
    assert!(user_row(&d, grace.user_id()).await.is_admin);
    assert!(!user_row(&d, bob.user_id()).await.is_admin);
    let ada_now = user_row(&d, ada.user_id()).await;
    assert_eq!((ada_now.account_id, ada_now.is_admin), (into, false));
    assert!(ada_now.can_create && ada_now.can_share);
    assert_eq!(user_row(&d, carl.user_id()).await.account_id, into);

    // Sessions and developer keys go on working, in the merged account, with
    // the permissions the user has there.
    let ada_in = sessions::authenticate(&d, &session.token).await.unwrap();
    assert_eq!(ada_in.account_id(), into);
    assert!(ada_in.admin().is_err(), "Ada administers the target only if its admins say so");
    let carl_in = developer_keys::authenticate(&d, &key.key).await.unwrap();
    assert_eq!(carl_in.account_id(), into);

    // The secrets were re-sealed for their new account, and open there.
    let grace_admin = grace.admin().unwrap();
    assert_eq!(
        integrations::credentials(&d, &grace_admin, integration).await.unwrap(),
        Credentials::Aws { key: AWS_KEY.into(), secret: AWS_SECRET.into() }
    );
    assert!(certificates::identity_for(&d, into, "api.globex.eu").await.unwrap().is_some());
    assert_eq!(oauth_tokens::access_token(&d, &carl_in, token).await.unwrap(), "sk_carl");
    // The target's admin sees and manages everything that came along.
    let listed = phone_numbers::list(&d, &grace_admin).await.unwrap();
    assert_eq!(listed.rows.len(), 2);
    let apps = applications::list(&d, &ada_in).await.unwrap();
    assert!(apps.rows.iter().any(|a| a.id == app), "{apps:?}");
}

#[tokio::test]
async fn unknown_addresses_and_one_account_are_refused_and_change_nothing() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@acme.com").await;
    add_user(&d, ada.account_id(), "bob@acme.com", false).await;
    account_with_admin(&d, "Globex", "grace@globex.com").await;
    let before = Snapshot::take(&d).await;

    let refused = merge(&d, "nobody@acme.com", "no-one@globex.com").await.unwrap_err();
    assert_eq!(
        refused.message_for("from").as_deref(),
        Some("No user has the email address nobody@acme.com.")
    );
    assert_eq!(
        refused.message_for("into").as_deref(),
        Some("No user has the email address no-one@globex.com.")
    );
    let refused = merge(&d, "ada@acme.com", "no-one@globex.com").await.unwrap_err();
    assert_eq!(refused.message_for("from"), None);
    assert!(refused.message_for("into").is_some(), "{refused:?}");

    let refused = merge(&d, "ada@acme.com", "bob@acme.com").await.unwrap_err();
    let AppError::Conflict(message) = refused else { panic!("{refused:?}") };
    assert!(message.contains("are users of the same account"), "{message}");
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn every_conflict_is_named_nothing_changes_and_resolved_the_merge_goes_through() {
    let d = stocked().await;
    let grace = account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    // An integration name both have (names compare case-insensitively) and
    // one only the source has; a certificate domain both have.
    s3_integration(&d, &grace, "Recordings").await;
    let clash = s3_integration(&d, &ada, "RECORDINGS").await;
    s3_integration(&d, &ada, "Transcripts").await;
    add_certificate(&d, &grace, "api.globex.com").await;
    add_certificate(&d, &ada, "api.globex.com").await;
    // The target is on the demo plan (one number) and each holds one.
    phone_numbers::request(&d, &grace.admin().unwrap()).await.unwrap();
    phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    // The source may connect Stripe; the target may not.
    operator::enable_stripe(&d, &OP(), "ada@globex.eu").await.unwrap();
    let before = Snapshot::take(&d).await;

    let refused = merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap_err();
    let AppError::Conflict(message) = refused else { panic!("{refused:?}") };
    for expected in [
        "nothing was changed",
        "integration named \"RECORDINGS\"",
        "certificate for api.globex.com",
        "demo plan, which holds 1 phone number(s) at most, and together they hold 2",
        "--account-of grace@globex.com --plan full",
        "the source account may connect Stripe and the target may not",
        "enable-stripe --account-of grace@globex.com",
    ] {
        assert!(message.contains(expected), "{expected:?} in:\n{message}");
    }
    assert!(!message.contains("Transcripts"), "{message}");
    assert_eq!(message.lines().count(), 5, "one line per conflict:\n{message}");
    before.assert_unchanged(&d).await;

    // Each conflict resolved but the last still refuses, naming only it.
    integrations::delete(&d, &ada.admin().unwrap(), clash, &app::domain::testing::used_by(&[], 0))
        .await
        .unwrap();
    let mine = certificates::list(&d, &ada).await.unwrap();
    certificates::delete(&d, &ada, mine[0].id).await.unwrap();
    operator::set_plan(&d, &OP(), "grace@globex.com", Plan::Full).await.unwrap();
    let before = Snapshot::take(&d).await;
    let AppError::Conflict(message) =
        merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(message.lines().count(), 2, "{message}");
    assert!(message.contains("Stripe"), "{message}");
    before.assert_unchanged(&d).await;
    operator::enable_stripe(&d, &OP(), "grace@globex.com").await.unwrap();
    let merged = merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap();
    assert_eq!(merged.moved["integrations"], 1);
    assert_eq!(merged.moved["phone_numbers"], 1);
}

/// A limit count whose window is over counts nothing: merged, it is not
/// added to the target's, and a target's own that is over gives way to the
/// source's current one.
#[tokio::test]
async fn counts_whose_window_is_over_are_not_carried_over() {
    let (d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let grace = account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    operator::set_plan(&d, &OP(), "grace@globex.com", Plan::Full).await.unwrap();
    let key = |account: i32| format!("number_request:account:{account}");
    // Grace's request is long over when Ada's is made; Ada's is current.
    phone_numbers::request(&d, &grace.admin().unwrap()).await.unwrap();
    clock.advance(chrono::Duration::days(40));
    phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap();
    assert_eq!(counter(&d, key(grace.account_id())).await, Some(1), "Ada's alone");
    // The other way: a source count that is over adds nothing.
    let cy = account_with_admin(&d, "Initech", "cy@initech.com").await;
    phone_numbers::request(&d, &cy.admin().unwrap()).await.unwrap();
    clock.advance(chrono::Duration::days(40));
    let dee = account_with_admin(&d, "Initech West", "dee@initech.com").await;
    operator::set_plan(&d, &OP(), "dee@initech.com", Plan::Full).await.unwrap();
    phone_numbers::request(&d, &dee.admin().unwrap()).await.unwrap();
    merge(&d, "cy@initech.com", "dee@initech.com").await.unwrap();
    assert_eq!(counter(&d, key(dee.account_id())).await, Some(1), "Dee's alone");
    assert_eq!(counter(&d, key(cy.account_id())).await, None);
}

/// A source whose users never proved an address is not merged: in a
/// verified account they would escape the removal of unverified sign-ups.
#[tokio::test]
async fn a_source_nobody_verified_is_refused_until_someone_does() {
    let d = stocked().await;
    account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    app::domain::testing::mark_unverified(&d, ada.user_id()).await;
    let before = Snapshot::take(&d).await;
    let AppError::Conflict(message) =
        merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap_err()
    else {
        panic!()
    };
    assert!(message.contains("no user of the source account has verified"), "{message}");
    assert_eq!(message.lines().count(), 2, "{message}");
    before.assert_unchanged(&d).await;
    let mut row: user::ActiveModel = user_row(&d, ada.user_id()).await.into();
    row.email_verified_at = Set(Some(d.clock.now()));
    row.update(&d.db).await.unwrap();
    assert!(merge(&d, "ada@globex.eu", "grace@globex.com").await.is_ok());
}

#[tokio::test]
async fn a_source_holding_too_many_numbers_for_a_demo_target_is_refused() {
    let d = stocked().await;
    account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    operator::set_plan(&d, &OP(), "ada@globex.eu", Plan::Full).await.unwrap();
    for _ in 0..2 {
        phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let AppError::Conflict(message) =
        merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap_err()
    else {
        panic!()
    };
    assert!(message.contains("together they hold 2"), "{message}");
    before.assert_unchanged(&d).await;
    // The other way round the full plan holds them all.
    let merged = merge(&d, "grace@globex.com", "ada@globex.eu").await.unwrap();
    assert_eq!(merged.moved["phone_numbers"], 0);
}

/// Two merges of the same accounts in opposite directions at once: the
/// locks are taken in one order, so one merges and the other is refused
/// cleanly (its users moved meanwhile), never a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opposite_merges_at_once_merge_once() {
    let (d, _) = fresh_concurrent_domain().await;
    account_with_admin(&d, "Acme", "ada@acme.com").await;
    account_with_admin(&d, "Globex", "grace@globex.com").await;
    let (d1, d2) = (d.clone(), d.clone());
    let one = tokio::spawn(async move { merge(&d1, "ada@acme.com", "grace@globex.com").await });
    let two = tokio::spawn(async move { merge(&d2, "grace@globex.com", "ada@acme.com").await });
    let results = [one.await.unwrap(), two.await.unwrap()];
    let merged = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(merged, 1, "{results:?}");
    // The other found its users moved: under the locks, or already before them.
    for result in &results {
        if let Err(err) = result {
            let AppError::Conflict(why) = err else { panic!("{err:?}") };
            assert!(
                why.contains("moved to another account meanwhile")
                    || why.contains("are users of the same account"),
                "{why}"
            );
        }
    }
    assert_eq!(account::Entity::find().all(&d.db).await.unwrap().len(), 1);
    let users = user::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users.iter().filter(|u| u.is_admin).count(), 1, "{users:?}");
}

/// An address that declined the source's invitations is not invited by the
/// merged account either; one that declined both stays declined once.
#[tokio::test]
async fn addresses_that_declined_either_account_stay_declined_after_a_merge() {
    use app::domain::admin::invitations;
    use app::domain::admin::users::{self, UserForm};
    let (d, clock) = fresh_domain().await;
    let grace = account_with_admin(&d, "Globex", "grace@globex.com").await.admin().unwrap();
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await.admin().unwrap();
    let invite_and_decline = async |admin: &app::domain::core::actor::Admin, email: &str| {
        let form = UserForm {
            first_name: "Cy".into(),
            last_name: "Doe".into(),
            email: email.into(),
            ..Default::default()
        };
        users::invite(&d, admin, form).await.unwrap();
        let token = app::domain::testing::link_token(&d, email, "/activate").await;
        invitations::decline_invitation(&d, &token).await.unwrap();
    };
    // Grace's account's hold on Cy is all but over, and from before holds
    // kept their mailbox; Ada's is fresh.
    invite_and_decline(&grace, "cy@example.com").await;
    {
        use app::domain::entity::invitation_decline;
        use sea_orm::{sea_query::Expr, EntityTrait};
        invitation_decline::Entity::update_many()
            .col_expr(invitation_decline::Column::Mailbox, Expr::value(None::<String>))
            .exec(&d.db)
            .await
            .unwrap();
    }
    clock.advance(invitations::DECLINE_HOLD - chrono::Duration::days(1));
    invite_and_decline(&ada, "cy@example.com").await;
    invite_and_decline(&ada, "dee@example.com").await;

    let merged = merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap();
    assert_eq!(merged.moved["invitation_declines"], 1, "Dee's; Cy's was the target's already");
    // A day later Grace's own hold would be over; Ada's fresher one still
    // holds, on every spelling of Cy's mailbox.
    clock.advance(chrono::Duration::days(2));
    let before = Snapshot::take(&d).await;
    for email in ["cy@example.com", "dee@example.com", "cy+work@example.com"] {
        let form = UserForm {
            first_name: "X".into(),
            last_name: "Y".into(),
            email: email.into(),
            ..Default::default()
        };
        let refused = users::invite(&d, &grace, form).await.err().unwrap();
        assert!(refused.message_for("email").unwrap().contains("declined"), "{email}");
    }
    before.assert_unchanged(&d).await;
}

/// A user being added to the source account as the merge begins (an
/// operator's `user add`, not yet committed) is moved with the rest, not
/// removed with the source account.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_added_as_the_merge_begins_is_moved_not_lost() {
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme West", "ada@west.example").await;
    account_with_admin(&d, "Acme", "grace@acme.example").await;
    let adding = d.begin().await.unwrap();
    let late = app::domain::core::people::NewUser {
        account_id: ada.account_id(),
        email: "late@west.example".into(),
        first_name: "Late".into(),
        last_name: "Comer".into(),
        password_hash: None,
        is_admin: false,
        can_create: false,
        can_share: false,
        email_verified_at: None,
    }
    .insert(&adding, d.clock.now())
    .await
    .unwrap();
    let merging = tokio::spawn({
        let d = d.clone();
        async move { merge(&d, "ada@west.example", "grace@acme.example").await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 1).await;
    adding.commit().await.unwrap();
    merging.await.unwrap().unwrap();
    let found = user::Entity::find_by_id(late.id).one(&d.db).await.unwrap();
    let grace = app::domain::core::people::by_email(&d.db, "grace@acme.example").await.unwrap();
    assert_eq!(found.map(|u| u.account_id), grace.map(|g| g.account_id), "moved, not removed");
}

/// Links redeemed while a merge moves their user to another account wait
/// for the account's lock. On PostgreSQL they then find the user gone from
/// it and answer "Please try again." with the link unused, so the next
/// press works; SQLite runs one writer at a time, so there the link waits
/// for the merge to commit and finds the user where it put them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_redeemed_while_a_merge_moves_their_user_ask_to_try_again() {
    use app::domain::admin::{invitations, users};
    use app::domain::identity::email_links;
    use app::domain::testing::{
        change_user_under_lock, link_token, mark_unverified, wait_for_lock_waiters,
    };
    let (d, _) = fresh_concurrent_domain().await;
    let postgres = d.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let try_again = Err(AppError::Conflict("Please try again.".into()));
    let target = account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    let form = users::UserForm {
        first_name: "Cy".into(),
        last_name: "Doe".into(),
        email: "cy@example.com".into(),
        ..Default::default()
    };
    let cy = users::invite(&d, &ada.admin().unwrap(), form).await.unwrap();
    let activation = link_token(&d, "cy@example.com", "/activate").await;
    mark_unverified(&d, ada.user_id()).await;
    email_links::resend_verification(&d, &ada).await.unwrap();
    let verification = link_token(&d, "ada@globex.eu", "/verify-email").await;
    let verified = || async {
        let row = user::Entity::find_by_id(ada.user_id()).one(&d.db).await.unwrap().unwrap();
        row.email_verified_at.is_some()
    };

    // Ada's address verified while she moves. Nothing but the move (her
    // users row) is written when the link is refused.
    let before = Snapshot::take_except(&d, &["users"]).await;
    let moving = change_user_under_lock(&d, ada.user_id(), |u| {
        u.account_id = Set(target.account_id());
    })
    .await;
    let (d2, token) = (d.clone(), verification.clone());
    let pressed = tokio::spawn(async move { email_links::verify_email(&d2, &token, None).await });
    wait_for_lock_waiters(&d, 1).await;
    moving.commit().await.unwrap();
    let answer = pressed.await.unwrap();
    if postgres {
        assert_eq!(answer, try_again);
        assert!(!verified().await, "refused, the address is not verified");
        before.assert_unchanged(&d).await;
        email_links::verify_email(&d, &verification, None).await.unwrap();
    } else {
        assert_eq!(answer, Ok(()));
    }
    assert!(verified().await);

    // Cy's invitation declined while he moves: no decline, no event, the
    // link unused.
    let before = Snapshot::take_except(&d, &["users"]).await;
    let moving =
        change_user_under_lock(&d, cy.id, |u| u.account_id = Set(target.account_id())).await;
    let (d2, token) = (d.clone(), activation.clone());
    let declined = tokio::spawn(async move { invitations::decline_invitation(&d2, &token).await });
    wait_for_lock_waiters(&d, 1).await;
    moving.commit().await.unwrap();
    let answer = declined.await.unwrap();
    let cy_row = || async { user::Entity::find_by_id(cy.id).one(&d.db).await.unwrap() };
    if postgres {
        assert_eq!(answer, try_again);
        assert!(cy_row().await.is_some(), "refused, the invitation is still there");
        before.assert_unchanged(&d).await;
        invitations::decline_invitation(&d, &activation).await.unwrap();
    } else {
        assert_eq!(answer, Ok(()));
    }
    assert!(cy_row().await.is_none());
}

/// A secret of the source that this server's keys do not open (sealed with
/// a key lost, or kept in another key file) could not be sealed again for
/// the target: the merge refuses, naming it, and changes nothing, rather
/// than failing half-way as "internal error".
#[tokio::test]
async fn a_source_secret_that_does_not_open_is_named_and_nothing_changes() {
    let d = stocked().await;
    account_with_admin(&d, "Globex", "grace@globex.com").await;
    let ada = account_with_admin(&d, "Globex Europe", "ada@globex.eu").await;
    let recordings = s3_integration(&d, &ada, "Recordings").await;
    s3_integration(&d, &ada, "Transcripts").await;
    integration::Entity::update_many()
        .col_expr(integration::Column::KeyId, sea_orm::sea_query::Expr::value("k-lost"))
        .filter(integration::Column::Id.eq(recordings))
        .exec(&d.db)
        .await
        .unwrap();
    let before = Snapshot::take(&d).await;
    let refused = merge(&d, "ada@globex.eu", "grace@globex.com").await.unwrap_err();
    let AppError::Conflict(message) = refused else { panic!("{refused:?}") };
    assert!(
        message.contains("the source account's integration \"Recordings\" does not open"),
        "{message}"
    );
    assert!(!message.contains("Transcripts"), "{message}");
    before.assert_unchanged(&d).await;
}
