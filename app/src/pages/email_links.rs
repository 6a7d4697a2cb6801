//! The pages that links in emails open. Opening one changes nothing (mail
//! scanners open links in advance); its button POSTs the token. Like every
//! page before signing in, they are plain HTML (see `shell`): a success
//! redirects to the page's URL that says so.
use leptos::either::Either;
use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::api::email_links::{
    check_email_change_link, check_reset_link, ConfirmEmailChange, ResetPassword, VerifyEmail,
};
use crate::components::form::{
    field_error, form_action, form_error, redirected_success, FormStatus, NewPasswordField,
};
use crate::components::loaded::{loading, server_resource};
use crate::model::{AppError, Invitation, DECLINE_HOLD_DAYS};

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
    let token = token_from_query();
    // Rendered once this is in (`SsrMode::Async`): a link that no longer
    // works says so before a new password is typed for nothing.
    let link = server_resource(|| (), move |_| check_reset_link(token.clone()));
    let form = move || {
        view! {
            <ActionForm action=reset attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || reset.pending().get()>
                    "Set New Password"
                </button>
            </ActionForm>
        }
    };
    let body = move || {
        Suspend::new(async move {
            match link.await {
                Ok(()) => Either::Left(form()),
                Err(err) => Either::Right(view! { <LinkRefused err /> }),
            }
        })
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=loading>{body}</Suspense>
            <p><a href="/forgot-password">"Ask for a new link"</a></p>
        </main>
    }
}

/// Why a link's page offers nothing to press: the link's own refusal.
#[component]
fn LinkRefused(err: AppError) -> impl IntoView {
    let why = err.message_for("token").unwrap_or_else(|| err.to_string());
    view! { <p class="alert error" role="alert">{why}</p> }
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
    let token = token_from_query();
    // Rendered once this is in (`SsrMode::Async`): a link that no longer
    // works says why before anything is pressed.
    let link = server_resource(|| (), move |_| check_email_change_link(token.clone()));
    let form = move |new_email: String| {
        view! {
            <ActionForm action=confirm attr:class="card">
                <FormStatus error=form_error(result, &[]) />
                <input type="hidden" name="token" value=token_from_query() />
                <p>
                    "Press the button to make " <strong>{new_email}</strong>
                    " your account's email address, the one you log in with."
                </p>
                <button type="submit" class="primary" disabled=move || confirm.pending().get()>
                    "Confirm New Email Address"
                </button>
            </ActionForm>
        }
    };
    let body = move || {
        Suspend::new(async move {
            match link.await {
                Ok(new_email) => Either::Left(form(new_email)),
                Err(err) => Either::Right(view! { <LinkRefused err /> }),
            }
        })
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Confirm your new email address"</h1>
            // Once confirmed, the page says so and asks nothing more.
            {move || match done.get() {
                Some(message) => Either::Left(view! { <p class="alert success" role="status">{message}</p> }),
                None => Either::Right(view! { <Suspense fallback=loading>{body}</Suspense> }),
            }}
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
    let token = token_from_query();
    // The route renders after this resolves (`SsrMode::Async`): the page is
    // plain HTML, with nothing to fill it in later.
    let invitation =
        server_resource(|| (), move |_| crate::api::users::read_invitation(token.clone()));
    let forms = move |invited: Invitation| {
        view! {
            <p>
                "You are invited to join " <strong>{invited.company}</strong>
                " on Voice Console. You will log in as " <strong>{invited.email}</strong> "."
            </p>
            <ActionForm action=activate attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || activate.pending().get()>
                    "Activate Account"
                </button>
            </ActionForm>
            <h2>"Not for you?"</h2>
            <ActionForm action=decline attr:class="card">
                <FormStatus error=form_error(declined, &[]) />
                <input type="hidden" name="token" value=token_from_query() />
                <p>
                    "If you do not know this account or do not want to join it, decline: the \
                     invitation is removed, and the account cannot invite this address again for "
                    {DECLINE_HOLD_DAYS} " days."
                </p>
                <button type="submit" class="danger" disabled=move || decline.pending().get()>
                    "Decline Invitation"
                </button>
            </ActionForm>
        }
    };
    // A link that no longer works says so before anything is typed, in the
    // words a press of either button would get.
    let body = move || {
        Suspend::new(async move {
            match invitation.await {
                Ok(invited) => Either::Left(forms(invited)),
                Err(err) => Either::Right(view! {
                    <LinkRefused err />
                    <p><a href="/login">"Go to the log-in page"</a></p>
                }),
            }
        })
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Your invitation"</h1>
            {move || match done.get() {
                Some(message) => Either::Left(view! { <p class="alert success" role="status">{message}</p> }),
                None => Either::Right(view! { <Suspense fallback=loading>{body}</Suspense> }),
            }}
        </main>
    }
}
