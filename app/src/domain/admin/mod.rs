//! An admin's view of the whole account: its users (and the hand-over of
//! what a deleted user owned) and its company information. May use
//! `features`, `identity` and `core`.
pub mod account_info;
pub mod users;
