//! Reusable pieces of UI.
pub mod action;
pub mod address;
pub mod form;
pub mod js_syntax;
pub mod loaded;
pub mod modal;
pub mod row_dialogs;
pub mod secret;
pub mod signed_in;
pub mod status;
pub mod support;
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

/// Focuses the element `id` once the change just made is drawn: the control
/// that had the focus is gone with it.
pub fn focus_by_id(id: impl Into<String>) {
    let id: String = id.into();
    #[cfg(feature = "hydrate")]
    leptos::prelude::request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        let element = leptos::prelude::document().get_element_by_id(&id);
        if let Some(element) =
            element.and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Puts `text` in the live region `region`, emptied first for a moment: a
/// screen reader reads out a change, and the same words again (the next
/// page, as many rows as the last) are one only after the region was empty.
pub fn say(region: leptos::prelude::RwSignal<Option<String>>, text: String) {
    use leptos::prelude::*;
    #[cfg(feature = "hydrate")]
    {
        region.set(None);
        leptos::prelude::set_timeout(
            move || {
                // The tab may be gone by then, its signals with it.
                region.try_set(Some(text));
            },
            std::time::Duration::from_millis(100),
        );
    }
    #[cfg(not(feature = "hydrate"))]
    region.set(Some(text));
}
