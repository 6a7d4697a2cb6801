//! JS libraries.
use serde::{Deserialize, Serialize};

use super::UsedBy;

/// The longest JS library code, in characters; the browser counts toward it.
pub const JS_LIBRARY_MAX: usize = 4096;

/// One of the user's JS libraries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsLibraryRow {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub code: String,
    /// The applications it is attached to: the names of those its owner
    /// can see (the Applications tab's), and how many others.
    pub used_by: UsedBy,
    /// The day it was last changed, `YYYY-MM-DD`.
    pub updated: String,
}
