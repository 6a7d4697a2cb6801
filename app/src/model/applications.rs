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
    /// The version of its settings, which the Settings dialog sends back
    /// (see `SaveApplicationSettings::opened`); empty unless `mine`.
    pub version: String,
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

/// The applications using a library or an integration: the names of those
/// the viewer can see, and how many others. A Delete dialog names them, and
/// its Yes detaches from these and no others (`detach_from`): one attached
/// after the dialog opened is asked about again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedBy {
    pub names: Vec<String>,
    pub others: usize,
}

impl UsedBy {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.others == 0
    }

    pub fn count(&self) -> usize {
        // `others` comes from the browser: a sum that wrapped would pass a
        // length check.
        self.names.len().saturating_add(self.others)
    }

    /// Whether each of these applications is among `confirmed`, whatever
    /// the order: named there (a name as often as here), or one of as many
    /// unnamed. Fewer than confirmed is within it (some were detached since).
    /// By name, as the dialog showed them: two of one name (different
    /// owners) are told apart by no one, so not here either.
    pub fn within(&self, confirmed: &UsedBy) -> bool {
        // Counted by name, in time linear in both lists: `confirmed` comes
        // from the browser, and is read under the account's lock.
        let mut left = std::collections::HashMap::<&str, usize>::new();
        for name in &confirmed.names {
            *left.entry(name.as_str()).or_default() += 1;
        }
        let named = self.names.iter().all(|name| match left.get_mut(name.as_str()) {
            Some(count) if *count > 0 => {
                *count -= 1;
                true
            }
            _ => false,
        });
        named && self.others <= confirmed.others
    }
}

/// "No application", or the names of the applications using something,
/// then how many others (applications the viewer cannot see). Applications
/// are named per owner, so a name may stand for several: it is said once,
/// with how many ("IVR (2 applications)"), not repeated.
impl std::fmt::Display for UsedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut counted: Vec<(&str, usize)> = Vec::new();
        let mut at = std::collections::HashMap::<&str, usize>::new();
        for name in &self.names {
            match at.get(name.as_str()) {
                Some(&i) => counted[i].1 += 1,
                None => {
                    at.insert(name, counted.len());
                    counted.push((name, 1));
                }
            }
        }
        let names = counted
            .iter()
            .map(|(name, n)| match n {
                1 => name.to_string(),
                n => format!("{name} ({n} applications)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        match (self.names.is_empty(), self.others) {
            (true, 0) => f.write_str("No application"),
            (true, 1) => f.write_str("1 other application"),
            (true, n) => write!(f, "{n} other applications"),
            (false, 0) => f.write_str(&names),
            (false, 1) => write!(f, "{names} and 1 other application"),
            (false, n) => write!(f, "{names} and {n} other applications"),
        }
    }
}

/// Said beside an application's JS libraries when one ticked is no longer
/// the account's (deleted in another window since the dialog opened): the
/// dialog then lists the account's as they are now.
pub const LIBRARY_GONE: &str = "A JS library you ticked is no longer in this account (deleted \
     meanwhile). The list is up to date now: check it, then save again.";
/// The same, for an integration.
pub const INTEGRATION_GONE: &str = "An integration you ticked is no longer in this account \
     (deleted meanwhile). The list is up to date now: check it, then save again.";

#[cfg(test)]
mod tests {
    use super::UsedBy;

    fn used_by(names: &[&str], others: usize) -> UsedBy {
        UsedBy { names: names.iter().map(|n| n.to_string()).collect(), others }
    }

    #[test]
    fn a_name_several_applications_share_is_said_once_with_their_number() {
        assert_eq!(used_by(&[], 0).to_string(), "No application");
        assert_eq!(used_by(&[], 2).to_string(), "2 other applications");
        assert_eq!(
            used_by(&["IVR", "Billing"], 1).to_string(),
            "IVR, Billing and 1 other application"
        );
        let shared = used_by(&["IVR", "Billing", "IVR", "IVR"], 0);
        assert_eq!(shared.to_string(), "IVR (3 applications), Billing");
        assert_eq!(shared.count(), 4, "each is still one to detach");
    }
}
