//! Fixtures for tests of the domain and of the server: a fresh database per
//! test and users inserted with a precomputed password hash (hashing costs
//! tens of milliseconds; tests need many users).
//!
//! The database is SQLite in memory unless `DATABASE_URL` names a PostgreSQL
//! server, in which case each call creates a new database on it; the same
//! test binaries run against both.
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set};

use crate::domain::core::actor::Member;
use crate::domain::core::clock::ManualClock;
use crate::domain::core::crypto::{hash_now, random_bytes};
use crate::domain::core::db;
use crate::domain::core::people::NewUser;
use crate::domain::core::Domain;
use crate::domain::entity::account;
use crate::domain::identity::log_in;
use crate::domain::identity::sessions::NewSession;
use crate::model::AppError;

/// The password every fixture user has.
pub const PASSWORD: &str = "Velvet-Otter-Sunrise-42";

/// A mail folder nothing is delivered to, for the jobs that take the
/// server's transport (the clean-up prunes the embedded default's folder).
pub fn unused_mail_folder() -> crate::domain::core::mail::Transport {
    let dir = std::env::temp_dir().join(format!("console-no-mail-{}", std::process::id()));
    crate::domain::core::mail::Transport::Folder(dir)
}

pub fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_now(PASSWORD)).clone()
}

/// A domain over a fresh, migrated database, with a clock the test controls.
pub async fn fresh_domain() -> (Domain, ManualClock) {
    domain_on(&fresh_database_url().await).await
}

/// A domain over the database at `url` (e.g. a SQLite file a test inspects).
pub async fn domain_on(url: &str) -> (Domain, ManualClock) {
    let db = db::connect(url).await.expect("connect and migrate the test database");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap());
    let keyring = Arc::new(crate::domain::core::secrets::Secrets::fixed(
        crate::domain::core::secrets::Keyring::generate(),
    ));
    let mut d = Domain::new(db, Arc::new(clock.clone()), keyring);
    // Tests look for a reset's email as soon as it is asked for.
    d.reply_before_sending = false;
    (d, clock)
}

/// Like [`fresh_domain`], but with a pool of connections that really run at
/// the same time: a fresh SQLite file (not `:memory:`, which allows one
/// connection) unless `DATABASE_URL` names a PostgreSQL server.
pub async fn fresh_concurrent_domain() -> (Domain, ManualClock) {
    domain_on(&fresh_shared_database_url().await).await
}

/// A fresh database that several connections, or several processes, can
/// open at once: a new database on the PostgreSQL server `DATABASE_URL`
/// names, else a new SQLite file.
pub async fn fresh_shared_database_url() -> String {
    let url = fresh_database_url().await;
    if url.starts_with("postgres") {
        return url;
    }
    let name = hex::encode(random_bytes::<8>());
    let path = std::env::temp_dir().join(format!("console-test-{name}.db"));
    format!("sqlite://{}?mode=rwc", path.display())
}

async fn fresh_database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!("test_{}", hex::encode(random_bytes::<8>()));
            let admin = Database::connect(&server).await.expect("connect to the PostgreSQL server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            admin.close().await.ok();
            let (base, _) = server.rsplit_once('/').expect("DATABASE_URL ends in /dbname");
            format!("{base}/{name}")
        }
        _ => "sqlite::memory:".into(),
    }
}

