//! Manage Users: the user table's rows, sorts and pages, and the users a
//! picker offers.
use serde::{Deserialize, Serialize};

use super::errors::AppError;

/// Why a sort key was refused.
pub const SORT_KEYS: &str = "sort must be name, email or status.";

/// One row of the admin's user table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserRow {
    pub id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    pub two_factor_enabled: bool,
    /// Still invited: has not set a password yet.
    pub invited: bool,
}

/// How the user table is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserSort {
    #[default]
    Name,
    Email,
    Status,
}

impl UserSort {
    pub const ALL: [UserSort; 3] = [UserSort::Name, UserSort::Email, UserSort::Status];

    pub fn key(self) -> &'static str {
        match self {
            UserSort::Name => "name",
            UserSort::Email => "email",
            UserSort::Status => "status",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserSort::Name => "Name",
            UserSort::Email => "Email",
            UserSort::Status => "Status",
        }
    }

    /// A sort named in a URL the browser shows: anything unknown is the default.
    pub fn from_key(key: &str) -> UserSort {
        UserSort::ALL.into_iter().find(|s| s.key() == key).unwrap_or_default()
    }

    /// A sort sent to the server (a server function or `/api/v1/users`):
    /// absent or empty is the default, anything unknown is refused.
    pub fn parse(key: Option<&str>) -> Result<UserSort, AppError> {
        match key.unwrap_or_default() {
            "" => Ok(UserSort::default()),
            key => UserSort::ALL
                .into_iter()
                .find(|s| s.key() == key)
                .ok_or_else(|| AppError::field("sort", SORT_KEYS)),
        }
    }
}

/// One page of the user table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    /// Where the next page starts, if there is one (an opaque cursor).
    pub next: Option<String>,
    /// Whether the account has more than one user (the table is shown only then).
    pub several_users: bool,
}

/// A user of the account as a picker offers them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserChoice {
    pub id: i32,
    pub name: String,
    pub email: String,
}
