//! Real dialogs, on the browser's own `<dialog>`: shown modal, the rest of the
//! page is inert (focus stays inside), Escape or the Close button closes (a
//! phone has no Escape key), and focus returns to the element that opened it.
//! A dialog holding something typed and not saved asks before it closes.
use leptos::context::Provider;
use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::components::form::FormStatus;
use crate::model::AppError;

#[component]
pub fn Modal(
    /// The dialog's heading, which also names it for assistive technology.
    #[prop(into)]
    title: Signal<String>,
    /// Whether the dialog is open; the dialog sets it to false when closed.
    open: RwSignal<bool>,
    /// Keeps ids unique when several dialogs are on a page.
    id: &'static str,
    /// For a dialog that asks a question (see [`Confirm`]): its element
    /// `{id}-question` is read out with the dialog's name, so a screen
    /// reader says what Yes does, not only "Cancel, button".
    #[prop(optional)]
    asks: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let heading_id = format!("{id}-title");
    let described_by = asks.then(|| question_id(id));
    // Set while the dialog asks whether to discard what was typed.
    let asking = RwSignal::new(false);
    let keep_id = StoredValue::new(format!("{id}-keep-editing"));

    #[cfg(feature = "hydrate")]
    {
        let opener = StoredValue::new_local(None::<leptos::web_sys::HtmlElement>);
        Effect::new(move |_| {
            let wanted = open.get();
            let Some(element) = dialog.get() else { return };
            if wanted && !element.open() {
                use leptos::wasm_bindgen::JsCast;
                let active = leptos::prelude::document()
                    .active_element()
                    .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok());
                opener.set_value(active);
                asking.set(false);
                let _ = element.show_modal();
            } else if !wanted && element.open() {
                element.close();
            }
            if !wanted {
                // A list reloaded while the dialog was open (after a share)
                // drew its row's buttons anew: the one of the same name
                // takes the focus, not the page's top.
                let opener = opener.get_value().and_then(|opener| {
                    if opener.is_connected() {
                        Some(opener)
                    } else {
                        same_named_button(&opener)
                    }
                });
                if let Some(opener) = opener {
                    let _ = opener.focus();
                }
            }
        });
    }

    // The Close button and Escape close at once, unless a field holds
    // something typed and not saved: then the dialog asks first, with
    // "Keep Editing" focused. Escape pressed again while it asks discards,
    // as a second Escape does in most editors. A successful save closes
    // without asking (`close_on_success` sets `open` directly).
    let ask_or_close = move || -> bool {
        #[cfg(feature = "hydrate")]
        if !asking.get_untracked()
            && dialog.get_untracked().is_some_and(|element| holds_unsaved_input(&element))
        {
            asking.set(true);
            leptos::prelude::request_animation_frame(move || {
                use leptos::wasm_bindgen::JsCast;
                if let Some(keep) = leptos::prelude::document()
                    .get_element_by_id(&keep_id.get_value())
                    .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
                {
                    let _ = keep.focus();
                }
            });
            return false;
        }
        open.set(false);
        true
    };
    let on_close_button = move |_| {
        ask_or_close();
    };
    // Through a `Provider`, which gives the children an owner of their own:
    // a component has none, so `provide_context` here would reach every
    // dialog of the page, and the last one drawn would win.
    let dismiss = Dismiss(Callback::new(move |_| {
        ask_or_close();
    }));
    let on_cancel = move |ev: leptos::ev::Event| {
        if !ask_or_close() {
            ev.prevent_default();
        }
    };
    let keep_editing = move |_| {
        asking.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(element) = dialog.get_untracked() {
            use leptos::wasm_bindgen::JsCast;
            let first = element
                .query_selector("input:not([type=hidden]), textarea, select")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok());
            if let Some(first) = first {
                let _ = first.focus();
            }
        }
    };
    let children = StoredValue::new(children);
    let labelled_by = heading_id.clone();
    #[allow(unused_variables)]
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(element) = dialog.get_untracked() {
            keep_tab_inside(&ev, &element);
        }
    };
    view! {
        <dialog
            node_ref=dialog
            id=id
            class="modal"
            aria-labelledby=labelled_by
            aria-describedby=described_by
            on:close=move |_| {
                asking.set(false);
                open.set(false);
            }
            on:cancel=on_cancel
            on:keydown=on_keydown
            // Typing on instead of answering: the question no longer stands.
            on:input=move |_| asking.set(false)
        >
            <Show when=move || open.get()>
                <h2 id=heading_id.clone()>{move || title.get()}</h2>
                <Show when=move || asking.get()>
                    // The alert is the question alone: its buttons read
                    // out as part of it would be cut short by the focus
                    // moving to Keep Editing.
                    <div class="discard">
                        <p role="alert">"You have changes that are not saved. Close and discard them?"</p>
                        <div class="actions">
                            <button type="button" class="danger" on:click=move |_| open.set(false)>"Discard Changes"</button>
                            <button type="button" id=keep_id.get_value() on:click=keep_editing>"Keep Editing"</button>
                        </div>
                    </div>
                </Show>
                <Provider value=dismiss>{children.read_value()()}</Provider>
                // Last in the markup, so opening focuses the first field;
                // drawn at the top corner.
                <button type="button" class="close" aria-label="Close" on:click=on_close_button>"×"</button>
            </Show>
        </dialog>
    }
    // Erased: a page holding several dialogs would otherwise have a type too
    // deep for the compiler's default limit in builds that keep view types.
    .into_any()
}

