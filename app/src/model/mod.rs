//! The types that cross the wire between browser and server. Secrets never
//! appear here: password hashes, session tokens and the like stay server-side.
//!
//! One file per feature, named as in `api`, `pages` and `domain`; every item is
//! re-exported here, so `crate::model::Foo` names any of them.
use serde::{Deserialize, Serialize};

mod account_info;
mod activity;
mod applications;
mod certificates;
mod developer_keys;
mod errors;
mod integrations;
mod js_libraries;
mod lengths;
mod oauth_tokens;
mod phone_numbers;
mod profile;
mod sessions;
mod two_factor;
mod users;

pub use account_info::*;
pub use activity::*;
pub use applications::*;
pub use certificates::*;
pub use developer_keys::*;
pub use errors::*;
pub use integrations::*;
pub use js_libraries::*;
pub use lengths::*;
pub use oauth_tokens::*;
pub use phone_numbers::*;
pub use profile::*;
pub use sessions::*;
pub use two_factor::*;
pub use users::*;

/// Something referred to by id and shown by name (an application, a library).
/// Shared by several features, so it lives here rather than in one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Named {
    pub id: i32,
    pub name: String,
}

/// The product's name, as pages' titles and emails' subjects begin with it.
pub const PRODUCT: &str = "Voice Console";

/// "contact support", or "contact support at help@example.com" when the
/// platform has configured its address (`SUPPORT_EMAIL`): said where only
/// the platform's operators can help. Shared by the server's messages and
/// the pages' notices, so it lives here.
pub fn contact_support(address: Option<&str>) -> String {
    match address {
        Some(address) => format!("contact support at {address}"),
        None => "contact support".into(),
    }
}
