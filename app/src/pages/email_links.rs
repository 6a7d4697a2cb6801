//! The pages that links in emails open. Opening one changes nothing (mail
//! scanners open links in advance); its button POSTs the token. Like every
//! page before signing in, they are plain HTML (see `shell`): a success
//! redirects to the page's URL that says so.
use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::api::email_links::{ConfirmEmailChange, ResetPassword, VerifyEmail};
use crate::components::form::{
    field_error, form_action, form_error, redirected_success, FormStatus, NewPasswordField,
};
use crate::model::DECLINE_HOLD_DAYS;

fn token_from_query() -> String {
    use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default()
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let verify = form_action::<VerifyEmail>();
    let result = verify.value();
    let done = redirected_success(result, "verified", "Your email address is verified. Thank you!");
    view! {
        <main id="main" class="narrow">
            <h1>"Verify your email address"</h1>
            <ActionForm action=verify attr:class="card">
                <FormStatus error=form_error(result, &[]) success=done />
                // Once verified, the page says so and asks nothing more.
                {move || done.get().is_none().then(|| view! {
                    <input type="hidden" name="token" value=token_from_query() />
                    <p>"Press the button to confirm that this address is yours."</p>
                    <button type="submit" class="primary" disabled=move || verify.pending().get()>
                        "Verify Email Address"
                    </button>
                })}
            </ActionForm>
            <p><a href="/account">"Go to My Account"</a></p>
        </main>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = form_action::<ResetPassword>();
    let result = reset.value();
    view! {
        <main id="main" class="narrow">
            <h1>"Choose a new password"</h1>
            <ActionForm action=reset attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || reset.pending().get()>
                    "Set New Password"
                </button>
            </ActionForm>
            <p><a href="/forgot-password">"Ask for a new link"</a></p>
        </main>
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let confirm = form_action::<ConfirmEmailChange>();
    let result = confirm.value();
    let done = redirected_success(
        result,
        "confirmed",
        "Your new email address is confirmed: your account now uses it.",
    );
    view! {
        <main id="main" class="narrow">
            <h1>"Confirm your new email address"</h1>
            <ActionForm action=confirm attr:class="card">
                <FormStatus error=form_error(result, &[]) success=done />
                // Once confirmed, the page says so and asks nothing more.
                {move || done.get().is_none().then(|| view! {
                    <input type="hidden" name="token" value=token_from_query() />
                    <p>"Press the button to start using this address for your account."</p>
                    <button type="submit" class="primary" disabled=move || confirm.pending().get()>
                        "Confirm New Email Address"
                    </button>
                })}
            </ActionForm>
            <p><a href="/account">"Go to My Account"</a></p>
        </main>
    }
}

const DECLINED: &str = "You declined the invitation. Its account cannot invite this address again \
     for a while.";

#[component]
pub fn ActivatePage() -> impl IntoView {
    let activate = form_action::<crate::api::users::Activate>();
    let result = activate.value();
    let decline = form_action::<crate::api::users::DeclineInvitation>();
    let declined = decline.value();
    let done = redirected_success(declined, "declined", DECLINED);
    view! {
        <main id="main" class="narrow">
            <h1>"Welcome! Choose your password"</h1>
            <ActionForm action=activate attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || activate.pending().get() || done.get().is_some()>
                    "Activate Account"
                </button>
            </ActionForm>
            <h2>"Not for you?"</h2>
            <ActionForm action=decline attr:class="card">
                <FormStatus error=form_error(declined, &[]) success=done />
                <input type="hidden" name="token" value=token_from_query() />
                <p>
                    "If you do not know this account or do not want to join it, decline: the \
                     invitation is removed, and the account cannot invite this address again for "
                    {DECLINE_HOLD_DAYS} " days."
                </p>
                <button type="submit" class="danger" disabled=move || decline.pending().get() || done.get().is_some()>
                    "Decline Invitation"
                </button>
            </ActionForm>
        </main>
    }
}
