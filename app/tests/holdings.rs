//! How many of each thing an account keeps at most (`limits::Holdings`; the
//! certificates' share is in certificates.rs): one more is refused with the
//! reason and changes nothing, deleting one makes room, and two adds at once
//! cannot both take the last place.
use app::domain::core::limits::Holdings;
use app::domain::core::Domain;
use app::domain::features::applications;
use app::domain::features::integrations::{self, NewIntegration};
use app::domain::features::js_libraries::{self, LibraryForm};
use app::domain::identity::developer_keys;
use app::domain::testing::samples::{AWS_KEY, AWS_SECRET};
use app::domain::testing::{
    account_with_admin, add_user, fresh_concurrent_domain, fresh_domain, s3_integration, Snapshot,
    PASSWORD,
};
use app::model::AppError;

fn library(name: &str) -> LibraryForm {
    LibraryForm { name: name.into(), description: String::new(), code: "1".into() }
}

/// The refusal of one more, with nothing changed by it; returns its message.
async fn refused_as_full<T: std::fmt::Debug>(
    d: &Domain,
    what: &str,
    add: impl AsyncFnOnce() -> Result<T, AppError>,
) -> String {
    let before = Snapshot::take(d).await;
    let message = match add().await {
        Err(AppError::Conflict(message)) => message,
        other => panic!("one more {what} was not refused: {other:?}"),
    };
    assert!(message.contains(what) && message.contains("the most"), "{message}");
    before.assert_unchanged(d).await;
    message
}

#[tokio::test]
async fn each_kind_stops_at_its_most_and_deleting_one_makes_room() {
    let (mut d, _) = fresh_domain().await;
    d.holdings = Holdings {
        integrations: 1,
        certificates: 1,
        js_libraries: 2,
        applications: 2,
        developer_keys: 1,
        // Checked in the OAuth flow (server/tests/oauth.rs).
        oauth_tokens: 1,
        phone_numbers: 2,
    };
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();

    let first = s3_integration(&d, &ada, "Recordings").await;
    let s3 = || NewIntegration {
        service: "s3".into(),
        name: "Archive".into(),
        key: AWS_KEY.into(),
        secret: AWS_SECRET.into(),
        ..Default::default()
    };
    refused_as_full(&d, "integrations", async || integrations::add(&d, &admin, s3()).await).await;
    integrations::delete(&d, &admin, first, &app::domain::testing::used_by(&[], 0)).await.unwrap();
    integrations::add(&d, &admin, s3()).await.unwrap();

    js_libraries::add(&d, &ada, library("One")).await.unwrap();
    let two = js_libraries::add(&d, &ada, library("Two")).await.unwrap().id;
    let three = async || js_libraries::add(&d, &ada, library("Three")).await;
    refused_as_full(&d, "JS libraries", three).await;
    js_libraries::delete(&d, &ada, two, &app::domain::testing::used_by(&[], 0)).await.unwrap();
    js_libraries::add(&d, &ada, library("Three")).await.unwrap();

    // A copy is one more application too.
    let app = applications::create(&d, &ada, "Hotline").await.unwrap().id;
    applications::clone(&d, &ada, app).await.unwrap();
    refused_as_full(&d, "applications", async || applications::create(&d, &ada, "More").await)
        .await;
    refused_as_full(&d, "applications", async || applications::clone(&d, &ada, app).await).await;

    let key = developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await.unwrap();
    let another = async || developer_keys::generate(&d, &ada, "Laptop", PASSWORD, "").await;
    refused_as_full(&d, "developer keys", another).await;
    developer_keys::revoke(&d, &ada, key.row.id).await.unwrap();
    developer_keys::generate(&d, &ada, "Laptop", PASSWORD, "").await.unwrap();

    // Numbers on the full plan (a demo account holds one: phone_numbers.rs).
    use app::domain::core::actor::Operator;
    use app::domain::core::{limits::Plan, provisioning};
    use app::domain::features::phone_numbers;
    provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
    let op = Operator::from_command_line();
    app::domain::operator::set_plan(&d, &op, "ada@example.com", Plan::Full).await.unwrap();
    let first = phone_numbers::request(&d, &admin).await.unwrap();
    phone_numbers::request(&d, &admin).await.unwrap();
    refused_as_full(&d, "phone numbers", async || phone_numbers::request(&d, &admin).await).await;
    phone_numbers::release(&d, &admin, first.id).await.unwrap();
    phone_numbers::request(&d, &admin).await.unwrap();
}

/// The account's share is the account's, whoever adds: Ada's and Bob's
/// libraries (and applications) together fill it, and then neither may add
/// one more, each told the account holds as many as it may. A developer key
/// is its user's own: Ada holding all she may leaves Grace's room as it was.
#[tokio::test]
async fn the_accounts_share_counts_every_users_rows() {
    use app::domain::entity::user;
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    let (mut d, _) = fresh_domain().await;
    d.holdings.js_libraries = 2;
    d.holdings.applications = 2;
    d.holdings.developer_keys = 1;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let found = user::Entity::find_by_id(bob.user_id()).one(&d.db).await.unwrap().unwrap();
    let mut can_create = found.into_active_model();
    can_create.can_create = Set(true);
    can_create.update(&d.db).await.unwrap();
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;

    js_libraries::add(&d, &ada, library("Ada's")).await.unwrap();
    js_libraries::add(&d, &bob, library("Bob's")).await.unwrap();
    for me in [&ada, &bob] {
        let third = async || js_libraries::add(&d, me, library("Third")).await;
        let said = refused_as_full(&d, "has 2 JS libraries", third).await;
        // Only an owner deletes one: each is told what is theirs.
        assert!(said.contains("You own 1 of them: delete one of yours, or ask"), "{said}");
    }
    // Grace owns none of them, so she is not told to delete one.
    let graces = async || js_libraries::add(&d, &grace, library("Grace's")).await;
    let said = refused_as_full(&d, "has 2 JS libraries", graces).await;
    assert!(said.contains("None of them is yours, and only its owner can delete one"), "{said}");

    applications::create(&d, &ada, "Ada's").await.unwrap();
    applications::create(&d, &bob, "Bob's").await.unwrap();
    for me in [&ada, &bob] {
        let third = async || applications::create(&d, me, "Third").await;
        refused_as_full(&d, "has 2 applications", third).await;
    }

    developer_keys::generate(&d, &ada, "CI", PASSWORD, "").await.unwrap();
    let another = async || developer_keys::generate(&d, &ada, "Laptop", PASSWORD, "").await;
    refused_as_full(&d, "developer keys", another).await;
    let graces = developer_keys::generate(&d, &grace, "CI", PASSWORD, "").await.unwrap();
    assert_eq!(developer_keys::list(&d, &grace).await.unwrap(), [graces.row]);
}

