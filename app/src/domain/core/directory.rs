//! The account's users at scale, for the admin's table and every user picker: server-side search by substring of name
//! or email, sort by name, email or status, and keyset pagination. No OFFSET
//! and no count over all rows: each page is an index range scan from where
//! the previous one ended.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::{Deserialize, Serialize};

use crate::domain::entity::user;
use crate::model::{AppError, UserSort};

pub const PAGE_SIZE: u64 = 25;
pub const SEARCH_MAX: usize = 100;

/// Where a page starts: the sort key of the last row of the previous page.
#[derive(Debug, Serialize, Deserialize)]
enum Cursor {
    Name { name_key: String, id: i32 },
    Email { email: String },
    Status { status: String, name_key: String, id: i32 },
}

impl Cursor {
    fn after(row: &user::Model, sort: UserSort) -> Cursor {
        match sort {
            UserSort::Name => Cursor::Name { name_key: row.name_key.clone(), id: row.id },
            UserSort::Email => Cursor::Email { email: row.email.clone() },
            UserSort::Status => Cursor::Status {
                status: row.status.clone(),
                name_key: row.name_key.clone(),
                id: row.id,
            },
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
        serde_json::from_slice(&bytes).map_err(|_| bad())
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

/// The query for one page, without its LIMIT: also what the query-plan tests inspect.
pub fn page_query(
    account_scope: Select<user::Entity>,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
) -> Result<Select<user::Entity>, AppError> {
    use user::Column as C;
    let mut query = account_scope;
    let search = search.trim().to_lowercase();
    if search.chars().count() > SEARCH_MAX {
        return Err(AppError::field("search", format!("Search at most {SEARCH_MAX} characters.")));
    }
    if !search.is_empty() {
        query = query.filter(
            Expr::col(C::SearchText).like(LikeExpr::new(like_pattern(&search)).escape('\\')),
        );
    }
    let cursor = after.filter(|a| !a.is_empty()).map(Cursor::decode).transpose()?;
    // Row-value comparisons keep each page an index range scan.
    let tuple = |cols: Vec<C>| Expr::tuple(cols.into_iter().map(|c| Expr::col(c).into()));
    query = match (sort, cursor) {
        (UserSort::Name, Some(Cursor::Name { name_key, id })) => query
            .filter(tuple(vec![C::NameKey, C::Id]).gt(Expr::tuple([name_key.into(), id.into()]))),
        (UserSort::Email, Some(Cursor::Email { email })) => query.filter(C::Email.gt(email)),
        (UserSort::Status, Some(Cursor::Status { status, name_key, id })) => {
            query.filter(tuple(vec![C::Status, C::NameKey, C::Id]).gt(Expr::tuple([
                status.into(),
                name_key.into(),
                id.into(),
            ])))
        }
        (_, None) => query,
        (_, Some(_)) => return Err(Cursor::decode("").unwrap_err()),
    };
    Ok(match sort {
        UserSort::Name => query.order_by_asc(C::NameKey).order_by_asc(C::Id),
        UserSort::Email => query.order_by_asc(C::Email),
        UserSort::Status => {
            query.order_by_asc(C::Status).order_by_asc(C::NameKey).order_by_asc(C::Id)
        }
    })
}

/// One page of `account_scope`'s users and the cursor of the next page, if
/// there is one: `PAGE_SIZE + 1` rows are read so no count is needed.
pub async fn page(
    conn: &impl ConnectionTrait,
    account_scope: Select<user::Entity>,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
) -> Result<(Vec<user::Model>, Option<String>), AppError> {
    let mut rows =
        page_query(account_scope, search, sort, after)?.limit(PAGE_SIZE + 1).all(conn).await?;
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
    use super::like_pattern;

    #[test]
    fn search_wildcards_are_literal() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
