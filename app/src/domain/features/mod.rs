//! What users build and own in their account. Imports `core`, and its
//! siblings without cycles: `applications` (what the others attach to) and
//! `certificates` (calls made as the account, for OAuth tokens).
pub mod applications;
pub mod certificates;
pub mod deployments;
pub mod integrations;
pub mod js_libraries;
pub mod oauth_tokens;
pub mod phone_numbers;
