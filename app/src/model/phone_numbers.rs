//! Phone numbers: the account's numbers, their owners and deployments.
use serde::{Deserialize, Serialize};

use super::{Named, UserChoice};

/// One of the account's phone numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PhoneNumberRow {
    pub id: i32,
    /// E.164; [`readable_phone`] formats it for people.
    pub e164: String,
    pub pci: bool,
    pub owner: UserChoice,
    /// The application calls to this number run, if it is deployed.
    pub deployed_to: Option<Named>,
    /// The OAuth token that deployment uses, if one is assigned.
    pub token: Option<Named>,
}

/// The Phone Numbers tab: the account's numbers and whether it may hold more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumbers {
    pub rows: Vec<PhoneNumberRow>,
    /// Why no further number can be requested (the demo plan's limit), if so.
    pub limit: Option<String>,
    /// Where to ask for a number a request does not give (local, vanity).
    pub support_email: Option<String>,
}

/// The answer to a save of owners: the numbers as they are now, and those
/// it took off an application their new owner cannot see, which the tab
/// names (calls to them no longer reach it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnersSaved {
    pub numbers: PhoneNumbers,
    pub stopped: Vec<StoppedDeployment>,
}

/// A number taken off its application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedDeployment {
    /// E.164.
    pub number: String,
    /// The application's name.
    pub application: String,
}

/// An owner change the Phone Numbers tab saves: from the owner the page
/// showed, so that a change another admin saved meanwhile is not undone
/// unseen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerChange {
    pub number_id: i32,
    pub from_owner_id: i32,
    pub owner_id: i32,
}

/// `+18005550100` as `(800) 555-0100`; other countries' numbers stay E.164.
pub fn readable_phone(e164: &str) -> String {
    match e164.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.chars().all(|c| c.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => e164.to_owned(),
    }
}

/// `+14155550100` as `+1 (415) 555-0100`: readable, and read back as the
/// same number when saved again (Account Information's field, which showed
/// the bare E.164). Other countries' numbers stay E.164.
pub fn readable_international_phone(e164: &str) -> String {
    let readable = readable_phone(e164);
    if readable == e164 {
        readable
    } else {
        format!("+1 {readable}")
    }
}
