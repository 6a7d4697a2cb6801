//! The account's users at scale, for the admin's table and every user picker:
//! server-side search by substring of name or email (served by an index, see
//! [`search`]), sort by name, email or status (active, invited, disabled),
//! and keyset pagination. No OFFSET and no count over all rows: each page is
//! an index range scan from where the previous one ended.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use memchr::memmem;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LikeExpr, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, FromQueryResult, IdenStatic, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::model::SEARCH_MAX;
use crate::model::{AppError, UserSort, UserState};

pub const PAGE_SIZE: u64 = 25;

/// Where a page starts: the sort key of the last row of the previous page.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Cursor {
    Name { name_key: String, id: i32 },
    Email { email: String },
    Status { status_order: i16, name_key: String, id: i32 },
}

impl Cursor {
    fn after(row: &user::Model, sort: UserSort) -> Cursor {
        match sort {
            UserSort::Name => Cursor::Name { name_key: row.name_key.clone(), id: row.id },
            UserSort::Email => Cursor::Email { email: row.email.clone() },
            UserSort::Status => Cursor::Status {
                status_order: row.status_order,
                name_key: row.name_key.clone(),
                id: row.id,
            },
        }
    }

    fn sort(&self) -> UserSort {
        match self {
            Cursor::Name { .. } => UserSort::Name,
            Cursor::Email { .. } => UserSort::Email,
            Cursor::Status { .. } => UserSort::Status,
        }
    }

    /// Its sort's columns and its values, as row values: a page is the rows
    /// past them, a walk the rows up to them. Row-value comparisons keep
    /// either an index range scan.
    fn row_values(self) -> (Expr, Expr) {
        use user::Column as C;
        let columns = |cols: Vec<C>| Expr::tuple(cols.into_iter().map(Expr::col));
        match self {
            Cursor::Name { name_key, id } => {
                (columns(vec![C::NameKey, C::Id]), Expr::tuple([name_key.into(), id.into()]))
            }
            Cursor::Email { email } => (Expr::col(C::Email), email.into()),
            Cursor::Status { status_order, name_key, id } => (
                columns(vec![C::StatusOrder, C::NameKey, C::Id]),
                Expr::tuple([status_order.into(), name_key.into(), id.into()]),
            ),
        }
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor serialises"))
    }

