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

/// Scrolls the page, or the list around it, as little as brings the element
/// `id` into sight (nothing when it is in sight already).
#[cfg(feature = "hydrate")]
pub fn bring_into_sight(id: &str) {
    if let Some(element) = leptos::prelude::document().get_element_by_id(id) {
        let nearest = web_sys::ScrollIntoViewOptions::new();
        nearest.set_block(web_sys::ScrollLogicalPosition::Nearest);
        element.scroll_into_view_with_scroll_into_view_options(&nearest);
    }
}