/// Credentials that pass validation, with recognisable secret material.
pub mod samples {
    pub const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    pub const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// A line of [`DIALOGFLOW_KEY`]'s secret material, to look for where it
    /// must never be.
    pub const PRIVATE_KEY_MATERIAL: &str =
        "7hguHwFxLdDMoKlF2SF8OkOvxmsPrGxG3WhhQ+o7BMsDXyBs+ubsqEKW8JQTcp2V";
    /// A real RSA key, made for these tests and used nowhere else: the
    /// Dialogflow config's key is parsed, not only its PEM lines checked.
    pub const DIALOGFLOW_KEY: &str = "\
        -----BEGIN PRIVATE KEY-----\n\
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCdgr9mWLEoaOHB\n\
        7hguHwFxLdDMoKlF2SF8OkOvxmsPrGxG3WhhQ+o7BMsDXyBs+ubsqEKW8JQTcp2V\n\
        Gxg597O2je89S2r3Q4Lj3jf37RV0jtnQyvEUaDaGM1U0BavM31DQyBMYPoba0Kbg\n\
        b3YcZyCEid+F2OPFtwn94dbQVDTL/wl/FeSGDOU+GlAQSnR+qndTSkMqqpKbVBhU\n\
        E0ckLvoyEBud0vtCJoYvMNzU/T+f/FCQrEdbCGiRe13xQC8NpxEQlDlAamfxngB/\n\
        hluBOfzyC9c9FFgGEw/tx96dWn6lg2J4tty7a4+GvYSo+1pnKhjR5HDihd8QSCk4\n\
        f6KCoCkNAgMBAAECggEAPj4uuJkP2PIpVGNsNr2V6k26l0Jd4fY930N+//Ue1aDD\n\
        YPWZi+Y0p4HrX7e1rpsvqhGLzu3e9hhy4TtFxZJ2+Ar6oXQuHuwUy0tDPrv3oIna\n\
        1UF9Jx1PfpTGdLpQ+7K70uVddlUvIUUWzNX/DJZMKVP6eoAM8lK0phkatFSyUHIn\n\
        MihAoZSc7pM3VVuxcaNZHwqKRC0pZzH7FzrQpFENX504hlZvnUc3mZmh3e2ZCbmz\n\
        h/qQB0p0Bh3sjd0Mp7NGQm8CO0nXrUmgBx6fui2mJfybPZlSpXvEUmk5sr7WP1nq\n\
        XLFsT32VdtnbkBg6hDtCJ1f227Gdny9asznfH455GQKBgQDUMa/zLsJd/rzs7Olv\n\
        jyXHKPLxvliia4PBZDg5SInrktubsA7sVCd+30mAhcEiIVRVIIu0msA9Ifhrxl6/\n\
        zncu/DMYBGMlW2HMXsmifEZdL0nSd3+QYe7h6dADviCn2pR+NlNv0fS56YWVZd4+\n\
        1PzTP68ppYMOvax5LTkAC3QOAwKBgQC+BxUOcaHOpQAN+9Q/+ZzmEu/Zc9aZIvMh\n\
        uWkP9lE8Zv5UM8LukbjWPDh2O25DBk9IOjGxohGckqmwMpMzN9VWaIwGG3d23fKH\n\
        MYj/E2jbLD4P+rJ91RFSO21YoN3R/Jz86AW+8qiBtN61iN0laW7xhgJKL/pb6Oin\n\
        JFGVbE2HrwKBgAT0LAFnZA5BtjNpzIFYPC+MGy/dm8Ae9nJ7Xnyn3uBrC0l1MMP/\n\
        qvRhThv8A2hCku9x1REgU8CZnG0XsnqT3WBxbtfuskna+kuFIvvyHspqIjURqR67\n\
        ypHnnX2Y4LZKehEAP65qnmYAt6enOysIWeaso/A69vZPI0mo7p27prf1AoGAOFaV\n\
        MZES7dcRaxPsW4M/tx6KKagkSYaJGsiDk43ti8DlSkWGV4CwkiOMgdEg4ZIvUzSd\n\
        oxJvskHxOSHlblvxTgr06KKgCofG7boL6cPxZHl7dPVYkeHnnr+rrYkT+ruwN3L6\n\
        sR/0QXBETwHivsLBd63JZAFRcopc36Du5yQS4FUCgYEAsv9BpZZcKxO5jlEdGBiZ\n\
        NKt135b6GD/NQsP3+3AJhUwGuz+gB5Gekag3O0FUh1yJkBQ46TqvWlbU2Ii1H+4a\n\
        nP4BOrrU7t686bVqByOT1SgypkMcRABAU2VW6W0lRgaBbArHzwHIswv0lKOml+zQ\n\
        loOJQrQVJzpuNF4m//pAF5A=\n\
        -----END PRIVATE KEY-----\n";

    pub fn dialogflow_config() -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "voice-bot-123",
            "private_key_id": "abc123",
            "private_key": DIALOGFLOW_KEY,
            "client_email": "bot@voice-bot-123.iam.gserviceaccount.com",
            "client_id": "1234567890",
        })
        .to_string()
    }
}

/// A log-in by password alone, from no known address, straight to its
/// session: for tests of what follows a log-in. A user with 2FA on is
/// refused, as they must give a code ([`log_in::complete_second_factor`]).
pub async fn log_in_by_password(
    d: &Domain,
    email: &str,
    password: &str,
    user_agent: &str,
) -> Result<NewSession, AppError> {
    log_in::log_in(d, email, password, user_agent, None).await?.into_session()
}

