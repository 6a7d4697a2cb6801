//! Server functions: the browser's contract with the server, one module per
//! feature, named as in `model`, `pages` and `domain`. Each is thin:
//! authenticate, call the domain, map the result to a DTO. Authorization is
//! decided in the domain, never here.
pub mod account_info;
pub mod activity;
pub mod applications;
pub mod certificates;
pub mod deployments;
pub mod developer_keys;
pub mod email_links;
pub mod integrations;
pub mod invitations;
pub mod js_libraries;
pub mod log_in;
pub mod oauth_tokens;
pub mod phone_numbers;
pub mod profile;
pub mod sessions;
pub mod sign_up;
pub mod two_factor;
pub mod users;

#[cfg(feature = "ssr")]
pub mod web;
