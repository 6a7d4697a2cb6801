//! A secret shown once (a developer key, recovery codes): a button to keep
//! it before the page forgets it. No download link: a `data:` URL holding
//! the secret would stay in the browser's list of downloads.
use leptos::prelude::*;

/// Copies `text` to the clipboard. The button is named by `what` ("Copy
/// Key"); once the browser has copied it, it says "Copied" for a few
/// seconds, and a status says it to a screen reader too. A refused copy (no
/// clipboard access, a page not served over HTTPS) says so: the user must
/// select the text instead, or lose the secret for good.
#[component]
pub fn CopyButton(text: String, what: &'static str) -> impl IntoView {
    let outcome = RwSignal::new(None::<bool>);
    let text = StoredValue::new(text);
    let label = move || match outcome.get() {
        Some(true) => "Copied".to_string(),
        _ => format!("Copy {what}"),
    };
    let status = move || match outcome.get() {
        Some(true) => Some(format!("{what} copied.")),
        Some(false) => Some(format!(
            "Could not copy the {}: select it and copy it yourself.",
            what.to_lowercase()
        )),
        None => None,
    };
    view! {
        <button type="button" on:click=move |_| {
            leptos::task::spawn_local(async move {
                let copied = copy_to_clipboard(&text.get_value()).await;
                // try_: the dialog showing the secret may have closed meanwhile.
                let _ = outcome.try_set(Some(copied));
                if copied {
                    leptos::prelude::set_timeout(
                        move || {
                            let _ = outcome.try_set(None);
                        },
                        std::time::Duration::from_secs(4),
                    );
                }
            });
        }>{label}</button>
        <span class=move || if outcome.get() == Some(false) { "error" } else { "sr-only" } role="status">{status}</span>
    }
}

/// Whether the browser copied `text`.
async fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return false };
        // Outside a secure context (a page not served over HTTPS) there is
        // no clipboard at all, and calling it would throw.
        let clipboard = window.navigator().clipboard();
        if clipboard.is_undefined() {
            return false;
        }
        let written = clipboard.write_text(text);
        wasm_bindgen_futures::JsFuture::from(written).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
