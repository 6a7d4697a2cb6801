//! A user's own settings, the admin's user list, and the operator commands.
use app::domain::admin::users;
use app::domain::core::actor::{Operator, NOT_ADMIN};
use app::domain::entity::user;
use app::domain::identity::sessions;
use app::domain::identity::{log_in, profile};
use app::domain::operator::{self, NewUserByOperator};
use app::domain::testing::log_in_by_password;
use app::domain::testing::{account_with_admin, add_user, fresh_domain, Snapshot, PASSWORD};
use app::model::{AppError, UserSort};
use sea_orm::{EntityTrait, PaginatorTrait};

#[tokio::test]
async fn a_user_changes_their_name_and_bad_names_change_nothing() {
    let (d, _) = fresh_domain().await;
    let me = account_with_admin(&d, "Acme", "ada@example.com").await;
    profile::update_name(&d, &me, "  Augusta ", "King").await.unwrap();
    let now = profile::current_user(&d, &me).await.unwrap();
    assert_eq!((now.first_name.as_str(), now.last_name.as_str()), ("Augusta", "King"));

    let before = Snapshot::take(&d).await;
    let err = profile::update_name(&d, &me, "", &"k".repeat(101)).await.err().unwrap();
    assert_eq!(err.message_for("first_name").unwrap(), "First Name is required.");
    assert!(err.message_for("last_name").unwrap().contains("at most 100"));
    before.assert_unchanged(&d).await;
    let after = profile::current_user(&d, &me).await.unwrap();
    assert_eq!((after.first_name.as_str(), after.last_name.as_str()), ("Augusta", "King"));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let (d, _) = fresh_domain().await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let here = log_in_by_password(&d, "ada@example.com", PASSWORD, "laptop").await.unwrap();
    let elsewhere = log_in_by_password(&d, "ada@example.com", PASSWORD, "phone").await.unwrap();
    let new_password = "Quartz-Harbor-Lantern-77";

    // The wrong password counts against the user's re-checks (login_failures);
    // nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures"]).await;
    let err = profile::change_password(&d, &here.member, &here.token, "wrong", new_password)
        .await
        .err()
        .unwrap();
    assert_eq!(err.message_for("current_password").unwrap(), "The current password is incorrect.");
    assert!(sessions::authenticate(&d, &elsewhere.token).await.is_ok(), "a refusal ends nothing");

    let err = profile::change_password(&d, &here.member, &here.token, PASSWORD, "password123")
        .await
        .err()
        .unwrap();
    assert!(err.message_for("new_password").unwrap().contains("too easy"));
    // The current password again would end the other sessions for nothing.
    let err = profile::change_password(&d, &here.member, &here.token, PASSWORD, PASSWORD)
        .await
        .err()
        .unwrap();
    assert_eq!(err.message_for("new_password").as_deref(), Some(profile::SAME_PASSWORD));
    assert!(sessions::authenticate(&d, &elsewhere.token).await.is_ok(), "a refusal ends nothing");
    before.assert_unchanged(&d).await;

    profile::change_password(&d, &here.member, &here.token, PASSWORD, new_password).await.unwrap();
    assert!(sessions::authenticate(&d, &here.token).await.is_ok(), "this session stays");
    assert_eq!(sessions::authenticate(&d, &elsewhere.token).await, Err(AppError::Unauthenticated));
    // The old password's failed log-in is counted (login_failures); nothing else changes.
    let before = Snapshot::take_except(&d, &["login_failures", "activity_events"]).await;
    let refused = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.err().unwrap();
    assert_eq!(refused.message_for("password").as_deref(), Some(log_in::WRONG_CREDENTIALS));
    before.assert_unchanged(&d).await;
    assert_eq!(before.new_events(&d).await, ["sign_in.failed ada@example.com"]);
    assert!(log_in_by_password(&d, "ada@example.com", new_password, "t").await.is_ok());
}

#[tokio::test]
async fn admins_list_only_their_own_accounts_users_and_members_are_refused() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await;
    let member = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    account_with_admin(&d, "Other", "eve@other.example").await;

    let page =
        users::list_users(&d, &admin.admin().unwrap(), "", UserSort::Name, None).await.unwrap();
    let emails: Vec<_> = page.rows.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"ada@example.com") && emails.contains(&"bob@example.com"));
    // A member cannot reach list_users at all: it takes an Admin, which only
    // the admin check makes (the HTTP refusal is in server/tests/users.rs).
    assert_eq!(member.admin().err(), Some(AppError::Forbidden(NOT_ADMIN.into())));
    // The other account's admin sees only their own user, even when searching ours.
    let eve = account_with_admin(&d, "Third", "eve@third.example").await.admin().unwrap();
    let theirs = users::list_users(&d, &eve, "example", UserSort::Name, None).await.unwrap();
    assert_eq!(
        theirs.rows.iter().map(|r| r.email.as_str()).collect::<Vec<_>>(),
        vec!["eve@third.example"]
    );
    assert!(!theirs.several_users);
    // A page of one user still says the account has several.
    let ada = admin.admin().unwrap();
    let bob = users::list_users(&d, &ada, "bob", UserSort::Name, None).await.unwrap();
    assert_eq!(bob.rows.len(), 1);
    assert!(bob.several_users);
}

