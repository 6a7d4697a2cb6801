//! JS libraries, applications, sharing, attachments and deployments: every
//! permission, the other-account refusals and the hand-over on deletion.
use app::domain::admin::users;
use app::domain::core::actor::Member;
use app::domain::core::actor::Operator;
use app::domain::core::limits::Plan;
use app::domain::core::provisioning::{self, default_pool};
use app::domain::core::validation;
use app::domain::entity::{activity_event, js_library, user};
use app::domain::features::applications::{self, NEEDS_CAN_CREATE, NEEDS_CAN_SHARE, OWNER_ONLY};
use app::domain::features::deployments;
use app::domain::features::integrations;
use app::domain::features::js_libraries::{self, LibraryForm};
use app::domain::features::{oauth_tokens, phone_numbers};
use app::domain::operator;
use app::domain::testing::{
    account_with_admin, add_user, change_user_under_lock, fresh_concurrent_domain, fresh_domain,
    s3_integration, used_by, Snapshot,
};
use app::domain::Domain;
use app::model::{AppError, OwnerChange, JS_LIBRARY_MAX};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

fn library(name: &str, code: &str) -> LibraryForm {
    LibraryForm { name: name.into(), description: "Helpers".into(), code: code.into() }
}

/// A non-admin with the given permissions.
async fn member_with(
    d: &Domain,
    account_id: i32,
    email: &str,
    can_create: bool,
    can_share: bool,
) -> Member {
    let member = add_user(d, account_id, email, false).await;
    set_permissions(d, &member, can_create, can_share).await;
    member
}

async fn set_permissions(d: &Domain, member: &Member, can_create: bool, can_share: bool) {
    let found = user::Entity::find_by_id(member.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut model = found.into_active_model();
    model.can_create = Set(can_create);
    model.can_share = Set(can_share);
    model.update(&d.db).await.unwrap();
}

#[tokio::test]
async fn libraries_are_checked_for_length_and_belong_to_their_author() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let lib = js_libraries::add(&d, &ada, library("Greeting", "function hi() { return 1; }"))
        .await
        .unwrap();
    // Code that does not parse may still be saved: the browser only warns.
    js_libraries::add(&d, &ada, library("Broken", "function (")).await.unwrap();
    let exactly = "x".repeat(JS_LIBRARY_MAX);
    js_libraries::add(&d, &ada, library("Longest", &exactly)).await.unwrap();
    let before = Snapshot::take(&d).await;
    let err =
        js_libraries::add(&d, &ada, library("Too long", &format!("{exactly}y"))).await.unwrap_err();
    assert_eq!(
        err.message_for("code").as_deref(),
        Some("Code must be at most 4096 characters; this is 4097.")
    );
    let err = js_libraries::add(
        &d,
        &ada,
        LibraryForm { name: " ".into(), description: "d".repeat(501), code: " ".into() },
    )
    .await
    .unwrap_err();
    assert!(err.message_for("name").is_some() && err.message_for("description").is_some());
    assert_eq!(err.message_for("code").as_deref(), Some("Code is required."));
    // PostgreSQL cannot store a NUL: refused beside the field on both databases.
    let nul = js_libraries::add(&d, &ada, library("Nul", "var a = '\u{0}';")).await.unwrap_err();
    assert_eq!(
        nul.message_for("code").as_deref(),
        Some("Code must not contain control characters other than line breaks and tabs.")
    );
    // Code that reads other than it runs ("Trojan Source"): an isolate
    // that shows a condition's end as a comment.
    let turned = "if (admin \u{2067}) { /* not admin \u{2069} */ grant(); }";
    let turned = js_libraries::add(&d, &ada, library("Turned", turned)).await.unwrap_err();
    assert!(turned.message_for("code").unwrap().contains("reorder the text"), "{turned:?}");
    before.assert_unchanged(&d).await;

    // A browser sends a text area's line breaks as CRLF; the field counted
    // each as one character, and so does the check: 2048 lines of "x" with
    // their breaks, 4096 characters, fit, and are kept with plain breaks.
    let lines = "x\r\n".repeat(JS_LIBRARY_MAX / 2);
    let sent = js_libraries::add(&d, &ada, library("Lines", &lines)).await.unwrap();
    let kept = js_libraries::code(&d, &ada, sent.id).await.unwrap();
    assert_eq!(kept, "x\n".repeat(JS_LIBRARY_MAX / 2));
    js_libraries::delete(&d, &ada, sent.id, &app::domain::testing::used_by(&[], 0)).await.unwrap();

    assert_eq!(js_libraries::list(&d, &ada).await.unwrap().len(), 3);
    // Bob neither sees nor changes Ada's library.
    assert!(js_libraries::list(&d, &bob).await.unwrap().is_empty());
    let before = Snapshot::take(&d).await;
    assert_eq!(
        js_libraries::update(&d, &bob, lib.id, library("Mine", "1")).await,
        Err(AppError::NotFound)
    );
    assert_eq!(js_libraries::code(&d, &bob, lib.id).await, Err(AppError::NotFound));
    assert_eq!(
        js_libraries::delete(&d, &bob, lib.id, &app::domain::testing::used_by(&[], 0)).await,
        Err(AppError::NotFound)
    );
    // Ada's own edit with a bad form is refused field by field, and keeps the library.
    let bad = js_libraries::update(&d, &ada, lib.id, library("", &format!("{exactly}y"))).await;
    let bad = bad.unwrap_err();
    assert_eq!(bad.message_for("name").as_deref(), Some("Name is required."));
    assert!(bad.message_for("code").unwrap().starts_with("Code must be at most 4096"));
    // An application's name is checked the same way.
    let nameless = applications::create(&d, &ada, "  ").await.unwrap_err();
    assert_eq!(nameless.message_for("name").as_deref(), Some("New Application Name is required."));
    before.assert_unchanged(&d).await;
    let edited =
        js_libraries::update(&d, &ada, lib.id, library("Greeting", "var a = 2;")).await.unwrap();
    assert_eq!(js_libraries::code(&d, &ada, edited.id).await.unwrap(), "var a = 2;");
}

/// Edit sends the version of the library it opened on: saved meanwhile in
/// another window, the library is not written over with what the dialog
/// showed; the refusal says so and changes nothing, and an edit opened on
/// the new version is saved.
#[tokio::test]
async fn an_edit_opened_before_a_save_elsewhere_is_refused_not_written_over() {
    use app::domain::features::js_libraries::{LibraryEdit, CHANGED_SINCE_OPENED};
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let lib = js_libraries::add(&d, &ada, library("Helpers", "var a = 1;")).await.unwrap();
    let opened_on = |version: &str, name: &str, code: &str| LibraryEdit {
        form: library(name, code),
        opened: Some(version.to_owned()),
    };
    clock.advance(chrono::Duration::seconds(1));
    let elsewhere = opened_on(&lib.version, "Helpers", "var a = 2;");
    let saved = js_libraries::update(&d, &ada, lib.id, elsewhere).await.unwrap();
    assert_ne!(saved.version, lib.version);
    clock.advance(chrono::Duration::seconds(1));
    let before = Snapshot::take(&d).await;
    let stale = opened_on(&lib.version, "Tools", "var b = 1;");
    let refused = js_libraries::update(&d, &ada, lib.id, stale).await;
    assert_eq!(refused, Err(AppError::Conflict(CHANGED_SINCE_OPENED.into())));
    before.assert_nothing_counted(&d).await;
    assert_eq!(js_libraries::code(&d, &ada, lib.id).await.unwrap(), "var a = 2;");
    let fresh = opened_on(&saved.version, "Tools", "var b = 1;");
    let renamed = js_libraries::update(&d, &ada, lib.id, fresh).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version == saved.version), ("Tools", false));
    // The same save sent again (a double submit) writes nothing: no clash.
    let again = opened_on(&saved.version, "Tools", "var b = 1;");
    let unchanged = js_libraries::update(&d, &ada, lib.id, again).await.unwrap();
    assert_eq!(unchanged.version, renamed.version);
    // As the list gives it, the version is the one Edit opens on.
    let listed = js_libraries::list(&d, &ada).await.unwrap();
    assert_eq!(listed[0].version, renamed.version);
}

