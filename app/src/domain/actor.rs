//! Capabilities as types: a [`Member`] exists only when a session (or, later,
//! an API key) proved who is acting, and an [`Admin`] only when that member
//! was checked to be an admin. Services that need either take it as an
//! argument, so code that skips the check does not compile.
use crate::model::AppError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    user_id: i32,
    account_id: i32,
    is_admin: bool,
}

impl Member {
    /// Only the authentication code in this module tree creates members.
    pub(in crate::domain) fn new(user_id: i32, account_id: i32, is_admin: bool) -> Self {
        Member { user_id, account_id, is_admin }
    }

    pub fn user_id(&self) -> i32 {
        self.user_id
    }

    pub fn account_id(&self) -> i32 {
        self.account_id
    }

    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// The proof that this member may act as an admin of their account.
    pub fn admin(&self) -> Result<Admin, AppError> {
        if self.is_admin {
            Ok(Admin(self.clone()))
        } else {
            Err(AppError::Forbidden("Only an account admin can do this.".into()))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin(Member);

impl Admin {
    pub fn member(&self) -> &Member {
        &self.0
    }

    pub fn account_id(&self) -> i32 {
        self.0.account_id
    }
}
