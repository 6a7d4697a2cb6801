//! Form fields with a visible label and their error beside them. What an
//! action's result says (errors, successes) is `action`.
use leptos::either::Either;
use leptos::prelude::*;

use crate::components::action::SESSION_ENDED;

/// The frame of a field whose control has the id `id`: its label, the
/// control, its hint and its error. The pages before signing in have no wasm,
/// and `plain_forms.js` shows their errors by this markup: the `field` and
/// `invalid` classes, `{id}-hint`, `{id}-error` and `.form-status` above the
/// form ([`FormStatus`]). A change here needs the same change there.
#[component]
fn FieldFrame(
    id: String,
    label: &'static str,
    hint: Option<&'static str>,
    /// May be left empty: the label says "(optional)", as the pages the
    /// console was modelled on do; the others are required.
    optional: bool,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}{optional.then(|| view! { <span class="optional">" (optional)"</span> })}</label>
            {children()}
            {hint.map(|text| view! { <p class="hint" id=format!("{id}-hint")>{text}</p> })}
            <p class="error" id=format!("{id}-error") aria-live="polite">{move || error.get()}</p>
        </div>
    }
}

/// `error` until the field is edited: the message is about what was sent, and
/// once the user mends it, "too short" beside a longer value reads as a new
/// refusal. The next answer shows its own error again. Returns the error to
/// show and what the control's `on:input` (or a list's `on:change`) calls.
pub fn until_edited(error: Signal<Option<String>>) -> (Signal<Option<String>>, impl Fn() + Copy) {
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        error.track();
        edited.set(false);
    });
    let shown = Signal::derive(move || if edited.get() { None } else { error.get() });
    (shown, move || {
        if !edited.get_untracked() {
            edited.set(true);
        }
    })
}

/// What describes the control of a [`FieldFrame`]: the hint if there is one,
/// the error while there is one.
fn described_by(
    id: &str,
    hint: Option<&'static str>,
    error: Signal<Option<String>>,
    also: Option<String>,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
    move || {
        let ids: Vec<_> =
            [hint.map(|_| hint_id.clone()), also.clone(), error.get().map(|_| error_id.clone())]
                .into_iter()
                .flatten()
                .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

#[component]
pub fn Field(
    /// The visible label, in the wording of the spec.
    label: &'static str,
    /// The input's name: the server function argument it fills.
    name: &'static str,
    /// A prefix that keeps ids unique when two forms share a field name.
    #[prop(default = "")]
    form: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    /// The value shown; when it changes after a save, the input follows.
    #[prop(optional, into)]
    value: Signal<String>,
    /// Follows what is typed, for a form that is not posted as a form (a
    /// dialog whose Save sends JSON).
    #[prop(optional)]
    bind: Option<RwSignal<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] maxlength: Option<usize>,
    /// The keyboard a phone shows, e.g. "numeric" for a code of digits.
    #[prop(optional)]
    inputmode: Option<&'static str>,
    /// For the one field a page is for (a log-in's code): typing goes there.
    #[prop(optional)]
    autofocus: bool,
    /// May be left empty (see `FieldFrame`).
    #[prop(optional)]
    optional: bool,
    /// Shown and sent, not edited here; the hint says where it is.
    #[prop(optional)]
    readonly: bool,
    /// The id of a note beside the field that describes it too (the
    /// change an address waits on), read after its hint.
    #[prop(optional_no_strip)]
    also_described_by: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("{form}{name}");
    let (error, edited) = until_edited(error);
    let described_by = described_by(&id, hint, error, also_described_by);
    let input = NodeRef::<leptos::html::Input>::new();
    // The attribute gives the value the page is drawn with; the property
    // follows a value that changes after it (a save). Not at hydration:
    // a `prop:value` sets it then too, emptying what was typed before the
    // page's code loaded (a form pressed early is sent again once it has).
    Effect::new(move |drawn: Option<()>| {
        let now = value.get();
        if drawn.is_some() {
            if let Some(input) = input.get_untracked() {
                input.set_value(&now);
            }
        }
    });
    view! {
        <FieldFrame id=id.clone() label hint optional error>
            <input
                node_ref=input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                value=value
                maxlength=maxlength
                inputmode=inputmode
                autofocus=autofocus
                readonly=readonly
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
                on:input=move |ev| {
                    edited();
                    if let Some(bind) = bind {
                        bind.set(event_target_value(&ev));
                    }
                }
            />
        </FieldFrame>
    }
}

/// A message above a form: an error, or the confirmation of a success.
#[component]
pub fn FormStatus(
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional, into)] success: Option<Signal<Option<String>>>,
    /// For a form drawn anew with its message in it, which a screen reader
    /// does not read out as a change: the page moves the focus here.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="form-status" role="status" aria-live="polite" id=id tabindex=id.map(|_| "-1")>
            {move || error.get().map(|e| match e == SESSION_ENDED {
                true => Either::Left(view! { <SessionEndedHere /> }),
                false => Either::Right(view! { <p class="alert error">{e}</p> }),
            })}
            {move || {
                success.and_then(|s| s.get()).map(|s| view! { <p class="alert success">{s}</p> })
            }}
        </div>
    }
}

