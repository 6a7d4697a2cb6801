//! sea-orm entities: one module per table.
pub mod account;
pub mod email_outbox;
pub mod email_token;
pub mod integration;
pub mod local_number_pool;
pub mod phone_number;
pub mod session;
pub mod user;
