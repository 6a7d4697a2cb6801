//! JS libraries.
use serde::{Deserialize, Serialize};

/// The longest JS library code, in characters; the browser counts toward it.
pub const JS_LIBRARY_MAX: usize = 4096;

/// One of the user's JS libraries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsLibraryRow {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub code: String,
    /// The names of the applications it is attached to that its owner can
    /// see (the Applications tab's), and how many others use it.
    pub used_by: Vec<String>,
    pub used_elsewhere: usize,
    /// The day it was last changed, `YYYY-MM-DD`.
    pub updated: String,
}
