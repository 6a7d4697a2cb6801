//! Capabilities as types: a [`Member`] exists only when a session or a
//! developer key proved who is acting; an [`Admin`], a [`Creator`] or a
//! [`Sharer`] only when that member was checked to hold the permission; an
//! [`Operator`] only when the server's command line is acting. Services take
//! the capability they need as an argument, so code that skips the check does
//! not compile, and no service reads a permission flag itself.
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::domain::entity::user;
use crate::model::{AppError, UNVERIFIED_LIMITS};

pub const NOT_ADMIN: &str = "Only an account admin can do this.";
pub const NEEDS_CAN_CREATE: &str = "Creating applications needs the Can Create permission.";
pub const NEEDS_CAN_SHARE: &str = "Sharing applications needs the Can Share permission.";

/// The refusal of what an unverified user cannot do yet, ending with the
/// list the Account tab shows them (`model::UNVERIFIED_LIMITS`).
pub fn unverified_refusal() -> String {
    format!(
        "Verify your email address first: open the link we sent you, or send a new one from \
         your Account tab. {UNVERIFIED_LIMITS}"
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    user_id: i32,
    account_id: i32,
    is_admin: bool,
    /// Where the request came from, as the web layer saw it (for the
    /// activity log); `None` for tools and tests.
    address: Option<std::net::IpAddr>,
}

impl Member {
    /// Only the authentication code in this module tree creates members.
    pub(in crate::domain) fn new(user_id: i32, account_id: i32, is_admin: bool) -> Self {
        Member { user_id, account_id, is_admin, address: None }
    }

    /// The same member acting from `address` (set by the web layer from the
    /// request that authenticated them; recorded with their changes).
    pub fn from_address(mut self, address: Option<std::net::IpAddr>) -> Self {
        self.address = address;
        self
    }

    /// The client address the member acts from, when known.
    pub fn address(&self) -> Option<std::net::IpAddr> {
        self.address
    }

    pub fn user_id(&self) -> i32 {
        self.user_id
    }

    pub fn account_id(&self) -> i32 {
        self.account_id
    }

    /// Whether the session's user was an admin when the request began, for
    /// tests to check a session; rules take [`Admin`] instead, and the tabs
    /// read `CurrentUser::is_admin`.
    #[cfg(any(test, feature = "testing"))]
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// The proof that this member may act as an admin of their account.
    pub fn admin(&self) -> Result<Admin, AppError> {
        if self.is_admin {
            Ok(Admin(self.clone()))
        } else {
            Err(AppError::Forbidden(NOT_ADMIN.into()))
        }
    }

    /// The user's row as stored now, so a permission changed a moment ago
    /// counts; a user disabled a moment ago acts no more.
    async fn fresh(&self, conn: &impl ConnectionTrait) -> Result<user::Model, AppError> {
        match user::Entity::find_by_id(self.user_id).one(conn).await? {
            Some(me) if me.account_id == self.account_id && me.disabled_at.is_none() => Ok(me),
            _ => Err(AppError::Unauthenticated),
        }
    }

    /// Refuses, read from the database now, when the member was disabled or
    /// left the account since the request began: for the changes that need
    /// no permission and no verified address, only a user who may still act.
    pub async fn active(&self, conn: &impl ConnectionTrait) -> Result<(), AppError> {
        self.fresh(conn).await.map(|_| ())
    }

    /// Refuses, read from the database now, unless the member has verified
    /// their email address: a new sign-up earns trust by verifying before it
    /// may send email to others or spend shared resources.
    pub async fn verified(&self, conn: &impl ConnectionTrait) -> Result<(), AppError> {
        if self.fresh(conn).await?.email_verified_at.is_some() {
            Ok(())
        } else {
            Err(AppError::Forbidden(unverified_refusal()))
        }
    }

    /// The proof that this member may create (and clone) applications, read
    /// from the database now.
    pub async fn creator(&self, conn: &impl ConnectionTrait) -> Result<Creator, AppError> {
        if self.fresh(conn).await?.can_create {
            Ok(Creator(self.clone()))
        } else {
            Err(AppError::Forbidden(NEEDS_CAN_CREATE.into()))
        }
    }

    /// The proof that this member may share applications, read from the database now.
    pub async fn sharer(&self, conn: &impl ConnectionTrait) -> Result<Sharer, AppError> {
        if self.fresh(conn).await?.can_share {
            Ok(Sharer(self.clone()))
        } else {
            Err(AppError::Forbidden(NEEDS_CAN_SHARE.into()))
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

    /// The admin re-read inside the caller's transaction: an admin demoted
    /// or disabled a moment ago acts as an admin no more. Changes call it
    /// through `scope::lock_account_as`, under the account's lock.
    pub async fn recheck(&self, conn: &impl ConnectionTrait) -> Result<(), AppError> {
        match self.0.fresh(conn).await {
            Ok(me) if me.is_admin => Ok(()),
            Ok(_) | Err(AppError::Unauthenticated) => Err(AppError::Forbidden(NOT_ADMIN.into())),
            Err(other) => Err(other),
        }
    }
}

/// A member allowed to create applications (Can Create).
#[derive(Clone, Debug)]
pub struct Creator(Member);

impl Creator {
    pub fn member(&self) -> &Member {
        &self.0
    }
}

/// A member allowed to share applications (Can Share).
#[derive(Clone, Debug)]
pub struct Sharer(Member);

impl Sharer {
    pub fn member(&self) -> &Member {
        &self.0
    }
}

/// The people who run the service, acting through the server's command line
/// on any account. Every operator function takes one; only the command line
/// makes one (`app/tests/layers.rs` checks that nothing else calls
/// [`Operator::from_command_line`]).
#[derive(Debug)]
pub struct Operator(());

impl Operator {
    pub fn from_command_line() -> Self {
        Operator(())
    }
}