/// How the [`CancelButton`] inside a [`Modal`] closes it: as its × does.
#[derive(Clone, Copy)]
struct Dismiss(Callback<()>);

/// The button beside a dialog's main one that closes it without doing
/// anything ("Cancel"; "Done" where each choice was saved as it was made).
/// Like the × and Escape, it asks first about anything typed and not saved.
#[component]
pub fn CancelButton(#[prop(default = "Cancel")] label: &'static str) -> impl IntoView {
    let dismiss = use_context::<Dismiss>();
    view! {
        <button type="button" on:click=move |_| {
            if let Some(Dismiss(dismiss)) = dismiss {
                dismiss.run(());
            }
        }>{label}</button>
    }
}

/// Whether a field of the dialog differs from what it showed when drawn: the
/// `value` and `checked` attributes hold what was loaded or last saved, the
/// properties what is there now. A password is not counted (typing it again
/// costs nothing, and asking would keep it on screen), nor a picker's search
/// text, which chooses rather than holds anything.
#[cfg(feature = "hydrate")]
fn holds_unsaved_input(dialog: &leptos::web_sys::HtmlDialogElement) -> bool {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{
        HtmlInputElement, HtmlOptionElement, HtmlSelectElement, HtmlTextAreaElement,
    };
    let Ok(fields) = dialog.query_selector_all("input:not([role=combobox]), textarea, select")
    else {
        return false;
    };
    (0..fields.length()).filter_map(|i| fields.item(i)).any(|field| {
        if let Some(input) = field.dyn_ref::<HtmlInputElement>() {
            match input.type_().as_str() {
                "checkbox" | "radio" => input.checked() != input.default_checked(),
                "hidden" | "password" | "submit" | "button" => false,
                _ => input.value() != input.default_value(),
            }
        } else if let Some(text) = field.dyn_ref::<HtmlTextAreaElement>() {
            // The browser reads a text area's lines with "\n" only.
            text.default_value()
                .is_ok_and(|saved| saved.replace("\r\n", "\n").replace('\r', "\n") != text.value())
        } else if let Some(select) = field.dyn_ref::<HtmlSelectElement>() {
            // Drawn with no option marked `selected`, a list shows its first.
            let options = select.options();
            let drawn = (0..options.length())
                .filter_map(|i| options.item(i))
                .filter_map(|o| o.dyn_into::<HtmlOptionElement>().ok())
                .position(|o| o.default_selected())
                .unwrap_or(0);
            // A list with no options has nothing chosen (-1), nor changed.
            usize::try_from(select.selected_index()).is_ok_and(|now| now != drawn)
        } else {
            false
        }
    })
}