/// A new account with one admin (first name "Ada"), as sign-up would make it.
pub async fn account_with_admin(d: &Domain, company: &str, email: &str) -> Member {
    let account = account::ActiveModel {
        company_name: Set(company.into()),
        plan: Set("demo".into()),
        created_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .expect("insert account");
    add_user(d, account.id, email, true).await
}

/// An S3 integration named `name` with the sample credentials, added by the
/// admin `admin`; returns its id.
pub async fn s3_integration(d: &Domain, admin: &Member, name: &str) -> i32 {
    use crate::domain::features::integrations::{self, NewIntegration};
    let input = NewIntegration {
        service: "s3".into(),
        name: name.into(),
        key: samples::AWS_KEY.into(),
        secret: samples::AWS_SECRET.into(),
        ..Default::default()
    };
    let admin = admin.admin().expect("an admin adds integrations");
    integrations::add(d, &admin, input).await.expect("add an integration").id
}

/// The tables whose entity declares `field` (e.g. `"pub account_id:"`), read
/// from the source: for tests that a command covers every such table.
pub fn tables_whose_entity_has(field: &str) -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain/entity");
    std::fs::read_dir(dir)
        .expect("read the entity folder")
        .filter_map(|entry| {
            let source = std::fs::read_to_string(entry.ok()?.path()).ok()?;
            if !source.contains(field) {
                return None;
            }
            let at = source.find("table_name = \"")? + "table_name = \"".len();
            Some(source[at..at + source[at..].find('"')?].to_owned())
        })
        .collect()
}

/// Another user in an existing account, with [`PASSWORD`], first named by
/// their address ("bob@…" is Bob Lovelace), so tests tell users apart by name.
pub async fn add_user(d: &Domain, account_id: i32, email: &str, is_admin: bool) -> Member {
    let now = d.clock.now();
    let local = email.split('@').next().unwrap_or_default();
    let mut letters = local.chars();
    let first_name =
        letters.next().map_or(String::new(), |c| c.to_uppercase().chain(letters).collect());
    let user = NewUser {
        account_id,
        email: email.to_lowercase(),
        first_name,
        last_name: "Lovelace".into(),
        password_hash: Some(password_hash()),
        is_admin,
        can_create: is_admin,
        can_share: is_admin,
        email_verified_at: Some(now),
    }
    .insert(&d.db, now)
    .await
    .expect("insert user");
    Member::new(user.id, user.account_id, user.is_admin)
}

/// Makes the user's address unverified again, by hand: states the domain no
/// longer reaches from a verified user (an address never confirmed).
pub async fn mark_unverified(d: &Domain, user_id: i32) {
    use crate::domain::entity::user;
    use sea_orm::EntityTrait;
    let found = user::Entity::find_by_id(user_id).one(&d.db).await.expect("read a user");
    let mut row: user::ActiveModel = found.expect("the user exists").into();
    row.email_verified_at = Set(None);
    row.update(&d.db).await.expect("mark the user unverified");
}

/// Marks the user's second factor on, by hand and unrecorded: for tests of
/// what is done to a user who has one, not of turning it on.
pub async fn mark_two_factor_on(d: &Domain, user_id: i32) {
    use crate::domain::entity::user;
    use sea_orm::EntityTrait;
    let found = user::Entity::find_by_id(user_id).one(&d.db).await.expect("read a user");
    let mut row: user::ActiveModel = found.expect("the user exists").into();
    row.two_factor_enabled = Set(true);
    row.update(&d.db).await.expect("mark the user's second factor on");
}