/// Ada (`admin`) invites Cy Doe, cy@example.com.
async fn invite_cy(d: &app::domain::Domain, admin: &app::domain::core::actor::Member) {
    let form = users::UserForm {
        first_name: "Cy".into(),
        last_name: "Doe".into(),
        email: "cy@example.com".into(),
        ..Default::default()
    };
    users::invite(d, &admin.admin().unwrap(), form).await.unwrap();
}

#[tokio::test]
async fn operators_add_users_to_existing_accounts_with_the_same_rules() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await;
    let input = |email: &str, password: Option<&str>| NewUserByOperator {
        account_of: "ada@example.com".into(),
        email: email.into(),
        first_name: "Bob".into(),
        last_name: "Builder".into(),
        is_admin: false,
        password: password.map(Into::into),
    };
    let op = Operator::from_command_line();
    let added =
        operator::add_user(&d, &op, input("Bob@Example.com", Some("Maple-Canyon-Drift-19")))
            .await
            .unwrap();
    let bob = user::Entity::find_by_id(added.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        (bob.account_id, bob.is_admin, bob.email.as_str()),
        (admin.account_id(), false, "bob@example.com")
    );
    assert!(log_in_by_password(&d, "bob@example.com", "Maple-Canyon-Drift-19", "t").await.is_ok());

    let before = Snapshot::take(&d).await;
    let taken = operator::add_user(&d, &op, input("ADA@example.com", None)).await.err().unwrap();
    assert!(taken.message_for("email").is_some());
    let weak = operator::add_user(&d, &op, input("carl@example.com", Some("12345678")))
        .await
        .err()
        .unwrap();
    assert!(weak.message_for("password").is_some());
    let mut nowhere = input("dora@example.com", None);
    nowhere.account_of = "nobody@example.com".into();
    assert_eq!(operator::add_user(&d, &op, nowhere).await.err(), Some(AppError::NotFound));
    before.assert_unchanged(&d).await;
    assert_eq!(user::Entity::find().count(&d.db).await.unwrap(), 2);

    // An address that declined the account's invitation gets no other from
    // the operator either; given a password (they asked), it is added.
    invite_cy(&d, &admin).await;
    let token = app::domain::testing::link_token(&d, "cy@example.com", "/activate").await;
    app::domain::admin::invitations::decline_invitation(&d, &token).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = operator::add_user(&d, &op, input("cy@example.com", None)).await.err().unwrap();
    let said = refused.message_for("email").unwrap_or_default();
    assert!(
        said.starts_with("The owner of this address declined an invitation to this account.")
            && said.ends_with(
                "add them with a password (--password-stdin) if they asked for an account."
            ),
        "{said}"
    );
    before.assert_unchanged(&d).await;
    let password = Some("Maple-Canyon-Drift-19");
    operator::add_user(&d, &op, input("cy@example.com", password)).await.unwrap();
}

#[tokio::test]
async fn operators_promote_a_user_to_admin_of_their_account() {
    let (d, _) = fresh_domain().await;
    let admin = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, admin.account_id(), "bob@example.com", false).await;
    let promoted =
        operator::promote(&d, &Operator::from_command_line(), " BOB@example.com").await.unwrap();
    assert!(promoted.user.is_admin && !promoted.enabled_again);
    assert_eq!(promoted.user.account_id, bob.account_id());
    let before = Snapshot::take(&d).await;
    let operator = Operator::from_command_line();
    let unknown = operator::promote(&d, &operator, "nobody@example.com").await.err().unwrap();
    assert_eq!(
        unknown.message_for("email").as_deref(),
        Some("No user has the email address nobody@example.com.")
    );
    before.assert_unchanged(&d).await;
    // An invitee could not sign in as the admin the account needs.
    invite_cy(&d, &admin).await;
    let before = Snapshot::take(&d).await;
    let refused = operator::promote(&d, &operator, "cy@example.com").await.err().unwrap();
    let said = refused.message_for("email").unwrap_or_default();
    assert!(said.starts_with("cy@example.com has not activated their invitation yet"), "{said}");
    before.assert_unchanged(&d).await;
}
