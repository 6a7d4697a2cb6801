use leptos::prelude::*;

use super::SignedInAlready;

use crate::api::log_in::{LogIn, LogInCode};
use crate::components::action::{field_error, form_action, form_error};
use crate::components::address::Query;
use crate::components::form::{Field, FormStatus};
use crate::components::support::ContactSupport;
use crate::model::EMAIL_MAX;

const LOGGED_OUT_NOTE: &str = "You have logged out.";
/// When a console page sent the visitor here (never logged in, or their
/// session ended): what they asked for comes once they have logged in.
const CONTINUE_NOTE: &str = "Log in to continue: the page you asked for opens next.";

#[component]
pub fn LogInPage() -> impl IntoView {
    let log_in = form_action::<LogIn>();
    let result = log_in.value();
    let query = Query::now();
    let (next, logged_out) =
        (query.get("next").unwrap_or_default(), query.get("logged_out").is_some());
    // Log Out lands here: the page says it was done, until a log-in is
    // tried; so does a console page that sent the visitor here.
    let note = match (logged_out, next.is_empty()) {
        (true, _) => Some(LOGGED_OUT_NOTE),
        (false, false) => Some(CONTINUE_NOTE),
        (false, true) => None,
    };
    let farewell = Signal::derive(move || {
        // Gone for good once a log-in is tried (a retry clears `result`).
        let tried = log_in.version().get() > 0 || log_in.pending().get();
        note.filter(|_| !tried).map(str::to_owned)
    });
    view! {
        <main id="main" class="narrow">
            <h1>"Log in"</h1>
            <SignedInAlready then="logging in here ends this session." />
            <ActionForm action=log_in attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["email", "password"]) success=farewell />
                <input type="hidden" name="next" value=next />
                <Field label="Email Address" name="email" input_type="email" autocomplete="username" maxlength=EMAIL_MAX error=field_error(result, "email") />
                <Field label="Password" name="password" input_type="password" autocomplete="current-password" error=field_error(result, "password") />
                <button type="submit" class="primary" disabled=move || log_in.pending().get() aria-busy=move || log_in.pending().get().then_some("true")>
                    "Log In"
                </button>
            </ActionForm>
            <p><a href="/forgot-password">"Forgot password?"</a></p>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </main>
    }
}

/// The second step for users with two-factor authentication on.
#[component]
pub fn LogInCodePage() -> impl IntoView {
    let log_in = form_action::<LogInCode>();
    let result = log_in.value();
    let query = Query::now();
    let (next, after_password_link) =
        (query.get("next").unwrap_or_default(), query.get("password_link").is_some());
    // Rendered by the server only: the pages before signing in load no wasm.
    #[cfg(feature = "ssr")]
    let support = crate::api::web::domain().ok().and_then(|d| d.support_email);
    #[cfg(not(feature = "ssr"))]
    let support = None::<String>;
    // After a password link its user may not know the password the log-in
    // page asks for: a new link is the way on.
    let (start_again, start_again_text) = if after_password_link {
        ("/forgot-password".to_owned(), "Ask for a new password link")
    } else if next.is_empty() {
        ("/login".to_owned(), "Start again")
    } else {
        (crate::components::address::log_in_url(&next), "Start again")
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Two-factor authentication"</h1>
            {after_password_link.then(|| view! { <p>{crate::pages::PASSWORD_WAITS_FOR_CODE}</p> })}
            <ActionForm action=log_in attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["code"]) />
                <input type="hidden" name="next" value=next />
                <Field
                    label="Authentication Code"
                    name="code"
                    autocomplete="one-time-code"
                    autofocus=true
                    hint="The 6-digit code from your authenticator app, or one of your recovery codes."
                    error=field_error(result, "code")
                />
                <button type="submit" class="primary" disabled=move || log_in.pending().get() aria-busy=move || log_in.pending().get().then_some("true")>
                    "Verify"
                </button>
            </ActionForm>
            <p class="hint">
                "Lost your authenticator app and your recovery codes? To have two-factor \
                 authentication turned off, "
                <ContactSupport address=support /> "."
            </p>
            // Back to where the log-in was going (the log-in page checks it).
            <p><a href=start_again>{start_again_text}</a></p>
        </main>
    }
}
