//! Who is acting: signing up and in, sessions, the second factor, developer
//! keys, email links and one's own profile. Imports `core` only.
pub mod activity;
pub mod developer_keys;
pub mod email_links;
pub mod log_in;
pub mod password_link;
pub mod profile;
pub mod reauth;
pub mod sessions;
pub mod sign_up;
pub mod throttle;
pub mod two_factor;