/// A form's session ended: the user logs in in a new tab (which opens this
/// page), and tries again here, where what they typed is still filled in.
#[component]
fn SessionEndedHere() -> impl IntoView {
    let url = super::address::log_in_url(&super::address::here());
    #[cfg(feature = "hydrate")]
    reload_if_someone_else_logs_in();
    view! {
        <p class="alert error">
            {SESSION_ENDED} " "
            <a href=url target="_blank">"Log in again in a new tab"</a>
            ", then try again here."
        </p>
    }
}

/// Whoever logs in from [`SessionEndedHere`]'s link may be someone else (an
/// admin of two companies, with the other address): this page, drawn for
/// the user whose session ended, would then send what is typed here into
/// the other's account. Each time the window has the focus back, the user
/// signed in now is asked for; someone else, and the page loads afresh, as
/// theirs.
#[cfg(feature = "hydrate")]
fn reload_if_someone_else_logs_in() {
    use crate::components::signed_in::UserResource;
    let Some(UserResource(user)) = use_context::<UserResource>() else { return };
    let drawn_for = user.get_untracked().and_then(Result::ok).map(|me| me.id);
    let listening = window_event_listener(leptos::ev::focus, move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(now) = crate::api::log_in::signed_in_user().await {
                if Some(now.id) != drawn_for {
                    let _ = window().location().reload();
                }
            }
        });
    });
    on_cleanup(move || listening.remove());
}

/// The code a change asks for when two-factor authentication is on (a
/// developer key, an email change): drawn once the server has asked for it
/// (`two_factor::CODE_NEEDED`, or a wrong code) and from then on, so a user
/// without 2FA never sees it, and nothing loads the status beforehand.
/// It takes the focus when it appears: the rest of the form is filled in.
#[component]
pub fn CodeWhenAsked(
    /// The prefix of the form's other fields; the input's id is `{form}code`.
    form: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let asked = RwSignal::new(false);
    // An answer there before this field was drawn (a dialog opened again
    // after a cancelled try; `close_on_success` clears it on opening) is
    // not an ask of this form: only answers that come later are.
    Effect::new(move |first: Option<()>| {
        let error = error.with(Option::is_some);
        if first.is_some() && error && !asked.get_untracked() {
            asked.set(true);
            crate::components::focus_by_id(format!("{form}code"));
        }
    });
    move || {
        asked.get().then(|| {
            view! {
                <Field
                    label="Authentication Code"
                    name="code"
                    form
                    autocomplete="one-time-code"
                    // No numeric keypad: a recovery code has letters and
                    // a hyphen, and is what someone without their phone types.
                    hint="A code from your authenticator app, or a recovery code."
                    error
                />
            }
        })
    }
}

/// What a tab's last dialog did ("… is deleted."), said under its table
/// once the dialog has closed. The list's reload gives it the focus when the
/// row whose button opened the dialog is gone (`loaded::keep_focus`).
#[component]
pub fn DoneNotice(done: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <div class="form-status" role="status" aria-live="polite">
            {move || done.get().map(|text| view! { <p class="alert success done" tabindex="-1">{text}</p> })}
        </div>
    }
}

/// A field for choosing a password, with the advice that goes with it.
#[component]
pub fn NewPasswordField(
    label: &'static str,
    name: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <Field
            label
            name
            input_type="password"
            autocomplete="new-password"
            hint="At least 8 characters. A phrase of unrelated words is strong and easy to remember."
            error
        />
    }
}

/// A multi-line field with a visible label and its error beside it.
#[component]
pub fn TextAreaField(
    label: &'static str,
    name: &'static str,
    #[prop(default = "")] form: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
    #[prop(optional)] maxlength: Option<usize>,
    /// Code, a key or a certificate: a monospace font, no spell checking.
    #[prop(optional)]
    code: bool,
    /// May be left empty (see `FieldFrame`).
    #[prop(optional)]
    optional: bool,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("{form}{name}");
    let (error, edited) = until_edited(error);
    let described_by = described_by(&id, hint, error, None);
    view! {
        <FieldFrame id=id.clone() label hint optional error>
            <textarea
                id=id
                name=name
                rows=rows
                maxlength=maxlength
                class:code=code
                spellcheck=if code { "false" } else { "true" }
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
                on:input=move |_| edited()
            >
                {value}
            </textarea>
        </FieldFrame>
    }
}

/// The account a new password is for, unseen, so a password manager files
/// the password under it. It has no name: the form does not send it.
#[component]
pub fn Username(email: String) -> impl IntoView {
    view! { <input type="email" autocomplete="username" value=email readonly hidden /> }
}
