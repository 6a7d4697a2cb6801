//! The Applications tab: the applications a user owns or that are shared with
//! them. Owners share them (Can Share), clone them (Can Create), rename them
//! and attach the account's JS libraries and integrations (Settings, one
//! Save for both), and delete them.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::applications::{
    list_applications, share_choices, CloneApplication, CreateApplication, DeleteApplication,
    SaveApplicationSettings, ShareApplication, UnshareApplication,
};
use crate::components::action::{
    announce, field_error, form_action, form_error, is_newer, kept_success, newer_row, successes,
    successes_or_gone,
};
use crate::components::focus_by_id;
use crate::components::form::{DoneNotice, Field, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, CancelButton, Modal};
use crate::components::row_dialogs::{ConfirmDelete, EditDialog, RowDialogs};
use crate::components::table::{DataTable, DeleteButton, RowActions};
use crate::components::user_picker::UserPicker;
use crate::model::{
    AppError, ApplicationRow, Applications, Named, UserChoice, INTEGRATION_GONE, LIBRARY_GONE,
    NAME_MAX,
};

/// What a row's buttons do: the Settings dialog is the rows' edit dialog;
/// Share has a dialog of its own; Clone runs at once.
#[derive(Clone, Copy)]
struct Buttons {
    dialogs: RowDialogs<ApplicationRow>,
    save: ServerAction<SaveApplicationSettings>,
    clone: ServerAction<CloneApplication>,
    share: ServerAction<ShareApplication>,
    unshare: ServerAction<UnshareApplication>,
    sharing: RwSignal<Option<ApplicationRow>>,
    /// What the latest settings save returned (see `newer_row`).
    saved: RwSignal<Option<ApplicationRow>>,
    share_open: RwSignal<bool>,
    /// Whether the user opening the dialog has Can Share: without it they
    /// may still stop sharing what they shared before it was taken away.
    may_share: RwSignal<bool>,
    /// Whom the dialog's latest share (`true`) or stop (`false`) named, for
    /// what it says once that is done.
    named: RwSignal<Option<(bool, String)>>,
}