/// Many users at once in `account_id`, named `(first, last, email)`, with
/// [`PASSWORD`], every tenth still invited: for benchmarks and tests that
/// need thousands. A batch insert does not run the entity's `before_save`, so
/// the derived columns are filled here the same way.
pub async fn seed_users(
    d: &Domain,
    account_id: i32,
    people: impl IntoIterator<Item = (String, String, String)>,
) {
    use crate::domain::entity::user;
    use sea_orm::EntityTrait;
    let hash = password_hash();
    let now = d.clock.now();
    let rows: Vec<user::ActiveModel> = people
        .into_iter()
        .enumerate()
        .map(|(i, (first, last, email))| {
            let derived = user::Derived::of(&first, &last, &email);
            let invited = i % 10 == 9;
            user::ActiveModel {
                account_id: Set(account_id),
                search_grams: Set(derived.search_grams),
                search_text: Set(derived.search_text),
                name_key: Set(derived.name_key),
                email: Set(email.to_lowercase()),
                first_name: Set(first),
                last_name: Set(last),
                password_hash: Set((!invited).then(|| hash.clone())),
                status: Set(if invited { user::INVITED } else { user::ACTIVE }.into()),
                is_admin: Set(false),
                can_create: Set(false),
                can_share: Set(false),
                two_factor_enabled: Set(false),
                created_at: Set(now),
                email_verified_at: Set(Some(now)),
                ..Default::default()
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        user::Entity::insert_many(chunk.to_vec()).exec(&d.db).await.expect("seed users");
    }
}

/// Every row of every table, as text (the counts of attempts aside, see
/// [`counts_an_attempt`]): taken before a call that must be
/// refused and compared after it, so a refusal test shows that nothing
/// changed, in the refused account, in any other, or in the outbox.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    tables: std::collections::BTreeMap<&'static str, Vec<String>>,
    /// The counts of attempts (see [`counts_an_attempt`]) by key, with the
    /// start of their window: a refused call may add to one or start its
    /// window anew once it is over, never lower or remove one.
    attempts: std::collections::BTreeMap<String, (DateTime<Utc>, i32)>,
    /// The newest event's id, for [`Snapshot::new_events`].
    last_event: crate::model::EventId,
    except: Vec<&'static str>,
}

/// Whether `key` (a `quota_counters` key) counts a sign-in, a password
/// check, an address looked up, a member's change or a new password judged.
/// Each is counted before it is made, whatever its outcome, so a call refused
/// after one (a wrong password, a wrong code after the right password, a
/// disabled user, an address taken, another account's row) has rightly moved
/// it; `auth.rs`, `security.rs`, `user_admin.rs` and `trust.rs` test these
/// counts on their own. A snapshot keeps them apart and compares them as
/// counts that only grow, so a call that took an attempt back (a reset that
/// would reopen guessing) still fails its test.
fn counts_an_attempt(key: &str) -> bool {
    use crate::domain::core::quota::Action;
    [
        Action::SignIn,
        Action::PasswordCheck,
        Action::AddressLookup,
        Action::Change,
        Action::PasswordStrength,
    ]
    .iter()
    .any(|action| key.strip_prefix(action.key()).is_some_and(|rest| rest.starts_with(':')))
}

/// Whether a `quota_counters` row, as a snapshot writes it, is such a count.
fn is_attempt_row(row: &str) -> bool {
    row.split_once("key: \"").is_some_and(|(_, key)| counts_an_attempt(key))
}

/// The newest event's id (0: none yet).
async fn last_event(d: &Domain) -> crate::model::EventId {
    use crate::domain::entity::activity_event as event;
    use sea_orm::{EntityTrait, QueryOrder};
    let newest = event::Entity::find().order_by_desc(event::Column::Id).one(&d.db).await;
    newest.expect("read the newest event").map_or(0, |e| e.id)
}

/// The events after `after`, oldest first.
async fn new_events(
    d: &Domain,
    after: crate::model::EventId,
) -> Vec<crate::domain::entity::activity_event::Model> {
    use crate::domain::entity::activity_event as event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let after = event::Entity::find().filter(event::Column::Id.gt(after));
    after.order_by_asc(event::Column::Id).all(&d.db).await.expect("read the events")
}

/// The counts of attempts now, by key.
async fn attempts(d: &Domain) -> std::collections::BTreeMap<String, (DateTime<Utc>, i32)> {
    use crate::domain::entity::quota_counter;
    use sea_orm::EntityTrait;
    let rows = quota_counter::Entity::find().all(&d.db).await.expect("read the counts");
    let rows = rows.into_iter().filter(|r| counts_an_attempt(&r.key));
    rows.map(|r| (r.key, (r.window_started_at, r.count))).collect()
}

/// The tables a snapshot reads: every entity (`app/tests/snapshot.rs` fails
/// when one is added without being listed here).
macro_rules! snapshot_tables {
    ($($entity:ident),* $(,)?) => {
        pub const SNAPSHOT_ENTITIES: &[&str] = &[$(stringify!($entity)),*];

        impl Snapshot {
            /// All rows now, but those of `except` (tables a refusal is meant
            /// to change, such as `login_failures`, which counts it).
            pub async fn take_except(d: &Domain, except: &[&'static str]) -> Snapshot {
                use sea_orm::{EntityName, EntityTrait};
                let mut tables = std::collections::BTreeMap::new();
                $(
                    let name = crate::domain::entity::$entity::Entity.table_name();
                    if !except.contains(&name) {
                        let rows = crate::domain::entity::$entity::Entity::find()
                            .all(&d.db)
                            .await
                            .expect("read a table for a snapshot");
                        let mut rows: Vec<String> = rows
                            .iter()
                            .map(|r| format!("{r:?}"))
                            .filter(|row| !(name == "quota_counters" && is_attempt_row(row)))
                            .collect();
                        rows.sort();
                        tables.insert(name, rows);
                    }
                )*
                let attempts = if except.contains(&"quota_counters") {
                    Default::default()
                } else {
                    attempts(d).await
                };
                let last_event = last_event(d).await;
                Snapshot { tables, attempts, last_event, except: except.to_vec() }
            }
        }
    };
}

snapshot_tables!(
    account,
    activity_event,
    application,
    application_integration,
    application_library,
    application_share,
    certificate,
    deployment,
    deployment_token,
    developer_key,
    email_outbox,
    email_token,
    integration,
    invitation_decline,
    js_library,
    local_number_pool,
    login_challenge,
    login_failure,
    oauth_state,
    oauth_token,
    phone_number,
    quota_counter,
    recovery_code,
    secret_key,
    session,
    shared_setting,
    two_factor,
    user,
);

/// The text of a queued email, opened as the mail worker opens it.
pub fn body_of(d: &Domain, email: &crate::domain::entity::email_outbox::Model) -> String {
    crate::domain::core::mail::body(&d.secrets.keyring(), email).expect("the body opens")
}

/// The token of the `path` link in the newest email to `to` that has one
/// (as the recipient would open it).
pub async fn link_token(d: &Domain, to: &str, path: &str) -> String {
    use crate::domain::entity::email_outbox as outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let emails = outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq(to))
        .order_by_desc(outbox::Column::Id)
        .all(&d.db)
        .await
        .expect("read the outbox");
    let marker = format!("{}{path}?token=", d.public_url);
    let body = emails
        .iter()
        .map(|e| body_of(d, e))
        .find(|body| body.contains(&marker))
        .unwrap_or_else(|| panic!("no email to {to} with a {path} link"));
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..].split_whitespace().next().unwrap_or_default().to_owned()
}

