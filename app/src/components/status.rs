//! How a page answers besides its content: the HTTP status of a server
//! render, and what a signed-in user sees where their role is refused.
use leptos::prelude::*;

/// Sets the HTTP status of a page rendered on the server; a no-op in the browser.
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(code))
    {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// What a signed-in user sees at a URL their role does not allow: said
/// under the tab's own heading, in the tab's panel (a panel of its own
/// there drew a card inside the card, headed "Not available").
#[component]
pub fn Refused(message: String) -> impl IntoView {
    set_status(403);
    view! { <p class="alert error" role="alert">{message}</p> }
}

/// What a tab shows when its session ended while the page was open (logged
/// out elsewhere, disabled by an admin, expired): the browser goes to the
/// log-in page, which brings the user back to this tab.
#[component]
pub fn SessionEnded() -> impl IntoView {
    let url = super::address::log_in_url(&super::address::here());
    #[cfg(feature = "hydrate")]
    {
        let url = url.clone();
        Effect::new(move |_| {
            let _ = window().location().set_href(&url);
        });
    }
    view! {
        <p class="alert error">"Your session has ended. " <a href=url>"Log in again"</a></p>
    }
}
