//! Reusable pieces of UI.
pub mod form;
pub mod js_syntax;
pub mod modal;
pub mod tabs;
pub mod user_picker;
