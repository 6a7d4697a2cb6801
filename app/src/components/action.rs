//! A form's server action and what its result says: the error beside each
//! field or above the form, the success and when it goes, the notice a tab
//! shows of what a dialog did. The fields themselves are `form`.
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::model::AppError;

/// The server action behind a form or a button. Its previous result is
/// dropped the moment it is dispatched again, so an old error (or success)
/// never stays beside a new attempt while that one runs: a retry that is slow
/// (a password check, a throttled log-in) would otherwise look refused.
#[track_caller]
pub fn form_action<S>() -> ServerAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let action = ServerAction::<S>::new();
    focus::watch();
    // One effect an action (each is compiled once per server function, so
    // a second one would add its size to the wasm some fifty times).
    Effect::new(move |was_pending: Option<bool>| {
        let pending = action.pending().get();
        if pending {
            action.value().set(None);
        } else if was_pending == Some(true) {
            let refused = action.value().with_untracked(|answer| match answer {
                Some(Err(AppError::Invalid(errors))) => errors.first().map(|e| e.field.clone()),
                _ => None,
            });
            focus::settle(refused);
        }
        pending
    });
    action
}

/// Where the focus goes once an action has answered. Its button was
/// disabled while it ran, and the browser moved the focus of the disabled
/// control to the page's body: a keyboard user would start again from the
/// top. Not generic, so the fifty copies of [`form_action`] share it; does
/// nothing on the server.
mod focus {
    #[cfg(feature = "hydrate")]
    thread_local! {
        /// The control that last lost the focus by being disabled (an
        /// action's button as it starts; Chromium tells it at once, with
        /// `focusout`); none once the focus left anything else.
        static LAST: std::cell::RefCell<Option<leptos::web_sys::HtmlElement>> =
            const { std::cell::RefCell::new(None) };
        /// The section that control stood in, for when the answer removes
        /// the control or leaves it disabled.
        static SECTION: std::cell::RefCell<Option<leptos::web_sys::Element>> =
            const { std::cell::RefCell::new(None) };
        static WATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Starts noting which control loses the focus by being disabled, once
    /// for the page.
    pub fn watch() {
        #[cfg(feature = "hydrate")]
        if !WATCHING.with(|watching| watching.replace(true)) {
            use leptos::wasm_bindgen::closure::Closure;
            use leptos::wasm_bindgen::JsCast;
            let noted =
                Closure::<dyn Fn(leptos::web_sys::Event)>::new(|ev: leptos::web_sys::Event| {
                    let target =
                        ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::HtmlElement>().ok());
                    let disabled = target.filter(|e| e.matches(":disabled").unwrap_or(false));
                    let section =
                        disabled.as_ref().and_then(|e| e.closest("section").ok().flatten());
                    SECTION.with(|last| *last.borrow_mut() = section);
                    LAST.with(|last| *last.borrow_mut() = disabled);
                });
            let document = leptos::prelude::document();
            let _ = document.add_event_listener_with_callback_and_bool(
                "focusout",
                noted.as_ref().unchecked_ref(),
                true,
            );
            // It lives as long as the page.
            noted.forget();
        }
    }