/// Several adds at the same moment, one place left: exactly one gets it
/// (on PostgreSQL each add has its own connection, so they really overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adds_at_the_same_moment_cannot_both_take_the_last_place() {
    let (mut d, _) = fresh_concurrent_domain().await;
    d.holdings.js_libraries = 1;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (d, ada) = (d.clone(), ada.clone());
            tokio::spawn(
                async move { js_libraries::add(&d, &ada, library(&format!("L{i}"))).await },
            )
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(AppError::Conflict(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(added, 1);
    assert_eq!(js_libraries::list(&d, &ada).await.unwrap().len(), 1);
}

/// A user's developer keys, made at the same moment: with one place left
/// only one is made, and of two asking for one name only one gets it (two
/// keys of one name could not be told apart in the list). The account's
/// lock is held while they start, so that all four have checked the
/// password and wait on it together: otherwise the password checks, one
/// at a time, spread them out. (SQLite runs one transaction at a time, so
/// PostgreSQL is the run where they really wait on the lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_made_at_the_same_moment_take_one_place_and_one_name() {
    use app::domain::core::scope::lock_account;
    use sea_orm::TransactionTrait;
    let (mut d, _) = fresh_concurrent_domain().await;
    d.holdings.developer_keys = 2;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let at_once = async |names: [&'static str; 4]| {
        let held = d.db.begin().await.unwrap();
        lock_account(&held, ada.account_id()).await.unwrap();
        let tasks = names.map(|name| {
            let (d, ada) = (d.clone(), ada.clone());
            tokio::spawn(
                async move { developer_keys::generate(&d, &ada, name, PASSWORD, "").await },
            )
        });
        app::domain::testing::wait_for_lock_waiters(&d, 4).await;
        held.commit().await.unwrap();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    };

    let same_name = at_once(["CI", "ci", "CI", " CI "]).await;
    assert_eq!(same_name.iter().filter(|r| r.is_ok()).count(), 1, "{same_name:?}");
    for refused in same_name.iter().filter_map(|r| r.as_ref().err()) {
        let message = refused.message_for("name").unwrap_or_default();
        assert!(message.starts_with(developer_keys::KEY_NAME_TAKEN), "{refused:?}");
    }

    let last_place = at_once(["One", "Two", "Three", "Four"]).await;
    assert_eq!(last_place.iter().filter(|r| r.is_ok()).count(), 1, "{last_place:?}");
    for refused in last_place.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(refused, AppError::Conflict(m) if m.contains("the most")), "{refused:?}");
    }
    let listed = developer_keys::list(&d, &ada).await.unwrap();
    assert_eq!(listed.len(), 2);
}

/// An account at its most links (each of its 500 applications with all of
/// its 200 libraries: 100,000 rows) still lists both tabs. The ids the links
/// name, repeated, were more than either database takes as parameters of one
/// statement.
#[tokio::test]
async fn an_account_full_of_links_still_lists_its_applications_and_libraries() {
    use sea_orm::{ConnectionTrait, Statement};
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let (apps, libraries) = (d.holdings.applications, d.holdings.js_libraries);
    let backend = d.db.get_database_backend();
    let now = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?1" };
    let (account, owner) = (ada.account_id(), ada.user_id());
    let numbers = |n: u64| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})")
    };
    for sql in [
        format!(
            "{} INSERT INTO js_libraries (account_id, owner_id, name, description, code, \
             created_at, updated_at) SELECT {account}, {owner}, 'lib' || i, '', '1', {now}, {now} \
             FROM n",
            numbers(libraries)
        ),
        format!(
            "{} INSERT INTO applications (account_id, owner_id, name, created_at) \
             SELECT {account}, {owner}, 'app' || i, {now} FROM n",
            numbers(apps)
        ),
    ] {
        let values = [chrono::Utc::now().into()];
        d.db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap();
    }
    d.db.execute_unprepared(
        "INSERT INTO application_libraries (application_id, library_id) \
         SELECT a.id, l.id FROM applications a CROSS JOIN js_libraries l",
    )
    .await
    .unwrap();

    let listed = js_libraries::list(&d, &ada).await.unwrap();
    assert_eq!(listed.len() as u64, libraries);
    assert!(listed.iter().all(|l| l.used_by.names.len() as u64 == apps));
    let listed = applications::list(&d, &ada).await.unwrap();
    assert_eq!(listed.rows.len() as u64, apps);
    assert!(listed.rows.iter().all(|a| a.libraries.len() as u64 == libraries));
}
