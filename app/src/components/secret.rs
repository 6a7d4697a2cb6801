//! A secret shown once (a developer key, recovery codes): a button to keep
//! it before the page forgets it. No download link: a `data:` URL holding
//! the secret would stay in the browser's list of downloads.
use leptos::prelude::*;

/// Copies `text` to the clipboard. The button is named by `what` ("Copy
/// Key"); once pressed it says "Copied", and a status says it to a screen
/// reader too.
#[component]
pub fn CopyButton(text: String, what: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button type="button" on:click=move |_| {
            copy_to_clipboard(&text);
            copied.set(true);
        }>{move || if copied.get() { "Copied".to_string() } else { format!("Copy {what}") }}</button>
        <span class="sr-only" role="status">{move || copied.get().then(|| format!("{what} copied."))}</span>
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
