//! The Developer Keys section of the Account tab: keys for the JSON API. It
//! has its own resource (see `my_account` on why one resource is never read
//! by two Suspenses).
use leptos::prelude::*;

use super::account::{Answers, SecurityChanges};
use crate::api::developer_keys::{
    list_developer_keys, GenerateDeveloperKey, RegenerateDeveloperKey, RevokeDeveloperKey,
};
use crate::components::action::{
    answers, field_error, form_action, form_error, newest_success, reset_on_success,
};
use crate::components::focus_by_id;
use crate::components::form::{CodeWhenAsked, DoneNotice, Field, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, CancelButton, Confirm, Modal};
use crate::components::secret::CopyButton;
use crate::components::table::{DataTable, RowActions};
use crate::model::{DeveloperKeyRow, NewDeveloperKey, NAME_MAX};

#[component]
pub fn DeveloperKeysSection() -> impl IntoView {
    let generate = form_action::<GenerateDeveloperKey>();
    let regenerate = form_action::<RegenerateDeveloperKey>();
    let revoke = form_action::<RevokeDeveloperKey>();
    // The key's name and the password are not left for a second key.
    let generate_form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(generate.value(), generate_form);
    // The key whose Regenerate was pressed: a dialog asks for the password.
    let regenerating = RwSignal::new(None::<(i32, String)>);
    let regenerate_open = RwSignal::new(false);
    close_on_success(regenerate, regenerate_open);
    let security = SecurityChanges::of_tab();
    security.count_answers(generate, Answers::Successes);
    security.count_answers(regenerate, Answers::Successes);
    security.count_answers(revoke, Answers::Successes);
    let changes = [answers(generate), answers(regenerate), answers(revoke)];
    let keys = server_resource(move || changes.map(|c| c.get()), |_| list_developer_keys());
    // The key just made, shown once.
    let shown = newest_success(vec![generate.value(), regenerate.value()]);
    // The key whose Revoke was pressed: a dialog asks first, since programs
    // using it stop at once and it cannot be undone.
    let revoking = RwSignal::new(None::<(i32, String)>);
    let revoke_open = RwSignal::new(false);
    close_on_success(revoke, revoke_open);
    let revoke_question = Signal::derive(move || {
        revoking
            .with(|k| {
                k.as_ref().map(|(_, name)| {
            format!("Revoke {name}? Programs using it stop working at once; this cannot be undone.")
        })
            })
            .unwrap_or_default()
    });
    // A revoked key is said so, and its secret, if still shown, goes: it
    // no longer works, and "copy it now" would say otherwise.
    let revoked = RwSignal::new(None);
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some((id, name))) = (revoke.value().get(), revoking.get_untracked()) {
            if shown.with_untracked(|s| s.as_ref().is_some_and(|k| k.row.id == id)) {
                shown.set(None);
            }
            revoked.set(Some(format!("The key {name} is revoked.")));
        }
    });
    Effect::new(move |_| {
        if generate.pending().get() || regenerate.pending().get() {
            revoked.set(None);
        }
    });
    let on_revoke = Callback::new(move |_| {
        if let Some((id, _)) = revoking.get_untracked() {
            revoke.dispatch(RevokeDeveloperKey { id });
        }
    });
    // The new key is drawn above the list and the form that made it: the
    // focus goes to it, so that a screen reader says at once that a key
    // is shown once (a region drawn with its words already in it is often
    // not read out), and the next Tab reaches its Copy button, not the
    // form below. Brought into sight too, with a few keys listed.
    Effect::new(move |_| {
        if shown.with(Option::is_some) {
            #[cfg(feature = "hydrate")]
            request_animation_frame(|| crate::components::bring_into_sight("new-key"));
            focus_by_id("new-key-ready");
        }
    });
    view! {
        <section class="panel" aria-labelledby="keys-heading">
            <h2 id="keys-heading" tabindex="-1">"Developer Keys"</h2>
            <p class="hint">"A developer key lets a program use the JSON API (" <a href="/api/v1/openapi.json">"OpenAPI description"</a> ") as you, with your rights."</p>
            {move || shown.get().map(|new_key| view! { <ShownKey new_key shown /> })}
            <Loaded resource=keys view=move |rows| view! { <KeyTable rows regenerating regenerate_open revoking revoke_open /> } />
            <DoneNotice done=revoked />
            <ActionForm action=generate node_ref=generate_form attr:novalidate=true attr:data-needs-code=true attr:class="inline-form">
                <FormStatus error=form_error(generate.value(), &["name", "password", "code"]) />
                <Field label="Key Name" name="name" form="key-" maxlength=NAME_MAX hint="What the key is for, e.g. \"Nightly report\"." error=field_error(generate.value(), "name") />
                <Field label="Current Password" name="password" form="key-" input_type="password" autocomplete="current-password" hint="A key outlives your session, so making one asks for your password." error=field_error(generate.value(), "password") />
                <CodeWhenAsked form="key-" error=field_error(generate.value(), "code") />
                <button type="submit" class="primary" disabled=move || generate.pending().get() aria-busy=move || generate.pending().get().then_some("true")>"Generate Key"</button>
            </ActionForm>
        </section>
        <RegenerateDialog regenerate regenerating open=regenerate_open />
        <Confirm
            title="Revoke Developer Key"
            open=revoke_open
            id="revoke-key"
            message=revoke_question
            on_yes=on_revoke
            pending=revoke.pending()
            error=form_error(revoke.value(), &[])
        />
    }
}