/// Takes the account's lock in a transaction left open and changes the
/// user `user_id` in it, as an admin's change would: for a test whose
/// changes then queue behind it (see [`wait_for_lock_waiters`]) until it
/// commits.
pub async fn change_user_under_lock(
    d: &Domain,
    user_id: i32,
    change: impl FnOnce(&mut crate::domain::entity::user::ActiveModel),
) -> sea_orm::DatabaseTransaction {
    use crate::domain::entity::user;
    use sea_orm::{EntityTrait, IntoActiveModel};
    let held = d.begin().await.expect("begin");
    let row = user::Entity::find_by_id(user_id).one(&held).await.expect("read").expect("a user");
    crate::domain::core::scope::lock_account(&held, row.account_id).await.expect("lock");
    let mut row = row.into_active_model();
    change(&mut row);
    row.update(&held).await.expect("change the user");
    held
}

/// Waits until `n` statements wait on a row lock, for a test that holds an
/// account's lock while changes queue behind it. PostgreSQL only: SQLite
/// runs one transaction at a time, so there a short sleep lets the changes
/// start.
pub async fn wait_for_lock_waiters(d: &Domain, n: i64) {
    use sea_orm::ConnectionTrait;
    if d.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return;
    }
    // Another of the pool's connections may read while the lock is held.
    let waiting = "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let mut seen = 0;
    for _ in 0..100 {
        let statement = sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, waiting);
        let row = d.db.query_one_raw(statement).await.expect("count the waiting statements");
        seen = row.expect("a count").try_get_by_index::<i64>(0).expect("a number");
        if seen == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} statements should wait for the lock, {seen} do");
}

