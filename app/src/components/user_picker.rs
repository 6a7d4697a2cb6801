//! A combobox that finds one user of the account by name or email as you
//! type. The server does the searching (a bounded index scan), so it works
//! the same with five users or fifty thousand.
use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;

use crate::model::{searchable, AppError, UserChoice, SEARCH_MAX};

/// What a picker asks the server for: the users matching what was typed.
type Search = Callback<String, Pin<Box<dyn Future<Output = Result<Vec<UserChoice>, AppError>>>>>;

#[component]
pub fn UserPicker<S, F>(
    /// The accessible name of the input, e.g. "Owner of (800) 555-0100".
    label: String,
    /// Unique on the page: the input's id; the list's id derives from it.
    id: String,
    /// The user chosen now, if any.
    #[prop(into)]
    chosen: Signal<Option<UserChoice>>,
    on_choose: Callback<UserChoice>,
    /// Finds the users matching what was typed.
    search: S,
    /// Why the choice was refused, said under the field.
    #[prop(optional, into)]
    error: Option<Signal<Option<String>>>,
) -> impl IntoView
where
    S: Fn(String) -> F + Copy + Send + Sync + 'static,
    F: Future<Output = Result<Vec<UserChoice>, AppError>> + 'static,
{
    // The picker itself is not generic: one copy of it in the wasm, however
    // many server functions pickers search with.
    let search: Search = Callback::new(move |typed| Box::pin(search(typed)) as Pin<Box<_>>);
    picker(label, id, chosen, on_choose, search, error)
}

