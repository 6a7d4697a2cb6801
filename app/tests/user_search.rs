//! Search through the index finds exactly what a `LIKE` over the whole
//! account finds, in the same order, page after page: whichever way a term
//! is served (the first rows in order, or the search index), on SQLite and
//! on PostgreSQL.
use app::domain::admin::users;
use app::domain::core::actor::Admin;
use app::domain::core::directory;
use app::domain::entity::user;
use app::domain::features::phone_numbers;
use app::domain::testing::{account_with_admin, fresh_domain, seed_users};
use app::domain::Domain;
use app::model::{UserSort, UserState};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};

/// More users than the rows a search reads before it turns to the index.
const USERS: usize = 2_600;
const FIRST_NAMES: [&str; 6] = ["Ann", "Élodie", "Zoë", "Bob", "Anna_Maria", "Per%cent"];

#[tokio::test]
async fn search_finds_what_a_scan_of_the_account_finds_in_the_same_order() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    // Another account's user holds the rare terms: never found from Acme.
    account_with_admin(&d, "Other", "quixote.zq@other.example").await;
    let people = (0..USERS).map(|i| {
        let first = FIRST_NAMES[i % FIRST_NAMES.len()].to_string();
        let last = if i == 2_222 { "Quixote".to_string() } else { format!("Last{i:04}") };
        (first, last, format!("u{i:04}@ex.example"))
    });
    seed_users(&d, ada.account_id(), people).await;
    let admin = ada.admin().unwrap();
    let everyone =
        user::Entity::find().filter(user::Column::AccountId.eq(ada.account_id())).all(&d.db).await;
    let everyone = everyone.unwrap();

    let terms = [
        "ann",
        "ANN",
        "é",
        "ÉLO",
        "zoë",
        "%",
        "_",
        "a",
        "q",
        "qu",
        "uixo",
        "quixote",
        "zq",
        "u2",
        "u25",
        "9@e",
        " last0",
        "ex.example",
        "r%c",
        "a_m",
        "nothing like this",
    ];
    for term in terms {
        for sort in [UserSort::Name, UserSort::Email, UserSort::Status] {
            let expected = scan(&everyone, term, sort);
            let found = first_pages(&d, &admin, term, sort).await;
            let want: Vec<&str> =
                expected.iter().take(found.len().max(1)).map(|u| u.email.as_str()).collect();
            assert_eq!(found.len(), expected.len().min(75), "{term:?} {sort:?}");
            assert_eq!(found, want[..found.len()], "{term:?} {sort:?}");
        }
    }

    // What the table above means for a person typing:
    let emails = |term: &'static str| {
        let (d, admin) = (&d, &admin);
        async move {
            let page = users::list_users(d, admin, term, UserSort::Name, None).await.unwrap();
            page.rows.into_iter().map(|r| r.email).collect::<Vec<_>>()
        }
    };
    assert_eq!(emails("QUIXOTE").await, ["u2222@ex.example"], "case does not matter");
    assert!(emails("zq").await.is_empty(), "another account's user is not found");
    assert!(emails("zoe").await.is_empty(), "an accent is a different letter");
    assert_eq!(emails("ÉLODIE").await.len(), 25, "accented capitals match");
    // `%` and `_` are letters, not wildcards: the first page is the first 25
    // Per%cent (every sixth user from u0005) or Anna_Maria (from u0004) by
    // name, and nobody else.
    let every_sixth_from = |first: usize| -> Vec<String> {
        (first..USERS)
            .step_by(FIRST_NAMES.len())
            .take(25)
            .map(|i| format!("u{i:04}@ex.example"))
            .collect()
    };
    assert_eq!(FIRST_NAMES[5], "Per%cent");
    assert_eq!(emails("%").await, every_sixth_from(5), "only the Per%cent users");
    assert_eq!(FIRST_NAMES[4], "Anna_Maria");
    assert_eq!(emails("_").await, every_sixth_from(4), "only the Anna_Maria users");
    // A long term over an empty list (nobody here is disabled): the window
    // it reads to choose its pieces holds no text at all.
    let nobody = users::list_users_in_state(
        &d,
        &admin,
        "quixote",
        UserState::Disabled,
        UserSort::Name,
        None,
    )
    .await
    .unwrap();
    assert!(nobody.rows.is_empty() && nobody.next.is_none());
    // A term the first rows do not answer is looked up in the search index
    // (the FTS5 table, or the GIN index), never by walking the account.
    if d.db.get_database_backend() == DatabaseBackend::Postgres {
        // As autovacuum would: move the rows just written from the GIN
        // index's pending list into the index. While thousands of fresh rows
        // wait there, a small table is cheaper to walk than the list to read.
        d.db.execute_unprepared("SELECT gin_clean_pending_list('idx_users_search_grams')")
            .await
            .unwrap();
        d.db.execute_unprepared("ANALYZE users").await.unwrap();
    }
    for (term, sort) in
        [("quixote", UserSort::Name), ("u25", UserSort::Email), ("zq", UserSort::Status)]
    {
        let scope = user::Entity::find().filter(user::Column::AccountId.eq(ada.account_id()));
        let backend = d.db.get_database_backend();
        let grams = user::term_grams(term);
        let index = directory::IndexSearch { term, grams: &grams, sort, after: None, limit: 26 };
        let every = index.every_holder(backend, scope.clone()).unwrap();
        let capped = index.capped(backend, scope).unwrap();
        for statement in [every, capped] {
            assert_through_the_index(&plan_of(&d, statement).await);
        }
    }
    // The capped statement counts a rare term's holders and finds its page.
    let quixote = capped(&d, ada.account_id(), "quixote").await;
    assert_eq!(quixote, (2, vec!["u2222@ex.example".to_string()]), "and the other account's user");
    assert_eq!(capped(&d, ada.account_id(), "zq").await, (1, vec![]), "only another account's");
    assert_eq!(capped(&d, ada.account_id(), "nothing like this").await, (0, vec![]));

    // The pickers share the search.
    let admin = ada.admin().unwrap();
    let picked = phone_numbers::owner_choices(&d, &admin, "uixo").await.unwrap();
    assert_eq!(picked.len(), 1);
}