/// Settings send the version they opened on: saved meanwhile in another
/// window, an application's lists are not written over with what the
/// dialog showed (nor its name); the refusal says so and changes nothing,
/// and a dialog opened on the new version saves. A save of what is already
/// saved is no clash, and a library's deletion (detaching it) is not a save
/// of the settings.
#[tokio::test]
async fn settings_opened_before_a_save_elsewhere_are_refused_not_written_over() {
    use applications::{SettingsForm, SETTINGS_CHANGED_SINCE_OPENED};
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    let helpers = js_libraries::add(&d, &ada, library("Helpers", "var a = 1;")).await.unwrap();
    let tools = js_libraries::add(&d, &ada, library("Tools", "var b = 1;")).await.unwrap();
    let spare = js_libraries::add(&d, &ada, library("Spare", "var c = 1;")).await.unwrap();
    let (helpers, tools, spare) = ([helpers.id], [tools.id], [spare.id]);
    let save = async |name: Option<&str>, libraries: &[i32], opened: &str| {
        let form = SettingsForm::new(name, libraries, &[]).opened_on(Some(opened));
        applications::save_settings(&d, &ada, app.id, form).await
    };
    clock.advance(chrono::Duration::seconds(1));
    let saved = save(None, &helpers, &app.version).await.unwrap();
    assert_ne!(saved.version, app.version);
    clock.advance(chrono::Duration::seconds(1));
    let before = Snapshot::take(&d).await;
    for (name, libraries) in [(None, &tools), (Some("Hotline"), &helpers)] {
        let refused = save(name, libraries, &app.version).await;
        assert_eq!(refused, Err(AppError::Conflict(SETTINGS_CHANGED_SINCE_OPENED.into())));
        before.assert_nothing_counted(&d).await;
    }
    let listed = applications::list(&d, &ada).await.unwrap();
    let names = |row: &app::model::ApplicationRow| {
        (row.name.clone(), row.libraries.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
    };
    assert_eq!(names(&listed.rows[0]), ("IVR".to_owned(), vec!["Helpers".to_owned()]));
    // As the list gives it, the version is the one Settings opens on.
    assert_eq!(listed.rows[0].version, saved.version);
    // What is saved already, sent from the old dialog: nothing is undone,
    // and nothing is written, counted or logged (a double submit).
    let before = Snapshot::take(&d).await;
    let same = save(Some("IVR"), &[helpers[0], helpers[0]], &app.version).await.unwrap();
    assert_eq!(names(&same), ("IVR".to_owned(), vec!["Helpers".to_owned()]));
    assert_eq!(same.version, saved.version);
    before.assert_nothing_counted(&d).await;
    let renamed = save(Some("Hotline"), &[tools[0], spare[0]], &saved.version).await.unwrap();
    assert_eq!(renamed.name, "Hotline");
    // Spare's deletion detaches it: not a save of the settings, so a
    // dialog opened before it still saves.
    clock.advance(chrono::Duration::seconds(1));
    js_libraries::delete(&d, &ada, spare[0], &used_by(&["Hotline"], 0)).await.unwrap();
    assert_eq!(names(&save(None, &tools, &renamed.version).await.unwrap()).1, ["Tools"]);
    // Who it is shared with does not learn when its owner saved it.
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    applications::share(&d, &ada, app.id, bob.user_id()).await.unwrap();
    assert_eq!(applications::list(&d, &bob).await.unwrap().rows[0].version, "");
}

#[tokio::test]
async fn creating_needs_can_create_and_sharing_needs_can_share_and_ownership() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let dan = member_with(&d, ada.account_id(), "dan@example.com", true, true).await;
    let before = Snapshot::take(&d).await;
    assert_eq!(
        applications::create(&d, &carol, "IVR").await,
        Err(AppError::Forbidden(NEEDS_CAN_CREATE.into()))
    );
    before.assert_unchanged(&d).await;
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    // Carol sees nothing until it is shared with her.
    assert!(applications::list(&d, &carol).await.unwrap().rows.is_empty());
    assert_eq!(
        applications::share_choices(&d, &carol, app.id, "").await,
        Err(AppError::Forbidden(NEEDS_CAN_SHARE.into()))
    );
    // The picker offers whom the application can still go to: not its
    // owner, nor who has it already.
    let offered = |id: i32| {
        let (d, ada) = (d.clone(), ada.clone());
        async move {
            let choices = applications::share_choices(&d, &ada, id, "").await.unwrap();
            choices.into_iter().map(|u| u.email).collect::<Vec<_>>()
        }
    };
    assert_eq!(offered(app.id).await, ["carol@example.com", "dan@example.com"]);
    let shared = applications::share(&d, &ada, app.id, carol.user_id()).await.unwrap();
    assert_eq!(offered(app.id).await, ["dan@example.com"]);
    assert_eq!(
        shared.shared_with.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        vec!["carol@example.com"]
    );
    let seen = applications::list(&d, &carol).await.unwrap();
    assert_eq!(
        (seen.rows.len(), seen.rows[0].mine, seen.can_create, seen.can_share),
        (1, false, false, false)
    );
    assert!(seen.rows[0].shared_with.is_empty(), "only the owner sees the share list");
    // Carol (no Can Share) sees the owner's name, and her page's data holds
    // no more: not the owner's email.
    assert_eq!(seen.rows[0].owner.id, ada.user_id());
    assert!(!seen.rows[0].owner.name.is_empty());
    let sent = serde_json::to_string(&seen).unwrap();
    assert!(!sent.contains("ada@example.com"), "{sent}");

    // Nor a disabled user, until enabled again; nor does sharing go to one.
    let admin = ada.admin().unwrap();
    users::disable(&d, &admin, dan.user_id()).await.unwrap();
    assert!(offered(app.id).await.is_empty());
    let before = Snapshot::take(&d).await;
    let refused = applications::share(&d, &ada, app.id, dan.user_id()).await.unwrap_err();
    assert_eq!(refused.message_for("user").as_deref(), Some(applications::SHARE_DISABLED));
    before.assert_nothing_counted(&d).await;
    users::enable(&d, &admin, dan.user_id()).await.unwrap();
    assert_eq!(offered(app.id).await, ["dan@example.com"]);

    // A shared user, even one with both permissions, neither shares, clones
    // nor configures someone else's application.
    applications::share(&d, &ada, app.id, dan.user_id()).await.unwrap();
    let before = Snapshot::take(&d).await;
    let forbidden = Err(AppError::Forbidden(OWNER_ONLY.into()));
    assert_eq!(applications::share(&d, &dan, app.id, carol.user_id()).await.map(|_| ()), forbidden);
    // The owner already has it: sharing it with them is refused beside the field.
    let refused = applications::share(&d, &ada, app.id, ada.user_id()).await.unwrap_err();
    assert_eq!(
        refused.message_for("user").as_deref(),
        Some("The owner already has this application.")
    );
    // A share is checked before it is counted; the changes below count
    // their caller's own (Dan's), as any change he tries does.
    before.assert_nothing_counted(&d).await;
    assert_eq!(applications::clone(&d, &dan, app.id).await.map(|_| ()), forbidden);
    assert_eq!(
        applications::save_settings(
            &d,
            &dan,
            app.id,
            applications::SettingsForm::new(None, &[], &[])
        )
        .await
        .map(|_| ()),
        forbidden
    );
    assert_eq!(applications::delete(&d, &dan, app.id).await, forbidden);
    // Nor takes it from another user it is shared with.
    let carol_id = carol.user_id();
    assert_eq!(applications::unshare(&d, &dan, app.id, carol_id).await.map(|_| ()), forbidden);
    before.assert_unchanged(&d).await;

    // An owner without Can Share cannot share; without Can Create cannot clone.
    set_permissions(&d, &ada, false, false).await;
    let before = Snapshot::take(&d).await;
    let dan_id = dan.user_id();
    assert_eq!(
        applications::share(&d, &ada, app.id, dan_id).await,
        Err(AppError::Forbidden(NEEDS_CAN_SHARE.into()))
    );
    before.assert_nothing_counted(&d).await;
    // A clone is counted first, as a creation is: Ada's own change.
    assert_eq!(
        applications::clone(&d, &ada, app.id).await,
        Err(AppError::Forbidden(NEEDS_CAN_CREATE.into()))
    );
    before.assert_unchanged(&d).await;
    // Unsharing stays possible for the owner.
    let after = applications::unshare(&d, &ada, app.id, carol.user_id()).await.unwrap();
    assert_eq!(after.shared_with.len(), 1);
    assert!(applications::list(&d, &carol).await.unwrap().rows.is_empty());
}

#[tokio::test]
async fn nothing_crosses_accounts() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    let eves_library = js_libraries::add(&d, &eve, library("Theirs", "1")).await.unwrap();
    let eves_integration = s3_integration(&d, &eve, "Their bucket").await;
    let before = Snapshot::take(&d).await;
    // Ada cannot share with Eve, nor attach Eve's things.
    let err = applications::share(&d, &ada, app.id, eve.user_id()).await.unwrap_err();
    assert_eq!(err.message_for("user").as_deref(), Some("Choose a user of this account."));
    let err = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &[eves_library.id], &[eves_integration]),
    )
    .await
    .unwrap_err();
    assert!(err.message_for("libraries").is_some() && err.message_for("integrations").is_some());
    // Settings with a new name are renamed (and the rename recorded) before
    // the attachments are checked: the refusal rolls the rename back.
    let renamed = Some("Renamed IVR");
    let err = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(renamed, &[eves_library.id], &[]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.message_for("libraries").as_deref(), Some(app::model::LIBRARY_GONE));
    let err = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(renamed, &[], &[eves_integration]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.message_for("integrations").as_deref(), Some(app::model::INTEGRATION_GONE));
    // Eve cannot see, clone, share or configure Ada's application.
    assert!(applications::list(&d, &eve).await.unwrap().rows.is_empty());
    assert_eq!(applications::clone(&d, &eve, app.id).await, Err(AppError::NotFound));
    assert_eq!(applications::share(&d, &eve, app.id, eve.user_id()).await, Err(AppError::NotFound));
    assert_eq!(
        applications::save_settings(
            &d,
            &eve,
            app.id,
            applications::SettingsForm::new(None, &[], &[])
        )
        .await,
        Err(AppError::NotFound)
    );
    assert_eq!(applications::delete(&d, &eve, app.id).await, Err(AppError::NotFound));
    assert_eq!(
        applications::unshare(&d, &eve, app.id, ada.user_id()).await.map(|_| ()),
        Err(AppError::NotFound)
    );
    // Nor does Ada unshare her application with Eve, who is not of her
    // account: refused, not answered as done.
    let err = applications::unshare(&d, &ada, app.id, eve.user_id()).await.unwrap_err();
    assert_eq!(err.message_for("user").as_deref(), Some("Choose a user of this account."));
    before.assert_unchanged(&d).await;
    let names: Vec<String> =
        applications::list(&d, &ada).await.unwrap().rows.into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["IVR"]);
    let offered = applications::share_choices(&d, &ada, app.id, "").await.unwrap();
    assert!(offered.is_empty(), "only Ada's account, and not Ada herself: {offered:?}");
    // Eve asks whom she could share Ada's application with: it is not hers.
    assert_eq!(applications::share_choices(&d, &eve, app.id, "").await, Err(AppError::NotFound));
}

#[tokio::test]
async fn attachments_show_as_used_by_and_deleting_asks_then_detaches() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let lib = js_libraries::add(&d, &ada, library("Greeting", "1")).await.unwrap();
    let bucket = s3_integration(&d, &ada, "Recordings").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    let set = applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(None, &[lib.id], &[bucket]),
    )
    .await
    .unwrap();
    assert_eq!(
        (set.libraries[0].name.as_str(), set.integrations[0].name.as_str()),
        ("Greeting", "Recordings")
    );
    let copy = applications::clone(&d, &ada, ivr.id).await.unwrap();
    assert_eq!(
        (copy.name.as_str(), copy.libraries.len(), copy.integrations.len()),
        ("IVR copy", 1, 1)
    );

    let both = used_by(&["IVR", "IVR copy"], 0);
    let libraries = js_libraries::list(&d, &ada).await.unwrap();
    assert_eq!(libraries[0].used_by, both);
    let listed = integrations::list(&d, &ada).await.unwrap();
    assert_eq!(listed[0].used_by, both);
    // Times to the minute and in UTC, as every list of the console gives them.
    assert!(to_the_minute(&libraries[0].updated), "{}", libraries[0].updated);
    assert!(to_the_minute(&listed[0].added), "{}", listed[0].added);
    // A member is told of the applications they can see only: none of Ada's
    // until one is shared with them.
    let bob = member_with(&d, ada.account_id(), "bob@example.com", false, false).await;
    let seen_by_bob = || async { integrations::list(&d, &bob).await.unwrap().remove(0).used_by };
    assert_eq!(seen_by_bob().await, used_by(&[], 2));
    applications::share(&d, &ada, copy.id, bob.user_id()).await.unwrap();
    assert_eq!(seen_by_bob().await, used_by(&["IVR copy"], 1));
    assert_eq!(integrations::list(&d, &ada).await.unwrap()[0].used_by.others, 0);
    applications::unshare(&d, &ada, copy.id, bob.user_id()).await.unwrap();

    // Without confirmation nothing is deleted, and the applications are named.
    let before = Snapshot::take(&d).await;
    let refused = js_libraries::delete(&d, &ada, lib.id, &used_by(&[], 0)).await;
    assert_eq!(
        refused,
        Err(AppError::Conflict(
            "Greeting is used by IVR, IVR copy. Confirm to detach it from those applications and delete it.".into()
        ))
    );
    let admin = ada.admin().unwrap();
    assert!(
        matches!(integrations::delete(&d, &admin, bucket, &used_by(&[], 0)).await, Err(AppError::Conflict(m)) if m.contains("IVR copy"))
    );
    before.assert_unchanged(&d).await;
    assert_eq!(js_libraries::list(&d, &ada).await.unwrap().len(), 1);

    // Confirmed for the applications named, in any order.
    js_libraries::delete(&d, &ada, lib.id, &used_by(&["IVR copy", "IVR"], 0)).await.unwrap();
    integrations::delete(&d, &admin, bucket, &both).await.unwrap();
    let apps = applications::list(&d, &ada).await.unwrap().rows;
    assert_eq!(apps.len(), 2, "{apps:?}");
    assert!(apps.iter().all(|a| a.libraries.is_empty() && a.integrations.is_empty()), "{apps:?}");
    // An unused library goes without asking.
    let unused = js_libraries::add(&d, &ada, library("Spare", "1")).await.unwrap();
    js_libraries::delete(&d, &ada, unused.id, &used_by(&[], 0)).await.unwrap();
}

