//! One module per page or tab.
pub mod account;
pub mod account_info;
pub mod account_security;
pub mod applications;
pub mod certificates;
pub mod email_links;
pub mod forgot_password;
pub mod integrations;
pub mod js_libraries;
pub mod log_in;
pub mod my_account;
pub mod oauth_tokens;
pub mod phone_numbers;
pub mod sign_up;
pub mod users;

use leptos::prelude::*;

/// Where a signed-out visitor of `path` is sent: log in, then come back.
pub fn log_in_url(path: &str) -> String {
    format!("/login?next={}", encode_path(path))
}

/// The second step of a log-in with two-factor authentication, then `path`.
pub fn two_factor_url(path: &str) -> String {
    format!("/login/two-factor?next={}", encode_path(path))
}

fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <main id="main" class="narrow">
            <h1>"Page not found"</h1>
            <p>
                "There is nothing at this address. " <a href="/account">"Go to My Account"</a>
            </p>
        </main>
    }
}

/// What a signed-in user sees at a URL their role does not allow.
#[component]
pub fn Refused(message: String) -> impl IntoView {
    set_status(403);
    view! {
        <section class="panel refused">
            <h2>"Not available"</h2>
            <p>{message}</p>
        </section>
    }
}