    /// On the next frame (once the answer is drawn), when the focus was lost
    /// to the page's body: the refused field `refused`, looked for in the
    /// open dialog, else the form of the button pressed, else its section,
    /// else the page; or else the control that lost it by being disabled
    /// (the action's button), if it is still on the page and enabled, or
    /// else the heading of its section (Set Up is replaced by the set-up
    /// steps; Save stays disabled with nothing left to save). A user who has
    /// moved on keeps their place.
    pub fn settle(refused: Option<String>) {
        #[cfg(feature = "hydrate")]
        leptos::prelude::request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            use leptos::web_sys::HtmlElement;
            let document = leptos::prelude::document();
            let before = LAST.with(|last| last.borrow().clone());
            let lost = match (document.active_element(), document.body()) {
                (Some(active), Some(body)) => active == *body.as_ref(),
                (None, _) => true,
                _ => false,
            };
            if !lost {
                return;
            }
            let field = refused.filter(|name| {
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            // Where the refused field is: the open dialog, or else the form
            // of the button pressed, as several forms on a tab have a field
            // of one name (Current Password in Change Email and in Change
            // Password), and a refusal left in another is still marked.
            // One drawn anew since (and so off the page) is passed over.
            let scope = document.query_selector("dialog[open]").ok().flatten().or_else(|| {
                let form = before.as_ref().and_then(|b| b.closest("form").ok().flatten());
                let section = || SECTION.with(|section| section.borrow().clone());
                form.filter(|f| f.is_connected()).or_else(|| section().filter(|s| s.is_connected()))
            });
            // By name, or by id for a control outside any form (a row's
            // owner picker, `owner-12`).
            let found = field.and_then(|name| {
                let selector = format!(
                    "[name=\"{name}\"][aria-invalid=\"true\"], [id=\"{name}\"][aria-invalid=\"true\"]"
                );
                let found = match &scope {
                    Some(scope) => scope.query_selector(&selector),
                    None => document.query_selector(&selector),
                };
                found.ok().flatten().and_then(|e| e.dyn_into::<HtmlElement>().ok())
            });
            let usable =
                |e: &HtmlElement| e.is_connected() && !e.matches(":disabled").unwrap_or(true);
            let heading = || {
                let section = SECTION.with(|section| section.borrow().clone());
                let heading = section.filter(|s| s.is_connected())?.query_selector("h2").ok()??;
                if !heading.has_attribute("tabindex") {
                    // Focusable from a script, not a stop for the Tab key.
                    let _ = heading.set_attribute("tabindex", "-1");
                }
                heading.dyn_into::<HtmlElement>().ok()
            };
            if let Some(target) = found.or(before.filter(usable)).or_else(heading) {
                let _ = target.focus();
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = refused;
    }
}

/// Says in the tab's notice `done` what `action` did, each time it succeeds
/// ("The application IVR is created."), as Delete says what it deleted. A
/// new attempt takes the notice away: beside a refusal, an earlier success
/// read as if the refused attempt had worked.
pub fn announce<S>(
    action: ServerAction<S>,
    done: RwSignal<Option<String>>,
    said: fn(&S::Output) -> String,
) where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.pending().get() {
            done.set(None);
            return;
        }
        action.value().with(|result| match result {
            Some(Ok(output)) => done.set(Some(said(output))),
            Some(Err(_)) => done.set(None),
            None => {}
        })
    });
}

/// The version of `action`'s latest success: what a list that holds the
/// action's form reloads on. Reloading after a refusal too would render the
/// form afresh and empty the field the user is mending.
pub fn successes<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    latest_version(action, |answer| answer.is_ok())
}

/// The version of `action`'s latest success or "not found": what a list
/// whose refusals must not reload it (a form inside it would lose what was
/// typed) still reloads on when its row was deleted elsewhere, so the row
/// is not offered again.
pub fn successes_or_gone<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    latest_version(action, |answer| matches!(answer, Ok(_) | Err(AppError::NotFound)))
}

/// The version of `action`'s latest answer, but for "your session has
/// ended": what a list reloads on when a refusal too may mean it changed
/// meanwhile (a row deleted elsewhere). Reloaded without a session, the tab
/// would send the user to log in at once, and the open dialog with what
/// they typed would be gone; the dialog says it instead ([`SESSION_ENDED`]),
/// with a way to log in that keeps it.
pub fn answers<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    latest_version(action, |answer| !matches!(answer, Err(AppError::Unauthenticated)))
}

/// The version of `action`'s latest answer that `counts`.
fn latest_version<S>(
    action: ServerAction<S>,
    counts: fn(&Result<S::Output, AppError>) -> bool,
) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Memo::new(move |last: Option<&usize>| {
        let version = action.version().get();
        match action.value().with(|answer| answer.as_ref().is_some_and(counts)) {
            true => version,
            false => last.copied().unwrap_or(version),
        }
    })
}

/// What `action` last returned successfully, kept when the dialog that
/// ran it opens again (which clears the action's value): see [`newer_row`].
pub fn kept_success<S>(action: ServerAction<S>) -> RwSignal<Option<S::Output>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let kept = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(Ok(saved)) = action.value().get() {
            kept.set(Some(saved));
        }
    });
    kept
}