#[component]
pub fn ApplicationsTab() -> impl IntoView {
    let create = form_action::<CreateApplication>();
    let clone = form_action::<CloneApplication>();
    let delete = form_action::<DeleteApplication>();
    let save = form_action::<SaveApplicationSettings>();
    let share = form_action::<ShareApplication>();
    let unshare = form_action::<UnshareApplication>();
    // The create form is inside the list, so the list reloads on successes
    // only: a refusal (of a name, or of a copy past the account's bound)
    // would render the form afresh and empty the name being typed. An
    // application deleted in another window ("not found") reloads it too,
    // so its row is not offered again.
    // A settings save refused for a library or integration the account
    // no longer has (deleted in another window) reloads it too: the
    // dialog's choices come with the list, and stale they could only be
    // refused again until the page was reloaded. (The dialog is open, so
    // no create form is being typed in; the dialog's own ticks are drawn
    // afresh from what is offered.) So does one refused because the
    // settings were saved in another window since the dialog opened: the
    // row it opens on again must be the one saved.
    let choices_gone = Memo::new(move |last: Option<&usize>| {
        let version = save.version().get();
        let gone = save.value().with(|answer| match answer {
            Some(Err(AppError::Conflict(_))) => true,
            // Gone meanwhile, not "At most N at a time."
            Some(Err(err)) => {
                err.message_for("libraries").as_deref() == Some(LIBRARY_GONE)
                    || err.message_for("integrations").as_deref() == Some(INTEGRATION_GONE)
            }
            _ => false,
        });
        if gone {
            version
        } else {
            last.copied().unwrap_or(version)
        }
    });
    let changes = [
        successes(create),
        successes_or_gone(clone),
        successes_or_gone(delete),
        successes_or_gone(save),
        successes_or_gone(share),
        successes_or_gone(unshare),
        choices_gone,
    ];
    let apps =
        server_resource(move || changes.map(|changed| changed.get()), |_| list_applications());
    let buttons = Buttons {
        dialogs: RowDialogs::new(),
        save,
        clone,
        share,
        unshare,
        sharing: RwSignal::new(None),
        saved: kept_success(save),
        share_open: RwSignal::new(false),
        may_share: RwSignal::new(false),
        named: RwSignal::new(None),
    };
    let dialogs = buttons.dialogs;
    close_on_success(save, dialogs.edit_open);
    let done = RwSignal::new(None);
    announce(clone, done, |copy| format!("The copy {} is created.", copy.name));
    announce(create, done, |app| format!("The application {} is created.", app.name));
    announce(save, done, |app| format!("The settings of {} are saved.", app.name));
    // The share dialog stays open to share with several users; it shows the
    // application as the server returns it.
    // Drawn anew, the form loses the focus: it goes back to Share With, for
    // the next user to share with.
    // Each answer on its own change: after an unshare, a later share's
    // answer is the newer, whichever action it came from.
    for answer in [share.value(), unshare.value()] {
        Effect::new(move |_| {
            if let Some(Ok(row)) = answer.get() {
                buttons.sharing.set(Some(row));
                if buttons.share_open.get_untracked() {
                    // Without Can Share there is no picker: the list.
                    let to = if buttons.may_share.get_untracked() {
                        "share-user"
                    } else {
                        "shared-with"
                    };
                    focus_by_id(to);
                }
            }
        });
    }
    // What the dialog says is about its latest action: opened (maybe for
    // another application), it says nothing yet (its button's click); a
    // share or a stop takes away what the other said.
    Effect::new(move |_| {
        if share.pending().get() {
            unshare.value().set(None);
        }
    });
    Effect::new(move |_| {
        if unshare.pending().get() {
            share.value().set(None);
        }
    });
    // One notice at a time, above the list where it is seen: a later
    // change takes away a refused Clone.
    Effect::new(move |_| {
        if done.with(Option::is_some) && clone.value().with_untracked(|v| matches!(v, Some(Err(_))))
        {
            clone.value().set(None);
        }
    });

    view! {
        <section class="panel" aria-labelledby="applications-heading">
            <h2 id="applications-heading">"Applications"</h2>
            // Above the list: under a long one and the create form they
            // were out of sight of the row's button.
            <FormStatus error=form_error(clone.value(), &[]) />
            <DoneNotice done />
            <Loaded resource=apps view=move |apps| view! { <ApplicationList apps create buttons /> } />
        </section>
        <Modal title=Signal::derive(move || format!("{} {}", if buttons.may_share.get() { "Share" } else { "Sharing of" }, buttons.sharing.get().map(|a| a.name).unwrap_or_default())) open=buttons.share_open id="share-application">
            // Outside the form, which is drawn anew with each answer: a
            // live region must stand before its text changes to be read out.
            <FormStatus error=Signal::derive(|| None::<String>) success=share_done(buttons) />
            {move || buttons.sharing.get().map(|app| {
                let may_share = buttons.may_share.get_untracked();
                view! { <ShareForm app share unshare may_share named=buttons.named /> }
            })}
        </Modal>
        <ConfirmDelete
            title="Delete Application"
            id="delete-application"
            dialogs
            action=delete
            question=|a: &ApplicationRow| format!("Delete the application {}? Numbers deployed to it stop running it.", a.name)
            input=|app: &ApplicationRow| DeleteApplication { id: app.id }
            deleted=|a: &ApplicationRow| format!("The application {} is deleted.", a.name)
            done
        />
    }
}

/// What the Share dialog says once its latest share or stop is done: a
/// screen reader hears it, and the list alone changes only far below.
fn share_done(buttons: Buttons) -> Signal<Option<String>> {
    Signal::derive(move || {
        let (shared, name) = buttons.named.get()?;
        let answer = if shared { buttons.share.value() } else { buttons.unshare.value() };
        let app = answer.with(|answer| match answer {
            Some(Ok(app)) => Some(app.name.clone()),
            _ => None,
        })?;
        Some(match shared {
            true => format!("{app} is shared with {name}."),
            false => format!("{app} is no longer shared with {name}."),
        })
    })
}

