//! Account Information: company details saved whole or not at all; plans.
use app::domain::admin::account_info;
use app::domain::core::actor::Operator;
use app::domain::core::edits::{changed_meanwhile, Edit};
use app::domain::core::limits;
use app::domain::core::limits::Plan;
use app::domain::operator;
use app::domain::testing::{account_with_admin, add_user, fresh_domain, Snapshot};
use app::model::{AccountInfo, AppError};

fn details() -> AccountInfo {
    AccountInfo {
        company_name: "Acme Voice, Inc.".into(),
        address: "1 Infinite Loop, Suite 2".into(),
        city: "Cupertino".into(),
        state: "CA".into(),
        zip: "95014-2083".into(),
        phone: "+1 (408) 555-0100".into(),
    }
}

#[tokio::test]
async fn an_admin_saves_the_details_and_the_phone_is_kept_as_e164() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let before = account_info::get(&d, &admin).await.unwrap();
    assert_eq!(before, AccountInfo { company_name: "Acme".into(), ..Default::default() });
    let saved = account_info::save(&d, &admin, details()).await.unwrap();
    let expected = AccountInfo { phone: "+14085550100".into(), ..details() };
    assert_eq!(saved, expected);
    assert_eq!(account_info::get(&d, &admin).await.unwrap(), expected);
    // Optional fields can be cleared again.
    let cleared = AccountInfo { company_name: "Acme".into(), ..Default::default() };
    assert_eq!(account_info::save(&d, &admin, cleared.clone()).await.unwrap(), cleared);
}

#[tokio::test]
async fn bad_input_reports_every_field_and_saves_nothing() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bad = AccountInfo {
        company_name: "   ".into(),
        address: "x".repeat(201),
        city: "y".repeat(101),
        state: "z".repeat(101),
        zip: "95014_2083".into(),
        phone: "555-0100".into(),
    };
    let before = Snapshot::take(&d).await;
    let err = account_info::save(&d, &admin, bad).await.unwrap_err();
    let expected = [
        ("company_name", "Company Name is required."),
        ("address", "Address must be at most 200 characters."),
        ("city", "City must be at most 100 characters."),
        ("state", "State must be at most 100 characters."),
        ("zip", "Zip may contain only letters, digits, spaces and dashes."),
        (
            "phone",
            "Phone Number must be an international number with its country code, e.g. +1 (415) 555-0100.",
        ),
    ];
    for (field, message) in expected {
        assert_eq!(err.message_for(field).as_deref(), Some(message), "{field}");
    }
    // One bad field keeps the good ones from being saved too.
    let one_bad = AccountInfo { zip: "12345678901".into(), ..details() };
    assert!(matches!(account_info::save(&d, &admin, one_bad).await, Err(AppError::Invalid(_))));
    before.assert_unchanged(&d).await;
    assert_eq!(account_info::get(&d, &admin).await.unwrap().company_name, "Acme");
}

#[tokio::test]
async fn each_account_sees_and_changes_only_its_own_details() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let (ada, eve) = (ada.admin().unwrap(), eve.admin().unwrap());
    let eves = AccountInfo {
        company_name: "Globex".into(),
        address: "742 Evergreen Terrace".into(),
        city: "Springfield".into(),
        state: "OR".into(),
        zip: "97403".into(),
        phone: "+15415550199".into(),
    };
    assert_eq!(account_info::save(&d, &eve, eves.clone()).await.unwrap(), eves);
    account_info::save(&d, &ada, details()).await.unwrap();
    // Ada reads back what she saved, and every one of Eve's fields is as
    // Eve left it: Ada's save wrote to her own account only.
    let adas = AccountInfo { phone: "+14085550100".into(), ..details() };
    assert_eq!(account_info::get(&d, &ada).await.unwrap(), adas);
    assert_eq!(account_info::get(&d, &eve).await.unwrap(), eves);
}