/// A Delete dialog's Yes detaches from the applications it named and from
/// no other: one attached after it opened (by its owner, in another window)
/// is asked about again, and nothing is deleted or detached meanwhile. One
/// detached since is no reason to ask.
#[tokio::test]
async fn a_delete_confirmed_before_another_attachment_asks_again() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let lib = js_libraries::add(&d, &ada, library("Greeting", "1")).await.unwrap();
    let bucket = s3_integration(&d, &ada, "Recordings").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(None, &[lib.id], &[bucket]),
    )
    .await
    .unwrap();
    let shown = js_libraries::list(&d, &ada).await.unwrap()[0].used_by.clone();
    assert_eq!(shown, used_by(&["IVR"], 0));
    let night = applications::create(&d, &ada, "Night").await.unwrap();
    applications::save_settings(
        &d,
        &ada,
        night.id,
        applications::SettingsForm::new(None, &[lib.id], &[bucket]),
    )
    .await
    .unwrap();

    let before = Snapshot::take(&d).await;
    let asked = js_libraries::delete(&d, &ada, lib.id, &shown).await;
    assert_eq!(
        asked,
        Err(AppError::Conflict(
            "Greeting is used by IVR, Night. Confirm to detach it from those applications and \
             delete it."
                .into()
        ))
    );
    let asked = integrations::delete(&d, &admin, bucket, &shown).await;
    assert!(matches!(&asked, Err(AppError::Conflict(m)) if m.contains("IVR, Night")), "{asked:?}");
    // Naming one of them twice does not confirm the other.
    let twice = js_libraries::delete(&d, &ada, lib.id, &used_by(&["IVR", "IVR"], 0)).await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");
    before.assert_unchanged(&d).await;

    // Confirmed for both, in any order, and for one since gone: deleted.
    let more = used_by(&["Night", "Gone", "IVR"], 0);
    js_libraries::delete(&d, &ada, lib.id, &more).await.unwrap();
    integrations::delete(&d, &admin, bucket, &used_by(&["Night", "IVR"], 0)).await.unwrap();
    let apps = applications::list(&d, &ada).await.unwrap().rows;
    assert!(apps.iter().all(|a| a.libraries.is_empty() && a.integrations.is_empty()), "{apps:?}");

    // Detached since the dialog named it: nothing uses it, and Yes deletes it.
    let spare = js_libraries::add(&d, &ada, library("Spare", "1")).await.unwrap();
    applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(None, &[spare.id], &[]),
    )
    .await
    .unwrap();
    let named = js_libraries::list(&d, &ada).await.unwrap()[0].used_by.clone();
    assert_eq!(named, used_by(&["IVR"], 0));
    applications::save_settings(&d, &ada, ivr.id, applications::SettingsForm::new(None, &[], &[]))
        .await
        .unwrap();
    js_libraries::delete(&d, &ada, spare.id, &named).await.unwrap();
    assert!(js_libraries::list(&d, &ada).await.unwrap().is_empty());
}

#[tokio::test]
async fn number_owners_deploy_to_applications_they_can_see() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    operator::set_plan(&d, &Operator::from_command_line(), "ada@example.com", Plan::Full)
        .await
        .unwrap();
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let admin = ada.admin().unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let other_number = phone_numbers::request(&d, &admin).await.unwrap();
    phone_numbers::save_owners(
        &d,
        &admin,
        &[OwnerChange {
            number_id: number.id,
            from_owner_id: number.owner.id,
            owner_id: carol.user_id(),
        }],
    )
    .await
    .unwrap();
    let shared = applications::create(&d, &ada, "Shared IVR").await.unwrap();
    let private = applications::create(&d, &ada, "Private IVR").await.unwrap();

    // Carol, with neither permission, cannot deploy to what she cannot see...
    let before = Snapshot::take(&d).await;
    let err = deployments::deploy(&d, &carol, number.id, shared.id).await.unwrap_err();
    assert_eq!(err.message_for("application").as_deref(), Some("Choose one of your applications."));
    before.assert_unchanged(&d).await;
    applications::share(&d, &ada, shared.id, carol.user_id()).await.unwrap();
    // ...then can, once it is shared with her; never with a number she does not own.
    deployments::deploy(&d, &carol, number.id, shared.id).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        deployments::deploy(&d, &carol, other_number.id, shared.id).await,
        Err(AppError::NotFound)
    );
    let mine = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
    assert_eq!(mine[0].deployed_to.as_ref().map(|a| a.name.as_str()), Some("Shared IVR"));
    let refused = deployments::deploy(&d, &carol, number.id, private.id).await.unwrap_err();
    assert_eq!(
        refused.message_for("application").as_deref(),
        Some("Choose one of your applications.")
    );
    // Only the number's owner takes it off its application, even an admin.
    assert_eq!(deployments::undeploy(&d, &ada, number.id).await, Err(AppError::NotFound));
    before.assert_unchanged(&d).await;
    deployments::undeploy(&d, &carol, number.id).await.unwrap();
    assert_eq!(phone_numbers::owned_by_me(&d, &carol).await.unwrap()[0].deployed_to, None);
    // Deleting an application ends its deployments.
    deployments::deploy(&d, &ada, other_number.id, private.id).await.unwrap();
    applications::delete(&d, &ada, private.id).await.unwrap();
    let admin_view = phone_numbers::list(&d, &admin).await.unwrap();
    assert_eq!(admin_view.rows.len(), 2);
    assert!(admin_view.rows.iter().all(|r| r.deployed_to.is_none()));
}

#[tokio::test]
async fn a_deleted_users_applications_and_libraries_pass_to_the_deleting_admin() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, true).await;
    let lib = js_libraries::add(&d, &bob, library("Bob's helpers", "1")).await.unwrap();
    let app = applications::create(&d, &bob, "Bob's IVR").await.unwrap();
    applications::save_settings(
        &d,
        &bob,
        app.id,
        applications::SettingsForm::new(None, &[lib.id], &[]),
    )
    .await
    .unwrap();
    applications::share(&d, &bob, app.id, grace.user_id()).await.unwrap();
    applications::share(&d, &bob, app.id, ada.user_id()).await.unwrap();

    users::delete(&d, &grace.admin().unwrap(), bob.user_id()).await.unwrap();
    let graces = applications::list(&d, &grace).await.unwrap().rows;
    assert_eq!(graces.len(), 1);
    assert!(graces[0].mine && graces[0].owner.id == grace.user_id());
    assert_eq!(graces[0].libraries[0].name, "Bob's helpers", "attachments are kept");
    // Grace's own share of it is gone; Ada's stays.
    assert_eq!(graces[0].shared_with.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ada.user_id()]);
    assert_eq!(js_libraries::list(&d, &grace).await.unwrap()[0].name, "Bob's helpers");
}

/// An application passed on under a name its new owner already uses says
/// whose it was, so the owner's lists can tell the two apart.
#[tokio::test]
async fn an_application_passed_on_under_a_taken_name_says_whose_it_was() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, true).await;
    let mut named = user::Entity::find_by_id(bob.user_id()).one(&d.db).await.unwrap().unwrap();
    named.first_name = "Bob".into();
    named.last_name = "Builder".into();
    user::ActiveModel::from(named).reset_all().update(&d.db).await.unwrap();
    applications::create(&d, &ada, "IVR").await.unwrap();
    applications::create(&d, &ada, "IVR (from Bob Builder)").await.unwrap();
    applications::create(&d, &bob, " ivr ").await.unwrap();
    applications::create(&d, &bob, "Hotline").await.unwrap();

    users::delete(&d, &ada.admin().unwrap(), bob.user_id()).await.unwrap();
    let listed: Vec<String> =
        applications::list(&d, &ada).await.unwrap().rows.into_iter().map(|a| a.name).collect();
    assert_eq!(listed, ["Hotline", "IVR", "IVR (from Bob Builder)", "ivr (from Bob Builder, 2)"]);
}

/// Lists are in reading order: numbers by value, capitals aside.
#[tokio::test]
async fn applications_and_libraries_are_listed_in_reading_order() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    for _ in 0..10 {
        applications::clone(&d, &ada, ivr.id).await.unwrap();
    }
    applications::create(&d, &ada, "zeta").await.unwrap();
    applications::create(&d, &ada, "Alpha").await.unwrap();
    let listed: Vec<String> =
        applications::list(&d, &ada).await.unwrap().rows.into_iter().map(|a| a.name).collect();
    let mut expected = vec!["Alpha".to_owned(), "IVR".into(), "IVR copy".into()];
    expected.extend((2..=10).map(|n| format!("IVR copy {n}")));
    expected.push("zeta".into());
    assert_eq!(listed, expected);

    for name in ["lib 10", "Lib 9", "alpha"] {
        js_libraries::add(&d, &ada, library(name, "1")).await.unwrap();
    }
    let mine: Vec<String> =
        js_libraries::list(&d, &ada).await.unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(mine, ["alpha", "Lib 9", "lib 10"]);
    let offered: Vec<String> =
        applications::list(&d, &ada).await.unwrap().libraries.into_iter().map(|l| l.name).collect();
    assert_eq!(offered, mine, "an application's Settings offers them in the same order");
}

