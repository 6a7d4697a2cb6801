//! sea-orm entities: one module per table.
pub mod account;
pub mod application;
pub mod application_integration;
pub mod application_library;
pub mod application_share;
pub mod deployment;
pub mod email_outbox;
pub mod email_token;
pub mod integration;
pub mod js_library;
pub mod local_number_pool;
pub mod phone_number;
pub mod session;
pub mod user;
