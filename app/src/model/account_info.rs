//! Account Information: the company details.
use serde::{Deserialize, Serialize};

/// The company details on the Account Information tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub company_name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    /// E.164, or empty.
    pub phone: String,
}