#[component]
fn ApplicationList(
    apps: Applications,
    create: ServerAction<CreateApplication>,
    buttons: Buttons,
) -> impl IntoView {
    let Applications { rows, can_create, can_share, libraries, integrations } = apps;
    let create_result = create.value();
    // What the settings dialog offers, for as many openings as it takes.
    let choices = StoredValue::new((libraries, integrations));
    // The rows as this list has them, which a dialog drawn anew with it
    // opens on when newer than the row it was opened on.
    let listed = StoredValue::new(rows.clone());
    let dialogs = buttons.dialogs;
    view! {
        <DataTable
            caption="Applications you own or that are shared with you"
            columns=&["Name", "Owner", "Shared With", "JS Libraries", "Integrations"]
            actions=true
            empty="No application is yours or shared with you yet."
            rows
            row=move |app: ApplicationRow| view! { <ApplicationRowView app can_create can_share buttons /> }
        />
        {if can_create {
            Either::Left(view! {
                <ActionForm action=create attr:novalidate=true attr:class="inline-form">
                    <FormStatus error=form_error(create_result, &["name"]) />
                    <Field label="New Application Name" name="name" form="create-" maxlength=NAME_MAX error=field_error(create_result, "name") />
                    <button type="submit" class="primary" disabled=move || create.pending().get() aria-busy=move || create.pending().get().then_some("true")>"Create Application"</button>
                </ActionForm>
            })
        } else {
            Either::Right(view! {
                <p class="hint">"You see the applications shared with you. Creating applications needs the Can Create permission."</p>
            })
        }}
        <EditDialog
            title=|app: &ApplicationRow| format!("Settings of {}", app.name)
            id="application-settings"
            dialogs
            form=move |app: ApplicationRow| {
                // Refused as saved in another window meanwhile, the list
                // reloads and the open Settings are drawn anew with it: on
                // the settings as they are now, with their version. The
                // user sees the other save, and makes theirs again over it;
                // the focus, gone with the form, goes to why.
                let now = listed.with_value(|rows| rows.iter().find(|r| r.id == app.id).cloned());
                let reloaded = now.as_ref().is_some_and(|now| is_newer(now, &app, settings_key));
                let app = newer_row(app, now, settings_key);
                let app = newer_row(app, buttons.saved.get_untracked(), settings_key);
                if reloaded {
                    focus_by_id(SETTINGS_STATUS);
                }
                view! { <SettingsForm app libraries=choices.get_value().0 integrations=choices.get_value().1 buttons /> }
            }
        />
    }
}