/// A term that thousands of users hold but none of the first rows in order
/// (here: every user of a second domain, all named after those of the
/// first) is found by checking the rows in order past the first ones, not by
/// fetching and sorting every holder: the same rows in the same order.
#[tokio::test]
async fn a_term_many_users_hold_past_the_first_rows_finds_what_a_scan_finds() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let people = (0..4_400).map(|i| match i % 2 {
        0 => ("Ann".into(), format!("Aaa{i:04}"), format!("a{i:04}@one.example")),
        _ => ("Zed".into(), format!("Zzz{i:04}"), format!("z{i:04}@two.example")),
    });
    seed_users(&d, ada.account_id(), people).await;
    let admin = ada.admin().unwrap();
    let everyone =
        user::Entity::find().filter(user::Column::AccountId.eq(ada.account_id())).all(&d.db).await;
    let mut everyone = everyone.unwrap();
    // Why this is the case in question: more holders of the term's pieces
    // than the index path takes, and none among the first 2,000 by name.
    everyone.sort_by(|a, b| (&a.name_key, a.id).cmp(&(&b.name_key, b.id)));
    for term in ["zzz", "two.example"] {
        assert!(everyone.iter().filter(|u| u.search_text.contains(term)).count() > 2_000);
        assert!(everyone[..2_000].iter().all(|u| !u.search_text.contains(term)));
        // The index path takes one holder over its 2,000, and chooses no
        // page among them, which could miss holders past them.
        assert_eq!(capped(&d, ada.account_id(), term).await, (2_001, vec![]), "{term}");
    }
    // Even for a term half the users hold, both index statements take their
    // users from the index, not from a walk of the table that the capped
    // one's LIMIT, or the sort, could make look cheap to PostgreSQL's
    // planner (both did at a million).
    if d.db.get_database_backend() == DatabaseBackend::Postgres {
        d.db.execute_unprepared("SELECT gin_clean_pending_list('idx_users_search_grams')")
            .await
            .unwrap();
        d.db.execute_unprepared("ANALYZE users").await.unwrap();
    }
    let scope = user::Entity::find().filter(user::Column::AccountId.eq(ada.account_id()));
    let grams = user::term_grams("zzz");
    let index = directory::IndexSearch {
        term: "zzz",
        grams: &grams,
        sort: UserSort::Name,
        after: None,
        limit: 26,
    };
    let backend = d.db.get_database_backend();
    for statement in
        [index.capped(backend, scope.clone()), index.every_holder(backend, scope.clone())]
    {
        assert_through_the_index(&plan_of(&d, statement.unwrap()).await);
    }

    // Had the walk been too short to reach them (2,100 rows, which hold no
    // match in either order), the search would have taken its last way to
    // the same page: every holder fetched and sorted, or, on PostgreSQL for
    // a term whose every piece is common, the walk on to the end.
    let mut by_email: Vec<&user::Model> = everyone.iter().collect();
    by_email.sort_by(|a, b| a.email.cmp(&b.email));
    assert!(everyone[..2_100].iter().all(|u| !u.search_text.contains("zzz")));
    assert!(by_email[..2_100].iter().all(|u| !u.search_text.contains("two.example")));
    // A walk of 2,210 rows by name ends 9 matches into the "zzz" rows: the
    // page is those and the rest after them.
    let zzz_from = everyone.iter().position(|u| u.search_text.contains("zzz")).unwrap();
    assert_eq!(zzz_from, 2_201);
    for (term, sort, walk) in [
        ("zzz", UserSort::Name, 2_100),
        ("zzz", UserSort::Name, 2_210),
        ("two.example", UserSort::Email, 2_100),
    ] {
        let want: Vec<&str> =
            scan(&everyone, term, sort).iter().take(26).map(|u| u.email.as_str()).collect();
        // A share over 1 never walks on; 0 always does (PostgreSQL straight
        // away, before it counts the holders).
        for walk_on_over in [2.0, 0.0] {
            let found = directory::search_walking(
                &d,
                scope.clone(),
                term,
                sort,
                None,
                26,
                walk,
                walk_on_over,
            );
            let found: Vec<String> = found.await.unwrap().into_iter().map(|u| u.email).collect();
            assert_eq!(found, want, "{term:?} {sort:?} {walk} {walk_on_over}");
        }
    }
    // Which way the search chooses: "zzz" is in half the users, so the walk
    // on reads less; "zzz0001" in one, so fetching its holders does.
    for (term, walks_on) in [("zzz", true), ("zzz0001", false)] {
        let grams = user::term_grams(term);
        let share = directory::walk_on_over(backend);
        let chosen = directory::walk_on_reads_less(&d, &grams, share).await.unwrap();
        assert_eq!(chosen, walks_on, "{term}");
    }

    for (term, sort) in [
        ("zzz", UserSort::Name),
        ("ZZZ", UserSort::Status),
        ("two.example", UserSort::Name),
        ("two.example", UserSort::Email),
        ("TWO.EXAMPLE", UserSort::Status),
        ("zzz1", UserSort::Name),
    ] {
        let expected = scan(&everyone, term, sort);
        let found = first_pages(&d, &admin, term, sort).await;
        let want: Vec<&str> = expected.iter().take(75).map(|u| u.email.as_str()).collect();
        assert_eq!(found, want, "{term:?} {sort:?}");
    }
}

