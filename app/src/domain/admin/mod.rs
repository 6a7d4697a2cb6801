//! An admin's view of the whole account: its users, their invitations (and
//! the hand-over of what a user who goes owned), its company information and
//! its activity log. May use `features`, `identity` and `core`.
pub mod account_info;
pub mod activity;
mod hand_over;
pub mod invitations;
pub mod users;
