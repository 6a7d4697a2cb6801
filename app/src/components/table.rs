//! The one table shell of the console: a caption for assistive technology,
//! column headers, a row per item and, where rows have buttons, a last
//! "Actions" column; without rows, a sentence instead of an empty table.
use leptos::either::Either;
use leptos::prelude::*;

use super::row_dialogs::RowDialogs;

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

/// "Previous page" and "Next page" under a keyset-paged table: `cursor` is
/// where the shown page starts (`None`: the first), `pages` the cursors of
/// the pages before it, `next` where the following page starts, if any.
#[component]
pub fn Pager<C>(
    /// Names the pager for assistive technology, e.g. "Pages of users".
    label: &'static str,
    pages: RwSignal<Vec<Option<C>>>,
    cursor: RwSignal<Option<C>>,
    next: Option<C>,
) -> impl IntoView
where
    C: Clone + Send + Sync + 'static,
{
    let has_previous = pages.with_untracked(|stack| !stack.is_empty());
    let last = next.is_none();
    // This pager has moved once, to the page being loaded, which brings a
    // pager of its own. A second click here (a double click) would push the
    // page being left twice, and Previous Page would then stay put once. The
    // buttons stay enabled meanwhile: a button disabled under the focus
    // drops it to the page's body, where the list's reload cannot find it.
    let moved = RwSignal::new(false);
    // Nothing to page through on a single page.
    (has_previous || !last).then(|| {
        view! {
            <nav class="pager" aria-label=label>
                <button type="button" disabled=!has_previous on:click=move |_| {
                    if moved.get_untracked() {
                        return;
                    }
                    moved.set(true);
                    let mut stack = pages.get_untracked();
                    cursor.set(stack.pop().flatten());
                    pages.set(stack);
                }>"Previous Page"</button>
                <button type="button" disabled=last on:click=move |_| {
                    if moved.get_untracked() {
                        return;
                    }
                    if let Some(at) = next.clone() {
                        moved.set(true);
                        pages.update(|stack| stack.push(cursor.get_untracked()));
                        cursor.set(Some(at));
                    }
                }>"Next Page"</button>
            </nav>
        }
    })
}

/// An email address for a `td.email` cell: a line may break after its "@"
/// and nowhere else (allowed to break anywhere, the column shrank to
/// "grace@example.co|m"; and a browser breaks after a hyphen too, so each
/// half is kept whole). Other text ("operator", "system") is shown as it is.
pub fn email_parts(email: String) -> impl IntoView {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let (local, domain) = (format!("{local}@"), domain.to_owned());
            Either::Left(view! {
                <span class="unbroken">{local}</span>
                <wbr />
                <span class="unbroken">{domain}</span>
            })
        }
        None => Either::Right(email),
    }
}

/// A yes-or-no cell: a tick or a dash for the eye, `yes` or `no` for a
/// screen reader (a plain span's aria-label is not read). A dash, not an
/// empty cell: a column of blanks (2FA, off for everyone at first; PCI, off
/// for most numbers) looked like data that had not loaded.
pub fn mark(on: bool, yes: &'static str, no: &'static str) -> impl IntoView {
    if on {
        Either::Left(
            view! { <span class="check" aria-hidden="true">"✓"</span><span class="sr-only">{yes}</span> },
        )
    } else {
        Either::Right(
            view! { <span class="no" aria-hidden="true">"–"</span><span class="sr-only">{no}</span> },
        )
    }
}
