//! Applications, and what can be attached to them.
use serde::{Deserialize, Serialize};

use super::{Named, UserChoice};

/// An application the user owns or that is shared with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRow {
    pub id: i32,
    pub name: String,
    /// The owner's name, not their email: a member the application is shared
    /// with sees only the name, and the page's data holds no more than it shows.
    pub owner: Named,
    /// Whether the signed-in user owns it (and so may share, clone and configure it).
    pub mine: bool,
    /// Who it is shared with; listed for its owner only.
    pub shared_with: Vec<UserChoice>,
    pub libraries: Vec<Named>,
    pub integrations: Vec<Named>,
}

/// The Applications page: what the user sees and may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applications {
    pub rows: Vec<ApplicationRow>,
    pub can_create: bool,
    pub can_share: bool,
    /// What an application's settings can attach: the account's libraries and integrations.
    pub libraries: Vec<Named>,
    pub integrations: Vec<Named>,
}

/// "No application", or the names of the applications using something,
/// then how many others (applications the viewer cannot see).
pub fn used_by(names: &[String], others: usize) -> String {
    let others = match others {
        0 => None,
        1 => Some("1 other application".to_string()),
        n => Some(format!("{n} other applications")),
    };
    match (names.is_empty(), others) {
        (true, None) => "No application".to_string(),
        (true, Some(others)) => others,
        (false, None) => names.join(", "),
        (false, Some(others)) => format!("{} and {others}", names.join(", ")),
    }
}