/// What the capped index statement answers for `term` (by name, from the
/// start): how many holders of the term's pieces it took, and the page.
async fn capped(d: &Domain, account_id: i32, term: &str) -> (i64, Vec<String>) {
    let scope = user::Entity::find().filter(user::Column::AccountId.eq(account_id));
    let backend = d.db.get_database_backend();
    let grams = user::term_grams(term);
    let index = directory::IndexSearch {
        term,
        grams: &grams,
        sort: UserSort::Name,
        after: None,
        limit: 26,
    };
    let statement = index.capped(backend, scope).unwrap();
    let rows = d.search_index.query_all_raw(statement).await.unwrap();
    let emails = rows.iter().filter_map(|r| r.try_get::<Option<String>>("", "email").unwrap());
    (rows[0].try_get("", "n").unwrap(), emails.collect())
}

/// That `plan` reaches the users through the search index (the FTS5 table,
/// or the GIN index), never by walking the table.
fn assert_through_the_index(plan: &str) {
    assert!(
        plan.contains("users_search VIRTUAL TABLE") || plan.contains("idx_users_search_grams"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN users\n") && !plan.ends_with("SCAN users"), "{plan}");
    assert!(!plan.contains("Seq Scan on users"), "{plan}");
}

/// The query plan of an index statement, one line a step, as the search
/// runs it.
async fn plan_of(d: &Domain, statement: Statement) -> String {
    let backend = d.db.get_database_backend();
    let (prefix, column) = match backend {
        DatabaseBackend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
        _ => ("EXPLAIN QUERY PLAN ", "detail"),
    };
    let explain = Statement::from_sql_and_values(
        backend,
        format!("{prefix}{}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = d.search_index.query_all_raw(explain).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", column).unwrap()).collect();
    plan.join("\n")
}

/// What `LIKE '%term%'` over the whole account finds, in `sort` order.
fn scan<'a>(everyone: &'a [user::Model], term: &str, sort: UserSort) -> Vec<&'a user::Model> {
    let needle = term.trim().to_lowercase();
    let mut found: Vec<&user::Model> =
        everyone.iter().filter(|u| u.search_text.contains(&needle)).collect();
    match sort {
        UserSort::Name => found.sort_by(|a, b| (&a.name_key, a.id).cmp(&(&b.name_key, b.id))),
        UserSort::Email => found.sort_by(|a, b| a.email.cmp(&b.email)),
        UserSort::Status => found.sort_by(|a, b| {
            (a.status_order, &a.name_key, a.id).cmp(&(b.status_order, &b.name_key, b.id))
        }),
    }
    found
}