#[tokio::test]
async fn operators_change_plans_by_a_members_email() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    assert_eq!(limits::plan(&d.db, ada.account_id()).await.unwrap(), Plan::Demo);
    let before =
        operator::set_plan(&d, &Operator::from_command_line(), " ADA@example.com ", Plan::Full)
            .await
            .unwrap();
    assert_eq!(before, Plan::Demo);
    assert_eq!(limits::plan(&d.db, ada.account_id()).await.unwrap(), Plan::Full);
    let unchanged = Snapshot::take(&d).await;
    assert_eq!(
        operator::set_plan(&d, &Operator::from_command_line(), "nobody@example.com", Plan::Full)
            .await,
        Err(AppError::NotFound)
    );
    // So does enabling Stripe for an address nobody has.
    let op = Operator::from_command_line();
    assert_eq!(
        operator::enable_stripe(&d, &op, "nobody@example.com").await,
        Err(AppError::NotFound)
    );
    unchanged.assert_unchanged(&d).await;

    // A retry of an email that does not exist queues nothing, not even the
    // failed one that does.
    use app::domain::entity::email_outbox as outbox;
    use sea_orm::{sea_query::Expr, EntityTrait};
    let admin = ada.admin().unwrap();
    let form = app::domain::admin::users::UserForm {
        first_name: "Bo".into(),
        last_name: "Lee".into(),
        email: "bo@example.com".into(),
        ..Default::default()
    };
    app::domain::admin::users::invite(&d, &admin, form).await.unwrap();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(app::domain::core::mail::FAILED))
        .exec(&d.db)
        .await
        .unwrap();
    let unchanged = Snapshot::take(&d).await;
    assert_eq!(operator::retry_mail(&d, &op, Some(987_654)).await, Ok(0));
    unchanged.assert_unchanged(&d).await;
    assert_eq!(operator::retry_mail(&d, &op, None).await, Ok(1));
}

#[tokio::test]
async fn a_save_from_a_stale_form_keeps_another_admins_changes_and_refuses_a_clash() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let (adas, graces) = (ada.admin().unwrap(), grace.admin().unwrap());
    account_info::save(&d, &adas, details()).await.unwrap();
    // Both open the tab; the phone shows as people read it.
    let was = AccountInfo { phone: "+1 408-555-0100".into(), ..details() };
    let edit = |form: AccountInfo| Edit { form, was: Some(was.clone()) };
    let graces_form = AccountInfo { city: "San Jose".into(), zip: "95110".into(), ..was.clone() };
    account_info::save(&d, &graces, edit(graces_form)).await.unwrap();

    // Ada's form, as it opened, changes the city too: refused beside it.
    let before = Snapshot::take(&d).await;
    let clash = AccountInfo { city: "Palo Alto".into(), state: "California".into(), ..was.clone() };
    let refused = account_info::save(&d, &adas, edit(clash)).await.unwrap_err();
    assert_eq!(refused.message_for("city"), Some(changed_meanwhile("City")));
    assert_eq!(refused.message_for("state"), None);
    before.assert_unchanged(&d).await;

    // Changing only what Grace left alone keeps her city and zip; the
    // phone, sent as it showed, is no change.
    let own = AccountInfo { state: "California".into(), ..was.clone() };
    let saved = account_info::save(&d, &adas, edit(own)).await.unwrap();
    let expected = AccountInfo {
        city: "San Jose".into(),
        zip: "95110".into(),
        state: "California".into(),
        phone: "+14085550100".into(),
        ..details()
    };
    assert_eq!(saved, expected);
    assert_eq!(account_info::get(&d, &adas).await.unwrap(), expected);
    // Saved again as stored, or as the form opened with nothing edited:
    // answered with what is stored, nothing counted, written or logged.
    let before = Snapshot::take(&d).await;
    assert_eq!(account_info::save(&d, &adas, expected.clone()).await.unwrap(), expected);
    assert_eq!(account_info::save(&d, &graces, edit(was.clone())).await.unwrap(), expected);
    before.assert_nothing_counted(&d).await;
}

#[tokio::test]
async fn a_stale_form_changes_the_phone_it_showed_and_corrects_a_value_todays_rules_refuse() {
    use app::domain::entity::account;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    account_info::save(&d, &admin, details()).await.unwrap();
    // A city stored before a rule refused it (a control character).
    let stored = account::Entity::find_by_id(ada.account_id()).one(&d.db).await.unwrap().unwrap();
    let mut legacy: account::ActiveModel = stored.into();
    legacy.city = Set("Cuper\u{7}tino".into());
    legacy.update(&d.db).await.unwrap();
    // The form shows the phone as people read it, and the city as stored.
    let was =
        AccountInfo { phone: "+1 408-555-0100".into(), city: "Cuper\u{7}tino".into(), ..details() };
    let form =
        AccountInfo { phone: "+1 408 555 0199".into(), city: "Cupertino".into(), ..was.clone() };
    let saved = account_info::save(&d, &admin, Edit { form, was: Some(was) }).await.unwrap();
    assert_eq!((saved.phone.as_str(), saved.city.as_str()), ("+14085550199", "Cupertino"));
}
