//! Manage Users: the user table's rows, sorts and pages, and the users a
//! picker offers.
use serde::{Deserialize, Serialize};

use super::errors::AppError;

/// How many days an account may not invite an address whose owner declined
/// its invitation (`admin::invitations::DECLINE_HOLD`); the email and the page say it.
pub const DECLINE_HOLD_DAYS: i64 = 90;

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
    /// Invited, and the newest invitation link has expired (or was never
    /// sent): nobody can activate until Resend Invitation sends a new one.
    pub invitation_expired: bool,
    /// Disabled by an admin: cannot sign in, and their sessions and developer
    /// keys do not work, until an admin enables them again.
    pub disabled: bool,
    /// The address an email change waits to be confirmed from, while its
    /// link works: the row's `email` stays until then.
    pub pending_email: Option<String>,
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
        from_key(&UserSort::ALL, UserSort::key, key)
    }

    /// A sort sent to the server (a server function or `/api/v1/users`):
    /// absent or empty is the default, anything unknown is refused.
    pub fn parse(key: Option<&str>) -> Result<UserSort, AppError> {
        parse(&UserSort::ALL, UserSort::key, key, "sort", SORT_KEYS)
    }
}

/// The choice of `all` named `key`, or the default when none is.
fn from_key<T: Copy + Default>(all: &[T], key_of: fn(T) -> &'static str, key: &str) -> T {
    all.iter().copied().find(|c| key_of(*c) == key).unwrap_or_default()
}

/// The choice of `all` named `key` as a request sent it: absent or empty is
/// the default, anything unknown is refused as `field` with `message`.
fn parse<T: Copy + Default>(
    all: &[T],
    key_of: fn(T) -> &'static str,
    key: Option<&str>,
    field: &str,
    message: &str,
) -> Result<T, AppError> {
    match key.unwrap_or_default() {
        "" => Ok(T::default()),
        key => all
            .iter()
            .copied()
            .find(|c| key_of(*c) == key)
            .ok_or_else(|| AppError::field(field, message)),
    }
}

/// Why a state filter was refused.
pub const STATE_KEYS: &str = "state must be all, enabled or disabled.";

/// Which users the table shows: everyone, those who may sign in, or those an
/// admin disabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserState {
    #[default]
    All,
    Enabled,
    Disabled,
}

impl UserState {
    pub const ALL: [UserState; 3] = [UserState::All, UserState::Enabled, UserState::Disabled];

    pub fn key(self) -> &'static str {
        match self {
            UserState::All => "all",
            UserState::Enabled => "enabled",
            UserState::Disabled => "disabled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserState::All => "All users",
            UserState::Enabled => "Active and invited",
            UserState::Disabled => "Disabled",
        }
    }

    /// A state named in the page's select: anything unknown is the default.
    pub fn from_key(key: &str) -> UserState {
        from_key(&UserState::ALL, UserState::key, key)
    }

    /// A state sent to the server (a server function or `/api/v1/users`):
    /// absent or empty is the default, anything unknown is refused.
    pub fn parse(key: Option<&str>) -> Result<UserState, AppError> {
        parse(&UserState::ALL, UserState::key, key, "state", STATE_KEYS)
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
    /// The admin looking at the page: their own row offers no Disable or
    /// Delete, which the domain always refuses them.
    pub own_id: i32,
}

/// What an invitation link is for, said on the page it opens before the
/// invitee chooses a password or declines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The inviting account's company name.
    pub company: String,
    /// The address invited, which becomes the user's log-in.
    pub email: String,
    /// An admin disabled the invitee: it cannot be activated until they
    /// enable them, but it can still be declined.
    pub on_hold: bool,
}

/// A user of the account as a picker offers them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserChoice {
    pub id: i32,
    pub name: String,
    pub email: String,
}

/// Why a disabled user's address is not changed, as the Edit dialog's hint:
/// no link goes to a disabled user, and the address changes by a link.
pub const DISABLED_EMAIL: &str =
    "Enable the user first to change their address: the new one gets a link to confirm it.";

/// Why an admin's own address is not changed on the Users tab, as the
/// field's hint and as the server's refusal.
pub const OWN_EMAIL: &str =
    "Change your own email address on the Account tab: it asks for your password.";