fn picker(
    label: String,
    id: String,
    chosen: Signal<Option<UserChoice>>,
    on_choose: Callback<UserChoice>,
    search: Search,
    error: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let chosen_name = move || chosen.get_untracked().map(|c| c.name).unwrap_or_default();
    let text = RwSignal::new(chosen_name());
    let open = RwSignal::new(false);
    let choices = RwSignal::new(Vec::<UserChoice>::new());
    let active = RwSignal::new(None::<usize>);
    let problem = RwSignal::new(None::<String>);
    // Whether the answer for what is typed now has come: until it has, the
    // list says it is searching rather than that nobody matches.
    let answered = RwSignal::new(false);
    // Another choice made elsewhere (e.g. the table reloaded) shows here.
    Effect::new(move |_| text.set(chosen.get().map(|c| c.name).unwrap_or_default()));

    let lookup = move |typed: String| {
        answered.set(false);
        // Started now, while the picker is surely there: the callback lives
        // in the picker's owner, and running it once that is gone panics.
        let pending = search.run(typed.clone());
        leptos::task::spawn_local(async move {
            let found = pending.await;
            // A slower answer to an older query must not replace a newer one;
            // nor may an answer to a picker that is gone (its dialog closed
            // while the search was out) set its removed signals.
            if text.try_get_untracked().as_deref() != Some(typed.as_str()) {
                return;
            }
            match found {
                Ok(found) => {
                    problem.set(None);
                    choices.set(found);
                }
                Err(err) => {
                    choices.set(Vec::new());
                    problem.set(Some(err.to_string()));
                }
            }
            active.set(None);
            answered.set(true);
        });
    };
    // Until another user is picked: the refusal was about the one sent.
    let (error, edited) =
        crate::components::form::until_edited(error.unwrap_or_else(|| Signal::derive(|| None)));
    let choose = move |choice: UserChoice| {
        text.set(choice.name.clone());
        open.set(false);
        on_choose.run(choice);
        edited();
    };
    let list_id = format!("{id}-list");
    let error_id = format!("{id}-error");
    let described_by = {
        let error_id = error_id.clone();
        move || error.with(Option::is_some).then(|| error_id.clone())
    };
    let option_id = {
        let id = id.clone();
        move |at: usize| format!("{id}-option-{at}")
    };
    // The option the arrow keys reach stays in sight in the list's scroll.
    #[cfg(feature = "hydrate")]
    {
        let option_id = option_id.clone();
        Effect::new(move |_| {
            if let Some(at) = active.get() {
                super::bring_into_sight(&option_id(at));
            }
        });
    }
    let active_descendant = {
        let option_id = option_id.clone();
        move || active.get().filter(|_| open.get()).map(&option_id)
    };
    view! {
        <div class="picker">
            <input
                id=id.clone()
                type="text"
                role="combobox"
                autocomplete="off"
                aria-label=label
                aria-autocomplete="list"
                aria-controls=list_id.clone()
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-activedescendant=active_descendant
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
                prop:value=move || text.get()
                // The field empties for typing as it takes the focus; the
                // chosen name stays in sight, greyed, until something is typed.
                placeholder=move || chosen.with(|c| c.as_ref().map(|c| c.name.clone()))
                // The list opens on a click, a key or typing, not on the
                // focus: tabbing down a table of pickers opened each row's
                // list over the rows below. The first choices are fetched
                // now, so the list has them when it opens.
                on:focus=move |_| {
                    lookup(String::new());
                    text.set(String::new());
                }
                on:click=move |_| open.set(true)
                maxlength=SEARCH_MAX
                on:input=move |ev| {
                    let typed = searchable(&event_target_value(&ev));
                    text.set(typed.clone());
                    open.set(true);
                    lookup(typed);
                }
                on:blur=move |_| {
                    // Escape closing the dialog around the picker removes it,
                    // its signals with it, while it still has the focus: the
                    // blur that follows has nothing left to reset (`set` on a
                    // removed signal stopped the page's code).
                    if open.try_set(false).is_none() {
                        let name = chosen.try_get_untracked().flatten().map(|c| c.name);
                        let _ = text.try_set(name.unwrap_or_default());
                    }
                }
                on:keydown=move |ev| {
                    let count = choices.with_untracked(Vec::len);
                    match ev.key().as_str() {
                        "ArrowDown" if !open.get_untracked() => {
                            ev.prevent_default();
                            open.set(true);
                        }
                        "ArrowDown" if count > 0 => {
                            ev.prevent_default();
                            active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % count)));
                        }
                        "ArrowUp" if open.get_untracked() && count > 0 => {
                            ev.prevent_default();
                            active.update(|a| *a = Some(a.map_or(count - 1, |i| (i + count - 1) % count)));
                        }
                        // A closed list leaves Enter to the page.
                        "Enter" if open.get_untracked() => {
                            ev.prevent_default();
                            let picked = active
                                .get_untracked()
                                .and_then(|i| choices.with_untracked(|c| c.get(i).cloned()));
                            if let Some(choice) = picked {
                                choose(choice);
                            }
                        }
                        // An open list takes the Escape, not the dialog
                        // around the picker (the combobox pattern's order).
                        "Escape" if open.get_untracked() => {
                            ev.prevent_default();
                            ev.stop_propagation();
                            open.set(false);
                            text.set(chosen_name());
                        }
                        _ => {}
                    }
                }
            />
            <ul id=list_id role="listbox" class="picker-list" hidden=move || !open.get()>
                {move || {
                    let option_id = option_id.clone();
                    choices
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(at, choice)| {
                            let picked = choice.clone();
                            view! {
                                <li
                                    id=option_id(at)
                                    role="option"
                                    aria-selected=move || if active.get() == Some(at) { "true" } else { "false" }
                                    // mousedown, not click: it comes before the input's blur.
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        choose(picked.clone());
                                    }
                                >
                                    <span class="name">{choice.name}</span>
                                    " "
                                    <span class="email">{choice.email}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
                {move || (open.get() && choices.with(Vec::is_empty)).then(|| view! {
                    <li class="empty" role="option" aria-disabled="true">
                        {match (problem.get(), answered.get()) {
                            (Some(problem), _) => problem,
                            (None, false) => "Searching…".into(),
                            (None, true) => "No user matches.".into(),
                        }}
                    </li>
                })}
            </ul>
            // What the search found, read out: the list's own "No user
            // matches." is an option the arrow keys cannot reach.
            <p class="sr-only" role="status">
                {move || (open.get() && answered.get()).then(|| match (problem.get(), choices.with(Vec::len)) {
                    (Some(problem), _) => problem,
                    (None, 0) => "No user matches.".into(),
                    (None, 1) => "1 user found.".into(),
                    (None, found) => format!("{found} users found."),
                })}
            </p>
            <p class="error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}