/// The emails of the users tab's first three pages for `term`, or of all of
/// them when there are fewer.
async fn first_pages(d: &Domain, admin: &Admin, term: &str, sort: UserSort) -> Vec<String> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..3 {
        let page = users::list_users(d, admin, term, sort, after.as_deref())
            .await
            .unwrap_or_else(|e| panic!("{term:?} {sort:?}: {e:?}"));
        found.extend(page.rows.into_iter().map(|r| r.email));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    found
}

/// Migration 14 writes every user's pieces again, with the 4-character ones
/// the search now asks the index for: users whose pieces were written before
/// it (here: none at all) are found through the index once it has run.
#[tokio::test]
async fn the_four_character_migration_writes_every_users_pieces_again() {
    use app::domain::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let people =
        (0..2_100).map(|i| ("Ann".into(), format!("Last{i:04}"), format!("u{i:04}@ex.example")));
    seed_users(&d, ada.account_id(), people).await;
    let admin = ada.admin().unwrap();
    let found = || async {
        let page = users::list_users_in_state(
            &d,
            &admin,
            "u2077@ex",
            UserState::All,
            UserSort::Name,
            None,
        )
        .await
        .unwrap();
        page.rows.into_iter().map(|row| row.email).collect::<Vec<_>>()
    };
    assert_eq!(found().await, ["u2077@ex.example"]);
    d.db.execute_unprepared("UPDATE users SET search_grams = ''").await.unwrap();
    assert!(found().await.is_empty(), "the index alone serves a term past the first rows");

    // Back to before the four-character migration, whatever came after it.
    let since = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261129_000014_four_character_pieces")
        .expect("the migration is listed");
    Migrator::down(&d.db, Some(since as u32 + 1)).await.unwrap();
    Migrator::up(&d.db, None).await.unwrap();
    for u in user::Entity::find().all(&d.db).await.unwrap() {
        assert_eq!(u.search_grams, user::search_grams(&u.search_text), "{}", u.email);
        // The email's first four characters: a piece only the new pieces hold.
        assert!(u.search_grams.contains(&user::gram_of(&u.email[..4])), "{}", u.email);
    }
    assert_eq!(found().await, ["u2077@ex.example"]);
}