    fn decode(text: &str) -> Result<Cursor, AppError> {
        let bad = || {
            AppError::field(
                "after",
                "This page link is no longer valid; start from the first page.",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        // Made up, not made here: no stored name or address holds a control
        // character, and PostgreSQL refuses a NUL in a query's text (an
        // error, where a bad link must be a clear answer).
        let texts = match &cursor {
            Cursor::Name { name_key, .. } => vec![name_key],
            Cursor::Email { email } => vec![email],
            Cursor::Status { name_key, .. } => vec![name_key],
        };
        if texts.iter().any(|text| text.chars().any(char::is_control)) {
            return Err(bad());
        }
        Ok(cursor)
    }
}

/// `%`, `_` and `\` in a search are literal characters, not patterns.
fn like_pattern(search: &str) -> String {
    let escaped: String = search
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// How many rows, in the page's order, a search checks before it turns to
/// the index: a common term fills a page from them.
const SCAN_WINDOW: u64 = 2_000;
/// A search through the index uses this many of the term's pieces.
const PIECES_USED: usize = 3;
/// The index path fetches, checks and sorts every user holding the term's
/// chosen pieces, so it takes at most this many; a term with more holders
/// has the rows in order checked first (up to [`WALK_MAX`]).
const CANDIDATES_MAX: u64 = 2_000;
/// How many rows in order a term with more than [`CANDIDATES_MAX`] holders
/// checks before it fetches and sorts them all: a term many users hold fills
/// a page from them unless its matches sit far along the order.
const WALK_MAX: u64 = 50_000;
/// Past the walk, a term more than this share of the users hold has the
/// walk go on to the end of the account instead of every holder fetched:
/// the ratio of the cost of a row walked (the sort index alone) to that of a
/// holder fetched from the table, at a million users. PostgreSQL: 0.17 µs
/// against 4.5 µs. SQLite: 0.24 µs against about 3 µs.
pub fn walk_on_over(backend: DatabaseBackend) -> f64 {
    match backend {
        DatabaseBackend::Postgres => 0.04,
        _ => 0.08,
    }
}

/// A search as typed, trimmed and lower-cased like `search_text`.
fn search_term(search: &str) -> Result<String, AppError> {
    // Counted as typed: lower-casing lengthens a few letters ('İ').
    if search.trim().chars().count() > SEARCH_MAX {
        return Err(AppError::field("search", format!("Search at most {SEARCH_MAX} characters.")));
    }
    let term = search.trim().to_lowercase();
    // No name or address holds one (see `validation`), and PostgreSQL
    // refuses a NUL in a query's text outright.
    if term.chars().any(char::is_control) {
        return Err(AppError::field("search", "Search must not contain control characters."));
    }
    Ok(term)
}

/// The users of `account_scope` in `state`: everyone, those who may sign in,
/// or those an admin disabled (few, found through a partial index of their
/// own). Public for the query-plan tests.
pub fn in_state(account_scope: Select<user::Entity>, state: UserState) -> Select<user::Entity> {
    match state {
        UserState::All => account_scope,
        UserState::Enabled => account_scope.filter(user::Column::DisabledAt.is_null()),
        UserState::Disabled => account_scope.filter(user::Column::DisabledAt.is_not_null()),
    }
}

/// `account_scope` from the cursor on, in `sort` order: every search starts
/// here. Public for the query-plan tests.
pub fn ordered(
    account_scope: Select<user::Entity>,
    sort: UserSort,
    after: Option<&str>,
) -> Result<Select<user::Entity>, AppError> {
    let cursor = after.filter(|a| !a.is_empty()).map(Cursor::decode).transpose()?;
    let query = match cursor {
        Some(cursor) if cursor.sort() == sort => {
            let (columns, values) = cursor.row_values();
            account_scope.filter(columns.gt(values))
        }
        Some(_) => return Err(Cursor::decode("").unwrap_err()),
        None => account_scope,
    };
    Ok(sort_columns(sort).into_iter().fold(query, |query, column| query.order_by_asc(column)))
}

/// The columns a page is sorted by, the last of them unique.
fn sort_columns(sort: UserSort) -> Vec<user::Column> {
    use user::Column as C;
    match sort {
        UserSort::Name => vec![C::NameKey, C::Id],
        UserSort::Email => vec![C::Email],
        UserSort::Status => vec![C::StatusOrder, C::NameKey, C::Id],
    }
}

/// A search through the index (`search_grams`): the rows holding every one
/// of `grams` (some or all of the term's pieces, see `user::term_grams`),
/// checked by `LIKE`, in `sort` order after the cursor `after`, up to
/// `limit`. On SQLite the users table is read `NOT INDEXED`, so the planner
/// goes from the index's rowids to the rows and never walks the account in
/// order checking each row; on PostgreSQL the statements run on
/// `Domain::search_index`, whose sessions leave the planner no other way
/// (`db::INDEX_ONLY_SETTINGS`). Public for the query-plan tests.
pub struct IndexSearch<'a> {
    pub term: &'a str,
    pub grams: &'a [String],
    pub sort: UserSort,
    pub after: Option<&'a str>,
    pub limit: u64,
}

impl IndexSearch<'_> {
    /// The page chosen among every holder: each is fetched, checked and
    /// sorted.
    pub fn every_holder(
        &self,
        backend: DatabaseBackend,
        account_scope: Select<user::Entity>,
    ) -> Result<Statement, AppError> {
        let in_index = match backend {
            DatabaseBackend::Postgres => holding_every(backend, self.grams),
            _ => format!("\"users\".\"id\" IN ({})", holding_every(backend, self.grams)),
        };
        let query = self.matching_in_order(account_scope, &in_index)?.limit(self.limit);
        Ok(not_indexed(backend, query.build(backend)))
    }

    /// The page chosen among the first `CANDIDATES_MAX + 1` holders
    /// (`candidates`), and how many those are (`n`, on every row). One row
    /// with only `n` when no candidate is on the page, and when `n` is over
    /// [`CANDIDATES_MAX`]: that page could miss holders past the candidates,
    /// so the search takes another way and the page is not chosen at all.
    /// One statement, so a rare term needs no second query to learn that it
    /// is rare.
    pub fn capped(
        &self,
        backend: DatabaseBackend,
        account_scope: Select<user::Entity>,
    ) -> Result<Statement, AppError> {
        // On PostgreSQL an array of ids, which it looks up one by one in the
        // primary key; a set it may hash against a walk of the whole table.
        let in_candidates = match backend {
            DatabaseBackend::Postgres => {
                r#""users"."id" = ANY(ARRAY(SELECT "id" FROM "candidates"))"#
            }
            _ => r#""users"."id" IN (SELECT "id" FROM "candidates")"#,
        };
        // A condition on no row, which both databases check once before
        // reading any: over the cap they skip the page, which cost a term
        // like "user03" 3 of its 18 ms on SQLite, fetching and sorting 2,001
        // rows for nothing.
        let below_the_cap = format!(r#"(SELECT count(*) FROM "candidates") <= {CANDIDATES_MAX}"#);
        let page = self
            .matching_in_order(account_scope, in_candidates)?
            .filter(Expr::cust(below_the_cap))
            .limit(self.limit);
        let page = not_indexed(backend, page.build(backend));
        let cap = CANDIDATES_MAX + 1;
        let holding = holding_every(backend, self.grams);
        // Read once and kept: SQLite (3.51) otherwise ran the index query twice,
        // once for the count and once for the page.
        let candidates = match backend {
            DatabaseBackend::Postgres => {
                format!(r#"MATERIALIZED (SELECT "id" FROM "users" WHERE {holding} LIMIT {cap})"#)
            }
            _ => format!("MATERIALIZED ({holding} LIMIT {cap})"),
        };
        let order: Vec<String> =
            sort_columns(self.sort).iter().map(|c| format!(r#""page"."{}""#, c.as_str())).collect();
        let sql = format!(
            r#"WITH "candidates" AS {candidates} SELECT "counted"."n", "page".* FROM (SELECT count(*) AS "n" FROM "candidates") AS "counted" LEFT JOIN ({}) AS "page" ON 1 = 1 ORDER BY {}"#,
            page.sql,
            order.join(", ")
        );
        Ok(Statement { sql, ..page })
    }

    /// `account_scope` in `sort` order from the cursor on: its rows that meet
    /// the SQL condition `in_index` and contain the term.
    fn matching_in_order(
        &self,
        account_scope: Select<user::Entity>,
        in_index: &str,
    ) -> Result<Select<user::Entity>, AppError> {
        Ok(ordered(account_scope, self.sort, self.after)?
            .filter(containing(&search_term(self.term)?))
            .filter(Expr::cust(in_index.to_owned())))
    }
}

/// The condition that a user's `search_text` contains `term` (a
/// [`search_term`]).
fn containing(term: &str) -> Expr {
    Expr::col(user::Column::SearchText).like(LikeExpr::new(like_pattern(term)).escape('\\'))
}

/// On SQLite, `statement` reading the users table `NOT INDEXED` (see
/// [`IndexSearch`]); unchanged on PostgreSQL.
fn not_indexed(backend: DatabaseBackend, mut statement: Statement) -> Statement {
    if backend == DatabaseBackend::Sqlite {
        statement.sql = statement.sql.replacen(r#"FROM "users""#, r#"FROM "users" NOT INDEXED"#, 1);
    }
    statement
}

/// The users holding every one of `grams`, as SQL: on PostgreSQL a condition
/// on `users` that its GIN index answers, on SQLite a query of the FTS5
/// table's rowids (the users' ids). Both span every account.
fn holding_every(backend: DatabaseBackend, grams: &[String]) -> String {
    // Grams are `g` and hex digits only (see `user::search_grams`), so they
    // can stand in the SQL text.
    debug_assert!(grams.iter().all(|g| g.chars().all(|c| c.is_ascii_alphanumeric())));
    match backend {
        DatabaseBackend::Postgres => format!(
            "string_to_array(\"users\".\"search_grams\", ' ') @> ARRAY[{}]::text[]",
            grams.iter().map(|g| format!("'{g}'")).collect::<Vec<_>>().join(",")
        ),
        _ => format!(
            r#"SELECT rowid AS "id" FROM users_search WHERE users_search MATCH '{}'"#,
            grams.join(" ")
        ),
    }
}

/// Up to `limit` of `account_scope`'s users whose name or email contains
/// `search`, in `sort` order, after the cursor `after`.
///
/// Without a search this is one index range scan. With one, the next
/// [`SCAN_WINDOW`] rows in order are checked first: a common term fills the
/// page from them, which no index does faster. A rarer term (or one that
/// matches nothing) goes through the search index instead of reading the rest
/// of the account, unless more than [`CANDIDATES_MAX`] users hold its
/// pieces: then up to [`WALK_MAX`] rows in order are checked first, and only
/// if they do not fill the page is every holder fetched and sorted, or, when
/// they are many, the walk goes on to the end of the account (see
/// [`walk_on_over`]; PostgreSQL, which judges "many" from its statistics,
/// walks straight away, before counting the window or the holders). Whichever
/// way, the rows and their order are those of `search_text LIKE '%term%'`
/// over the whole account.
pub async fn search(
    d: &Domain,
    account_scope: Select<user::Entity>,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user::Model>, AppError> {
    let walk_on_over = walk_on_over(d.read.get_database_backend());
    search_walking(d, account_scope, search, sort, after, limit, WALK_MAX, walk_on_over).await
}

/// [`search`] with a walk of `walk` rows instead of [`WALK_MAX`], and
/// `walk_on_over` instead of [`walk_on_over`]'s. Public for the tests: a short
/// walk takes a search to its last ways in an account of a few thousand
/// users, and the share chooses between them.
#[allow(clippy::too_many_arguments)]
pub async fn search_walking(
    d: &Domain,
    account_scope: Select<user::Entity>,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
    limit: u64,
    walk: u64,
    walk_on_over: f64,
) -> Result<Vec<user::Model>, AppError> {
    use user::Column as C;
    let conn = &d.read;
    let term = search_term(search)?;
    let ordered = ordered(account_scope.clone(), sort, after)?;
    if term.is_empty() {
        return Ok(ordered.limit(limit).all(conn).await?);
    }
    let backend = conn.get_database_backend();
    let found = async |hits: Vec<i32>| -> Result<Vec<user::Model>, AppError> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        Ok(ordered.clone().filter(C::Id.is_in(hits)).all(conn).await?)
    };
    // The ids of `rows` that contain the term, in order: a walk, read from
    // the sort index alone.
    let walking =
        |rows: Select<user::Entity>| rows.select_only().column(C::Id).filter(containing(&term));
    let matches = |statement: SelectStatement| async move {
        let rows = conn.query_all_raw(backend.build(&statement)).await?;
        rows.iter().map(|row| row.try_get("", "id")).collect::<Result<Vec<i32>, _>>()
    };
    // The window is filtered inside the database, from the sort index alone
    // (it carries `search_text`): only the matches come back.
    let mut columns = sort_columns(sort);
    if sort == UserSort::Email {
        columns.push(C::Id);
    }
    columns.push(C::SearchText);
    let in_order = ordered.clone().select_only().columns(columns);
    let window = in_order.clone().limit(SCAN_WINDOW).into_query();
    let hits = matches(matches_among(window.clone(), &term, sort, limit)).await?;
    if hits.len() as u64 == limit {
        return found(hits).await;
    }
    // Fewer matches than a page: unless the window held the whole account,
    // the rest is looked up in the index. Which of a long term's pieces are
    // rare, SQLite learns from the window's texts, PostgreSQL from its
    // statistics (joining the texts read the window a second time there:
    // 0.3 ms more than counting it).
    let postgres = backend == DatabaseBackend::Postgres;
    let pieces = user::term_pieces(&term);
    let grams_of = |pieces: &[String]| -> Vec<String> {
        pieces.iter().map(|piece| user::gram_of(piece)).collect()
    };
    let mut grams = grams_of(&pieces);
    if postgres {
        grams = d.search_statistics.shares(conn).await?.least_held(grams);
        if walk_on_reads_less(d, &grams, walk_on_over).await? {
            // Every piece is common: counting its holders up to the cap
            // would fetch 2,001 of them from the table ("user03" at a
            // million users: 16-19 ms of its 28), and the walk below would
            // follow. The rows in order instead, lazily, to the page's last
            // match or the account's end, so the window need not be counted.
            let walked = walking(ordered.clone()).limit(limit);
            return found(matches(walked.into_query()).await?).await;
        }
    }
    let (window_rows, sample) = if !postgres && pieces.len() > PIECES_USED {
        let (rows, texts) = window_texts(conn, window).await?;
        (rows, Some(texts))
    } else {
        let mut count = Query::select();
        count
            .expr_as(Expr::cust("count(*)"), Alias::new("n"))
            .from_subquery(window, Alias::new("scanned"));
        (count_of(conn, backend.build(&count)).await?, None)
    };
    if window_rows < SCAN_WINDOW {
        return found(hits).await;
    }
    if let Some(sample) = sample {
        grams = grams_of(&rarest_pieces(&sample, pieces));
    }
    let index = IndexSearch { term: &term, grams: &grams, sort, after, limit };
    let rows = d.search_index.query_all_raw(index.capped(backend, account_scope.clone())?).await?;
    let holders: i64 = rows.first().map(|row| row.try_get("", "n")).transpose()?.unwrap_or(0);
    if holders as u64 <= CANDIDATES_MAX {
        // The row of `n` alone, when the page is empty, has no user.
        let users = rows.iter().map(|row| user::Model::from_query_result_optional(row, ""));
        return Ok(users.filter_map(Result::transpose).collect::<Result<_, _>>()?);
    }
    // Many users hold the pieces. Fetching, checking and sorting them all
    // took 120-160 ms at a million users for "user03" (a tenth of them, a
    // third of the way along the name order, past the window); the rows in
    // order reach its first page in a few milliseconds.
    // Each way gives the walk's matches and the sort key of its last row,
    // none when the account ends within the walk.
    let (mut hits, last) = if postgres {
        // The walk as a subquery with a LIMIT, like the window: PostgreSQL
        // reads it lazily and stops at the page's last match ("user03" at a
        // million users: 7.4 ms, against 13-14 ms for the sort key below and
        // the walk it bounds, `pgbench`).
        let walked = in_order.limit(walk).into_query();
        let hits = matches(matches_among(walked, &term, sort, limit)).await?;
        // The key only matters when the page came up short.
        let last = if (hits.len() as u64) < limit {
            key_at(conn, ordered.clone(), sort, walk.saturating_sub(1)).await?
        } else {
            None
        };
        (hits, last)
    } else {
        // SQLite sorts what such a subquery yields, so it read all 50,000
        // rows (19 ms) for a page whose matches came in the first 30,000:
        // the walk is bounded by the sort key of its last row instead.
        let last = key_at(conn, ordered.clone(), sort, walk.saturating_sub(1)).await?;
        let mut walked = walking(ordered.clone()).limit(limit);
        if let Some(last) = &last {
            let (columns, values) = last.clone().row_values();
            walked = walked.filter(columns.lte(values));
        }
        (matches(walked.into_query()).await?, last)
    };
    let Some(last) = last.filter(|_| (hits.len() as u64) < limit) else {
        return found(hits).await;
    };
    // (PostgreSQL asked its statistics before the capped statement.)
    if !postgres && walk_on_reads_less(d, &grams, walk_on_over).await? {
        // On from the walk's last row to the page's last match, reading the
        // sort index alone ("hiro" at a million users: 135-225 ms against
        // 255-343 ms for every holder).
        let after_last = self::ordered(account_scope.clone(), sort, Some(&last.encode()))?;
        let rest = walking(after_last).limit(limit - hits.len() as u64);
        hits.extend(matches(rest.into_query()).await?);
        return found(hits).await;
    }
    // Through the index too: left to itself, PostgreSQL walked the name
    // index checking each row's pieces in the table ("hiro", a tenth of a
    // million users, 70% of the way along: 2.3 s against 0.45 s).
    let rows = d.search_index.query_all_raw(index.every_holder(backend, account_scope)?).await?;
    Ok(rows.iter().map(|row| user::Model::from_query_result(row, "")).collect::<Result<_, _>>()?)
}

/// The ids of up to `limit` rows of `rows` (the account in order, aliased
/// `scanned`) that contain `term`, in order.
fn matches_among(rows: SelectStatement, term: &str, sort: UserSort, limit: u64) -> SelectStatement {
    use user::Column as C;
    let w = Alias::new("scanned");
    let mut matches = Query::select();
    matches
        .column((w.clone(), C::Id))
        .from_subquery(rows, w.clone())
        .and_where(
            Expr::col((w.clone(), C::SearchText))
                .like(LikeExpr::new(like_pattern(term)).escape('\\')),
        )
        .limit(limit);
    for column in sort_columns(sort) {
        matches.order_by((w.clone(), column), Order::Asc);
    }
    matches
}

/// The sort key of the row `offset` rows past the start of `ordered`, if
/// there is one. Only the sort's columns are read, so the database walks the
/// sort index alone.
async fn key_at(
    conn: &impl ConnectionTrait,
    ordered: Select<user::Entity>,
    sort: UserSort,
    offset: u64,
) -> Result<Option<Cursor>, AppError> {
    use user::Column as C;
    let at = ordered.select_only().offset(offset).limit(1);
    Ok(match sort {
        UserSort::Name => at
            .columns([C::NameKey, C::Id])
            .into_tuple()
            .one(conn)
            .await?
            .map(|(name_key, id)| Cursor::Name { name_key, id }),
        UserSort::Email => {
            at.column(C::Email).into_tuple().one(conn).await?.map(|email| Cursor::Email { email })
        }
        UserSort::Status => at
            .columns([C::StatusOrder, C::NameKey, C::Id])
            .into_tuple()
            .one(conn)
            .await?
            .map(|(status_order, name_key, id)| Cursor::Status { status_order, name_key, id }),
    })
}

/// How many rows `window` (a [`SCAN_WINDOW`] aliased `scanned`) holds, and
/// their texts joined by newlines. One value, not a row per user: streaming
/// 2,000 rows took over a third of the server's time for a rare search
/// (sqlx decodes and allocates each row), and the database joins them for
/// little.
/// A newline inside a text would only count as two texts when choosing
/// pieces, which changes the speed of a search, never its results. SQLite
/// only: PostgreSQL goes by its statistics ([`PieceShares::least_held`]).
async fn window_texts(
    conn: &impl ConnectionTrait,
    window: SelectStatement,
) -> Result<(u64, String), AppError> {
    let backend = conn.get_database_backend();
    let joined = r#"group_concat("scanned"."search_text", char(10))"#;
    let mut query = Query::select();
    query
        .expr_as(Expr::cust("count(*)"), Alias::new("n"))
        .expr_as(Expr::cust(joined), Alias::new("texts"))
        .from_subquery(window, Alias::new("scanned"));
    let Some(row) = conn.query_one_raw(backend.build(&query)).await? else {
        return Ok((0, String::new()));
    };
    let rows: i64 = row.try_get("", "n")?;
    // An empty window joins to NULL.
    let texts: Option<String> = row.try_get("", "texts")?;
    Ok((rows as u64, texts.unwrap_or_default()))
}

/// The [`PIECES_USED`] pieces of a term that the fewest of `sample`'s lines
/// (the texts of the window, a few thousand users of the account) contain.
/// Every piece narrows the search, but both indexes intersect long lists
/// slowly, so a piece in nearly every row ("user", ".com") costs far more
/// than it narrows. Measured at a million users for "user0333333", when the
/// pieces had three characters: its two rare pieces and "r03" (a tenth of
/// the users) took 1.4 ms; the two rare ones and "er0" (every user), which
/// the earlier choice by counts capped at 2,000 picked, 9.9 ms. PostgreSQL's
/// GIN index reads every listed piece's posting list too: with all six
/// pieces the search took 27 ms there.
fn rarest_pieces(sample: &str, pieces: Vec<String>) -> Vec<String> {
    let texts: Vec<&[u8]> = sample.split('\n').map(str::as_bytes).collect();
    let mut counted: Vec<(usize, String)> = pieces
        .into_iter()
        .map(|piece| {
            // One searcher per piece, not one per text.
            let finder = memmem::Finder::new(piece.as_bytes());
            (texts.iter().filter(|text| finder.find(text).is_some()).count(), piece)
        })
        .collect();
    counted.sort();
    counted.into_iter().take(PIECES_USED).map(|(_, piece)| piece).collect()
}

/// Whether more than `share` of the users hold `grams`: the search then
/// reads fewer rows walking the account in order than fetching every holder.
///
/// SQLite's FTS5 counts the holders of all the pieces together, exactly, up
/// to the bound, from the index alone (about 25 ms for 80,000 at a million
/// users, against some 300 ms to fetch them).
///
/// PostgreSQL would have to read them from the table to count them (220 ms
/// for 50,000), so it goes by the statistics of the GIN index's pieces
/// ([`PieceStatistics`]), each piece on its own: the least held piece bounds
/// the term's holders from above (the pieces of one word are not
/// independent). A piece the statistics do not list counts as rare, so a
/// table never analysed keeps to fetching every holder.
pub async fn walk_on_reads_less(
    d: &Domain,
    grams: &[String],
    share: f64,
) -> Result<bool, AppError> {
    if grams.is_empty() {
        return Ok(false);
    }
    let backend = d.read.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        let statement = |sql: String| Statement::from_string(backend, sql);
        let users = statement(r#"SELECT coalesce(max("id"), 0) AS "n" FROM "users""#.into());
        let bound = (count_of(&d.read, users).await? as f64 * share) as u64;
        let holding = holding_every(backend, grams);
        let counted = format!(r#"SELECT count(*) AS "n" FROM ({holding} LIMIT {})"#, bound + 1);
        return Ok(count_of(&d.read, statement(counted)).await? > bound);
    }
    let shares = d.search_statistics.shares(&d.read).await?;
    Ok(grams.iter().all(|gram| shares.of(gram) > share))
}

/// How long the statistics of the search index's pieces are kept before
/// they are read again. `ANALYZE` (autovacuum's, after many writes) is what
/// changes them, and a search that goes by old ones only goes slower.
const PIECE_STATISTICS_FOR: Duration = Duration::from_secs(300);

/// What PostgreSQL's statistics say of the search index's pieces (the
/// `most_common_elems` that `ANALYZE` keeps for `idx_users_search_grams`):
/// the share of users holding each of the thousand most common. Read from
/// `pg_stats` once every [`PIECE_STATISTICS_FOR`], not asked of the planner
/// per search: an `EXPLAIN` of a piece's condition cost a rare search a round
/// trip and 0.3 ms of PostgreSQL's time, for the same figures.
#[derive(Default)]
pub struct PieceStatistics {
    read: Mutex<Option<(Instant, Arc<PieceShares>)>>,
}

/// The share of users holding each listed piece, and what an unlisted one is
/// taken to hold: as PostgreSQL's planner estimates `@>` on an array
/// (`mcelem_array_contain_overlap_selec`), half the least listed share, at
/// most 0.5%, and 0.5% with no statistics at all.
pub struct PieceShares {
    listed: HashMap<String, f64>,
    unlisted: f64,
}

/// The planner's share for an element, or an array, it knows nothing of
/// (`DEFAULT_CONTAIN_SEL`).
const UNKNOWN_SHARE: f64 = 0.005;

impl PieceShares {
    /// What the planner assumes with no statistics (a table never analysed).
    fn unknown() -> Self {
        PieceShares { listed: HashMap::new(), unlisted: UNKNOWN_SHARE }
    }

    /// The share of users taken to hold `gram`.
    pub fn of(&self, gram: &str) -> f64 {
        self.listed.get(gram).copied().unwrap_or(self.unlisted)
    }

    /// The [`PIECES_USED`] of `grams` the fewest users hold (see
    /// [`rarest_pieces`] on why). Only the listed pieces have a share of
    /// their own: the statistics cannot tell unlisted pieces apart, each held
    /// by fewer users than the least listed one, so the pieces' own order
    /// (alphabetical) decides between them.
    fn least_held(&self, mut grams: Vec<String>) -> Vec<String> {
        grams.sort_by(|a, b| self.of(a).total_cmp(&self.of(b)));
        grams.truncate(PIECES_USED);
        grams
    }
}

impl PieceStatistics {
    /// The statistics, read again once they are [`PIECE_STATISTICS_FOR`] old.
    pub async fn shares(&self, conn: &impl ConnectionTrait) -> Result<Arc<PieceShares>, AppError> {
        let kept = self.read.lock().expect("piece statistics").clone();
        if let Some((_, shares)) = kept.filter(|(at, _)| at.elapsed() < PIECE_STATISTICS_FOR) {
            return Ok(shares);
        }
        let shares = Arc::new(read_piece_shares(conn).await?);
        *self.read.lock().expect("piece statistics") = Some((Instant::now(), shares.clone()));
        Ok(shares)
    }
}

async fn read_piece_shares(conn: &impl ConnectionTrait) -> Result<PieceShares, AppError> {
    // Both arrays as text: the elements are grams (`g` and hex digits), the
    // frequencies numbers, so a space divides them safely.
    let sql = r#"SELECT array_to_string(most_common_elems::text::text[], ' ') AS "elems",
                        array_to_string(most_common_elem_freqs, ' ') AS "freqs"
                 FROM pg_stats
                 WHERE schemaname = current_schema() AND tablename = 'idx_users_search_grams'"#;
    let row = conn.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
    let Some(row) = row else {
        return Ok(PieceShares::unknown());
    };
    let elems: Option<String> = row.try_get("", "elems")?;
    let freqs: Option<String> = row.try_get("", "freqs")?;
    let elems: Vec<&str> = elems.as_deref().unwrap_or_default().split_whitespace().collect();
    let freqs: Vec<f64> = freqs
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // One frequency per element, then the least and the greatest of them and
    // the share of empty arrays.
    if elems.is_empty() || freqs.len() != elems.len() + 3 {
        return Ok(PieceShares::unknown());
    }
    let least = freqs[elems.len()];
    let listed = elems.iter().zip(&freqs).map(|(gram, share)| (gram.to_string(), *share));
    Ok(PieceShares { listed: listed.collect(), unlisted: UNKNOWN_SHARE.min(least / 2.0) })
}

/// The `n` a counting statement answers.
async fn count_of(conn: &impl ConnectionTrait, statement: Statement) -> Result<u64, AppError> {
    let row = conn.query_one_raw(statement).await?;
    let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
    Ok(n as u64)
}

/// One page of `account_scope`'s users and the cursor of the next page, if
/// there is one: `PAGE_SIZE + 1` rows are read so no count is needed.
pub async fn page(
    d: &Domain,
    account_scope: Select<user::Entity>,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
) -> Result<(Vec<user::Model>, Option<String>), AppError> {
    let mut rows = self::search(d, account_scope, search, sort, after, PAGE_SIZE + 1).await?;
    let next = if rows.len() as u64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| Cursor::after(last, sort).encode())
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::{like_pattern, rarest_pieces, PieceShares};
    use crate::domain::entity::user::term_pieces;

    #[test]
    fn the_statistics_choose_the_pieces_fewest_users_hold() {
        let listed = [("ga", 0.5), ("gb", 0.02), ("gc", 0.01)].map(|(g, s)| (g.to_string(), s));
        let shares = PieceShares { listed: listed.into_iter().collect(), unlisted: 0.004 };
        let grams = |gs: &[&str]| gs.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        assert_eq!(shares.least_held(grams(&["ga", "gb", "gc", "gd"])), ["gd", "gc", "gb"]);
        assert_eq!(shares.least_held(grams(&["ga", "gb", "gd", "ge", "gf"])), ["gd", "ge", "gf"]);
        assert_eq!(shares.least_held(grams(&["ga"])), ["ga"]);
    }

    #[test]
    fn search_wildcards_are_literal() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn the_index_is_asked_for_the_pieces_fewest_users_hold() {
        let sample: String =
            (0..100).map(|i| format!("user{i:04}@example.com")).collect::<Vec<_>>().join("\n");
        // "user", "ser0" and "er00" are in every text, "r009" in ten, "0099" in one, "099z" in none.
        assert_eq!(term_pieces("user0099z"), ["0099", "099z", "er00", "r009", "ser0", "user"]);
        let chosen = rarest_pieces(&sample, term_pieces("user0099z"));
        assert_eq!(chosen, ["099z", "0099", "r009"]);
    }
}