/// A self-signed certificate for `domain`: its private key and its chain, in PEM.
fn certificate_for(domain: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![domain.to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap().pem();
    (key.serialize_pem(), cert)
}

/// An OAuth token of `owner`'s, as the Stripe flow would store it.
async fn token_of(d: &Domain, owner: &Member) -> i32 {
    token_sealed_by(d, &d.secrets, owner, &format!("acct_{}", owner.user_id())).await
}

/// A test-mode Stripe token of `owner` for `stripe_account`, sealed by
/// `secrets` (another keyring than the domain's makes one that never opens).
async fn token_sealed_by(
    d: &Domain,
    secrets: &app::domain::core::secrets::Secrets,
    owner: &Member,
    stripe_account: &str,
) -> i32 {
    use app::domain::entity::oauth_token;
    let context = oauth_tokens::seal_context(owner.account_id(), owner.user_id());
    let sealed = secrets.seal(r#"{"access_token":"sk_test","refresh_token":null}"#, &context);
    let model = oauth_token::ActiveModel {
        account_id: Set(owner.account_id()),
        owner_id: Set(owner.user_id()),
        provider: Set("stripe".into()),
        livemode: Set(false),
        provider_account_id: Set(stripe_account.into()),
        key_id: Set(sealed.key_id),
        ciphertext: Set(sealed.ciphertext),
        created_at: Set(d.clock.now()),
        ..Default::default()
    };
    model.insert(&d.db).await.unwrap().id
}

#[tokio::test]
async fn a_number_that_changes_hands_keeps_only_what_its_new_owner_may_use() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let op = Operator::from_command_line();
    operator::set_plan(&d, &op, "ada@example.com", Plan::Full).await.unwrap();
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let admin = ada.admin().unwrap();
    let private = applications::create(&d, &ada, "Private IVR").await.unwrap();
    let shared = applications::create(&d, &ada, "Shared IVR").await.unwrap();
    applications::share(&d, &ada, shared.id, carol.user_id()).await.unwrap();
    let adas_token = token_of(&d, &ada).await;
    let to_private = phone_numbers::request(&d, &admin).await.unwrap();
    let to_shared = phone_numbers::request(&d, &admin).await.unwrap();
    for (number, app) in [(to_private.id, private.id), (to_shared.id, shared.id)] {
        deployments::deploy(&d, &ada, number, app).await.unwrap();
        deployments::assign_token(&d, &ada, number, Some(adas_token)).await.unwrap();
    }

    // A save whose last change is refused (a disabled owner) changes
    // nothing, not even the numbers before it: their deployments and tokens
    // stay, and no event says they moved.
    let dave = member_with(&d, ada.account_id(), "dave@example.com", false, false).await;
    users::disable(&d, &admin, dave.user_id()).await.unwrap();
    let to = |number_id: i32, owner: &Member| OwnerChange {
        number_id,
        from_owner_id: ada.user_id(),
        owner_id: owner.user_id(),
    };
    let before = Snapshot::take(&d).await;
    let refused = phone_numbers::save_owners(
        &d,
        &admin,
        &[to(to_private.id, &carol), to(to_shared.id, &dave)],
    )
    .await
    .unwrap_err();
    let at = format!("owner-{}", to_shared.id);
    assert_eq!(refused.message_for(&at).as_deref(), Some(phone_numbers::OWNER_DISABLED));
    before.assert_unchanged(&d).await;

    let changes = [to(to_private.id, &carol), to(to_shared.id, &carol)];
    let saved = phone_numbers::save_owners(&d, &admin, &changes).await.unwrap();
    // The reply names the number that stopped running an application.
    let stopped = app::model::StoppedDeployment {
        number: to_private.e164.clone(),
        application: "Private IVR".into(),
    };
    assert_eq!(saved.stopped, [stopped]);
    let moved = format!("phone_number.owner_changed {}", to_private.e164);
    assert!(before.new_events(&d).await.contains(&moved), "{:?}", before.new_events(&d).await);
    assert_eq!(before.new_events(&d).await.len(), 2);
    let detail_of = async |number: &str| {
        let moved = activity_event::Entity::find()
            .filter(activity_event::Column::Target.eq(number))
            .filter(activity_event::Column::Kind.eq("phone_number.owner_changed"))
            .one(&d.db)
            .await
            .unwrap();
        moved.unwrap().detail.unwrap()
    };
    // The one that runs on says it lost its token, as a deploy's event does;
    // the one that stopped says so, its token gone with its deployment.
    let token_off = "from ada@example.com to carol@example.com; its OAuth token taken off";
    assert_eq!(detail_of(&to_shared.e164).await, token_off);
    let off = "from ada@example.com to carol@example.com; off Private IVR, which they cannot see";
    assert_eq!(detail_of(&to_private.e164).await, off);

    // Carol sees her numbers: the one on an application she can see stays
    // deployed, the other is not; neither runs on Ada's token.
    let carols = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
    let on = |id: i32| carols.iter().find(|n| n.id == id).unwrap().clone();
    assert_eq!(on(to_private.id).deployed_to, None);
    assert_eq!(on(to_shared.id).deployed_to.map(|a| a.id), Some(shared.id));
    assert!(carols.iter().all(|n| n.token.is_none()), "{carols:?}");
    // Ada no longer owns them, and her token is free to delete.
    assert!(phone_numbers::owned_by_me(&d, &ada).await.unwrap().is_empty());
    oauth_tokens::delete(&d, &ada, adas_token).await.unwrap();

    // Unsharing takes Carol's numbers off that application; Ada's stay on it.
    let adas_number = phone_numbers::request(&d, &admin).await.unwrap();
    deployments::deploy(&d, &ada, adas_number.id, shared.id).await.unwrap();
    applications::unshare(&d, &ada, shared.id, carol.user_id()).await.unwrap();
    let carols = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
    assert_eq!(carols.len(), 2, "{carols:?}");
    assert!(carols.iter().all(|n| n.deployed_to.is_none()), "{carols:?}");
    let adas = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    assert_eq!(adas[0].deployed_to.as_ref().map(|a| a.id), Some(shared.id));
    // Unsharing someone who was never shared (here the owner) removes nothing.
    applications::unshare(&d, &ada, shared.id, ada.user_id()).await.unwrap();
    let adas = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    assert_eq!(adas[0].deployed_to.as_ref().map(|a| a.id), Some(shared.id));

    // One that runs on, with no token to take off, says only where it went.
    applications::share(&d, &ada, shared.id, carol.user_id()).await.unwrap();
    phone_numbers::save_owners(&d, &admin, &[to(adas_number.id, &carol)]).await.unwrap();
    assert_eq!(detail_of(&adas_number.e164).await, "from ada@example.com to carol@example.com");
    let carols = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
    let runs = carols.iter().find(|n| n.id == adas_number.id).unwrap().deployed_to.clone();
    assert_eq!(runs.map(|a| a.id), Some(shared.id));
}

/// A deleted user's numbers pass to the deleting admin with what they ran,
/// but not an application the admin cannot see (one only shared with the
/// user who goes), as when an admin gives a number away.
#[tokio::test]
async fn a_deleted_users_numbers_stop_running_what_the_deleting_admin_cannot_see() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let op = Operator::from_command_line();
    operator::set_plan(&d, &op, "ada@example.com", Plan::Full).await.unwrap();
    let grace = member_with(&d, ada.account_id(), "grace@example.com", true, true).await;
    let carol = member_with(&d, ada.account_id(), "carol@example.com", true, false).await;
    let admin = ada.admin().unwrap();
    // Grace's application, shared with Carol only; and Carol's own.
    let graces = applications::create(&d, &grace, "Grace's IVR").await.unwrap();
    applications::share(&d, &grace, graces.id, carol.user_id()).await.unwrap();
    let carols = applications::create(&d, &carol, "Carol's IVR").await.unwrap();
    let on_shared = phone_numbers::request(&d, &admin).await.unwrap();
    let on_own = phone_numbers::request(&d, &admin).await.unwrap();
    let changes: Vec<OwnerChange> = [on_shared.id, on_own.id]
        .iter()
        .map(|&number_id| OwnerChange {
            number_id,
            from_owner_id: ada.user_id(),
            owner_id: carol.user_id(),
        })
        .collect();
    phone_numbers::save_owners(&d, &admin, &changes).await.unwrap();
    deployments::deploy(&d, &carol, on_shared.id, graces.id).await.unwrap();
    deployments::deploy(&d, &carol, on_own.id, carols.id).await.unwrap();

    users::delete(&d, &admin, carol.user_id()).await.unwrap();
    let adas = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    let on = |id: i32| adas.iter().find(|n| n.id == id).unwrap().deployed_to.clone();
    assert_eq!(on(on_shared.id), None, "Ada cannot see Grace's application");
    assert_eq!(on(on_own.id).map(|a| a.id), Some(carols.id), "Carol's application is Ada's now");
    // Grace's own numbers (none here) and application are untouched.
    let listed = applications::list(&d, &grace).await.unwrap();
    assert!(listed.rows.iter().any(|a| a.id == graces.id));
}

/// A deleted user's Stripe tokens pass to the deleting admin once each: of
/// two for one Stripe account, the admin's is kept (unless it can never
/// open), the deployments of the other taking the one kept. One that can
/// never open (its key declared lost, or altered) goes rather than keeping
/// the user from being deleted; one under a key only this server lacks
/// refuses the deletion, naming it and changing nothing.
#[tokio::test]
async fn a_deleted_users_tokens_pass_on_once_each_and_one_that_never_opens_goes() {
    use app::domain::core::secrets::{Keyring, Secrets};
    use app::domain::entity::oauth_token;
    use sea_orm::QueryOrder;
    let (mut d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let op = Operator::from_command_line();
    operator::set_plan(&d, &op, "ada@example.com", Plan::Full).await.unwrap();
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, false).await;
    let admin = ada.admin().unwrap();
    let adas = token_sealed_by(&d, &d.secrets, &ada, "acct_both").await;
    let bobs_same = token_sealed_by(&d, &d.secrets, &bob, "acct_both").await;
    let bobs_own = token_sealed_by(&d, &d.secrets, &bob, "acct_bob").await;
    let lost = Secrets::fixed(Keyring::generate());
    let bobs_lost = token_sealed_by(&d, &lost, &bob, "acct_lost").await;
    let adas_broken = token_sealed_by(&d, &lost, &ada, "acct_swap").await;
    let bobs_swap = token_sealed_by(&d, &d.secrets, &bob, "acct_swap").await;
    // Sealed for Ada, stored as Bob's: it never opens for him.
    let bobs_altered = token_sealed_by(&d, &d.secrets, &bob, "acct_altered").await;
    let sealed_for_ada = oauth_token::Entity::find_by_id(adas).one(&d.db).await.unwrap().unwrap();
    oauth_token::Entity::update(oauth_token::ActiveModel {
        id: Set(bobs_altered),
        ciphertext: Set(sealed_for_ada.ciphertext),
        ..Default::default()
    })
    .exec(&d.db)
    .await
    .unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let to_bob =
        OwnerChange { number_id: number.id, from_owner_id: ada.user_id(), owner_id: bob.user_id() };
    phone_numbers::save_owners(&d, &admin, &[to_bob]).await.unwrap();
    let app = applications::create(&d, &bob, "Bob's IVR").await.unwrap();
    deployments::deploy(&d, &bob, number.id, app.id).await.unwrap();
    deployments::assign_token(&d, &bob, number.id, Some(bobs_same)).await.unwrap();
    // Ada's number runs her application on her token that never opens.
    let adas_number = phone_numbers::request(&d, &admin).await.unwrap();
    let adas_app = applications::create(&d, &ada, "Ada's IVR").await.unwrap();
    deployments::deploy(&d, &ada, adas_number.id, adas_app.id).await.unwrap();
    deployments::assign_token(&d, &ada, adas_number.id, Some(adas_broken)).await.unwrap();

    // The key is only missing here (another host's, say): nothing is lost.
    let before = Snapshot::take(&d).await;
    let refused = users::delete(&d, &admin, bob.user_id()).await;
    assert!(
        matches!(&refused, Err(AppError::Conflict(m))
            if m.starts_with("The OAuth token Stripe test acct_lost does not open on this server")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;

    let key = oauth_token::Entity::find_by_id(bobs_lost).one(&d.db).await.unwrap().unwrap().key_id;
    d.lost_keys = vec![key].into();
    users::delete(&d, &admin, bob.user_id()).await.unwrap();
    let listed = oauth_tokens::list(&d, &ada).await.unwrap().rows;
    let mut ids: Vec<_> = listed.iter().map(|t| (t.provider_account_id.as_str(), t.id)).collect();
    ids.sort();
    // Each Stripe account once: for acct_both the admin's own, for acct_swap
    // Bob's, since the admin's does not open.
    let kept = [("acct_bob", bobs_own), ("acct_both", adas), ("acct_swap", bobs_swap)];
    assert_eq!(ids, kept, "{listed:?}");
    assert!(listed.iter().all(|t| to_the_minute(&t.added)), "{listed:?}");
    // Re-sealed for their new owner: they open for Ada.
    for token in [bobs_own, bobs_swap] {
        assert_eq!(oauth_tokens::access_token(&d, &ada, token).await.unwrap(), "sk_test");
    }
    for gone in [bobs_same, bobs_lost, adas_broken, bobs_altered] {
        assert!(oauth_token::Entity::find_by_id(gone).one(&d.db).await.unwrap().is_none());
    }
    // Ada's number runs on Bob's token for that Stripe account now.
    let numbers = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    let on = numbers.iter().find(|n| n.id == adas_number.id).unwrap();
    assert_eq!(on.token.as_ref().map(|t| t.id), Some(bobs_swap), "{on:?}");
    // The number still runs Bob's application, now Ada's, on Ada's token.
    let numbers = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    let on = numbers.iter().find(|n| n.id == number.id).unwrap();
    assert_eq!(on.deployed_to.as_ref().map(|a| a.id), Some(app.id));
    assert_eq!(on.token.as_ref().map(|t| t.id), Some(adas), "{on:?}");
    // The three that never open are in the log, by Ada, with what to do.
    let dropped: Vec<_> = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("oauth_token.deleted"))
        .order_by_asc(activity_event::Column::Id)
        .all(&d.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.target, e.detail))
        .collect();
    let by_ada = |target: &str, what: &str| {
        let detail = format!("it could no longer be opened: {what}");
        ("ada@example.com".to_owned(), target.to_owned(), Some(detail))
    };
    let again = "connect this Stripe account again";
    let replaced = "the one passed on replaces it";
    assert_eq!(
        dropped,
        [
            by_ada("Stripe test acct_lost", again),
            by_ada("Stripe test acct_swap", replaced),
            by_ada("Stripe test acct_altered", again)
        ]
    );
}

