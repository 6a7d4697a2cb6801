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

/// An email change asked for and not yet confirmed: the address its link
/// went to, and until when the link works (UTC, as the page shows it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmailChange {
    pub new_email: String,
    pub until: String,
}

/// What a verification link's page shows before its button: whose account
/// it verifies the address of, so that someone whose address a stranger
/// signed up with can tell it is not theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationLink {
    /// The address is verified already: nothing to press.
    Verified,
    /// The account's company, the user's name, and when they signed up.
    Waiting { company: String, name: String, signed_up: String },
}

/// What an email-change link's page shows before its button: the address
/// the link moves the user to, and who they are: the address they log in
/// with now when it is verified (one never verified proves nothing: anyone
/// may sign up with anyone's address), else when they signed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangeLink {
    pub to: String,
    pub from: Option<String>,
    pub signed_up: String,
}

/// What "Forgot password?" says once asked, whether or not an account uses
/// the address (saying which would tell anyone who has an account).
pub const RESET_REQUESTED: &str = "If an account uses that address, we have sent it a link to \
     reset the password. The link works for one hour.";

/// What an unverified user cannot do yet (SPEC "Trust and abuse"), said
/// wherever they might try; the server's refusal says the same.
/// Things are named as their tabs and buttons name them.
pub const UNVERIFIED_LIMITS: &str = "Until you do, you cannot invite users, request phone \
     numbers, add integrations, certificates, JS libraries or applications, add OAuth tokens \
     or create developer keys.";

/// "First Last", as lists and messages name a user.
pub fn full_name(first_name: &str, last_name: &str) -> String {
    format!("{first_name} {last_name}")
}

impl CurrentUser {
    pub fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }
}

impl super::UserRow {
    pub fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }
}
