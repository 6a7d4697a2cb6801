//! Where to write when only the platform's people can help.
use leptos::either::Either;
use leptos::prelude::*;

/// "contact support at <address>", the address a link that opens a new
/// email to it (the operator's `SUPPORT_EMAIL`), or "contact support" when
/// none is configured. The same words as `model::contact_support`, which
/// emails use.
#[component]
pub fn ContactSupport(address: Option<String>) -> impl IntoView {
    match address {
        Some(address) => Either::Left(view! {
            "contact support at " <a href=format!("mailto:{address}")>{address.clone()}</a>
        }),
        None => Either::Right("contact support"),
    }
}
