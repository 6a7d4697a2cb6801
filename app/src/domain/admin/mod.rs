//! An admin's view of the whole account: its users (and the hand-over of
//! what a deleted user owned), its company information and its activity log.
//! May use `features`, `identity` and `core`.
pub mod account_info;
pub mod activity;
pub mod users;
