//! sea-orm entities: one module per table.
pub mod account;
pub mod session;
pub mod user;
