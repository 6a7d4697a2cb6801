//! The Applications tab: the applications a user owns or that are shared with
//! them. Owners share them (Can Share), clone them (Can Create), attach the
//! account's JS libraries and integrations, and delete them.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::applications::{
    list_applications, share_choices, CloneApplication, CreateApplication, DeleteApplication,
    SetApplicationAttachments, ShareApplication, UnshareApplication,
};
use crate::components::form::{field_error, form_error, Field, FormStatus};
use crate::components::modal::{close_on_success, Confirm, Modal};
use crate::components::user_picker::UserPicker;
use crate::model::{ApplicationRow, Applications, Named, UserChoice};

/// The actions a row's buttons dispatch, and which dialog is about which row.
#[derive(Clone, Copy)]
struct RowActions {
    clone: ServerAction<CloneApplication>,
    settings: RwSignal<Option<ApplicationRow>>,
    settings_open: RwSignal<bool>,
    sharing: RwSignal<Option<ApplicationRow>>,
    share_open: RwSignal<bool>,
    deleting: RwSignal<Option<ApplicationRow>>,
    delete_open: RwSignal<bool>,
}

#[component]
pub fn ApplicationsTab() -> impl IntoView {
    let create = ServerAction::<CreateApplication>::new();
    let clone = ServerAction::<CloneApplication>::new();
    let delete = ServerAction::<DeleteApplication>::new();
    let attach = ServerAction::<SetApplicationAttachments>::new();
    let share = ServerAction::<ShareApplication>::new();
    let unshare = ServerAction::<UnshareApplication>::new();
    let apps = Resource::new(
        move || {
            (
                create.version().get(),
                clone.version().get(),
                delete.version().get(),
                attach.version().get(),
                share.version().get(),
                unshare.version().get(),
            )
        },
        |_| list_applications(),
    );
    let actions = RowActions {
        clone,
        settings: RwSignal::new(None),
        settings_open: RwSignal::new(false),
        sharing: RwSignal::new(None),
        share_open: RwSignal::new(false),
        deleting: RwSignal::new(None),
        delete_open: RwSignal::new(false),
    };
    close_on_success(attach.value(), actions.settings_open);
    close_on_success(delete.value(), actions.delete_open);
    // The share dialog stays open to share with several users; it shows the
    // application as the server returns it.
    Effect::new(move |_| {
        for result in [share.value().get(), unshare.value().get()] {
            if let Some(Ok(row)) = result {
                actions.sharing.set(Some(row));
            }
        }
    });

    let body = move || {
        Suspend::new(async move {
            match apps.await {
                Ok(apps) => Either::Left(view! { <ApplicationList apps create actions attach /> }),
                Err(err) => Either::Right(view! { <p class="alert error">{err.to_string()}</p> }),
            }
        })
    };
    let delete_message = Signal::derive(move || {
        actions
            .deleting
            .get()
            .map(|a| {
                format!(
                    "Delete the application {}? Numbers deployed to it stop running it.",
                    a.name
                )
            })
            .unwrap_or_default()
    });
    view! {
        <section class="panel" aria-labelledby="applications-heading">
            <h2 id="applications-heading">"Applications"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{body}</Transition>
            <FormStatus error=form_error(clone.value(), &[]) />
            <FormStatus error=form_error(delete.value(), &[]) />
        </section>
        <Modal title=Signal::derive(move || format!("Share {}", actions.sharing.get().map(|a| a.name).unwrap_or_default())) open=actions.share_open id="share-application">
            {move || actions.sharing.get().map(|app| view! { <ShareForm app share unshare /> })}
        </Modal>
        <Confirm
            title=Signal::derive(|| "Delete Application".to_string())
            open=actions.delete_open
            id="delete-application"
            message=delete_message
            pending=delete.pending()
            on_yes=Callback::new(move |_| {
                if let Some(app) = actions.deleting.get_untracked() {
                    delete.dispatch(DeleteApplication { id: app.id });
                }
            })
        />
    }
}

