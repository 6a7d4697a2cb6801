//! The pages that links in emails open. Opening one changes nothing (mail
//! scanners open links in advance); its button POSTs the token. Like every
//! page before signing in, they are plain HTML (see `shell`): a success
//! redirects to the page's URL that says so.
use leptos::either::Either;
use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use super::SignedInAlready;
use crate::api::email_links::{
    check_email_change_link, check_reset_link, check_verification_link, ConfirmEmailChange,
    ResetPassword, VerifyEmail,
};
use crate::components::action::{field_error, form_action, form_error, redirected_success};
use crate::components::form::{FormStatus, NewPasswordField, Username};
use crate::components::loaded::{loading, past_dry_runs, server_resource};
use crate::model::{AppError, EmailChangeLink, Invitation, VerificationLink, DECLINE_HOLD_DAYS};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn token_from_query() -> String {
    use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default()
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let verify = form_action::<VerifyEmail>();
    let result = verify.value();
    let done = redirected_success(result, "verified", VERIFIED);
    let token = token_from_query();
    // Rendered once this is in (`SsrMode::Async`): a link that no longer
    // works, or whose address is verified already, says so at once.
    let link = server_resource(|| (), move |_| check_verification_link(token.clone()));
    let form = move |company: String, name: String, signed_up: String| {
        view! {
            <ActionForm action=verify attr:class="card">
                <FormStatus error=form_error(result, &[]) />
                <input type="hidden" name="token" value=token_from_query() />
                // Anyone may sign up with any address: the page names the
                // account, for its owner to tell a stranger's from theirs.
                <p>
                    "This link verifies the address of " <strong>{name}</strong> ", who signed up for "
                    <strong>{company}</strong> " on " {signed_up} "."
                </p>
                <p>"Press the button only if that is you: it confirms that this address is yours."</p>
                <button type="submit" class="primary" disabled=move || verify.pending().get() aria-busy=move || verify.pending().get().then_some("true")>
                    "Verify Email Address"
                </button>
            </ActionForm>
        }
    };
    let form_or_verified = move |link: VerificationLink| match link {
        VerificationLink::Waiting { company, name, signed_up } => {
            Either::Left(form(company, name, signed_up))
        }
        VerificationLink::Verified => {
            Either::Right(view! { <p class="alert success" role="status">{VERIFIED}</p> })
        }
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Verify your email address"</h1>
            // Once verified, the page says so and asks nothing more.
            {move || match done.get() {
                Some(message) => Either::Left(view! { <p class="alert success" role="status">{message}</p> }),
                None => Either::Right(checked_link(link, form_or_verified)),
            }}
            <p><a href="/account">"Go to My Account"</a></p>
        </main>
    }
}

const VERIFIED: &str = "Your email address is verified. Thank you!";

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = form_action::<ResetPassword>();
    let result = reset.value();
    let token = token_from_query();
    // Rendered once this is in (`SsrMode::Async`): a link that no longer
    // works says so before a new password is typed for nothing.
    let link = server_resource(|| (), move |_| check_reset_link(token.clone()));
    let form = move |email: String| {
        view! {
            <SignedInAlready then="setting a new password here ends this session." />
            <ActionForm action=reset attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <Username email />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || reset.pending().get() aria-busy=move || reset.pending().get().then_some("true")>
                    "Set New Password"
                </button>
            </ActionForm>
        }
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Choose a new password"</h1>
            {checked_link(link, form)}
            <p><a href="/forgot-password">"Ask for a new link"</a></p>
        </main>
    }
}

/// A link's page once its check is in (the routes render with
/// `SsrMode::Async`, so the server sends it whole): what `form` makes of the
/// check's answer, or, when the link no longer works, its refusal in the
/// words a press of the button would get, with nothing to press.
fn checked_link<T, V>(
    link: Resource<Result<T, AppError>>,
    form: impl Fn(T) -> V + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let body = move || {
        Suspend::new(async move {
            past_dry_runs().await;
            match link.await {
                Ok(answer) => Either::Left(form(answer)),
                Err(err) => {
                    let why = err.message_for("token").unwrap_or_else(|| err.to_string());
                    Either::Right(view! { <p class="alert error" role="alert">{why}</p> })
                }
            }
        })
    };
    view! { <Suspense fallback=loading>{body}</Suspense> }
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
    let form = move |link: EmailChangeLink| {
        view! {
            <ActionForm action=confirm attr:class="card">
                <FormStatus error=form_error(result, &[]) />
                <input type="hidden" name="token" value=token_from_query() />
                // The user named by the address they have now, when it is
                // verified: the link may have reached someone else's inbox.
                {match link.from {
                    Some(from) => Either::Left(view! {
                        <p>
                            "Press the button to make " <strong class="to">{link.to}</strong>
                            " the address that the Voice Console user " <strong class="from">{from}</strong>
                            " logs in with. Press it only if that is your account."
                        </p>
                    }),
                    None => Either::Right(view! {
                        <p>
                            "Press the button to make " <strong class="to">{link.to}</strong>
                            " the address of the Voice Console user who signed up on " {link.signed_up}
                            ". Press it only if you signed up yourself."
                        </p>
                    }),
                }}
                <button type="submit" class="primary" disabled=move || confirm.pending().get() aria-busy=move || confirm.pending().get().then_some("true")>
                    "Confirm New Email Address"
                </button>
            </ActionForm>
        }
    };
    view! {
        <main id="main" class="narrow">
            <h1>"Confirm your new email address"</h1>
            // Once confirmed, the page says so and asks nothing more.
            {move || match done.get() {
                Some(message) => Either::Left(view! { <p class="alert success" role="status">{message}</p> }),
                None => Either::Right(checked_link(link, form)),
            }}
            <p><a href="/account">"Go to My Account"</a></p>
        </main>
    }
}

