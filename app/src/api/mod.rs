//! Server functions: the browser's contract with the server, one module per
//! area. Each is thin: authenticate, call the domain, map the result to a
//! DTO. Authorization is decided in the domain, never here.
pub mod account;
pub mod account_info;
pub mod applications;
pub mod auth;
pub mod certificates;
pub mod integrations;
pub mod libraries;
pub mod lifecycle;
pub mod oauth;
pub mod phones;
pub mod security;
pub mod users;

#[cfg(feature = "ssr")]
pub mod web;
