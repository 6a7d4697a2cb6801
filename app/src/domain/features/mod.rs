//! What users build and own in their account. Imports `core`, and of its
//! siblings only `applications`, the one thing the others attach to.
pub mod applications;
pub mod certificates;
pub mod deployments;
pub mod integrations;
pub mod js_libraries;
pub mod oauth_tokens;
pub mod phone_numbers;
