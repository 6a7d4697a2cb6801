//! The security sections of the Account tab: two-factor authentication,
//! developer keys and signed-in sessions. Each has its own resource (see
//! `my_account` on why one resource is never read by two Suspenses).
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::api::security::{
    list_developer_keys, list_sessions, load_two_factor_status, BeginTwoFactor, ConfirmTwoFactor,
    DisableTwoFactor, EndOtherSessions, EndSession, GenerateDeveloperKey, RegenerateDeveloperKey,
    RegenerateRecoveryCodes, RevokeDeveloperKey,
};
use crate::components::form::{field_error, form_error, Field, FormStatus};
use crate::model::{DeveloperKeyRow, NewDeveloperKey, SessionRow, TwoFactorStatus};

fn loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

#[component]
pub fn TwoFactorSection() -> impl IntoView {
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let status = Resource::new(
        move || (confirm.version().get(), disable.version().get(), regenerate.version().get()),
        |_| load_two_factor_status(),
    );
    // Recovery codes are shown once: after enabling, or after regenerating.
    let codes = Signal::derive(move || {
        let latest = [confirm.value().get(), regenerate.value().get()];
        latest.into_iter().flatten().filter_map(Result::ok).last()
    });
    view! {
        <section class="panel" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-Factor Authentication"</h2>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(TwoFactorStatus { enabled: true, recovery_codes_left }) => EitherOf3::A(view! {
                            <p>"Two-factor authentication is " <strong>"on"</strong> ". Log-in asks for a code from your authenticator app. Recovery codes left: " {recovery_codes_left} "."</p>
                            <details>
                                <summary>"New recovery codes"</summary>
                                <ActionForm action=regenerate attr:novalidate=true>
                                    <FormStatus error=form_error(regenerate.value(), &["code"]) />
                                    <Field label="Current code" name="code" form="regenerate-" autocomplete="one-time-code" error=field_error(regenerate.value(), "code") />
                                    <button type="submit">"Make New Recovery Codes"</button>
                                </ActionForm>
                            </details>
                            <details>
                                <summary>"Turn off two-factor authentication"</summary>
                                <ActionForm action=disable attr:novalidate=true>
                                    <FormStatus error=form_error(disable.value(), &["password", "code"]) />
                                    <Field label="Password" name="password" form="disable-" input_type="password" autocomplete="current-password" error=field_error(disable.value(), "password") />
                                    <Field label="Code" name="code" form="disable-" autocomplete="one-time-code" hint="A code from your authenticator app, or a recovery code." error=field_error(disable.value(), "code") />
                                    <button type="submit" class="danger">"Turn Off"</button>
                                </ActionForm>
                            </details>
                        }),
                        Ok(_) => EitherOf3::B(view! { <TwoFactorSetupSteps begin confirm /> }),
                        Err(err) => EitherOf3::C(view! { <p class="alert error">{err.to_string()}</p> }),
                    }
                })}
            </Transition>
            {move || codes.get().map(|codes| view! { <RecoveryCodes codes /> })}
        </section>
    }
}

