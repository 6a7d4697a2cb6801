//! The JS Libraries tab: each user's own libraries, with the applications
//! that use them; add, edit and delete in dialogs.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::libraries::{list_js_libraries, AddJsLibrary, DeleteJsLibrary, UpdateJsLibrary};
use crate::components::form::{field_error, form_error, Field, FormStatus};
use crate::components::js_syntax::syntax_problem;
use crate::components::modal::{close_on_success, delete_question, Confirm, Modal, RowDialogs};
use crate::model::{AppError, JsLibraryRow, JS_LIBRARY_MAX};

const FIELDS: &[&str] = &["name", "description", "code"];

#[component]
pub fn JsLibrariesTab() -> impl IntoView {
    let add = ServerAction::<AddJsLibrary>::new();
    let update = ServerAction::<UpdateJsLibrary>::new();
    let delete = ServerAction::<DeleteJsLibrary>::new();
    let rows = Resource::new(
        move || (add.version().get(), update.version().get(), delete.version().get()),
        |_| list_js_libraries(),
    );
    let dialogs = RowDialogs::<JsLibraryRow>::new();
    let RowDialogs { adding, editing, edit_open, deleting, delete_open } = dialogs;
    close_on_success(add.value(), adding);
    close_on_success(update.value(), edit_open);
    close_on_success(delete.value(), delete_open);

    let table = move || {
        Suspend::new(async move {
            match rows.await {
                Ok(rows) => Either::Left(view! { <LibraryTable rows dialogs /> }),
                Err(err) => Either::Right(view! { <p class="alert error">{err.to_string()}</p> }),
            }
        })
    };
    let delete_message = Signal::derive(move || {
        deleting
            .get()
            .map(|row| delete_question("JS library", &row.name, &row.used_by))
            .unwrap_or_default()
    });
    view! {
        <section class="panel" aria-labelledby="libraries-heading">
            <h2 id="libraries-heading">"JS Libraries"</h2>
            <p class="hint">
                "Common JavaScript functions for your applications, up to "
                {JS_LIBRARY_MAX} " characters each. Third-party libraries are not supported."
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{table}</Transition>
            <FormStatus error=form_error(delete.value(), &[]) />
            <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add JS Library"</button>
        </section>
        <Modal title=Signal::derive(|| "Add JS Library".to_string()) open=adding id="add-library">
            <LibraryForm row=None add=Some(add) update=None />
        </Modal>
        <Modal title=Signal::derive(|| "Edit JS Library".to_string()) open=edit_open id="edit-library">
            {move || editing.get().map(|row| view! { <LibraryForm row=Some(row) add=None update=Some(update) /> })}
        </Modal>
        <Confirm
            title=Signal::derive(|| "Delete JS Library".to_string())
            open=delete_open
            id="delete-library"
            message=delete_message
            pending=delete.pending()
            on_yes=Callback::new(move |_| {
                if let Some(row) = deleting.get_untracked() {
                    // The dialog named the applications using it: Yes detaches it.
                    delete.dispatch(DeleteJsLibrary { id: row.id, detach: Some(true) });
                }
            })
        />
    }
}

#[component]
fn LibraryTable(rows: Vec<JsLibraryRow>, dialogs: RowDialogs<JsLibraryRow>) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(view! { <p>"You have no JS libraries yet."</p> });
    }
    Either::Right(view! {
        <table>
            <caption class="sr-only">"Your JS libraries"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Description"</th>
                    <th scope="col">"Used by"</th>
                    <th scope="col">"Updated"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|row| {
                        let (for_edit, for_delete) = (row.clone(), row.clone());
                        let used_by = if row.used_by.is_empty() { "No application".to_string() } else { row.used_by.join(", ") };
                        view! {
                            <tr>
                                <td>{row.name.clone()}</td>
                                <td>{row.description.clone()}</td>
                                <td>{used_by}</td>
                                <td>{row.updated.clone()}</td>
                                <td class="actions">
                                    <button type="button" aria-label=format!("Edit {}", row.name) on:click=move |_| dialogs.edit(for_edit.clone())>"Edit"</button>
                                    <button type="button" class="danger" aria-label=format!("Delete {}", row.name) on:click=move |_| dialogs.delete(for_delete.clone())>"Delete"</button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    })
}

/// The Add or Edit dialog's form: one of `add` / `update` is given.
#[component]
fn LibraryForm(
    row: Option<JsLibraryRow>,
    add: Option<ServerAction<AddJsLibrary>>,
    update: Option<ServerAction<UpdateJsLibrary>>,
) -> impl IntoView {
    let prefix = if row.is_some() { "edit-" } else { "add-" };
    let code = RwSignal::new(row.as_ref().map(|r| r.code.clone()).unwrap_or_default());
    let result: Signal<Option<Result<JsLibraryRow, AppError>>> = match (add, update) {
        (Some(add), _) => add.value().into(),
        (_, Some(update)) => update.value().into(),
        _ => Signal::derive(|| None),
    };
    let pending: Signal<bool> = match (add, update) {
        (Some(add), _) => add.pending().into(),
        (_, Some(update)) => update.pending().into(),
        _ => Signal::derive(|| false),
    };
    let fields = view! {
        <FormStatus error=form_error(result, FIELDS) />
        {row.as_ref().map(|r| view! { <input type="hidden" name="id" value=r.id /> })}
        <Field label="Name" name="name" form=prefix value=row.as_ref().map(|r| r.name.clone()).unwrap_or_default() maxlength=100 error=field_error(result, "name") />
        <Field label="Description" name="description" form=prefix value=row.as_ref().map(|r| r.description.clone()).unwrap_or_default() maxlength=500 error=field_error(result, "description") />
        <CodeField id=format!("{prefix}code") code error=field_error(result, "code") />
        <div class="actions">
            <button type="submit" class="primary" disabled=move || pending.get()>"Save Library"</button>
        </div>
    };
    match (add, update) {
        (Some(add), _) => Either::Left(
            view! { <ActionForm action=add attr:novalidate=true>{fields}</ActionForm> },
        ),
        (_, Some(update)) => Either::Right(Either::Left(
            view! { <ActionForm action=update attr:novalidate=true>{fields}</ActionForm> },
        )),
        _ => Either::Right(Either::Right(())),
    }
}

/// The code, with its length counted as it is typed and a warning where it
/// stops parsing as JavaScript.
#[component]
fn CodeField(id: String, code: RwSignal<String>, error: Signal<Option<String>>) -> impl IntoView {
    let problem = syntax_problem(code.into());
    let count = Memo::new(move |_| code.with(|c| c.chars().count()));
    let over = Signal::derive(move || count.get() > JS_LIBRARY_MAX);
    let invalid = Signal::derive(move || error.get().is_some() || over.get());
    let count_id = format!("{id}-count");
    let syntax_id = format!("{id}-syntax");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>"Code"</label>
            <textarea
                id=id
                name="code"
                rows=12
                spellcheck="false"
                aria-describedby=format!("{count_id} {syntax_id} {error_id}")
                prop:value=move || code.get()
                on:input=move |ev| code.set(event_target_value(&ev))
            >
                {code.get_untracked()}
            </textarea>
            <p class="hint" id=count_id class:over=over aria-live="polite">
                {move || format!("{} / {JS_LIBRARY_MAX} characters", count.get())}
            </p>
            <p class="warning" id=syntax_id aria-live="polite">
                {move || problem.get().map(|p| format!("This does not parse as JavaScript. {} You can still save it.", p.describe()))}
            </p>
            <p class="error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}
