//! One module per page, tab or section of the Account tab, named by feature
//! as in `api`, `model` and `domain`.
pub mod account;
pub mod account_info;
pub mod activity;
pub mod applications;
pub mod certificates;
pub mod developer_keys;
pub mod email_links;
pub mod forgot_password;
pub mod integrations;
pub mod js_libraries;
pub mod log_in;
pub mod my_account;
pub mod oauth_tokens;
pub mod phone_numbers;
pub mod profile;
pub mod sessions;
pub mod sign_up;
pub mod two_factor;
pub mod users;

use leptos::prelude::*;

pub use crate::components::status::{set_status, Refused};

pub const PASSWORD_WAITS_FOR_CODE: &str =
    "Your new password is saved when you enter a code. Until then your old password stays.";

/// Where the forms of the forgot-password and email-link pages, and Log Out,
/// go when they succeed: back to their page (Log Out: to the log-in page),
/// with a flag that shows the outcome
/// (`components::action::redirected_success`). A redirect, so that these plain
/// HTML pages (see `shell`) show it too. Anyone can open these URLs; all they
/// show is a fixed sentence.
pub const PASSWORD_RESET_SENT: &str = "/forgot-password?sent=1";
pub const EMAIL_VERIFIED: &str = "/verify-email?verified=1";
pub const EMAIL_CHANGE_CONFIRMED: &str = "/confirm-email?confirmed=1";
pub const INVITATION_DECLINED: &str = "/activate?declined=1";
pub const LOGGED_OUT: &str = "/login?logged_out=1";

/// On a page that starts a new session, opened by someone signed in (the
/// server's check before the render found their session): who they are, the
/// way back, and `then`, what going on does to their session. These pages
/// are plain HTML, rendered by the server only.
#[component]
pub fn SignedInAlready(then: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let me = crate::api::web::checked_user();
    #[cfg(not(feature = "ssr"))]
    let me = None::<crate::model::CurrentUser>;
    me.map(|me| {
        view! {
            <p class="alert info" role="status">
                "You are logged in as " <strong>{me.email}</strong> ". "
                <a href="/account">"Go to My Account"</a> ", or go on: " {then}
            </p>
        }
    })
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