#[tokio::test]
async fn lists_of_ids_are_bounded_and_a_long_one_changes_nothing() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    let max = app::domain::core::limits::IDS_MAX;

    let mut changes = vec![OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: carol.user_id(),
    }];
    changes.extend((0..max as i32).map(|i| OwnerChange {
        number_id: -i,
        from_owner_id: 1,
        owner_id: 1,
    }));
    let before = Snapshot::take(&d).await;
    let refused = phone_numbers::save_owners(&d, &admin, &changes).await.unwrap_err();
    assert_eq!(refused.message_for("changes"), Some(format!("At most {max} at a time.")));
    assert_eq!(refused.status(), 422);
    before.assert_unchanged(&d).await;
    let rows = phone_numbers::list(&d, &admin).await.unwrap().rows;
    assert_eq!(rows[0].owner.id, ada.user_id(), "the first change was not applied");

    let library = js_libraries::add(&d, &ada, library("Helpers", "let a = 1;")).await.unwrap();
    let many: Vec<i32> = std::iter::once(library.id).chain(1..=max as i32).collect();
    let before = Snapshot::take(&d).await;
    let refused = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &many, &[]),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.message_for("libraries"), Some(format!("At most {max} at a time.")));
    let refused = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &[], &many),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.message_for("integrations"), Some(format!("At most {max} at a time.")));
    let listed = applications::list(&d, &ada).await.unwrap();
    assert!(listed.rows[0].libraries.is_empty(), "nothing was attached");
    // At the limit it is an ordinary request (here: ids of another account's rows).
    let at_limit: Vec<i32> = (1..=max as i32).collect();
    let answer = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &at_limit, &[]),
    )
    .await;
    assert_eq!(
        answer.unwrap_err().message_for("libraries").as_deref(),
        Some(app::model::LIBRARY_GONE)
    );
    before.assert_unchanged(&d).await;
}

/// Ada's account with one number running the application `name` on one
/// of her OAuth tokens: (domain, Ada, the number's id, the application's
/// id, the token's id).
async fn number_running_on_a_token(name: &str) -> (Domain, Member, i32, i32, i32) {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap().id;
    let app = applications::create(&d, &ada, name).await.unwrap().id;
    deployments::deploy(&d, &ada, number, app).await.unwrap();
    let token = token_of(&d, &ada).await;
    deployments::assign_token(&d, &ada, number, Some(token)).await.unwrap();
    (d, ada, number, app, token)
}

/// A number moved to another application does not take the token chosen
/// for the one it ran: the new application runs with none until its owner
/// chooses one. Deploying it again to the same application keeps it.
#[tokio::test]
async fn a_number_moved_to_another_application_leaves_its_token_behind() {
    let (d, ada, number, payments, token) = number_running_on_a_token("Payments IVR").await;
    let survey = applications::create(&d, &ada, "Survey IVR").await.unwrap().id;
    let listed = |d: Domain, ada: Member| async move {
        let mine = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
        (mine[0].deployed_to.as_ref().map(|a| a.id), mine[0].token.as_ref().map(|t| t.id))
    };
    deployments::deploy(&d, &ada, number, payments).await.unwrap();
    assert_eq!(listed(d.clone(), ada.clone()).await, (Some(payments), Some(token)));
    deployments::deploy(&d, &ada, number, survey).await.unwrap();
    assert_eq!(listed(d.clone(), ada.clone()).await, (Some(survey), None));
    // The activity log says so.
    use app::domain::entity::activity_event;
    use sea_orm::QueryOrder;
    let newest = activity_event::Entity::find().order_by_desc(activity_event::Column::Id);
    let newest = newest.one(&d.db).await.unwrap().unwrap();
    assert_eq!(
        newest.detail.as_deref(),
        Some("from Payments IVR to Survey IVR (its OAuth token taken off)")
    );
}

/// A number deleted while it runs an application with a token takes its
/// deployment and the token's assignment with it (the token itself stays
/// its owner's), on both databases' foreign keys.
#[tokio::test]
async fn a_deleted_number_leaves_no_deployment_or_token_assignment() {
    use app::domain::entity::{deployment, deployment_token, oauth_token};
    use sea_orm::PaginatorTrait;
    let (d, ada, number, _, token) = number_running_on_a_token("IVR").await;
    assert_eq!(deployment_token::Entity::find().count(&d.db).await.unwrap(), 1);
    phone_numbers::release(&d, &ada.admin().unwrap(), number).await.unwrap();
    assert_eq!(deployment::Entity::find().count(&d.db).await.unwrap(), 0);
    assert_eq!(deployment_token::Entity::find().count(&d.db).await.unwrap(), 0);
    assert!(oauth_token::Entity::find_by_id(token).one(&d.db).await.unwrap().is_some());
}

#[tokio::test]
async fn a_number_never_runs_another_accounts_application_or_token() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let adas_number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let eves_app = applications::create(&d, &eve, "Their IVR").await.unwrap();
    let adas_app = applications::create(&d, &ada, "IVR").await.unwrap();
    deployments::deploy(&d, &ada, adas_number.id, adas_app.id).await.unwrap();
    let adas_token = token_of(&d, &ada).await;
    deployments::assign_token(&d, &ada, adas_number.id, Some(adas_token)).await.unwrap();
    let eves_token = token_of(&d, &eve).await;

    let before = Snapshot::take(&d).await;
    let refused = deployments::deploy(&d, &ada, adas_number.id, eves_app.id).await.unwrap_err();
    assert_eq!(
        refused.message_for("application").as_deref(),
        Some("Choose one of your applications.")
    );
    let refused =
        deployments::assign_token(&d, &ada, adas_number.id, Some(eves_token)).await.unwrap_err();
    assert_eq!(refused.message_for("token").as_deref(), Some("Choose one of your OAuth tokens."));
    // Ada's number does not exist for Eve: she can neither move it, take it
    // off its application, nor give it a token (hers, Ada's or none).
    assert_eq!(
        deployments::deploy(&d, &eve, adas_number.id, eves_app.id).await,
        Err(AppError::NotFound)
    );
    assert_eq!(deployments::undeploy(&d, &eve, adas_number.id).await, Err(AppError::NotFound));
    for token in [Some(eves_token), Some(adas_token), None] {
        assert_eq!(
            deployments::assign_token(&d, &eve, adas_number.id, token).await,
            Err(AppError::NotFound),
            "{token:?}"
        );
    }
    before.assert_unchanged(&d).await;
    let adas = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    assert_eq!(adas.len(), 1);
    assert_eq!(adas[0].deployed_to.as_ref().map(|a| a.id), Some(adas_app.id));
    assert_eq!(adas[0].token.as_ref().map(|t| t.id), Some(adas_token));
    // Nor can she read Ada's token.
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let before_token = Snapshot::take(&d).await;
    assert_eq!(oauth_tokens::access_token(&d, &eve, adas_token).await, Err(AppError::NotFound));
    // Nor can another user of Ada's own account.
    assert_eq!(oauth_tokens::access_token(&d, &carol, adas_token).await, Err(AppError::NotFound));
    before_token.assert_unchanged(&d).await;
}

/// Another account's JS library does not exist for a user: it can be
/// neither edited nor deleted, not even with "detach" confirmed.
#[tokio::test]
async fn another_accounts_library_is_neither_edited_nor_deleted() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let lib = js_libraries::add(&d, &ada, library("Greeting", "1")).await.unwrap();
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(None, &[lib.id], &[]),
    )
    .await
    .unwrap();

    let before = Snapshot::take(&d).await;
    let edited = js_libraries::update(&d, &eve, lib.id, library("Mine now", "2")).await;
    assert_eq!(edited.err(), Some(AppError::NotFound));
    for detach_from in [used_by(&[], 0), used_by(&["IVR"], 0)] {
        let deleted = js_libraries::delete(&d, &eve, lib.id, &detach_from).await;
        assert_eq!(deleted, Err(AppError::NotFound));
    }
    before.assert_unchanged(&d).await;
    let listed = js_libraries::list(&d, &ada).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].used_by.clone()),
        ("Greeting", used_by(&["IVR"], 0))
    );
}

/// A deploy and an unshare of its application at the same moment: the number
/// never ends up running an application its owner can no longer see.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unshare_at_the_moment_of_a_deploy_leaves_no_deployment_behind() {
    let (d, _) = fresh_concurrent_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let carol = add_user(&d, ada.account_id(), "carol@example.com", false).await;
    let admin = ada.admin().unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let to_carol = OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: carol.user_id(),
    };
    phone_numbers::save_owners(&d, &admin, &[to_carol]).await.unwrap();
    let app = applications::create(&d, &ada, "Shared IVR").await.unwrap();
    for round in 0..20 {
        applications::share(&d, &ada, app.id, carol.user_id()).await.unwrap();
        let deploy = {
            let (d, carol) = (d.clone(), carol.clone());
            tokio::spawn(async move { deployments::deploy(&d, &carol, number.id, app.id).await })
        };
        let unshare = {
            let (d, ada, carol_id) = (d.clone(), ada.clone(), carol.user_id());
            tokio::spawn(async move { applications::unshare(&d, &ada, app.id, carol_id).await })
        };
        let deployed = deploy.await.unwrap();
        unshare.await.unwrap().unwrap();
        if let Err(refused) = &deployed {
            assert!(refused.message_for("application").is_some(), "{refused:?}");
        }
        let mine = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
        assert_eq!(mine[0].deployed_to, None, "round {round}: {deployed:?}");
    }
}

/// Each copy has a name of its own among its owner's applications, within
/// the name's limit, listed in order under the original; another owner's
/// copies take no number from them.
#[tokio::test]
async fn copies_are_numbered_and_keep_their_suffix_within_the_limit() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    let first = applications::clone(&d, &ada, ivr.id).await.unwrap();
    let names = [
        first.name.clone(),
        applications::clone(&d, &ada, ivr.id).await.unwrap().name,
        // A copy of a copy is numbered from the same base.
        applications::clone(&d, &ada, first.id).await.unwrap().name,
    ];
    assert_eq!(names, ["IVR copy", "IVR copy 2", "IVR copy 3"]);
    let listed: Vec<String> =
        applications::list(&d, &ada).await.unwrap().rows.into_iter().map(|a| a.name).collect();
    assert_eq!(listed, ["IVR", "IVR copy", "IVR copy 2", "IVR copy 3"]);
    // A number freed by a deletion is used again.
    let second = applications::list(&d, &ada).await.unwrap();
    let second = second.rows.iter().find(|a| a.name == "IVR copy 2").unwrap().id;
    applications::delete(&d, &ada, second).await.unwrap();
    assert_eq!(applications::clone(&d, &ada, ivr.id).await.unwrap().name, "IVR copy 2");
    // Another owner's first copy is their "copy", whatever Ada's are called.
    let cy = add_user(&d, ada.account_id(), "cy@example.com", true).await;
    let cys = applications::create(&d, &cy, "IVR").await.unwrap();
    assert_eq!(applications::clone(&d, &cy, cys.id).await.unwrap().name, "IVR copy");

    let long = "L".repeat(validation::NAME_MAX);
    let long = applications::create(&d, &ada, &long).await.unwrap();
    let first = applications::clone(&d, &ada, long.id).await.unwrap().name;
    let again = applications::clone(&d, &ada, long.id).await.unwrap().name;
    assert!(first.ends_with("L copy") && again.ends_with("L copy 2"), "{first} {again}");
    assert_eq!(first.chars().count(), validation::NAME_MAX);
    assert_eq!(again.chars().count(), validation::NAME_MAX);
}

