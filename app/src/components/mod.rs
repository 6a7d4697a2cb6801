//! Reusable pieces of UI.
pub mod form;
pub mod tabs;