/// The key just made, until the user says it is kept or leaves the tab: a
/// secret left on the screen is one more for a passer-by to read.
#[component]
fn ShownKey(new_key: NewDeveloperKey, shown: RwSignal<Option<NewDeveloperKey>>) -> impl IntoView {
    view! {
        <div class="alert success" id="new-key">
            <p id="new-key-ready" tabindex="-1">"Your new key " <strong>{new_key.row.name.clone()}</strong> " is ready. Copy it now: it is not shown again."</p>
            <p><code class="secret" id="new-developer-key">{new_key.key.clone()}</code></p>
            <div class="actions">
                <CopyButton text=new_key.key what="Key" />
                <button type="button" on:click=move |_| {
                    shown.set(None);
                    focus_by_id("keys-heading");
                }>"I Have Saved It"</button>
            </div>
        </div>
    }
}

/// Asks for the password before a key gets a new secret.
#[component]
fn RegenerateDialog(
    regenerate: ServerAction<RegenerateDeveloperKey>,
    regenerating: RwSignal<Option<(i32, String)>>,
    open: RwSignal<bool>,
) -> impl IntoView {
    let title = Signal::derive(move || {
        regenerating
            .with(|k| k.as_ref().map(|(_, name)| format!("Regenerate {name}")))
            .unwrap_or_default()
    });
    view! {
        <Modal title open id="regenerate-key">
            {move || regenerating.get().map(|(id, name)| view! {
                <ActionForm action=regenerate attr:novalidate=true attr:data-needs-code=true>
                    <p>"A new secret for " <strong>{name}</strong> "; the old one stops working at once."</p>
                    <FormStatus error=form_error(regenerate.value(), &["password", "code"]) />
                    <input type="hidden" name="id" value=id.to_string() />
                    <Field label="Current Password" name="password" form="regenerate-key-" input_type="password" autocomplete="current-password" error=field_error(regenerate.value(), "password") />
                    <CodeWhenAsked form="regenerate-key-" error=field_error(regenerate.value(), "code") />
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || regenerate.pending().get() aria-busy=move || regenerate.pending().get().then_some("true")>"Regenerate Key"</button>
                        <CancelButton />
                    </div>
                </ActionForm>
            })}
        </Modal>
    }
}

#[component]
fn KeyTable(
    rows: Vec<DeveloperKeyRow>,
    regenerating: RwSignal<Option<(i32, String)>>,
    regenerate_open: RwSignal<bool>,
    revoking: RwSignal<Option<(i32, String)>>,
    revoke_open: RwSignal<bool>,
) -> impl IntoView {
    let row = move |row: DeveloperKeyRow| {
        let id = row.id;
        let name = row.name.clone();
        let revoked = row.name.clone();
        view! {
            <tr>
                <td>{row.name.clone()}</td>
                <td><code>{format!("{}…", row.prefix)}</code></td>
                <td class="when">{row.created.clone()}</td>
                <td class="when">{row.last_used.clone().unwrap_or_else(|| "Never".into())}</td>
                <RowActions>
                    <button type="button" aria-label=format!("Regenerate {}", row.name) on:click=move |_| {
                        regenerating.set(Some((id, name.clone())));
                        regenerate_open.set(true);
                    }>"Regenerate"</button>
                    <button type="button" class="danger" aria-label=format!("Revoke {}", row.name) on:click=move |_| {
                        revoking.set(Some((id, revoked.clone())));
                        revoke_open.set(true);
                    }>"Revoke"</button>
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Your developer keys"
            columns=&["Name", "Key", "Created", "Last Used"]
            actions=true
            empty="You have no developer keys yet. Generate Key makes one, for a program to use the JSON API as you."
            rows
            row
        />
    }
}
