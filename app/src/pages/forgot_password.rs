use leptos::prelude::*;

use crate::api::email_links::RequestPasswordReset;
use crate::components::action::{field_error, form_action, form_error, redirected_success};
use crate::components::form::{Field, FormStatus};
use crate::model::{EMAIL_MAX, RESET_REQUESTED};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = form_action::<RequestPasswordReset>();
    let result = request.value();
    let sent = redirected_success(result, "sent", RESET_REQUESTED);
    // Filled from the log-in page's field ("Forgot password?" takes it along).
    let typed: String = crate::components::address::Query::now()
        .get("email")
        .unwrap_or_default()
        .chars()
        .take(254)
        .collect();
    view! {
        <main id="main" class="narrow">
            <h1>"Forgot your password?"</h1>
            <p>"Enter your email address and we will send you a link to choose a new password."</p>
            <ActionForm action=request attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["email"]) success=sent />
                <Field label="Email Address" name="email" input_type="email" autocomplete="email" maxlength=EMAIL_MAX value=typed error=field_error(result, "email") />
                <button type="submit" class="primary" disabled=move || request.pending().get() aria-busy=move || request.pending().get().then_some("true")>
                    "Send Reset Link"
                </button>
            </ActionForm>
            <p><a href="/login">"Back to log in"</a></p>
        </main>
    }
}