fn names(things: &[Named]) -> String {
    if things.is_empty() {
        "None".into()
    } else {
        things.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[component]
fn ApplicationRowView(
    app: ApplicationRow,
    can_create: bool,
    can_share: bool,
    buttons: Buttons,
) -> impl IntoView {
    let shared = if app.mine {
        if app.shared_with.is_empty() {
            "Nobody".to_string()
        } else {
            app.shared_with.iter().map(|u| u.name.clone()).collect::<Vec<_>>().join(", ")
        }
    } else {
        "You".to_string()
    };
    let owner = if app.mine { "You".to_string() } else { app.owner.name.clone() };
    let Buttons { dialogs, clone, share, unshare, sharing, share_open, may_share, named, .. } =
        buttons;
    let mine = app.mine.then(|| {
        let (for_settings, for_share) = (app.clone(), app.clone());
        let id = app.id;
        let name = app.name.clone();
        view! {
            <button type="button" aria-label=format!("Settings of {name}") on:click=move |_| dialogs.edit(for_settings.clone())>
                "Settings"
            </button>
            // Without Can Share (taken away since), the same dialog only
            // stops sharing: that is always allowed.
            {(can_share || !app.shared_with.is_empty()).then(|| view! {
                <button type="button" aria-label=if can_share { format!("Share {name}") } else { format!("Sharing of {name}") } on:click=move |_| {
                    // Before the dialog is drawn: an earlier refusal, maybe
                    // about another application, is not shown at all.
                    share.value().set(None);
                    unshare.value().set(None);
                    named.set(None);
                    may_share.set(can_share);
                    sharing.set(Some(for_share.clone()));
                    share_open.set(true);
                }>{if can_share { "Share" } else { "Sharing" }}</button>
            })}
            {can_create.then(|| view! {
                <button type="button" aria-label=format!("Clone {name}") disabled=move || clone.pending().get() aria-busy=move || clone.pending().get().then_some("true") on:click=move |_| {
                    clone.dispatch(CloneApplication { id });
                }>"Clone"</button>
            })}
            <DeleteButton dialogs row=app.clone() name=name.clone() />
        }
    });
    view! {
        <tr>
            <td>{app.name.clone()}</td>
            <td>{owner}</td>
            <td>{shared}</td>
            <td>{names(&app.libraries)}</td>
            <td>{names(&app.integrations)}</td>
            <RowActions>{mine}</RowActions>
        </tr>
    }
}

/// Where the Settings form says why its save was refused.
const SETTINGS_STATUS: &str = "settings-status";

/// An application's id and settings version (see `newer_row`).
fn settings_key(app: &ApplicationRow) -> (i32, &str) {
    (app.id, &app.version)
}

#[component]
fn SettingsForm(
    app: ApplicationRow,
    libraries: Vec<Named>,
    integrations: Vec<Named>,
    buttons: Buttons,
) -> impl IntoView {
    let save = buttons.save;
    let saved = save.value();
    let name = RwSignal::new(app.name.clone());
    // Only what the account has: the row may be older than the choices
    // (opened before a library was deleted, and the list reloaded since).
    let offered = |things: &[Named], id: &i32| things.iter().any(|thing| thing.id == *id);
    let chosen_libraries = app.libraries.iter().map(|l| l.id).filter(|id| offered(&libraries, id));
    let chosen_libraries = RwSignal::new(chosen_libraries.collect::<Vec<_>>());
    let chosen_integrations =
        app.integrations.iter().map(|i| i.id).filter(|id| offered(&integrations, id));
    let chosen_integrations = RwSignal::new(chosen_integrations.collect::<Vec<_>>());
    let id = app.id;
    let opened = app.version.clone();
    // A form, so Enter in the name saves as in every other dialog; the
    // ticked boxes are sent from the signals, not as form fields.
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        save.dispatch(SaveApplicationSettings {
            id,
            name: Some(name.get_untracked()),
            library_ids: chosen_libraries.get_untracked(),
            integration_ids: chosen_integrations.get_untracked(),
            opened: Some(opened.clone()),
        });
    };
    view! {
        <form novalidate on:submit=submit>
            <FormStatus error=form_error(saved, &["name", "libraries", "integrations"]) id=SETTINGS_STATUS />
            <Field label="Name" name="name" form="settings-" value=app.name.clone() bind=name maxlength=NAME_MAX error=field_error(saved, "name") />
            <Checklist legend="JS Libraries" empty="The account has no JS libraries yet." things=libraries chosen=chosen_libraries id="settings-libraries" error=field_error(saved, "libraries") />
            <Checklist legend="Integrations" empty="The account has no integrations yet." things=integrations chosen=chosen_integrations id="settings-integrations" error=field_error(saved, "integrations") />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get() aria-busy=move || save.pending().get().then_some("true")>"Save Settings"</button>
                <CancelButton />
            </div>
        </form>
    }
}

#[component]
fn Checklist(
    legend: &'static str,
    empty: &'static str,
    things: Vec<Named>,
    chosen: RwSignal<Vec<i32>>,
    id: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let invalid = move || error.get().is_some();
    view! {
        <fieldset class="field" id=id class:invalid=invalid aria-describedby=format!("{id}-error")>
            <legend>{legend}</legend>
            {if things.is_empty() {
                Either::Left(view! { <p class="hint">{empty}</p> })
            } else {
                Either::Right(things.into_iter().map(|thing| {
                    let id = thing.id;
                    view! {
                        <label class="inline">
                            <input
                                type="checkbox"
                                // The attribute for what was saved (the dialog
                                // asks before discarding a change), the property
                                // for what is ticked now.
                                checked=chosen.with_untracked(|c| c.contains(&id))
                                prop:checked=move || chosen.with(|c| c.contains(&id))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| *x != id);
                                        if on {
                                            c.push(id);
                                        }
                                    });
                                }
                            />
                            {thing.name}
                        </label>
                    }
                }).collect_view())
            }}
            <p class="error" id=format!("{id}-error") aria-live="polite">{move || error.get()}</p>
        </fieldset>
    }
}

