//! The dialogs of a table's rows: Add and Edit in a [`Modal`], Delete
//! confirmed in a [`Confirm`], and which row each is about ([`RowDialogs`]).
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::components::action::form_error;
use crate::components::modal::{close_on_success, Confirm, Modal};
use crate::model::{AppError, UsedBy};

/// The dialogs of a table whose rows can be added, edited and deleted: which
/// are open, and which row they are about.
pub struct RowDialogs<T: Send + Sync + 'static> {
    pub adding: RwSignal<bool>,
    pub editing: RwSignal<Option<T>>,
    pub edit_open: RwSignal<bool>,
    pub deleting: RwSignal<Option<T>>,
    pub delete_open: RwSignal<bool>,
}

impl<T: Send + Sync + 'static> Clone for RowDialogs<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for RowDialogs<T> {}

impl<T: Clone + Send + Sync + 'static> RowDialogs<T> {
    pub fn new() -> Self {
        RowDialogs {
            adding: RwSignal::new(false),
            editing: RwSignal::new(None),
            edit_open: RwSignal::new(false),
            deleting: RwSignal::new(None),
            delete_open: RwSignal::new(false),
        }
    }

    pub fn edit(&self, row: T) {
        self.editing.set(Some(row));
        self.edit_open.set(true);
    }

    pub fn delete(&self, row: T) {
        self.deleting.set(Some(row));
        self.delete_open.set(true);
    }
}

impl<T: Clone + PartialEq + Send + Sync + 'static> RowDialogs<T> {
    /// Keeps the row the Delete dialog is about as the reloaded `rows` have
    /// it (found by `same_row`). A delete refused because the row changed
    /// after the dialog opened (an application attached to it meanwhile)
    /// reloads the list; the dialog then asks about, and its Yes confirms,
    /// the row as it is now.
    pub fn follow(&self, rows: Resource<Result<Vec<T>, AppError>>, same_row: fn(&T, &T) -> bool) {
        let dialogs = *self;
        Effect::new(move || {
            let Some(Ok(rows)) = rows.get() else { return };
            if !dialogs.delete_open.get_untracked() {
                return;
            }
            let Some(shown) = dialogs.deleting.get_untracked() else { return };
            if let Some(now) = rows.into_iter().find(|row| same_row(row, &shown)) {
                if now != shown {
                    dialogs.deleting.set(Some(now));
                }
            }
        });
    }
}

impl<T: Clone + Send + Sync + 'static> Default for RowDialogs<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The Edit dialog of a table's rows: `form` for the row `dialogs` is
/// editing, headed `title(row)`, which names the row (as its Edit button
/// does), so that the heading and the dialog's accessible name say whose
/// details are open.
#[component]
pub fn EditDialog<T, F, V>(
    title: fn(&T) -> String,
    id: &'static str,
    dialogs: RowDialogs<T>,
    form: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let form = StoredValue::new(form);
    let title = Signal::derive(move || {
        dialogs.editing.with(|row| row.as_ref().map(title)).unwrap_or_default()
    });
    view! {
        <Modal title open=dialogs.edit_open id>
            {move || dialogs.editing.get().map(|row| form.with_value(|form| form(row)))}
        </Modal>
    }
}

/// The Delete dialog of a table's rows: asks `question` about the row
/// `dialogs` is deleting, runs `action` with `input(row)` on Yes, closes
/// once that has succeeded and puts `deleted(row)` in `done`, the tab's
/// [`DoneNotice`](crate::components::form::DoneNotice).
#[component]
pub fn ConfirmDelete<T, S, Q, I>(
    #[prop(into)] title: Signal<String>,
    id: &'static str,
    dialogs: RowDialogs<T>,
    action: ServerAction<S>,
    question: Q,
    input: I,
    /// What the tab says once the row is deleted.
    deleted: fn(&T) -> String,
    done: RwSignal<Option<String>>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    Q: Fn(&T) -> String + Send + Sync + 'static,
    I: Fn(&T) -> S + Send + Sync + 'static,
{
    close_on_success(action, dialogs.delete_open);
    // On each change only: a dialog opening starts another task, whose end
    // the notice of an earlier one would misreport (and take the focus).
    Effect::new(move |was: Option<(bool, bool)>| {
        let open = dialogs.adding.get() || dialogs.edit_open.get() || dialogs.delete_open.get();
        let deleted_now = action.value().with(|answer| matches!(answer, Some(Ok(_))));
        let (was_open, was_deleted) = was.unwrap_or((false, false));
        if open && !was_open {
            done.set(None);
        }
        if deleted_now && !was_deleted {
            done.set(dialogs.deleting.get_untracked().map(|row| deleted(&row)));
        }
        (open, deleted_now)
    });
    let message = Signal::derive(move || {
        dialogs.deleting.with(|row| row.as_ref().map(&question)).unwrap_or_default()
    });
    let on_yes = Callback::new(move |_| {
        if let Some(row) = dialogs.deleting.get_untracked() {
            action.dispatch(input(&row));
        }
    });
    let error = form_error(action.value(), &[]);
    view! { <Confirm title open=dialogs.delete_open id message pending=action.pending() on_yes error /> }
}

/// The question a Delete dialog asks about something applications may use:
/// it names them, since Yes detaches it from them.
pub fn delete_question(kind: &str, name: &str, used_by: &UsedBy) -> String {
    if used_by.is_empty() {
        format!("Delete the {kind} {name}?")
    } else {
        format!(
            "Delete the {kind} {name}? It is detached from the applications using it: {used_by}."
        )
    }
}