/// Tab from a dialog's last control goes to its first, and Shift+Tab from the
/// first to the last. A modal `<dialog>` makes the page behind it inert, but
/// Tab past its last control would still leave for the browser's own bar.
#[cfg(feature = "hydrate")]
fn keep_tab_inside(ev: &leptos::ev::KeyboardEvent, dialog: &leptos::web_sys::HtmlDialogElement) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Element, HtmlElement};

    if ev.key() != "Tab" {
        return;
    }
    let focusable = |e: &Element| {
        let tabindex = e.get_attribute("tabindex");
        if tabindex.as_deref().is_some_and(|t| t.starts_with('-')) || e.has_attribute("disabled") {
            return false;
        }
        match e.tag_name().as_str() {
            "BUTTON" | "SELECT" | "TEXTAREA" => true,
            "INPUT" => e.get_attribute("type").as_deref() != Some("hidden"),
            "A" => e.has_attribute("href"),
            _ => tabindex.is_some(),
        }
    };
    let all = dialog.get_elements_by_tag_name("*");
    let controls: Vec<HtmlElement> = (0..all.length())
        .filter_map(|i| all.item(i))
        .filter(|e| focusable(e))
        .filter_map(|e| e.dyn_into::<HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
    let active = leptos::prelude::document().active_element();
    let is = |e: &HtmlElement| active.as_ref().is_some_and(|a| a == e.unchecked_ref::<Element>());
    let to = if ev.shift_key() && is(first) {
        last
    } else if !ev.shift_key() && is(last) {
        first
    } else {
        return;
    };
    ev.prevent_default();
    let _ = to.focus();
}

/// The id of the question a dialog that [asks](Modal) one is described by.
pub fn question_id(dialog: &str) -> String {
    format!("{dialog}-question")
}

/// A dialog that asks before something irreversible; its button says "Yes".
/// It opens with Cancel focused, so an Enter pressed out of habit undoes
/// nothing.
#[component]
pub fn Confirm(
    #[prop(into)] title: Signal<String>,
    open: RwSignal<bool>,
    id: &'static str,
    /// What will happen, in a sentence.
    #[prop(into)]
    message: Signal<String>,
    /// Runs when the user answers Yes.
    on_yes: Callback<()>,
    #[prop(into)] pending: Signal<bool>,
    /// Why Yes was refused, shown in the dialog, where the user is looking.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <Modal title open id asks=true>
            <p id=question_id(id)>{move || message.get()}</p>
            <FormStatus error />
            <div class="actions">
                <button type="button" class="danger" disabled=move || pending.get() aria-busy=move || pending.get().then_some("true") on:click=move |_| on_yes.run(())>
                    "Yes"
                </button>
                <button type="button" autofocus on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </Modal>
    }
}

/// Ties a dialog to the action its form runs: the dialog closes once the
/// action has succeeded, and opens again without an earlier try's answer
/// (a refusal still shown would read as the answer to the new try).
pub fn close_on_success<S>(action: ServerAction<S>, open: RwSignal<bool>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    // One effect, not two: it is compiled once per server function. It
    // reads `open`, so it writes it only to change it (a signal's `set`
    // notifies even when the value stays, which would run it again).
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            action.value().set(None);
        }
        if is_open && matches!(action.value().get(), Some(Ok(_))) {
            open.set(false);
        }
        is_open
    });
}

/// The button now on the page with the name (`aria-label`) of `gone`, which
/// is no longer there.
#[cfg(feature = "hydrate")]
fn same_named_button(gone: &leptos::web_sys::HtmlElement) -> Option<leptos::web_sys::HtmlElement> {
    use leptos::wasm_bindgen::JsCast;
    let name = gone.get_attribute("aria-label")?;
    let buttons = leptos::prelude::document().get_elements_by_tag_name("button");
    (0..buttons.length())
        .filter_map(|i| buttons.item(i))
        .find(|button| button.get_attribute("aria-label").as_deref() == Some(name.as_str()))
        .and_then(|button| button.dyn_into().ok())
}