/// Names that lists and pickers show must tell things apart: one's own
/// applications, and the account's JS libraries (every application's
/// settings list them all), are refused a name already used, capitals and
/// spaces aside. Nothing changes with the refusal; other owners and other
/// accounts are free to use it.
#[tokio::test]
async fn application_and_library_names_are_not_used_twice() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", true).await;
    let eve = account_with_admin(&d, "Evil", "eve@example.com").await;
    applications::create(&d, &ada, "Main IVR").await.unwrap();
    let utils = js_libraries::add(&d, &ada, library("utils", "1")).await.unwrap();
    let other = js_libraries::add(&d, &ada, library("dates", "1")).await.unwrap();

    let before = Snapshot::take(&d).await;
    for name in ["Main IVR", "main ivr", " MAIN IVR "] {
        let refused = applications::create(&d, &ada, name).await.err().unwrap();
        assert_eq!(refused.message_for("name").as_deref(), Some(applications::NAME_TAKEN));
    }
    let same_account = js_libraries::add(&d, &cy, library("Utils", "2")).await.err().unwrap();
    assert_eq!(same_account.message_for("name").as_deref(), Some(js_libraries::NAME_TAKEN));
    let renamed = js_libraries::update(&d, &ada, other.id, library("UTILS", "1")).await;
    assert_eq!(
        renamed.err().unwrap().message_for("name").as_deref(),
        Some(js_libraries::NAME_TAKEN)
    );
    before.assert_nothing_counted(&d).await;

    // Another owner's applications, another account's libraries.
    applications::create(&d, &cy, "Main IVR").await.unwrap();
    js_libraries::add(&d, &eve, library("utils", "1")).await.unwrap();
    // A library keeps its own name, in other capitals too.
    let kept = js_libraries::update(&d, &ada, utils.id, library("Utils", "2")).await.unwrap();
    assert_eq!(kept.name, "Utils");
    // One that already shares its name (two of one name from before names
    // were checked) is still edited under it.
    let twin = js_library::ActiveModel {
        account_id: Set(ada.account_id()),
        owner_id: Set(cy.user_id()),
        name: Set("utils".into()),
        description: Set(String::new()),
        code: Set("1".into()),
        created_at: Set(d.clock.now()),
        updated_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    let edited = js_libraries::update(&d, &cy, twin.id, library("utils", "3")).await.unwrap();
    assert_eq!(js_libraries::code(&d, &cy, edited.id).await.unwrap(), "3");
}

/// Only the owner renames an application (in its settings); a name another
/// of theirs has is refused and changes nothing, a change of capitals is a
/// rename, and the same name records no rename.
#[tokio::test]
async fn an_owner_renames_an_application_to_a_name_not_taken() {
    use app::domain::entity::activity_event;
    use app::model::ActivityKind;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let carol = member_with(&d, ada.account_id(), "carol@example.com", true, true).await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    applications::create(&d, &ada, "Hotline").await.unwrap();
    applications::share(&d, &ada, ivr.id, carol.user_id()).await.unwrap();
    let carols = applications::create(&d, &carol, "Main line").await.unwrap();
    let eve = account_with_admin(&d, "Other", "eve@example.com").await;

    let before = Snapshot::take(&d).await;
    let refusals = [
        (
            applications::save_settings(
                &d,
                &ada,
                ivr.id,
                applications::SettingsForm::new(Some(" hotline "), &[], &[]),
            )
            .await,
            "name",
            applications::NAME_TAKEN,
        ),
        (
            applications::save_settings(
                &d,
                &ada,
                ivr.id,
                applications::SettingsForm::new(Some("  "), &[], &[]),
            )
            .await,
            "name",
            "Name is required.",
        ),
    ];
    for (refused, field, message) in refusals {
        assert_eq!(refused.err().unwrap().message_for(field).as_deref(), Some(message));
    }
    // Shared with Carol: she sees it, but it stays Ada's to name.
    let not_hers = applications::save_settings(
        &d,
        &carol,
        ivr.id,
        applications::SettingsForm::new(Some("Carol's"), &[], &[]),
    )
    .await;
    assert_eq!(not_hers, Err(AppError::Forbidden(OWNER_ONLY.into())));
    // Another account's, or another user's not shared: not found.
    assert_eq!(
        applications::save_settings(
            &d,
            &eve,
            ivr.id,
            applications::SettingsForm::new(Some("Eve's"), &[], &[])
        )
        .await,
        Err(AppError::NotFound)
    );
    assert_eq!(
        applications::save_settings(
            &d,
            &ada,
            carols.id,
            applications::SettingsForm::new(Some("Ada's"), &[], &[])
        )
        .await,
        Err(AppError::NotFound)
    );
    before.assert_unchanged(&d).await;

    let renames = || {
        activity_event::Entity::find()
            .filter(activity_event::Column::Kind.eq(ActivityKind::ApplicationRenamed.as_str()))
            .order_by_desc(activity_event::Column::Id)
    };
    // The same name again is no rename (the ticks are saved as ever).
    let same = applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(Some("IVR"), &[], &[]),
    )
    .await;
    assert_eq!(same.unwrap().name, "IVR");
    assert_eq!(renames().count(&d.db).await.unwrap(), 0);
    let renamed = applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(Some(" Main IVR "), &[], &[]),
    );
    let renamed = renamed.await.unwrap();
    assert_eq!((renamed.id, renamed.name.as_str()), (ivr.id, "Main IVR"));
    assert_eq!(renames().count(&d.db).await.unwrap(), 1);
    let event = renames().one(&d.db).await.unwrap().unwrap();
    assert_eq!((event.target.as_str(), event.detail.as_deref()), ("Main IVR", Some("from IVR")));
    // Capitals alone are a rename; the share and the owner stay.
    let capitals = applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(Some("MAIN IVR"), &[], &[]),
    )
    .await
    .unwrap();
    assert_eq!(capitals.name, "MAIN IVR");
    assert_eq!(capitals.shared_with.iter().map(|u| u.id).collect::<Vec<_>>(), [carol.user_id()]);
    let seen = applications::list(&d, &carol).await.unwrap().rows;
    assert!(seen.iter().any(|a| a.id == ivr.id && a.name == "MAIN IVR"));
}

/// A refused name spends no change: with three changes an hour, two creates
/// and a rename go through however many taken names were refused between
/// them, and only the fourth change is refused for the count.
#[tokio::test]
async fn a_refused_name_spends_no_change() {
    use app::domain::core::quota::QuotaPolicy;
    let (mut d, _) = fresh_domain().await;
    d.quotas = QuotaPolicy::default().with_overrides("change.actor=4/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    applications::create(&d, &ada, "Hotline").await.unwrap();
    let before = Snapshot::take(&d).await;
    for _ in 0..5 {
        let created = applications::create(&d, &ada, " hotline").await.err().unwrap();
        assert_eq!(created.message_for("name").as_deref(), Some(applications::NAME_TAKEN));
        let saved = applications::save_settings(
            &d,
            &ada,
            ivr.id,
            applications::SettingsForm::new(Some("HOTLINE"), &[], &[]),
        )
        .await;
        assert_eq!(
            saved.err().unwrap().message_for("name").as_deref(),
            Some(applications::NAME_TAKEN)
        );
    }
    before.assert_unchanged(&d).await;
    // Two changes spent (the creates), the third and fourth are this
    // rename and its settings; another is over the limit, and changes
    // nothing either.
    applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(Some("Main IVR"), &[], &[]),
    )
    .await
    .unwrap();
    let before = Snapshot::take(&d).await;
    let spent = applications::save_settings(
        &d,
        &ada,
        ivr.id,
        applications::SettingsForm::new(Some("IVR"), &[], &[]),
    )
    .await;
    assert!(matches!(spent, Err(AppError::TooManyRequests(_))), "{spent:?}");
    before.assert_unchanged(&d).await;
}

/// The same delete sent several times at once (a double click, a retry):
/// one removes the row and records it; the others are told it is gone and
/// record nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_sent_at_once_delete_and_record_once() {
    use app::domain::entity::activity_event;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let app = applications::create(&d, &ada, "IVR").await.unwrap().id;
    let library = js_libraries::add(&d, &ada, library("Greeting", "let a = 1;")).await.unwrap().id;
    let integration = s3_integration(&d, &ada, "Recordings").await;
    for (kind, id) in [
        ("application.deleted", app),
        ("js_library.deleted", library),
        ("integration.deleted", integration),
    ] {
        let deletes: Vec<_> = (0..6)
            .map(|_| {
                let (d, ada) = (d.clone(), ada.clone());
                tokio::spawn(async move {
                    let none = used_by(&[], 0);
                    match kind {
                        "application.deleted" => applications::delete(&d, &ada, id).await,
                        "js_library.deleted" => js_libraries::delete(&d, &ada, id, &none).await,
                        _ => integrations::delete(&d, &ada.admin().unwrap(), id, &none).await,
                    }
                })
            })
            .collect();
        let mut deleted = 0;
        for delete in deletes {
            match delete.await.unwrap() {
                Ok(()) => deleted += 1,
                Err(refused) => assert_eq!(refused, AppError::NotFound, "{kind}"),
            }
        }
        assert_eq!(deleted, 1, "{kind}");
        let recorded = activity_event::Entity::find()
            .filter(activity_event::Column::Kind.eq(kind))
            .count(&d.db)
            .await
            .unwrap();
        assert_eq!(recorded, 1, "{kind}");
    }
}

/// An edit that keeps a library's name, racing a rename of it and a new
/// library taking the old name: however they interleave, no two libraries
/// of the account end up with one name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_racing_a_rename_never_leaves_two_libraries_of_one_name() {
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    // SQLite's one writer rarely lets them interleave; PostgreSQL does.
    for round in 0..60 {
        let (old, new) = (format!("Old {round}"), format!("New {round}"));
        let a = js_libraries::add(&d, &ada, library(&old, "let a = 1;")).await.unwrap().id;
        let edit = {
            let (d, ada, old) = (d.clone(), ada.clone(), old.clone());
            tokio::spawn(async move {
                js_libraries::update(&d, &ada, a, library(&old, "let a = 2;")).await
            })
        };
        let rename_and_take = {
            let (d, ada, old) = (d.clone(), ada.clone(), old.clone());
            tokio::spawn(async move {
                js_libraries::update(&d, &ada, a, library(&new, "let a = 1;")).await.unwrap();
                js_libraries::add(&d, &ada, library(&old, "let b = 1;")).await
            })
        };
        // Each is done, or refused for the name alone (the other took it).
        for (what, done) in [("edit", edit.await.unwrap()), ("add", rename_and_take.await.unwrap())]
        {
            if let Err(refused) = done {
                let said = refused.message_for("name");
                assert_eq!(
                    said.as_deref(),
                    Some(js_libraries::NAME_TAKEN),
                    "round {round}: {what}"
                );
            }
        }
        let listed = js_libraries::list(&d, &ada).await.unwrap();
        let named_old = listed.iter().filter(|l| l.name == old).count();
        assert!(named_old <= 1, "round {round}: {named_old} libraries named {old}");
    }
}

/// A create or a clone waiting for the account's lock behind an admin who
/// takes Can Create away is refused once that commits: the permission is
/// read again under the lock. (SQLite runs one transaction at a time, so
/// PostgreSQL is the run where they really wait on the lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_waiting_behind_can_create_being_taken_away_are_refused() {
    use app::domain::entity::{activity_event, application};
    use sea_orm::PaginatorTrait;
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, false).await;
    let ivr = applications::create(&d, &bob, "IVR").await.unwrap();
    let events = activity_event::Entity::find().count(&d.db).await.unwrap();
    // Bob's row aside, which the removal changes.
    let before = Snapshot::take_except(&d, &["users"]).await;

    let removal =
        change_user_under_lock(&d, bob.user_id(), |bob| bob.can_create = Set(false)).await;
    let create = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { applications::create(&d, &bob, "Billing").await }
    });
    let clone = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { applications::clone(&d, &bob, ivr.id).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 2).await;
    removal.commit().await.unwrap();

    let refused = Some(AppError::Forbidden(NEEDS_CAN_CREATE.into()));
    assert_eq!(create.await.unwrap().err(), refused);
    assert_eq!(clone.await.unwrap().err(), refused);
    before.assert_unchanged(&d).await;
    let names: Vec<String> =
        application::Entity::find().all(&d.db).await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["IVR"]);
    // Their counts are spent (counted before the lock, as every change is),
    // but no event says they happened.
    assert_eq!(activity_event::Entity::find().count(&d.db).await.unwrap(), events);
}

