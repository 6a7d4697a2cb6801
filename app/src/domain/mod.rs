//! Server-only business rules. No Leptos and no HTTP in here: every entry
//! point (server functions, the JSON API, the operator CLI, the worker) calls
//! these services with the acting user, so each rule lives in one place.
//!
//! Layers, each importing only from those below it (`app/tests/layers.rs`
//! reads every `use` and fails on an upward import or a cycle):
//! - `operator`, `jobs`: what the command line and the periodic worker do;
//! - `admin`: an admin's view of the whole account;
//! - `features` and `identity`, side by side (neither imports the other);
//! - `core`: capabilities, scope, people and infrastructure;
//! - `entity`, `migration`: the tables.
pub mod admin;
pub mod core;
pub mod entity;
pub mod features;
pub mod identity;
pub mod jobs;
pub mod migration;
pub mod operator;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use self::core::Domain;
