//! The Integrations tab: every user sees the account's integrations; admins
//! add them (credentials are write-once), rename them and delete them.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::integrations::{
    list_integrations, AddIntegration, DeleteIntegration, UpdateIntegration,
};
use crate::components::action::{announce, answers, field_error, form_action, form_error};
use crate::components::form::{until_edited, DoneNotice, Field, FormStatus, TextAreaField};
use crate::components::loaded::{loading, past_dry_runs, refusal, server_resource};
use crate::components::modal::{close_on_success, CancelButton, Modal};
use crate::components::row_dialogs::{delete_question, ConfirmDelete, EditDialog, RowDialogs};
use crate::components::signed_in::signed_in_user_resource;
use crate::components::table::{DataTable, DeleteButton, EditButton, RowActions};
use crate::model::{IntegrationRow, Service, AWS_REGIONS, DESCRIPTION_MAX, NAME_MAX};

#[component]
pub fn IntegrationsTab() -> impl IntoView {
    let user = signed_in_user_resource();
    let add = form_action::<AddIntegration>();
    let update = form_action::<UpdateIntegration>();
    let delete = form_action::<DeleteIntegration>();
    let changes = [answers(add), answers(update), answers(delete)];
    let rows = server_resource(move || changes.map(|c| c.get()), |_| list_integrations());
    let dialogs = RowDialogs::<IntegrationRow>::new();
    dialogs.follow(rows, |a, b| a.id == b.id);
    close_on_success(add, dialogs.adding);
    close_on_success(update, dialogs.edit_open);
    let done = RwSignal::new(None);
    announce(add, done, |row| format!("The integration {} is added.", row.name));
    announce(update, done, |row| format!("The integration {} is saved.", row.name));

    let table = move || {
        Suspend::new(async move {
            past_dry_runs().await;
            let is_admin = user.await.map(|u| u.is_admin).unwrap_or(false);
            let rows = rows.await;
            #[cfg(feature = "hydrate")]
            crate::components::loaded::keep_focus();
            match rows {
                Ok(rows) => Either::Left(view! {
                    <IntegrationTable rows is_admin dialogs />
                    {is_admin.then(|| view! {
                        <button type="button" class="primary" on:click=move |_| dialogs.adding.set(true)>
                            "Add Integration"
                        </button>
                    })}
                }),
                // An ended session offers to log in again, back to this tab,
                // as every other tab's list does.
                Err(err) => Either::Right(refusal(err, false)),
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="integrations-heading">
            <h2 id="integrations-heading">"Integrations"</h2>
            <Transition fallback=loading>{table}</Transition>
            <DoneNotice done />
        </section>
        <Modal title="Add Integration" open=dialogs.adding id="add-integration">
            <AddIntegrationForm add />
        </Modal>
        <EditDialog title=|row: &IntegrationRow| format!("Edit Integration: {}", row.name) id="edit-integration" dialogs form=move |row: IntegrationRow| view! { <EditIntegrationForm row update /> } />
        <ConfirmDelete
            title="Delete Integration"
            id="delete-integration"
            dialogs
            action=delete
            question=|row: &IntegrationRow| delete_question("integration", &row.name, &row.used_by)
            // The dialog named the applications using it: Yes detaches it from them.
            input=|row: &IntegrationRow| DeleteIntegration { id: row.id, detach_from: row.used_by.clone() }
            deleted=|row: &IntegrationRow| format!("The integration {} is deleted.", row.name)
            done
        />
    }
}

#[component]
fn IntegrationTable(
    rows: Vec<IntegrationRow>,
    is_admin: bool,
    dialogs: RowDialogs<IntegrationRow>,
) -> impl IntoView {
    let empty = if is_admin {
        "This account has no integrations yet. Add one to connect Dialogflow, DynamoDB or S3."
    } else {
        "This account has no integrations yet. An account admin can add them."
    };
    let row = move |row: IntegrationRow| {
        let region = row.region.clone().map(|r| format!(" · {r}")).unwrap_or_default();
        view! {
            <tr>
                <td>{row.name.clone()}</td>
                <td>{row.service.label()}{region}</td>
                <td><code>{row.hint.clone()}</code></td>
                <td>{row.description.clone()}</td>
                <td>{row.used_by.to_string()}</td>
                <td class="when">{row.added.clone()}</td>
                {is_admin.then(|| view! {
                    <RowActions>
                        <EditButton dialogs row=row.clone() name=row.name.clone() />
                        <DeleteButton dialogs row=row.clone() name=row.name.clone() />
                    </RowActions>
                })}
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Integrations of this account"
            columns=&["Name", "Service", "Credentials", "Description", "Used By", "Added"]
            actions=is_admin
            empty
            rows
            row
        />
    }
}

// "service" is not among them: the select has no line of its own for an
// error (it offers only services there are), so a refused one is said above.
const ADD_FIELDS: &[&str] = &["name", "description", "config", "key", "secret", "region"];

#[component]
fn AddIntegrationForm(add: ServerAction<AddIntegration>) -> impl IntoView {
    let service = RwSignal::new(Service::Dialogflow);
    let result = add.value();
    view! {
        <ActionForm action=add attr:novalidate=true>
            <FormStatus error=form_error(result, ADD_FIELDS) />
            <div class="field">
                <label for="add-service">"Select Service"</label>
                <select
                    id="add-service"
                    name="service"
                    on:change=move |ev| {
                        if let Some(chosen) = Service::from_key(&event_target_value(&ev)) {
                            service.set(chosen);
                        }
                    }
                >
                    {Service::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.key() selected=move || service.get() == s>{s.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <Field label="Name" name="name" form="add-" maxlength=NAME_MAX error=field_error(result, "name") />
            {move || match service.get() {
                Service::Dialogflow => Either::Left(view! {
                    <TextAreaField
                        label="Config"
                        code=true
                        name="config"
                        form="add-"
                        rows=6
                        hint="Paste the service-account key JSON that Google Cloud lets you download."
                        error=field_error(result, "config")
                    />
                }),
                aws => Either::Right(view! {
                    <Field label="Key" name="key" form="add-" hint="The access key id, e.g. AKIAIOSFODNN7EXAMPLE." error=field_error(result, "key") />
                    <Field label="Secret" name="secret" form="add-" input_type="password" error=field_error(result, "secret") />
                    {(aws == Service::DynamoDb).then(|| {
                        let (region_error, edited) = until_edited(field_error(result, "region"));
                        view! {
                            <div class="field" class:invalid=move || region_error.get().is_some()>
                                <label for="add-region">"Select Region"</label>
                                <select
                                    id="add-region"
                                    name="region"
                                    aria-describedby="add-region-error"
                                    aria-invalid=move || region_error.get().map(|_| "true")
                                    on:change=move |_| edited()
                                >
                                    <option value="">"Choose a region"</option>
                                    {AWS_REGIONS
                                        .iter()
                                        .map(|(code, name)| view! { <option value=*code>{format!("{name} ({code})")}</option> })
                                        .collect_view()}
                                </select>
                                <p class="error" id="add-region-error" aria-live="polite">{move || region_error.get()}</p>
                            </div>
                        }
                    })}
                }),
            }}
            <TextAreaField label="Description" name="description" form="add-" optional=true rows=2 maxlength=DESCRIPTION_MAX error=field_error(result, "description") />
            <p class="hint">"Credentials are stored encrypted and cannot be viewed or changed after the integration is added."</p>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || add.pending().get() aria-busy=move || add.pending().get().then_some("true")>"Add"</button>
                <CancelButton />
            </div>
        </ActionForm>
    }
}

#[component]
fn EditIntegrationForm(
    row: IntegrationRow,
    update: ServerAction<UpdateIntegration>,
) -> impl IntoView {
    let result = update.value();
    let locked = if row.service.is_aws() {
        // The region is part of the credentials (DynamoDB's), locked with them.
        let region = row.region.clone().map(|code| {
            let name = AWS_REGIONS.iter().find(|(c, _)| *c == code).map(|(_, name)| *name);
            let value = name.map(|name| format!("{name} ({code})")).unwrap_or(code);
            view! { <LockedField label="Region" id="edit-region" value /> }
        });
        Either::Left(view! {
            <LockedField label="Key" id="edit-key" value=row.hint.clone() />
            <LockedField label="Secret" id="edit-secret" value="••••••••".into() />
            {region}
        })
    } else {
        Either::Right(view! {
            <LockedField label="Config" id="edit-config" value=format!("Service account of project {}", row.hint) />
        })
    };
    view! {
        <ActionForm action=update attr:novalidate=true>
            <FormStatus error=form_error(result, &["name", "description"]) />
            <input type="hidden" name="id" value=row.id />
            // What the form opened with: another admin's change since, to
            // the other field, stands (see `edits` in the domain).
            <input type="hidden" name="was" value="yes" />
            <input type="hidden" name="was_name" value=row.name.clone() />
            <input type="hidden" name="was_description" value=row.description.clone() />
            <p>"Service: " {row.service.label()}</p>
            <Field label="Name" name="name" form="edit-" value=row.name.clone() maxlength=NAME_MAX error=field_error(result, "name") />
            {locked}
            <p class="hint" id=LOCKED_HINT>"Locked: credentials cannot be changed after the integration is added. To use others, add another integration."</p>
            <TextAreaField label="Description" name="description" form="edit-" optional=true rows=2 maxlength=DESCRIPTION_MAX value=row.description.clone() error=field_error(result, "description") />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || update.pending().get() aria-busy=move || update.pending().get().then_some("true")>"Update"</button>
                <CancelButton />
            </div>
        </ActionForm>
    }
}

/// The one note under the locked credentials, which each describes (under
/// every field, it said the same three times over).
const LOCKED_HINT: &str = "edit-locked-hint";

/// A credential shown but not editable: credentials are write-once.
#[component]
fn LockedField(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            // Read-only, not disabled: a disabled field is skipped by Tab,
            // and its hint never read.
            <input id=id type="text" value=value readonly=true aria-describedby=LOCKED_HINT />
        </div>
    }
}
