//! The JS Libraries tab: each user's own libraries, with the applications
//! that use them; add, edit and delete in dialogs.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::js_libraries::{
    js_library_code, list_js_libraries, AddJsLibrary, DeleteJsLibrary, UpdateJsLibrary,
};
use crate::components::action::{
    announce, answers, field_error, form_action, form_error, kept_success, newer_row,
};
use crate::components::form::{until_edited, DoneNotice, Field, FormStatus};
use crate::components::js_syntax::syntax_problem;
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, CancelButton, Modal};
use crate::components::row_dialogs::{delete_question, ConfirmDelete, EditDialog, RowDialogs};
use crate::components::table::{DataTable, DeleteButton, EditButton, RowActions};
use crate::model::{AppError, JsLibraryRow, DESCRIPTION_MAX, JS_LIBRARY_MAX, NAME_MAX};

const FIELDS: &[&str] = &["name", "description", "code"];

#[component]
pub fn JsLibrariesTab() -> impl IntoView {
    let add = form_action::<AddJsLibrary>();
    let update = form_action::<UpdateJsLibrary>();
    let delete = form_action::<DeleteJsLibrary>();
    let changes = [answers(add), answers(update), answers(delete)];
    let rows = server_resource(move || changes.map(|c| c.get()), |_| list_js_libraries());
    let dialogs = RowDialogs::<JsLibraryRow>::new();
    dialogs.follow(rows, |a, b| a.id == b.id);
    close_on_success(add, dialogs.adding);
    close_on_success(update, dialogs.edit_open);
    let saved = kept_success(update);
    let done = RwSignal::new(None);
    announce(add, done, |lib| format!("The JS library {} is added.", lib.name));
    announce(update, done, |lib| format!("The JS library {} is saved.", lib.name));

    view! {
        <section class="panel" aria-labelledby="libraries-heading">
            <h2 id="libraries-heading">"JS Libraries"</h2>
            <p class="hint">
                "Common JavaScript functions for your applications, up to "
                {JS_LIBRARY_MAX} " characters each. Third-party libraries are not supported."
            </p>
            <Loaded resource=rows view=move |rows| view! { <LibraryTable rows dialogs /> } />
            <DoneNotice done />
            <button type="button" class="primary" on:click=move |_| dialogs.adding.set(true)>"Add JS Library"</button>
        </section>
        <Modal title="Add JS Library" open=dialogs.adding id="add-library">
            <LibraryForm row=None add=Some(add) update=None />
        </Modal>
        <EditDialog title=|row: &JsLibraryRow| format!("Edit JS Library: {}", row.name) id="edit-library" dialogs form=move |row: JsLibraryRow| {
            let row = newer_row(row, saved.get_untracked(), |r| (r.id, &r.version));
            view! { <LibraryForm row=Some(row) add=None update=Some(update) /> }
        } />
        <ConfirmDelete
            title="Delete JS Library"
            id="delete-library"
            dialogs
            action=delete
            question=|row: &JsLibraryRow| delete_question("JS library", &row.name, &row.used_by)
            // The dialog named the applications using it: Yes detaches it from them.
            input=|row: &JsLibraryRow| DeleteJsLibrary { id: row.id, detach_from: row.used_by.clone() }
            deleted=|row: &JsLibraryRow| format!("The JS library {} is deleted.", row.name)
            done
        />
    }
}

