//! JS libraries.
use serde::{Deserialize, Serialize};

use super::UsedBy;

/// The longest JS library code, in characters; the browser counts toward it.
pub const JS_LIBRARY_MAX: usize = 4096;

/// One of the user's JS libraries, as its row shows it: without its code
/// (up to [`JS_LIBRARY_MAX`] characters, 200 libraries a user), which the
/// Edit dialog loads when it opens (`js_library_code`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsLibraryRow {
    pub id: i32,
    pub name: String,
    pub description: String,
    /// The applications it is attached to: the names of those its owner
    /// can see (the Applications tab's), and how many others.
    pub used_by: UsedBy,
    /// The day it was last changed, `YYYY-MM-DD`.
    pub updated: String,
    /// Which save of it this is, for Edit to send back: a save since it
    /// opened (another window) is refused rather than written over.
    pub version: String,
}
