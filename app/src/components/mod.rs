//! Reusable pieces of UI.
pub mod action;
pub mod form;
pub mod js_syntax;
pub mod loaded;
pub mod modal;
pub mod row_dialogs;
pub mod secret;
pub mod status;
pub mod table;
pub mod tabs;
pub mod title;
pub mod user_picker;
