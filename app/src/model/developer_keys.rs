//! Developer keys for the JSON API.
use serde::{Deserialize, Serialize};

/// A developer key as listed: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeveloperKeyRow {
    pub id: i32,
    pub name: String,
    /// The key's first characters, e.g. `vk_AbCd1234`.
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// A key just generated: `key` is shown once and never again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeveloperKey {
    pub row: DeveloperKeyRow,
    pub key: String,
}
