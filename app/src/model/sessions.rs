//! The user's signed-in sessions.
use serde::{Deserialize, Serialize};

/// One of the user's signed-in browsers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Identifies the session for ending it (the SHA-256 of its token, never the token).
    pub id: String,
    pub device: String,
    /// Where it logged in from; empty when unknown.
    pub client_address: String,
    pub last_seen: String,
    pub started: String,
    /// Whether it is the session making this request.
    pub current: bool,
}
