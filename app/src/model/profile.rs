//! The signed-in user's own profile.
use serde::{Deserialize, Serialize};

/// The signed-in user as the browser sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    /// Whether the user has proved they receive mail at `email`.
    pub email_verified: bool,
    pub company_name: String,
}

impl CurrentUser {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}