const DECLINED: &str = "You declined the invitation. Its account cannot invite this address again \
     for a while.";

/// The page this invitation link opens, from its decline step.
fn invitation_url() -> String {
    format!("/activate?token={}", crate::components::address::encode_path(&token_from_query()))
}

#[component]
pub fn ActivatePage() -> impl IntoView {
    let activate = form_action::<crate::api::invitations::Activate>();
    let result = activate.value();
    let decline = form_action::<crate::api::invitations::DeclineInvitation>();
    let declined = decline.value();
    let done = redirected_success(declined, "declined", DECLINED);
    let (token, deciding) =
        use_query_map().with_untracked(|q| (q.get("token"), q.get("decline").is_some()));
    let token = token.unwrap_or_default();
    // The route renders after this resolves (`SsrMode::Async`): the page is
    // plain HTML, with nothing to fill it in later.
    let invitation = server_resource(
        || (),
        move |_| crate::api::invitations::read_invitation(token.clone(), deciding),
    );
    let decline_link = move || {
        view! {
            <h2>"Not for you?"</h2>
            <p>
                "If you do not know this account or do not want to join it, you can decline the \
                 invitation. "
                <a href=format!("{}&decline=1", invitation_url())>"Decline Invitation…"</a>
            </p>
        }
    };
    let activate_form = move |invited: Invitation| {
        if invited.on_hold {
            return Either::Left(view! {
                <p class="alert info" role="status">
                    "Your invitation to join " <strong>{invited.company}</strong>
                    " is on hold: an admin of the account disabled it, so it cannot be activated now."
                </p>
                {decline_link()}
            });
        }
        Either::Right(view! {
            <SignedInAlready then="activating the invitation ends this session." />
            <p>
                "You are invited to join " <strong>{invited.company}</strong>
                " on Voice Console. You will log in as " <strong>{invited.email.clone()}</strong> "."
            </p>
            <ActionForm action=activate attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_password"]) />
                <input type="hidden" name="token" value=token_from_query() />
                <Username email=invited.email.clone() />
                <NewPasswordField label="New Password" name="new_password" error=field_error(result, "new_password") />
                <button type="submit" class="primary" disabled=move || activate.pending().get() aria-busy=move || activate.pending().get().then_some("true")>
                    "Activate Account"
                </button>
            </ActionForm>
            {decline_link()}
        })
    };
    let decline_form = move |invited: Invitation| {
        view! {
            <ActionForm action=decline attr:class="card">
                <FormStatus error=form_error(declined, &[]) />
                <input type="hidden" name="token" value=token_from_query() />
                <p>
                    "Decline the invitation to join " <strong>{invited.company}</strong> " as "
                    <strong>{invited.email}</strong> "? It is removed, and the account cannot \
                     invite this address again for " {DECLINE_HOLD_DAYS} " days."
                </p>
                <div class="actions">
                    <button type="submit" class="danger" disabled=move || decline.pending().get() aria-busy=move || decline.pending().get().then_some("true")>
                        "Decline Invitation"
                    </button>
                    <a href=invitation_url()>"Back to the invitation"</a>
                </div>
            </ActionForm>
        }
    };
    // Declining cannot be undone, so the button that does it stands on a page
    // of its own, reached from the invitation by a link (these pages are
    // plain HTML: no script opens a dialog), with the way back beside it.
    let forms = move |invited: Invitation| match deciding {
        false => Either::Left(activate_form(invited)),
        true => Either::Right(decline_form(invited)),
    };
    view! {
        <main id="main" class="narrow">
            <h1>{if deciding { "Decline your invitation" } else { "Your invitation" }}</h1>
            {move || match done.get() {
                Some(message) => Either::Left(view! { <p class="alert success" role="status">{message}</p> }),
                None => Either::Right(view! {
                    {checked_link(invitation, forms)}
                    <p><a href="/login">"Go to the log-in page"</a></p>
                }),
            }}
        </main>
    }
}
