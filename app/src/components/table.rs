//! The one table shell of the console: a caption for assistive technology,
//! column headers, a row per item and, where rows have buttons, a last
//! "Actions" column; without rows, a sentence instead of an empty table.
use leptos::either::Either;
use leptos::prelude::*;

use super::modal::RowDialogs;

#[component]
pub fn DataTable<T, R, V>(
    /// Names the table for assistive technology (visually hidden).
    caption: &'static str,
    /// The column headers, in order (the Actions column aside).
    columns: &'static [&'static str],
    /// Whether the rows end with a cell of buttons ([`RowActions`]).
    #[prop(optional)]
    actions: bool,
    #[prop(optional)] class: Option<&'static str>,
    /// The sentence shown instead of the table when there are no rows; without
    /// it, an empty table is shown.
    #[prop(optional)]
    empty: Option<&'static str>,
    rows: Vec<T>,
    /// One `<tr>` for a row.
    row: R,
) -> impl IntoView
where
    R: Fn(T) -> V,
    V: IntoView + 'static,
{
    if let (Some(text), true) = (empty, rows.is_empty()) {
        return Either::Left(view! { <p>{text}</p> });
    }
    // On a narrow screen the table scrolls inside its frame rather than
    // widening the page; the frame takes focus so the keyboard can scroll it.
    Either::Right(view! {
        <div class="table-frame" role="region" aria-label=caption tabindex="0">
            <table class=class>
                <caption class="sr-only">{caption}</caption>
                <thead>
                    <tr>
                        {columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}
                        {actions.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    })
}

/// The last cell of a row: its buttons.
#[component]
pub fn RowActions(children: Children) -> impl IntoView {
    view! { <td class="actions">{children()}</td> }
}

/// Opens the Edit dialog of `dialogs` about `row`; its accessible name is "Edit {name}".
#[component]
pub fn EditButton<T>(dialogs: RowDialogs<T>, row: T, name: String) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    view! {
        <button type="button" aria-label=format!("Edit {name}") on:click=move |_| dialogs.edit(row.clone())>
            "Edit"
        </button>
    }
}

/// Opens the Delete dialog of `dialogs` about `row`; its accessible name is "Delete {name}".
#[component]
pub fn DeleteButton<T>(dialogs: RowDialogs<T>, row: T, name: String) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    view! {
        <button type="button" class="danger" aria-label=format!("Delete {name}") on:click=move |_| dialogs.delete(row.clone())>
            "Delete"
        </button>
    }
}

/// "No application", or the names of the applications using something.
pub fn used_by(names: &[String]) -> String {
    if names.is_empty() {
        "No application".to_string()
    } else {
        names.join(", ")
    }
}
