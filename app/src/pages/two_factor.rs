//! The Two-Factor Authentication section of the Account tab. It has its own
//! resource (see `my_account` on why one resource is never read by two
//! Suspenses).
use leptos::either::Either;
use leptos::prelude::*;

use super::account::{Answers, SecurityChanges};
use crate::api::two_factor::{
    load_two_factor_status, BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor,
    RegenerateRecoveryCodes,
};
use crate::components::action::{field_error, form_action, form_error, newest_success};
use crate::components::focus_by_id;
use crate::components::form::{Field, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::secret::CopyButton;
use crate::model::TwoFactorStatus;

#[component]
pub fn TwoFactorSection() -> impl IntoView {
    let begin = form_action::<BeginTwoFactor>();
    let confirm = form_action::<ConfirmTwoFactor>();
    let disable = form_action::<DisableTwoFactor>();
    let regenerate = form_action::<RegenerateRecoveryCodes>();
    let security = SecurityChanges::of_tab();
    security.count_answers(confirm, Answers::Successes);
    security.count_answers(disable, Answers::Successes);
    security.count_answers(regenerate, Answers::Successes);
    // The status is loaded again after a success on the tab, this
    // section's among them: not after a refusal, as reloading re-renders the
    // forms, which would empty what the user typed. Another section's
    // success counts too: a recovery code given as its code (a developer
    // key, a new email address) leaves one fewer.
    let status = server_resource(move || security.successes(), |_| load_two_factor_status());
    // Recovery codes are shown once: after enabling, or after regenerating.
    let codes = newest_success(vec![confirm.value(), regenerate.value()]);
    // Turned off, the set-up starts afresh: the old secret and its QR code
    // were deleted with it, and the codes shown no longer work.
    Effect::new(move |_| {
        if disable.value().with(|v| matches!(v, Some(Ok(_)))) {
            begin.value().set(None);
            codes.set(None);
        }
    });
    // Said until a new set-up starts (which empties `begin` no more).
    let turned_off = Signal::derive(move || -> Option<String> {
        let off = disable.value().with(|v| matches!(v, Some(Ok(_))));
        (off && begin.value().with(Option::is_none))
            .then(|| "Two-factor authentication is off: log-in asks for your password only.".into())
    });
    let body = move |status: TwoFactorStatus| match status {
        TwoFactorStatus { enabled: true, recovery_codes_left } => Either::Left(view! {
            <p>"Two-factor authentication is " <strong>"on"</strong> ". Log-in asks for a code from your authenticator app. Recovery codes left: " {recovery_codes_left} "."</p>
            {(recovery_codes_left <= RECOVERY_CODES_LOW).then(|| view! {
                <p class="alert warn">{running_out(recovery_codes_left)}</p>
            })}
            <details>
                <summary>"New Recovery Codes"</summary>
                <ActionForm action=regenerate attr:novalidate=true attr:data-needs-code=true>
                    <FormStatus error=form_error(regenerate.value(), &["password", "code"]) />
                    <p class="hint">"Your current recovery codes stop working at once, printed or saved ones too."</p>
                    <Field label="Current Password" name="password" form="regenerate-" input_type="password" autocomplete="current-password" error=field_error(regenerate.value(), "password") />
                    <Field label="Authentication Code" name="code" form="regenerate-" autocomplete="one-time-code" hint="A code from your authenticator app, or a recovery code." error=field_error(regenerate.value(), "code") />
                    <button type="submit" disabled=move || regenerate.pending().get() aria-busy=move || regenerate.pending().get().then_some("true")>"Make New Recovery Codes"</button>
                </ActionForm>
            </details>
            <details>
                <summary>"Turn Off Two-Factor Authentication"</summary>
                <ActionForm action=disable attr:novalidate=true>
                    <FormStatus error=form_error(disable.value(), &["password", "code"]) />
                    <Field label="Current Password" name="password" form="disable-" input_type="password" autocomplete="current-password" error=field_error(disable.value(), "password") />
                    <Field label="Authentication Code" name="code" form="disable-" autocomplete="one-time-code" hint="A code from your authenticator app, or a recovery code." error=field_error(disable.value(), "code") />
                    <button type="submit" class="danger" disabled=move || disable.pending().get() aria-busy=move || disable.pending().get().then_some("true")>"Turn Off"</button>
                </ActionForm>
            </details>
        }),
        _ => Either::Right(view! { <TwoFactorSetupSteps begin confirm /> }),
    };
    view! {
        <section class="panel" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading" tabindex="-1">"Two-Factor Authentication"</h2>
            <Loaded resource=status view=body />
            <FormStatus error=Signal::derive(|| None::<String>) success=turned_off />
            {move || {
                codes.get().map(|list| {
                    // Put away once the user says they are kept: the focus
                    // goes to the section's heading, not the page's top.
                    let saved = Callback::new(move |_| {
                        codes.set(None);
                        focus_by_id("two-factor-heading");
                    });
                    let turned_on = confirm.value().with(|v| matches!(v, Some(Ok(c)) if *c == list));
                    view! { <RecoveryCodes codes=list saved turned_on /> }
                })
            }}
        </section>
    }
}

/// Said below the codes' introduction when 2FA was just turned on (the
/// status above says it is on): what it ended, as the password change's
/// notice says, and what it did not, which a user who turns it on because
/// they fear someone has their password must check.
const TURNED_ON: &str = "Your other sessions were logged out: they began without a code. An \
                         email change waiting for its confirmation, if any, was cancelled. \
                         Developer keys keep working without a code: revoke any you do not \
                         recognise below.";

/// At most this many recovery codes left, the section warns: without the
/// phone and without a code, only support can let the user in.
const RECOVERY_CODES_LOW: usize = 2;

fn running_out(left: usize) -> String {
    match left {
        0 => "You have no recovery codes left: make new ones below, or losing your phone locks \
              you out."
            .into(),
        1 => "Only 1 recovery code is left: make new ones below.".into(),
        n => format!("Only {n} recovery codes are left: make new ones below."),
    }
}

#[component]
fn TwoFactorSetupSteps(
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
) -> impl IntoView {
    // A refusal redraws the Set Up button under it: the new one takes the
    // focus, and the status, there before the answer, reads the refusal out.
    Effect::new(move |_| {
        if begin.value().with(|answer| matches!(answer, Some(Err(_)))) {
            focus_by_id("two-factor-setup");
        }
    });
    view! {
        <p>"Two-factor authentication is off. With it on, log-in also asks for a code from an authenticator app on your phone."</p>
        <FormStatus error=form_error(begin.value(), &[]) />
        {move || match begin.value().get() {
            Some(Ok(setup)) => Either::Left(view! {
                <ol class="steps">
                    <li>
                        "Scan this QR code with your authenticator app:"
                        <div class="qr" role="img" aria-label="QR code of your two-factor secret" inner_html=setup.qr_svg.clone()></div>
                        "or type in this secret: " <code class="secret">{grouped(&setup.secret)}</code>
                    </li>
                    <li>
                        <ActionForm action=confirm attr:novalidate=true attr:data-needs-code=true>
                            <input type="hidden" name="setup_id" value=setup.setup_id.clone() />
                            <FormStatus error=form_error(confirm.value(), &["password", "code"]) />
                            <Field label="Authentication Code" name="code" form="enable-" autocomplete="one-time-code" inputmode="numeric" maxlength=7 hint="The 6-digit code your app shows for this account." error=field_error(confirm.value(), "code") />
                            <Field label="Current Password" name="password" form="enable-" input_type="password" autocomplete="current-password" hint="Turning on two-factor authentication asks for your password." error=field_error(confirm.value(), "password") />
                            <div class="actions">
                                <button type="submit" class="primary" disabled=move || confirm.pending().get() aria-busy=move || confirm.pending().get().then_some("true")>"Turn On"</button>
                                // Nothing was turned on: the next Set Up starts afresh.
                                <button type="button" on:click=move |_| cancel_setup(begin, confirm)>"Cancel"</button>
                            </div>
                        </ActionForm>
                    </li>
                </ol>
            }),
            _ => Either::Right(view! {
                <button type="button" id="two-factor-setup" class="primary" disabled=move || begin.pending().get() aria-busy=move || begin.pending().get().then_some("true") on:click=move |_| {
                    begin.dispatch(BeginTwoFactor {});
                }>"Set Up Two-Factor Authentication"</button>
            }),
        }}
    }
}

/// Leaves the set-up steps for the Set Up button, which takes the focus
/// (the Cancel button that had it is gone).
fn cancel_setup(begin: ServerAction<BeginTwoFactor>, confirm: ServerAction<ConfirmTwoFactor>) {
    begin.value().set(None);
    confirm.value().set(None);
    focus_by_id("two-factor-setup");
}

/// The codes just made, until the user says they have kept them (`saved`);
/// `turned_on` when 2FA was turned on with them, which logged the other
/// sessions out.
#[component]
fn RecoveryCodes(codes: Vec<String>, saved: Callback<()>, turned_on: bool) -> impl IntoView {
    let all = codes.join("\n") + "\n";
    // The focus goes to them, as to a new developer key: a region drawn
    // with its words already in it is often not read out (and read out, it
    // would speak all ten codes), and the button that made them is gone.
    Effect::new(|_| focus_by_id("recovery-codes-ready"));
    view! {
        <div class="alert success">
            <p id="recovery-codes-ready" tabindex="-1">"Your recovery codes. Each works once, in place of a code from the app. Keep them somewhere safe: they are not shown again."</p>
            {turned_on.then(|| view! { <p>{TURNED_ON}</p> })}
            <ul class="recovery-codes">
                {codes.iter().map(|c| view! { <li><code>{c.clone()}</code></li> }).collect_view()}
            </ul>
            <div class="actions">
                <CopyButton text=all what="Codes" />
                <button type="button" on:click=move |_| saved.run(())>"I Have Saved Them"</button>
            </div>
        </div>
    }
}

/// A secret to type by hand in groups of four, as authenticator apps show
/// theirs: 32 letters in a row are easy to lose one's place in.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let groups: Vec<String> = chars.chunks(4).map(|group| group.iter().collect()).collect();
    groups.join(" ")
}
