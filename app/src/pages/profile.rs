//! The user's own profile on the Account tab: name, email address and password.
use leptos::html;
use leptos::prelude::*;

use super::account::{Answers, SecurityChanges};
use crate::api::email_links::{
    pending_email_change, CancelEmailChange, RequestEmailChange, ResendVerification,
};
use crate::api::profile::{ChangePassword, UpdateName};
use crate::components::action::{
    field_error, forget_success, form_action, form_error, reset_on_success, success_message,
};
use crate::components::form::{CodeWhenAsked, Field, FormStatus, NewPasswordField, Username};
use crate::components::signed_in::UserResource;
use crate::model::{CurrentUser, PendingEmailChange, EMAIL_MAX, NAME_MAX, UNVERIFIED_LIMITS};

/// The user's name, email address and password, each in its own section.
#[component]
pub fn ProfileForms(me: CurrentUser) -> impl IntoView {
    let UserResource(user) = expect_context::<UserResource>();
    let update_name = form_action::<UpdateName>();
    let change_password = form_action::<ChangePassword>();
    let password_form = NodeRef::<html::Form>::new();
    SecurityChanges::of_tab().count_answers(change_password, Answers::Successes);

    // A saved name shows up in the top bar; a changed password is not left in the form.
    Effect::new(move |_| {
        if let Some(Ok(())) = update_name.value().get() {
            user.refetch();
        }
    });
    reset_on_success(change_password.value(), password_form);

    let name_result = update_name.value();
    let password_result = change_password.value();
    let email = me.email.clone();
    view! {
        {(!me.email_verified).then(|| view! { <UnverifiedNotice email=me.email.clone() /> })}
        <section class="panel" aria-labelledby="details-heading">
            <h2 id="details-heading">"User Settings"</h2>
            <ActionForm action=update_name attr:novalidate=true on:input=forget_success(update_name)>
                <FormStatus
                    error=form_error(name_result, &["first_name", "last_name"])
                    success=success_message(name_result, "Your name is saved.")
                />
                <Field label="First Name" name="first_name" autocomplete="given-name" value=me.first_name maxlength=NAME_MAX error=field_error(name_result, "first_name") />
                <Field label="Last Name" name="last_name" autocomplete="family-name" value=me.last_name maxlength=NAME_MAX error=field_error(name_result, "last_name") />
                <div class="field">
                    <span class="label">"Email Address"</span>
                    <p class="readonly">{email}</p>
                </div>
                <button type="submit" class="primary" disabled=move || update_name.pending().get() aria-busy=move || update_name.pending().get().then_some("true")>
                    "Save"
                </button>
            </ActionForm>
        </section>
        <ChangeEmail />
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change Password"</h2>
            <ActionForm action=change_password node_ref=password_form attr:novalidate=true on:input=forget_success(change_password)>
                <FormStatus
                    error=form_error(password_result, &["current_password", "new_password"])
                    success=success_message(password_result, "Your password was changed. Your other sessions were logged out, and an email change waiting for its confirmation, if any, was cancelled. Developer keys keep working: revoke any you do not recognise below.")
                />
                <Username email=me.email.clone() />
                <Field label="Current Password" name="current_password" input_type="password" autocomplete="current-password" error=field_error(password_result, "current_password") />
                <NewPasswordField label="New Password" name="new_password" error=field_error(password_result, "new_password") />
                <button type="submit" class="primary" disabled=move || change_password.pending().get() aria-busy=move || change_password.pending().get().then_some("true")>
                    "Change Password"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn UnverifiedNotice(email: String) -> impl IntoView {
    let resend = form_action::<ResendVerification>();
    let result = resend.value();
    let sent = {
        let email = email.clone();
        Signal::derive(move || {
            matches!(result.get(), Some(Ok(()))).then(|| format!("We sent a new link to {email}."))
        })
    };
    view! {
        <section class="panel notice" aria-labelledby="unverified-heading">
            <h2 id="unverified-heading">"Your email address is not verified"</h2>
            <p>
                "We sent a link to " <strong>{email}</strong>
                ". Open it to confirm the address is yours; an account whose address is never verified is removed after 7 days."
            </p>
            <p>{UNVERIFIED_LIMITS}</p>
            <ActionForm action=resend>
                <FormStatus error=form_error(result, &[]) success=sent />
                <button type="submit" disabled=move || resend.pending().get() aria-busy=move || resend.pending().get().then_some("true")>
                    "Resend Verification Email"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChangeEmail() -> impl IntoView {
    let change = form_action::<RequestEmailChange>();
    let cancel = form_action::<CancelEmailChange>();
    let result = change.value();
    // A changed password ends the link too; a change asked for or
    // cancelled shows in the tab's security activity (a refused cancel, too:
    // the link may have been used or cancelled elsewhere).
    let security = SecurityChanges::of_tab();
    security.count_answers(change, Answers::Successes);
    security.count_answers(cancel, Answers::All);
    // Loaded in the browser only, by an effect: as a server resource (in its
    // own <Loaded>) it cost the server render of /account about 0.4 M more
    // instructions (callgrind) for what is rarely there, and a LocalResource
    // read here suspends the tab's own <Transition>, which then draws the
    // section's forms anew on each reload and loses the focus. The page as
    // sent shows nothing here, as the browser's first draw does, so
    // hydration matches.
    let pending = RwSignal::new(None::<PendingEmailChange>);
    // Only the latest load's answer is shown: an earlier one may arrive last.
    let loads = StoredValue::new(0u32);
    Effect::new(move |_| {
        let _ = security.get();
        loads.update_value(|n| *n += 1);
        let this = loads.get_value();
        leptos::task::spawn_local(async move {
            let answer = pending_email_change().await;
            if let (Ok(now), true) = (answer, loads.get_value() == this) {
                pending.set(now);
            }
        });
    });
    // One task's notice at a time: a cancelled change's "we sent a link"
    // would say the opposite of what is now true. The change is gone at
    // once, with its button, before the focus is placed: the reload that
    // says so comes later, and took the button from under the focus.
    Effect::new(move |_| {
        if let Some(Ok(())) = cancel.value().get() {
            change.value().set(None);
            pending.set(None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = result.get() {
            cancel.value().set(None);
        }
    });
    let form = NodeRef::<html::Form>::new();
    reset_on_success(result, form);
    let waiting = move || pending.with(Option::is_some);
    let pending_text = move || {
        pending.get().map(|pending| {
            view! {
                <p>
                    "We sent a confirmation link to " <strong>{pending.new_email}</strong>
                    ". Your address changes when it is opened (it works until "
                    {pending.until} "); until then it stays as it is."
                </p>
            }
        })
    };
    let cancel_form = move || {
        waiting().then(|| {
            view! {
                <ActionForm action=cancel>
                    <button type="submit" disabled=move || cancel.pending().get() aria-busy=move || cancel.pending().get().then_some("true")>
                        "Cancel Email Change"
                    </button>
                </ActionForm>
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="email-heading">
            <h2 id="email-heading">"Change Email Address"</h2>
            // The change waiting for its link, told as soon as it is asked
            // for and after every reload: one place says it.
            // The live region holds the words only, and is there before
            // them, so a screen reader reads them out, not the button too.
            <div class=("pending-change", waiting)>
                <div role="status">{pending_text}</div>
                {cancel_form}
            </div>
            <FormStatus error=form_error(cancel.value(), &[]) success=success_message(cancel.value(), "The email change was cancelled: its link no longer works.") />
            <ActionForm action=change node_ref=form attr:novalidate=true>
                <FormStatus error=form_error(result, &["new_email", "current_password", "code"]) />
                <Field label="New Email Address" name="new_email" input_type="email" autocomplete="email" maxlength=EMAIL_MAX error=field_error(result, "new_email") />
                <Field label="Current Password" name="current_password" form="email-" input_type="password" autocomplete="current-password" error=field_error(result, "current_password") />
                <CodeWhenAsked form="email-" error=field_error(result, "code") />
                <button type="submit" class="primary" disabled=move || change.pending().get() aria-busy=move || change.pending().get().then_some("true")>
                    "Change Email Address"
                </button>
            </ActionForm>
        </section>
    }
}