/// A delete waiting for the account's lock behind a rename records the
/// name the application had when it was deleted, not the one read before
/// the wait. (PostgreSQL is the run where it really waits, as above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_waiting_behind_a_rename_records_the_new_name() {
    use app::domain::entity::{activity_event, application};
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let ivr = applications::create(&d, &ada, "IVR").await.unwrap();
    let rename = change_user_under_lock(&d, ada.user_id(), |_| {}).await;
    application::Entity::update_many()
        .col_expr(application::Column::Name, sea_orm::sea_query::Expr::value("Main IVR"))
        .filter(application::Column::Id.eq(ivr.id))
        .exec(&rename)
        .await
        .unwrap();
    let delete = tokio::spawn({
        let (d, ada) = (d.clone(), ada.clone());
        async move { applications::delete(&d, &ada, ivr.id).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 1).await;
    rename.commit().await.unwrap();
    delete.await.unwrap().unwrap();
    let last = activity_event::Entity::find()
        .order_by_desc(activity_event::Column::Id)
        .one(&d.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((last.kind.as_str(), last.target.as_str()), ("application.deleted", "Main IVR"));
}

/// A member's changes waiting for the account's lock behind an admin
/// disabling them are refused once that commits: a disabled user acts no
/// more. (PostgreSQL is the run where they really wait, as above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_waiting_behind_their_users_disabling_are_refused() {
    use app::domain::entity::{certificate, deployment, deployment_token};
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, false).await;
    let app = applications::create(&d, &bob, "IVR").await.unwrap();
    let lib = js_libraries::add(&d, &bob, library("Greeting", "function hi() {}")).await.unwrap();
    // Two numbers of Bob's, one deployed already, and a token of his.
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let op = Operator::from_command_line();
    operator::set_plan(&d, &op, "ada@example.com", Plan::Full).await.unwrap();
    let admin = ada.admin().unwrap();
    let deployed = phone_numbers::request(&d, &admin).await.unwrap();
    let spare = phone_numbers::request(&d, &admin).await.unwrap();
    let changes: Vec<OwnerChange> = [deployed.id, spare.id]
        .iter()
        .map(|&number_id| OwnerChange {
            number_id,
            from_owner_id: ada.user_id(),
            owner_id: bob.user_id(),
        })
        .collect();
    phone_numbers::save_owners(&d, &admin, &changes).await.unwrap();
    deployments::deploy(&d, &bob, deployed.id, app.id).await.unwrap();
    let token = token_of(&d, &bob).await;
    let (key, cert) = certificate_for("api.acme.com");
    // The users' table changes: Bob is disabled.
    let before = Snapshot::take_except(&d, &["users"]).await;

    let disabled = Some(chrono::Utc::now());
    let held =
        change_user_under_lock(&d, bob.user_id(), |bob| bob.disabled_at = Set(disabled)).await;
    let add = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { js_libraries::add(&d, &bob, library("Farewell", "function bye() {}")).await }
    });
    let edit = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { js_libraries::update(&d, &bob, lib.id, library("Renamed", "x")).await }
    });
    let save = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move {
            applications::save_settings(
                &d,
                &bob,
                app.id,
                applications::SettingsForm::new(Some("IVR 2"), &[], &[]),
            )
            .await
        }
    });
    let deploy = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { deployments::deploy(&d, &bob, spare.id, app.id).await }
    });
    let assign = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { deployments::assign_token(&d, &bob, deployed.id, Some(token)).await }
    });
    let certify = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        let input = app::domain::features::certificates::NewCertificate {
            domain: "api.acme.com".into(),
            certificate: cert,
            private_key: key,
        };
        async move { app::domain::features::certificates::add(&d, &bob, input).await.map(|_| ()) }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 6).await;
    held.commit().await.unwrap();

    assert_eq!(add.await.unwrap().err(), Some(AppError::Unauthenticated));
    assert_eq!(edit.await.unwrap().err(), Some(AppError::Unauthenticated));
    assert_eq!(save.await.unwrap().err(), Some(AppError::Unauthenticated));
    assert_eq!(deploy.await.unwrap(), Err(AppError::Unauthenticated));
    assert_eq!(assign.await.unwrap(), Err(AppError::Unauthenticated));
    assert_eq!(certify.await.unwrap(), Err(AppError::Unauthenticated));
    // Nothing but the disabling changed (their counts are spent before the
    // lock, as every change's is).
    let libraries = js_library::Entity::find().all(&d.db).await.unwrap();
    let names: Vec<_> = libraries.iter().map(|l| (l.name.as_str(), l.code.as_str())).collect();
    assert_eq!(names, [("Greeting", "function hi() {}")]);
    let apps = app::domain::entity::application::Entity::find().all(&d.db).await.unwrap();
    assert_eq!(apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["IVR"]);
    let deployed_numbers: Vec<i32> = deployment::Entity::find()
        .all(&d.db)
        .await
        .unwrap()
        .iter()
        .map(|d| d.phone_number_id)
        .collect();
    assert_eq!(deployed_numbers, [deployed.id]);
    assert_eq!(deployment_token::Entity::find().all(&d.db).await.unwrap(), []);
    assert_eq!(certificate::Entity::find().all(&d.db).await.unwrap(), []);
    assert_eq!(before.new_events(&d).await, Vec::<String>::new());
    before.assert_unchanged(&d).await;
}

/// An integration's edit waiting behind its deletion by another admin is
/// told it is gone (it failed as a server error: the update found no row).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_integration_edit_behind_its_deletion_is_told_it_is_gone() {
    use app::domain::core::scope::lock_account;
    use app::domain::entity::integration;
    use sea_orm::TransactionTrait;
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bucket = s3_integration(&d, &ada, "Recordings").await;
    let before = Snapshot::take_except(&d, &["integrations"]).await;
    let deleting = d.db.begin().await.unwrap();
    lock_account(&deleting, ada.account_id()).await.unwrap();
    integration::Entity::delete_by_id(bucket).exec(&deleting).await.unwrap();
    let edit = tokio::spawn({
        let (d, admin) = (d.clone(), ada.admin().unwrap());
        async move { integrations::update(&d, &admin, bucket, "Archive", "", None).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 1).await;
    deleting.commit().await.unwrap();
    assert_eq!(edit.await.unwrap().err(), Some(AppError::NotFound));
    assert_eq!(integration::Entity::find().all(&d.db).await.unwrap(), []);
    assert_eq!(before.new_events(&d).await, Vec::<String>::new(), "no rename recorded");
    before.assert_unchanged(&d).await;
}

/// A confirmation naming more applications than one account can hold came
/// from no dialog: it is refused before the account's lock is taken (a
/// made-up list of any length was read under it), and nothing changes.
#[tokio::test]
async fn a_confirmation_longer_than_an_account_can_hold_is_refused() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let lib = js_libraries::add(&d, &ada, library("Greeting", "function hi() {}")).await.unwrap();
    let bucket = s3_integration(&d, &ada, "Recordings").await;
    let most = d.holdings.applications as usize;
    let flood = app::model::UsedBy { names: vec!["IVR".into(); most], others: 1 };
    // A count that would wrap to a small number is as long as can be.
    let wrapping = app::model::UsedBy { names: vec!["IVR".into(); 2], others: usize::MAX };
    let before = Snapshot::take(&d).await;
    let admin = ada.admin().unwrap();
    for confirmed in [&flood, &wrapping] {
        for refused in [
            js_libraries::delete(&d, &ada, lib.id, confirmed).await.err().unwrap(),
            integrations::delete(&d, &admin, bucket, confirmed).await.err().unwrap(),
        ] {
            let said = refused.message_for("detach_from").unwrap_or_else(|| panic!("{refused:?}"));
            assert_eq!(said, "This account has 0 applications: a confirmation names no more.");
        }
    }
    before.assert_unchanged(&d).await;
    // As long as an account can hold, it is read as before.
    let full = app::model::UsedBy { names: vec!["IVR".into(); most], others: 0 };
    js_libraries::delete(&d, &ada, lib.id, &full).await.unwrap();
    integrations::delete(&d, &admin, bucket, &full).await.unwrap();
}

/// The same for deletes, which need no permission: a departing user's
/// queued deletes (an application, a share, a library, a certificate, an
/// OAuth token) do nothing once their disabling commits. Deleting or
/// unsharing a shared application also ends other users' deployments.
#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn deletes_waiting_behind_their_users_disabling_are_refused() {
    use app::domain::features::certificates::{self, NewCertificate};
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, true).await;
    let app = applications::create(&d, &bob, "IVR").await.unwrap();
    let shared = applications::create(&d, &bob, "Shared").await.unwrap();
    applications::share(&d, &bob, shared.id, ada.user_id()).await.unwrap();
    let lib = js_libraries::add(&d, &bob, library("Greeting", "function hi() {}")).await.unwrap();
    let (key, cert) = certificate_for("api.acme.com");
    let input =
        NewCertificate { domain: "api.acme.com".into(), certificate: cert, private_key: key };
    let cert = certificates::add(&d, &bob, input).await.unwrap();
    let token = token_of(&d, &bob).await;
    let before = Snapshot::take_except(&d, &["users"]).await;

    let disabled = Some(chrono::Utc::now());
    let held =
        change_user_under_lock(&d, bob.user_id(), |bob| bob.disabled_at = Set(disabled)).await;
    let spawn = |delete: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), AppError>> + Send>,
    >| { tokio::spawn(delete) };
    let (d2, b) = (d.clone(), bob.clone());
    let deletes = vec![
        spawn(Box::pin(async move { applications::delete(&d2, &b, app.id).await })),
        spawn(Box::pin({
            let (d, b, ada) = (d.clone(), bob.clone(), ada.user_id());
            async move { applications::unshare(&d, &b, shared.id, ada).await.map(drop) }
        })),
        spawn(Box::pin({
            let (d, b) = (d.clone(), bob.clone());
            async move { js_libraries::delete(&d, &b, lib.id, &Default::default()).await }
        })),
        spawn(Box::pin({
            let (d, b) = (d.clone(), bob.clone());
            async move { certificates::delete(&d, &b, cert.id).await }
        })),
        spawn(Box::pin({
            let (d, b) = (d.clone(), bob.clone());
            async move { oauth_tokens::delete(&d, &b, token).await }
        })),
    ];
    app::domain::testing::wait_for_lock_waiters(&d, 5).await;
    held.commit().await.unwrap();
    for (n, delete) in deletes.into_iter().enumerate() {
        assert_eq!(delete.await.unwrap(), Err(AppError::Unauthenticated), "delete {n}");
    }
    before.assert_unchanged(&d).await;
}