#[component]
fn TwoFactorSetupSteps(
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
) -> impl IntoView {
    view! {
        <p>"Two-factor authentication is off. With it on, log-in also asks for a code from an authenticator app on your phone."</p>
        {move || match begin.value().get() {
            Some(Ok(setup)) => Either::Left(view! {
                <ol class="steps">
                    <li>
                        "Scan this QR code with your authenticator app:"
                        <div class="qr" role="img" aria-label="QR code of your two-factor secret" inner_html=setup.qr_svg.clone()></div>
                        "or type in this secret: " <code class="secret">{setup.secret.clone()}</code>
                    </li>
                    <li>
                        <ActionForm action=confirm attr:novalidate=true>
                            <FormStatus error=form_error(confirm.value(), &["code"]) />
                            <Field label="Code from the app" name="code" form="enable-" autocomplete="one-time-code" error=field_error(confirm.value(), "code") />
                            <button type="submit" class="primary" disabled=move || confirm.pending().get()>"Turn On"</button>
                        </ActionForm>
                    </li>
                </ol>
            }),
            other => Either::Right(view! {
                {other.and_then(Result::err).map(|e| view! { <p class="alert error">{e.to_string()}</p> })}
                <button type="button" class="primary" disabled=move || begin.pending().get() on:click=move |_| {
                    begin.dispatch(BeginTwoFactor {});
                }>"Set Up Two-Factor Authentication"</button>
            }),
        }}
    }
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <div class="alert success" role="status">
            <p>"Your recovery codes. Each works once, in place of a code from the app. Keep them somewhere safe: they are not shown again."</p>
            <ul class="recovery-codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn DeveloperKeysSection() -> impl IntoView {
    let generate = ServerAction::<GenerateDeveloperKey>::new();
    let regenerate = ServerAction::<RegenerateDeveloperKey>::new();
    let revoke = ServerAction::<RevokeDeveloperKey>::new();
    let keys = Resource::new(
        move || (generate.version().get(), regenerate.version().get(), revoke.version().get()),
        |_| list_developer_keys(),
    );
    // The key just made, shown once.
    let shown = Signal::derive(move || {
        let latest = [generate.value().get(), regenerate.value().get()];
        latest.into_iter().flatten().filter_map(Result::ok).last()
    });
    view! {
        <section class="panel" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Developer Keys"</h2>
            <p class="hint">"A developer key lets a program use the JSON API (" <a href="/api/v1/openapi.json">"OpenAPI description"</a> ") as you, with your rights."</p>
            {move || shown.get().map(|new_key| view! { <ShownKey new_key /> })}
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(rows) if rows.is_empty() => Either::Left(Either::Left(view! { <p>"You have no developer keys."</p> })),
                        Ok(rows) => Either::Left(Either::Right(view! { <KeyTable rows regenerate revoke /> })),
                        Err(err) => Either::Right(view! { <p class="alert error">{err.to_string()}</p> }),
                    }
                })}
            </Transition>
            <ActionForm action=generate attr:novalidate=true attr:class="inline-form">
                <FormStatus error=form_error(generate.value(), &["name"]) />
                <Field label="Key name" name="name" form="key-" maxlength=100 hint="What the key is for, e.g. \"Nightly report\"." error=field_error(generate.value(), "name") />
                <button type="submit" class="primary" disabled=move || generate.pending().get()>"Generate Key"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ShownKey(new_key: NewDeveloperKey) -> impl IntoView {
    let key = new_key.key.clone();
    let copied = RwSignal::new(false);
    view! {
        <div class="alert success" role="status">
            <p>"Your new key " <strong>{new_key.row.name.clone()}</strong> ". Copy it now: it is not shown again."</p>
            <p><code class="secret" id="new-developer-key">{new_key.key.clone()}</code></p>
            <button type="button" on:click=move |_| {
                copy_to_clipboard(&key);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
        </div>
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[component]
fn KeyTable(
    rows: Vec<DeveloperKeyRow>,
    regenerate: ServerAction<RegenerateDeveloperKey>,
    revoke: ServerAction<RevokeDeveloperKey>,
) -> impl IntoView {
    view! {
        <table>
            <caption class="sr-only">"Your developer keys"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Key"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let id = row.id;
                    view! {
                        <tr>
                            <td>{row.name.clone()}</td>
                            <td><code>{format!("{}…", row.prefix)}</code></td>
                            <td>{row.created.clone()}</td>
                            <td>{row.last_used.clone().unwrap_or_else(|| "Never".into())}</td>
                            <td class="actions">
                                <button type="button" aria-label=format!("Regenerate {}", row.name) on:click=move |_| { regenerate.dispatch(RegenerateDeveloperKey { id }); }>"Regenerate"</button>
                                <button type="button" class="danger" aria-label=format!("Revoke {}", row.name) on:click=move |_| { revoke.dispatch(RevokeDeveloperKey { id }); }>"Revoke"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn SessionsSection() -> impl IntoView {
    let end = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new(
        move || (end.version().get(), end_others.version().get()),
        |_| list_sessions(),
    );
    view! {
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Signed-In Sessions"</h2>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(rows) => Either::Left(view! { <SessionTable rows end /> }),
                        Err(err) => Either::Right(view! { <p class="alert error">{err.to_string()}</p> }),
                    }
                })}
            </Transition>
            <FormStatus error=form_error(end.value(), &[]) />
            <button type="button" on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }>"Sign Out All Other Sessions"</button>
        </section>
    }
}

#[component]
fn SessionTable(rows: Vec<SessionRow>, end: ServerAction<EndSession>) -> impl IntoView {
    view! {
        <table>
            <caption class="sr-only">"Your signed-in sessions"</caption>
            <thead>
                <tr>
                    <th scope="col">"Device"</th>
                    <th scope="col">"Last seen"</th>
                    <th scope="col">"Signed in"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let id = row.id.clone();
                    let device = row.device.clone();
                    view! {
                        <tr>
                            <td>{row.device.clone()} {row.current.then(|| view! { " " <span class="badge">"This session"</span> })}</td>
                            <td>{row.last_seen.clone()}</td>
                            <td>{row.started.clone()}</td>
                            <td class="actions">
                                {(!row.current).then(|| view! {
                                    <button type="button" aria-label=format!("Sign out {device}") on:click=move |_| { end.dispatch(EndSession { id: id.clone() }); }>"Sign Out"</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