#[component]
fn ShareForm(
    app: ApplicationRow,
    share: ServerAction<ShareApplication>,
    unshare: ServerAction<UnshareApplication>,
    may_share: bool,
    named: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let id = app.id;
    // Stop Sharing asks first, in its row: the user's numbers deployed to
    // the application stop running it.
    let asking = RwSignal::new(None::<i32>);
    let busy = move || share.pending().get() || unshare.pending().get();
    view! {
        <FormStatus error=form_error(share.value(), &["user"]) />
        <FormStatus error=form_error(unshare.value(), &[]) />
        {if may_share {
            Either::Left(view! {
                <div class="field">
                    <label class="label" for="share-user">"Share With"</label>
                    <UserPicker
                        label="Share With".to_string()
                        id="share-user".to_string()
                        chosen=Signal::derive(|| None::<UserChoice>)
                        on_choose=Callback::new(move |user: UserChoice| {
                            named.set(Some((true, user.name.clone())));
                            share.dispatch(ShareApplication { id, user_id: user.id });
                        })
                        search=move |typed| share_choices(id, typed)
                        error=field_error(share.value(), "user")
                    />
                </div>
            })
        } else {
            Either::Right(view! {
                <p class="hint">
                    "Without Can Share you can stop sharing, but not share with anyone new."
                </p>
            })
        }}
        <h3 id="shared-with" tabindex="-1">"Shared With"</h3>
        {if app.shared_with.is_empty() {
            Either::Left(view! { <p>"Nobody yet."</p> })
        } else {
            Either::Right(view! {
                <ul class="shared-with">
                    {app.shared_with.into_iter().map(|user| {
                        let user_id = user.id;
                        let name = user.name.clone();
                        let name_said = user.name.clone();
                        let question = format!(
                            "Stop sharing with {name}? Their phone numbers deployed to this application stop running it."
                        );
                        let yes = NodeRef::<leptos::html::Button>::new();
                        let stop = NodeRef::<leptos::html::Button>::new();
                        // The focus goes to the question's Yes, and back to
                        // Stop Sharing once it is answered: the buttons it
                        // was on are gone.
                        Effect::new(move |was: Option<Option<i32>>| {
                            let now = asking.get();
                            let button = match (was.flatten() == Some(user_id), now == Some(user_id)) {
                                (false, true) => yes.get(),
                                (true, false) => stop.get(),
                                _ => None,
                            };
                            if let Some(button) = button {
                                let _ = button.focus();
                            }
                            now
                        });
                        view! {
                            <li>
                                {user.name.clone()} " " <span class="email">{user.email.clone()}</span> " "
                                <Show
                                    when=move || asking.get() == Some(user_id)
                                    fallback=move || view! {
                                        <button type="button" node_ref=stop aria-label=format!("Stop sharing with {name}") disabled=busy on:click=move |_| asking.set(Some(user_id))>
                                            "Stop Sharing"
                                        </button>
                                    }
                                >
                                    <span class="question" role="alert">{question.clone()}</span> " "
                                    <button type="button" class="danger" node_ref=yes disabled=busy on:click={
                                        let name_said = name_said.clone();
                                        move |_| {
                                        asking.set(None);
                                        named.set(Some((false, name_said.clone())));
                                        unshare.dispatch(UnshareApplication { id, user_id });
                                    }}>"Yes, Stop Sharing"</button> " "
                                    <button type="button" on:click=move |_| asking.set(None)>"Keep Sharing"</button>
                                </Show>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
        <div class="actions">
            <CancelButton label="Done" />
        </div>
    }
}