/// A user's deletes (an application, a library, a certificate) that wait
/// behind their own deletion, which hands what they owned to the admin, are
/// refused once it commits: what they name is the admin's now, not the
/// leaving user's to delete. (The hand-over is
/// made by hand here, in a transaction held open while the deletes queue;
/// `users::delete` makes it under the same lock. SQLite runs one
/// transaction at a time, so PostgreSQL is the run where they really wait.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_waiting_behind_a_hand_over_leave_the_admins_inheritance() {
    use app::domain::core::scope::lock_account;
    use app::domain::entity::application;
    use sea_orm::TransactionTrait;
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, false).await;
    let app = applications::create(&d, &bob, "IVR").await.unwrap();
    let lib = js_libraries::add(&d, &bob, library("Greeting", "function hi() {}")).await.unwrap();
    let (key, cert) = certificate_for("api.acme.com");
    let cert = app::domain::features::certificates::NewCertificate {
        domain: "api.acme.com".into(),
        certificate: cert,
        private_key: key,
    };
    let cert = app::domain::features::certificates::add(&d, &bob, cert).await.unwrap();
    let token = token_of(&d, &bob).await;

    let leaving = user::Entity::find_by_id(bob.user_id()).one(&d.db).await.unwrap().unwrap();
    let before = Snapshot::take(&d).await;
    let held = d.db.begin().await.unwrap();
    lock_account(&held, ada.account_id()).await.unwrap();
    applications::hand_over(&held, &leaving, ada.user_id()).await.unwrap();
    js_libraries::hand_over(&held, bob.user_id(), ada.user_id()).await.unwrap();
    app::domain::features::certificates::hand_over(&held, bob.user_id(), ada.user_id())
        .await
        .unwrap();
    let (_, dropped) =
        oauth_tokens::hand_over(&d, &held, bob.user_id(), ada.user_id()).await.unwrap();
    let token_deleted = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { oauth_tokens::delete(&d, &bob, token).await }
    });
    let cert_deleted = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { app::domain::features::certificates::delete(&d, &bob, cert.id).await }
    });
    let app_deleted = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { applications::delete(&d, &bob, app.id).await }
    });
    let lib_deleted = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { js_libraries::delete(&d, &bob, lib.id, &used_by(&[], 0)).await }
    });
    app::domain::testing::wait_for_lock_waiters(&d, 4).await;
    held.commit().await.unwrap();
    dropped.disconnect_unless_held(&d).await;

    assert_eq!(token_deleted.await.unwrap(), Err(AppError::NotFound));
    let token = app::domain::entity::oauth_token::Entity::find_by_id(token).one(&d.db).await;
    assert_eq!(token.unwrap().unwrap().owner_id, ada.user_id());
    // Certificates are the account's to see: one its adder no longer owns
    // is refused as another user's.
    let refused = cert_deleted.await.unwrap().unwrap_err();
    assert!(matches!(&refused, AppError::Forbidden(m) if m.starts_with("Only the user who added")));
    let cert = app::domain::entity::certificate::Entity::find_by_id(cert.id).one(&d.db).await;
    assert_eq!(cert.unwrap().unwrap().added_by, ada.user_id());
    assert_eq!(app_deleted.await.unwrap(), Err(AppError::NotFound));
    assert_eq!(lib_deleted.await.unwrap(), Err(AppError::NotFound));
    let app = application::Entity::find_by_id(app.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(app.owner_id, ada.user_id());
    let lib = js_library::Entity::find_by_id(lib.id).one(&d.db).await.unwrap().unwrap();
    assert_eq!(lib.owner_id, ada.user_id());
    // Nothing else changed either: no event says they were deleted.
    assert_eq!(before.new_events(&d).await, Vec::<String>::new());
}

/// A share at the moment its user is deleted or disabled: refused beside the
/// field (never a failure of the server's), or made before, never after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_share_racing_its_users_removal_is_refused_or_came_first() {
    use app::domain::entity::activity_event;
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let (d, _) = fresh_concurrent_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let app = applications::create(&d, &ada, "IVR").await.unwrap();
    for round in 0..20 {
        let carol =
            add_user(&d, ada.account_id(), &format!("carol{round}@example.com"), false).await;
        let share = {
            let (d, ada, to) = (d.clone(), ada.clone(), carol.user_id());
            tokio::spawn(async move { applications::share(&d, &ada, app.id, to).await })
        };
        let removal = {
            let (d, admin, id) = (d.clone(), admin.clone(), carol.user_id());
            tokio::spawn(async move {
                if round % 2 == 0 {
                    users::delete(&d, &admin, id).await
                } else {
                    users::disable(&d, &admin, id).await.map(|_| ())
                }
            })
        };
        let shared = share.await.unwrap();
        removal.await.unwrap().unwrap();
        match &shared {
            Ok(_) => {
                // Then it came first: its event is older than the removal's.
                let kinds: Vec<String> = activity_event::Entity::find()
                    .filter(activity_event::Column::Kind.is_in([
                        "application.shared",
                        "user.deleted",
                        "user.disabled",
                    ]))
                    .order_by_desc(activity_event::Column::Id)
                    .all(&d.db)
                    .await
                    .unwrap()
                    .into_iter()
                    .take(2)
                    .map(|e| e.kind)
                    .collect();
                assert_ne!(kinds[0], "application.shared", "round {round}: shared after");
            }
            Err(refused) => {
                assert!(refused.message_for("user").is_some(), "round {round}: {refused:?}")
            }
        }
    }
}

/// A library's owner is told which of their own applications use it, and
/// only how many others do: the names of applications the Applications tab
/// does not show them stay unsaid, in the list and in the delete's question.
#[tokio::test]
async fn a_librarys_owner_is_not_told_the_names_of_applications_they_cannot_see() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", true, false).await;
    let lib = js_libraries::add(&d, &bob, library("Greeting", "1")).await.unwrap();
    let mine = applications::create(&d, &bob, "Bob's IVR").await.unwrap();
    applications::save_settings(
        &d,
        &bob,
        mine.id,
        applications::SettingsForm::new(None, &[lib.id], &[]),
    )
    .await
    .unwrap();
    let hidden = applications::create(&d, &ada, "Merger plans").await.unwrap();
    applications::save_settings(
        &d,
        &ada,
        hidden.id,
        applications::SettingsForm::new(None, &[lib.id], &[]),
    )
    .await
    .unwrap();

    let listed = js_libraries::list(&d, &bob).await.unwrap();
    let seen = used_by(&["Bob's IVR"], 1);
    assert_eq!(listed[0].used_by, seen);
    let before = Snapshot::take(&d).await;
    let asked = js_libraries::delete(&d, &bob, lib.id, &used_by(&[], 0)).await.unwrap_err();
    let AppError::Conflict(question) = asked else { panic!("{asked:?}") };
    assert_eq!(
        question,
        "Greeting is used by Bob's IVR and 1 other application. Confirm to detach it from those \
         applications and delete it."
    );
    before.assert_unchanged(&d).await;
    js_libraries::delete(&d, &bob, lib.id, &seen).await.unwrap();
    let left = applications::list(&d, &ada).await.unwrap().rows;
    assert!(left.iter().all(|app| app.libraries.is_empty()), "detached from both");
}

/// An application shared with more users than one statement may name
/// (SQLite's 32,766 parameters) still lists, for its owner, who sees every
/// sharer, and for a user it is shared with, who sees the owner alone.
#[tokio::test]
async fn an_application_shared_with_thousands_lists_for_its_owner_and_its_users() {
    use app::domain::entity::application_share;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let app = applications::create(&d, &ada, "Main line").await.unwrap();
    applications::share(&d, &ada, app.id, bob.user_id()).await.unwrap();
    let people =
        (0..33_000).map(|i| ("Seeded".into(), format!("User {i}"), format!("u{i}@example.com")));
    app::domain::testing::seed_users(&d, ada.account_id(), people).await;
    let seeded: Vec<i32> = user::Entity::find()
        .filter(user::Column::Email.like("u%@example.com"))
        .all(&d.db)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    for chunk in seeded.chunks(1_000) {
        let shares = chunk.iter().map(|user_id| application_share::ActiveModel {
            application_id: Set(app.id),
            user_id: Set(*user_id),
        });
        application_share::Entity::insert_many(shares).exec_without_returning(&d.db).await.unwrap();
    }
    let owners = applications::list(&d, &ada).await.unwrap();
    assert_eq!(owners.rows.len(), 1);
    assert_eq!(owners.rows[0].shared_with.len(), 33_001);
    let bobs = applications::list(&d, &bob).await.unwrap();
    assert_eq!(bobs.rows.len(), 1);
    assert_eq!(bobs.rows[0].owner.id, ada.user_id());
    assert!(bobs.rows[0].shared_with.is_empty(), "only the owner sees the share list");
}

/// A number sent twice in one save (Ada to Bob, then Bob to Carol) ends
/// with the save's last owner, and keeps what that owner may use: its
/// application, shared with Carol and not with Bob, stays deployed.
#[tokio::test]
async fn a_number_passed_on_twice_in_one_save_keeps_what_its_last_owner_may_use() {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = member_with(&d, ada.account_id(), "bob@example.com", false, false).await;
    let carol = member_with(&d, ada.account_id(), "carol@example.com", false, false).await;
    let admin = ada.admin().unwrap();
    let app = applications::create(&d, &ada, "Main line").await.unwrap();
    applications::share(&d, &ada, app.id, carol.user_id()).await.unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    deployments::deploy(&d, &ada, number.id, app.id).await.unwrap();
    let adas_token = token_of(&d, &ada).await;
    deployments::assign_token(&d, &ada, number.id, Some(adas_token)).await.unwrap();
    let before = Snapshot::take(&d).await;
    let change = |from: &Member, to: &Member| OwnerChange {
        number_id: number.id,
        from_owner_id: from.user_id(),
        owner_id: to.user_id(),
    };
    phone_numbers::save_owners(&d, &admin, &[change(&ada, &bob), change(&bob, &carol)])
        .await
        .unwrap();
    let carols = phone_numbers::owned_by_me(&d, &carol).await.unwrap();
    assert_eq!(carols.len(), 1);
    assert_eq!(carols[0].deployed_to.as_ref().map(|a| a.id), Some(app.id));
    assert!(phone_numbers::owned_by_me(&d, &bob).await.unwrap().is_empty());
    let moved = format!("phone_number.owner_changed {}", number.e164);
    assert_eq!(before.new_events(&d).await, [moved.clone(), moved]);
    // Ada's token came off once, on the event of its last owner.
    assert!(carols[0].token.is_none());
    assert_eq!(
        last_details(&d, 2).await,
        [
            Some("from ada@example.com to bob@example.com".to_owned()),
            Some("from bob@example.com to carol@example.com; its OAuth token taken off".to_owned())
        ]
    );

    // On to Ada, then to Bob, who cannot see the application: it stopped
    // running it once, for Bob, and the save says so once.
    let saved = phone_numbers::save_owners(&d, &admin, &[change(&carol, &ada), change(&ada, &bob)])
        .await
        .unwrap();
    let stopped = app::model::StoppedDeployment {
        number: number.e164.clone(),
        application: "Main line".into(),
    };
    assert_eq!(saved.stopped, [stopped]);
    // Said on the event of the change to Bob, not on the one to Ada.
    let to_bob = "from ada@example.com to bob@example.com; off Main line, which they cannot see";
    assert_eq!(
        last_details(&d, 2).await,
        [Some("from carol@example.com to ada@example.com".to_owned()), Some(to_bob.to_owned())]
    );
}

/// The details of the last `n` events, oldest first.
async fn last_details(d: &Domain, n: u64) -> Vec<Option<String>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut details: Vec<Option<String>> = activity_event::Entity::find()
        .order_by_desc(activity_event::Column::Id)
        .limit(n)
        .all(&d.db)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.detail)
        .collect();
    details.reverse();
    details
}

/// "2026-11-22 09:00 UTC", as the console gives a time: not a bare day.
fn to_the_minute(shown: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(shown, "%Y-%m-%d %H:%M UTC").is_ok()
}
