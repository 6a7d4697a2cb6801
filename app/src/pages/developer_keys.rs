//! The Developer Keys section of the Account tab: keys for the JSON API. It
//! has its own resource (see `my_account` on why one resource is never read
//! by two Suspenses).
use leptos::prelude::*;

use crate::api::developer_keys::{
    list_developer_keys, GenerateDeveloperKey, RegenerateDeveloperKey, RevokeDeveloperKey,
};
use crate::components::form::{field_error, form_error, Field, FormStatus};
use crate::components::loaded::Loaded;
use crate::components::table::{DataTable, RowActions};
use crate::model::{DeveloperKeyRow, NewDeveloperKey};

#[component]
pub fn DeveloperKeysSection() -> impl IntoView {
    let generate = ServerAction::<GenerateDeveloperKey>::new();
    let regenerate = ServerAction::<RegenerateDeveloperKey>::new();
    let revoke = ServerAction::<RevokeDeveloperKey>::new();
    let keys = Resource::new(
        move || (generate.version().get(), regenerate.version().get(), revoke.version().get()),
        |_| list_developer_keys(),
    );
    // The key just made, shown once.
    let shown = Signal::derive(move || {
        let latest = [generate.value().get(), regenerate.value().get()];
        latest.into_iter().flatten().filter_map(Result::ok).next_back()
    });
    view! {
        <section class="panel" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Developer Keys"</h2>
            <p class="hint">"A developer key lets a program use the JSON API (" <a href="/api/v1/openapi.json">"OpenAPI description"</a> ") as you, with your rights."</p>
            {move || shown.get().map(|new_key| view! { <ShownKey new_key /> })}
            <Loaded resource=keys view=move |rows| view! { <KeyTable rows regenerate revoke /> } />
            <ActionForm action=generate attr:novalidate=true attr:class="inline-form">
                <FormStatus error=form_error(generate.value(), &["name"]) />
                <Field label="Key name" name="name" form="key-" maxlength=100 hint="What the key is for, e.g. \"Nightly report\"." error=field_error(generate.value(), "name") />
                <button type="submit" class="primary" disabled=move || generate.pending().get()>"Generate Key"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ShownKey(new_key: NewDeveloperKey) -> impl IntoView {
    let key = new_key.key.clone();
    let copied = RwSignal::new(false);
    view! {
        <div class="alert success" role="status">
            <p>"Your new key " <strong>{new_key.row.name.clone()}</strong> ". Copy it now: it is not shown again."</p>
            <p><code class="secret" id="new-developer-key">{new_key.key.clone()}</code></p>
            <button type="button" on:click=move |_| {
                copy_to_clipboard(&key);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
        </div>
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[component]
fn KeyTable(
    rows: Vec<DeveloperKeyRow>,
    regenerate: ServerAction<RegenerateDeveloperKey>,
    revoke: ServerAction<RevokeDeveloperKey>,
) -> impl IntoView {
    let row = move |row: DeveloperKeyRow| {
        let id = row.id;
        view! {
            <tr>
                <td>{row.name.clone()}</td>
                <td><code>{format!("{}…", row.prefix)}</code></td>
                <td>{row.created.clone()}</td>
                <td>{row.last_used.clone().unwrap_or_else(|| "Never".into())}</td>
                <RowActions>
                    <button type="button" aria-label=format!("Regenerate {}", row.name) on:click=move |_| { regenerate.dispatch(RegenerateDeveloperKey { id }); }>"Regenerate"</button>
                    <button type="button" class="danger" aria-label=format!("Revoke {}", row.name) on:click=move |_| { revoke.dispatch(RevokeDeveloperKey { id }); }>"Revoke"</button>
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Your developer keys"
            columns=&["Name", "Key", "Created", "Last used"]
            actions=true
            empty="You have no developer keys."
            rows
            row
        />
    }
}