#[component]
fn LibraryTable(rows: Vec<JsLibraryRow>, dialogs: RowDialogs<JsLibraryRow>) -> impl IntoView {
    let row = move |row: JsLibraryRow| {
        view! {
            <tr>
                <td>{row.name.clone()}</td>
                <td>{row.description.clone()}</td>
                <td>{row.used_by.to_string()}</td>
                <td class="when">{row.updated.clone()}</td>
                <RowActions>
                    <EditButton dialogs row=row.clone() name=row.name.clone() />
                    <DeleteButton dialogs row=row.clone() name=row.name.clone() />
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Your JS libraries"
            columns=&["Name", "Description", "Used By", "Updated"]
            actions=true
            empty="You have no JS libraries yet. Add JS Library keeps code that your applications can share."
            rows
            row
        />
    }
}

/// The Add or Edit dialog's form: one of `add` / `update` is given. Edit
/// loads the library's code as it opens (the list leaves it out); its
/// other fields are there at once, so the dialog opens on Name as Add does.
#[component]
fn LibraryForm(
    row: Option<JsLibraryRow>,
    add: Option<ServerAction<AddJsLibrary>>,
    update: Option<ServerAction<UpdateJsLibrary>>,
) -> impl IntoView {
    let prefix = if row.is_some() { "edit-" } else { "add-" };
    let code = RwSignal::new(String::new());
    let loading = RwSignal::new(row.is_some());
    let load_error = RwSignal::new(None::<String>);
    // Each try is numbered, and only the answer to the latest counts: a
    // failed answer still held while the next try runs is not shown again.
    let tries = RwSignal::new(0_u32);
    if let Some(id) = row.as_ref().map(|r| r.id) {
        let fetched = LocalResource::new(move || {
            let this_try = tries.get();
            async move { (this_try, js_library_code(id).await) }
        });
        Effect::new(move |_| match fetched.get() {
            Some((this_try, _)) if this_try != tries.get_untracked() => {}
            Some((this_try, Ok(text))) => {
                code.set(text);
                loading.set(false);
                // Try again was pressed, and is gone with the error: the
                // focus goes to what it loaded rather than out of the dialog.
                if this_try > 0 {
                    crate::components::focus_by_id(format!("{prefix}code"));
                }
            }
            Some((_, Err(err))) => {
                load_error.set(Some(format!("The code could not be loaded: {err}")))
            }
            None => {}
        });
    }
    let try_again = move |_| {
        load_error.set(None);
        tries.update(|n| *n += 1);
    };
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
    // The words of every other Add and Edit dialog.
    let submit = if row.is_some() { "Update" } else { "Add" };
    let fields = view! {
        <FormStatus error=form_error(result, FIELDS) />
        {row.as_ref().map(|r| view! {
            <input type="hidden" name="id" value=r.id />
            <input type="hidden" name="opened" value=r.version.clone() />
        })}
        <Field label="Name" name="name" form=prefix value=row.as_ref().map(|r| r.name.clone()).unwrap_or_default() maxlength=NAME_MAX error=field_error(result, "name") />
        <Field label="Description" name="description" form=prefix optional=true value=row.as_ref().map(|r| r.description.clone()).unwrap_or_default() maxlength=DESCRIPTION_MAX error=field_error(result, "description") />
        // Drawn once the code is there, so that it is the field's saved
        // value: closing without a change asks nothing.
        <Show when=move || !loading.get() fallback=move || match load_error.get() {
            None => Either::Left(view! { <p class="loading">"Loading the code…"</p> }),
            // The button after the alert, not in it: an alert is read out
            // whole, and its button with it.
            Some(e) => Either::Right(view! {
                <p class="error" role="alert">{e}</p>
                <button type="button" on:click=try_again>"Try again"</button>
            }),
        }>
            <CodeField id=format!("{prefix}code") code error=field_error(result, "code") />
        </Show>
        <div class="actions">
            <button type="submit" class="primary" disabled=move || pending.get() || loading.get() aria-busy=move || pending.get().then_some("true")>{submit}</button>
            <CancelButton />
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
    let (error, edited) = until_edited(error);
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
                class="code"
                rows=12
                spellcheck="false"
                aria-describedby=format!("{count_id} {syntax_id} {error_id}")
                aria-invalid=move || invalid.get().then_some("true")
                prop:value=move || code.get()
                on:input=move |ev| {
                    edited();
                    code.set(event_target_value(&ev));
                }
            >
                {code.get_untracked()}
            </textarea>
            // Neither the count nor the parse warning is a live region: read
            // out on every keystroke they would drown the typing. They are
            // read with the field; going over the limit is announced once.
            <p class="hint" id=count_id class:over=over>
                {move || match count.get() {
                    n if n > JS_LIBRARY_MAX => {
                        format!("{n} / {JS_LIBRARY_MAX} characters: {} over the limit", n - JS_LIBRARY_MAX)
                    }
                    n => format!("{n} / {JS_LIBRARY_MAX} characters"),
                }}
            </p>
            <p class="sr-only" aria-live="polite">
                {move || over.get().then_some("The code is over the character limit.")}
            </p>
            <p class="warning" id=syntax_id>
                {move || problem.get().map(|p| format!("This does not parse as JavaScript. {} You can still save it.", p.describe()))}
            </p>
            <p class="error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}