#[component]
fn ApplicationList(
    apps: Applications,
    create: ServerAction<CreateApplication>,
    actions: RowActions,
    attach: ServerAction<SetApplicationAttachments>,
) -> impl IntoView {
    let Applications { rows, can_create, can_share, libraries, integrations } = apps;
    let create_result = create.value();
    // What the settings dialog offers, for as many openings as it takes.
    let choices = StoredValue::new((libraries, integrations));
    let table = if rows.is_empty() {
        Either::Left(view! { <p>"No application is yours or shared with you yet."</p> })
    } else {
        Either::Right(view! {
            <table>
                <caption class="sr-only">"Applications you own or that are shared with you"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Owner"</th>
                        <th scope="col">"Shared with"</th>
                        <th scope="col">"JS Libraries"</th>
                        <th scope="col">"Integrations"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|app| view! { <ApplicationRowView app can_create can_share actions /> }).collect_view()}
                </tbody>
            </table>
        })
    };
    view! {
        {table}
        {if can_create {
            Either::Left(view! {
                <ActionForm action=create attr:novalidate=true attr:class="inline-form">
                    <FormStatus error=form_error(create_result, &["name"]) />
                    <Field label="New application name" name="name" form="create-" maxlength=100 error=field_error(create_result, "name") />
                    <button type="submit" class="primary" disabled=move || create.pending().get()>"Create Application"</button>
                </ActionForm>
            })
        } else {
            Either::Right(view! {
                <p class="hint">"You see the applications shared with you. Creating applications needs the Can Create permission."</p>
            })
        }}
        <Modal title=Signal::derive(move || format!("Settings of {}", actions.settings.get().map(|a| a.name).unwrap_or_default())) open=actions.settings_open id="application-settings">
            {move || actions.settings.get().map(|app| view! {
                <SettingsForm app libraries=choices.get_value().0 integrations=choices.get_value().1 attach />
            })}
        </Modal>
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
    actions: RowActions,
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
    let buttons = app.mine.then(|| {
        let (for_settings, for_share, for_delete) = (app.clone(), app.clone(), app.clone());
        let id = app.id;
        let name = app.name.clone();
        view! {
            <button type="button" aria-label=format!("Settings of {name}") on:click=move |_| {
                actions.settings.set(Some(for_settings.clone()));
                actions.settings_open.set(true);
            }>"Settings"</button>
            {can_share.then(|| view! {
                <button type="button" aria-label=format!("Share {name}") on:click=move |_| {
                    actions.sharing.set(Some(for_share.clone()));
                    actions.share_open.set(true);
                }>"Share"</button>
            })}
            {can_create.then(|| view! {
                <button type="button" aria-label=format!("Clone {name}") on:click=move |_| {
                    actions.clone.dispatch(CloneApplication { id });
                }>"Clone"</button>
            })}
            <button type="button" class="danger" aria-label=format!("Delete {name}") on:click=move |_| {
                actions.deleting.set(Some(for_delete.clone()));
                actions.delete_open.set(true);
            }>"Delete"</button>
        }
    });
    view! {
        <tr>
            <td>{app.name.clone()}</td>
            <td>{owner}</td>
            <td>{shared}</td>
            <td>{names(&app.libraries)}</td>
            <td>{names(&app.integrations)}</td>
            <td class="actions">{buttons}</td>
        </tr>
    }
}

#[component]
fn SettingsForm(
    app: ApplicationRow,
    libraries: Vec<Named>,
    integrations: Vec<Named>,
    attach: ServerAction<SetApplicationAttachments>,
) -> impl IntoView {
    let chosen_libraries = RwSignal::new(app.libraries.iter().map(|l| l.id).collect::<Vec<_>>());
    let chosen_integrations =
        RwSignal::new(app.integrations.iter().map(|i| i.id).collect::<Vec<_>>());
    let id = app.id;
    view! {
        <FormStatus error=form_error(attach.value(), &[]) />
        <Checklist legend="JS Libraries" empty="The account has no JS libraries yet." things=libraries chosen=chosen_libraries />
        <Checklist legend="Integrations" empty="The account has no integrations yet." things=integrations chosen=chosen_integrations />
        <div class="actions">
            <button type="button" class="primary" disabled=move || attach.pending().get() on:click=move |_| {
                attach.dispatch(SetApplicationAttachments {
                    id,
                    library_ids: chosen_libraries.get_untracked(),
                    integration_ids: chosen_integrations.get_untracked(),
                });
            }>"Save Settings"</button>
        </div>
    }
}

#[component]
fn Checklist(
    legend: &'static str,
    empty: &'static str,
    things: Vec<Named>,
    chosen: RwSignal<Vec<i32>>,
) -> impl IntoView {
    view! {
        <fieldset class="field">
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
        </fieldset>
    }
}

#[component]
fn ShareForm(
    app: ApplicationRow,
    share: ServerAction<ShareApplication>,
    unshare: ServerAction<UnshareApplication>,
) -> impl IntoView {
    let id = app.id;
    view! {
        <FormStatus error=form_error(share.value(), &[]) />
        <div class="field">
            <span class="label" id="share-label">"Share with"</span>
            <UserPicker
                label="Share with".to_string()
                id="share-user".to_string()
                chosen=Signal::derive(|| None::<UserChoice>)
                on_choose=Callback::new(move |user: UserChoice| {
                    share.dispatch(ShareApplication { id, user_id: user.id });
                })
                search=share_choices
            />
        </div>
        <h3>"Shared with"</h3>
        {if app.shared_with.is_empty() {
            Either::Left(view! { <p>"Nobody yet."</p> })
        } else {
            Either::Right(view! {
                <ul class="shared-with">
                    {app.shared_with.into_iter().map(|user| {
                        let user_id = user.id;
                        view! {
                            <li>
                                {user.name.clone()} " " <span class="email">{user.email.clone()}</span> " "
                                <button type="button" aria-label=format!("Stop sharing with {}", user.name) on:click=move |_| {
                                    unshare.dispatch(UnshareApplication { id, user_id });
                                }>"Stop sharing"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}