/// The row an edit opens on: `row` as the list has it, or `saved` (what
/// this page's last save returned) when that is the same row, newer. A list
/// keeps showing its rows while it reloads after a save, and an edit opened
/// on an older row would send the new version with the old values,
/// undoing the save. `key` gives a row's id and version (a count of
/// microseconds: the newer is the larger).
pub fn newer_row<T>(row: T, saved: Option<T>, key: fn(&T) -> (i32, &str)) -> T {
    match saved {
        Some(saved) if is_newer(&saved, &row, key) => saved,
        _ => row,
    }
}

/// Whether `row` is `than` (the same id) saved after it.
pub fn is_newer<T>(row: &T, than: &T, key: fn(&T) -> (i32, &str)) -> bool {
    let number = |version: &str| version.parse::<i64>().unwrap_or(i64::MIN);
    let ((id, version), (than_id, than_version)) = (key(row), key(than));
    id == than_id && number(version) > number(than_version)
}

/// What a form says when its session ended while it was open (logged out
/// elsewhere, expired, disabled); `FormStatus` adds a link to log in.
pub const SESSION_ENDED: &str = "Your session has ended.";

/// What the latest success of any of `results` returned, for actions that
/// show the same thing once (a new developer key, new recovery codes): the
/// newest wins, whichever action made it. Cleared with `.set(None)`.
pub fn newest_success<T: Clone + Send + Sync + 'static>(
    results: Vec<MappedSignal<Option<Result<T, AppError>>>>,
) -> RwSignal<Option<T>> {
    let newest = RwSignal::new(None);
    for result in results {
        Effect::new(move |_| {
            if let Some(Ok(value)) = result.get() {
                newest.set(Some(value));
            }
        });
    }
    newest
}

/// Empties `form` once `result` is a success: a password is not left in a
/// field, and a second press does not send the same thing again.
pub fn reset_on_success<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    form: NodeRef<leptos::html::Form>,
) {
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (result.get(), form.get()) {
            form.reset();
        }
    });
}

/// The latest result of a server action, as the error for one field.
pub fn field_error<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || match result.get() {
        Some(Err(err)) => err.message_for(field),
        _ => None,
    })
}

/// `message` once the latest result is a success.
pub fn success_message<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    message: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || matches!(result.get(), Some(Ok(_))).then(|| message.to_string()))
}

/// For a form's `on:input`: drops `action`'s success once the form is edited
/// again, so "saved" never stands above values that are not saved yet.
pub fn forget_success<S>(action: ServerAction<S>) -> impl Fn(leptos::ev::Event) + Copy
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move |_| {
        if action.value().with_untracked(|v| matches!(v, Some(Ok(_)))) {
            action.value().set(None);
        }
    }
}

/// [`success_message`] for a form whose server function, on success,
/// redirects back to its page with `flag` in the query (the pages before
/// signing in, which post as plain forms: see `pages::EMAIL_VERIFIED`).
pub fn redirected_success<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    flag: &'static str,
    message: &'static str,
) -> Signal<Option<String>> {
    let landed = leptos_router::hooks::use_query_map().with_untracked(|q| q.get(flag).is_some());
    Signal::derive(move || {
        (landed || matches!(result.get(), Some(Ok(_)))).then(|| message.to_string())
    })
}

/// The error of the latest result that belongs to no field of the form.
pub fn form_error<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    fields: &'static [&'static str],
) -> Signal<Option<String>> {
    form_error_except(result, move |field| fields.contains(&field))
}

/// [`form_error`] for fields known by a rule rather than listed (one per
/// row of a table: `owner-12`): the refusal of a field `said_beside` is
/// said beside it, not here.
pub fn form_error_except<T: Clone + Send + Sync + 'static>(
    result: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    said_beside: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || match result.get() {
        Some(Err(AppError::Invalid(errors))) => {
            errors.iter().find(|e| !said_beside(&e.field)).map(|e| e.message.clone())
        }
        Some(Err(err)) => Some(said_in_the_console(&err)),
        _ => None,
    })
}

/// An error as the console says it beside a form: what the user sees was
/// there (a row, a session) and is not any more. The JSON API keeps the
/// plain words, said also to whoever was never signed in.
fn said_in_the_console(err: &AppError) -> String {
    match err {
        AppError::NotFound => "Not found: it may have been deleted meanwhile.".into(),
        AppError::Unauthenticated => SESSION_ENDED.into(),
        err => err.to_string(),
    }
}