/// The plan the database makes for `statement`, one line per step. On
/// PostgreSQL sequential scans and sorts are switched off first (made the
/// last resort): on tiny test tables reading a few rows and sorting them is
/// cheapest, and what matters is that an index can serve the query, in its
/// order. A plan that still scans or sorts has no index that could.
pub async fn query_plan(d: &Domain, statement: sea_orm::Statement) -> String {
    use sea_orm::{DatabaseBackend, Statement};
    let backend = d.db.get_database_backend();
    let txn = d.begin().await.expect("begin");
    let (prefix, column) = match backend {
        DatabaseBackend::Postgres => {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.expect("no seqscan");
            txn.execute_unprepared("SET LOCAL enable_sort = off").await.expect("no sort");
            ("EXPLAIN ", "QUERY PLAN")
        }
        _ => ("EXPLAIN QUERY PLAN ", "detail"),
    };
    let explain = Statement::from_sql_and_values(
        backend,
        format!("{prefix}{}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = txn.query_all_raw(explain).await.expect("explain a query");
    let lines: Vec<String> =
        rows.iter().map(|r| r.try_get::<String>("", column).expect("a plan line")).collect();
    txn.rollback().await.expect("rollback");
    lines.join("\n")
}

/// The bytes of an authenticator secret as the setup page shows it (RFC 4648
/// base32), so a test can compute codes as the user's app would.
pub fn base32_decode(text: &str) -> Vec<u8> {
    let (mut bits, mut count, mut out) = (0u64, 0, Vec::new());
    for c in text.chars() {
        bits = (bits << 5) | "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c).expect("base32") as u64;
        count += 5;
        if count >= 8 {
            out.push((bits >> (count - 8)) as u8);
            count -= 8;
        }
    }
    out
}

impl Snapshot {
    /// All rows of every table now.
    pub async fn take(d: &Domain) -> Snapshot {
        Snapshot::take_except(d, &[]).await
    }

    /// Each event recorded since the snapshot, oldest first, as its kind and
    /// target ("sign_in.failed bob@example.com"): what a snapshot that leaves
    /// `activity_events` out checks instead.
    pub async fn new_events(&self, d: &Domain) -> Vec<String> {
        let events = new_events(d, self.last_event).await;
        events.into_iter().map(|e| format!("{} {}", e.kind, e.target)).collect()
    }

    /// Panics, naming the tables that differ, unless the database is as it was.
    pub async fn assert_unchanged(&self, d: &Domain) {
        let now = Snapshot::take_except(d, &self.except).await;
        let mut changed: Vec<String> = self
            .tables
            .iter()
            .filter(|(table, rows)| now.tables.get(*table) != Some(*rows))
            .map(|(table, rows)| {
                format!("{table}: before {rows:#?}\nafter {:#?}", now.tables.get(table))
            })
            .collect();
        for (key, before) in &self.attempts {
            let window = d.quotas.limits().iter().find_map(|limit| {
                let prefix = format!("{}:{}:", limit.action.key(), limit.per.key());
                key.starts_with(&prefix).then_some(limit.window)
            });
            let kept = match now.attempts.get(key) {
                Some(after) if after.0 == before.0 => after.1 >= before.1,
                // A window starts anew only once the one before is over.
                Some(after) => {
                    after.0 > before.0 && window.is_none_or(|w| before.0 + w <= d.clock.now())
                }
                None => false,
            };
            if !kept {
                let after = now.attempts.get(key);
                changed.push(format!("the count {key} went from {before:?} to {after:?}"));
            }
        }
        assert!(changed.is_empty(), "a refused call changed the database:\n{}", changed.join("\n"));
    }

    /// [`Snapshot::assert_unchanged`], and not one attempt counted either
    /// (none added to, none started): for a call refused before anything
    /// is counted, such as a field left empty or a rule checked first, so
    /// a stolen session's refused tries cannot spend its owner's counts.
    pub async fn assert_nothing_counted(&self, d: &Domain) {
        assert!(!self.except.contains(&"quota_counters"), "a snapshot without the counts");
        self.assert_unchanged(d).await;
        let now = Snapshot::take_except(d, &self.except).await;
        assert_eq!(now.attempts, self.attempts, "a call refused before any count counted");
    }
}

/// The applications a Delete dialog names: `names`, and `others` unnamed.
pub fn used_by(names: &[&str], others: usize) -> crate::model::UsedBy {
    crate::model::UsedBy { names: names.iter().map(|n| n.to_string()).collect(), others }
}
