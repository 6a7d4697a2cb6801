//! The Phone Numbers tab (admins): the account's numbers with their owners,
//! requesting and releasing numbers. Also the "Your phone numbers" list every
//! user sees on their Account tab.
use std::collections::BTreeMap;

use leptos::either::Either;
use leptos::prelude::*;

use crate::api::applications::list_applications;
use crate::api::deployments::{AssignDeploymentToken, DeployNumber};
use crate::api::oauth_tokens::list_oauth_tokens;
use crate::api::phone_numbers::{
    list_phone_numbers, my_phone_numbers, phone_owner_choices, ReleasePhoneNumber,
    RequestPhoneNumber, SavePhoneOwners,
};
use crate::components::action::{
    announce, answers, field_error, form_action, form_error, form_error_except,
};
use crate::components::form::{DoneNotice, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, Confirm};
use crate::components::row_dialogs::{ConfirmDelete, RowDialogs};
use crate::components::support::ContactSupport;
use crate::components::table::{mark, DataTable, DeleteButton, RowActions};
use crate::components::user_picker::UserPicker;
use crate::model::{
    readable_phone, AppError, ApplicationRow, OAuthTokenRow, OwnerChange, PhoneNumberRow,
    PhoneNumbers, UserChoice,
};

/// Owner changes not saved yet, by number id: the owner the number had when
/// the choice was made, and the choice. A choice stands only while that is
/// still the number's owner: once another is saved (by this save, or by
/// another admin), the choice is older than what the table shows.
type Pending = RwSignal<BTreeMap<i32, (i32, UserChoice)>>;

/// The owner changes not saved yet, kept by the My Account page around its
/// tabs: a look at another tab and back keeps them, as a tab of one page
/// should (they were dropped with the tab).
#[derive(Clone, Copy)]
pub struct UnsavedOwners(Pending);

impl UnsavedOwners {
    pub fn new() -> Self {
        UnsavedOwners(RwSignal::new(BTreeMap::new()))
    }
}

impl Default for UnsavedOwners {
    fn default() -> Self {
        Self::new()
    }
}

/// Each number's owner as saved, by number id (see `NumberTable`).
type Owners = Memo<BTreeMap<i32, UserChoice>>;

#[component]
pub fn PhoneNumbersTab() -> impl IntoView {
    let request = form_action::<RequestPhoneNumber>();
    let save = form_action::<SavePhoneOwners>();
    let release = form_action::<ReleasePhoneNumber>();
    let changes = [answers(request), answers(save), answers(release)];
    let numbers = server_resource(move || changes.map(|c| c.get()), |_| list_phone_numbers());
    let pending: Pending = use_context::<UnsavedOwners>().unwrap_or_default().0;
    let dialogs = RowDialogs::<PhoneNumberRow>::new();
    let done = RwSignal::new(None);
    // The list is in number order, so the new one may land mid-table: say which.
    announce(request, done, |row| {
        format!("{} is added to this account.", readable_phone(&row.e164))
    });
    // One notice at a time: a number added or deleted takes away "The
    // owners are saved.", and a Save the notice of the number before.
    Effect::new(move |_| {
        if done.with(Option::is_some) {
            save.value().set(None);
        }
    });
    Effect::new(move |_| {
        if save.pending().get() {
            done.set(None);
        }
    });

    view! {
        <section class="panel" aria-labelledby="numbers-heading">
            <h2 id="numbers-heading">"Phone Numbers"</h2>
            <Loaded resource=numbers view=move |numbers| view! { <NumberTable numbers request save pending dialogs /> } admin_only=true />
            <DoneNotice done />
        </section>
        <ConfirmDelete
            title="Delete Phone Number"
            id="delete-number"
            dialogs
            action=release
            // Named as the row shows them: its owner may be a colleague,
            // and what stops is their application, not "yours".
            question=|row: &PhoneNumberRow| {
                let (number, owner) = (readable_phone(&row.e164), &row.owner.name);
                match &row.deployed_to {
                    Some(app) => format!(
                        "Delete {number}, owned by {owner}? It runs {}: calls to it stop reaching \
                         that application at once, and this account can no longer use the number.",
                        app.name
                    ),
                    None => format!(
                        "Delete {number}, owned by {owner}? It runs no application; this account \
                         can no longer use it."
                    ),
                }
            }
            input=|row: &PhoneNumberRow| ReleasePhoneNumber { id: row.id }
            deleted=|row: &PhoneNumberRow| format!("{} is deleted.", readable_phone(&row.e164))
            done
        />
    }
}

#[component]
fn NumberTable(
    numbers: PhoneNumbers,
    request: ServerAction<RequestPhoneNumber>,
    save: ServerAction<SavePhoneOwners>,
    pending: Pending,
    dialogs: RowDialogs<PhoneNumberRow>,
) -> impl IntoView {
    let PhoneNumbers { rows, limit, support_email } = numbers;
    let listed: BTreeMap<i32, UserChoice> = rows.iter().map(|r| (r.id, r.owner.clone())).collect();
    // Choices made before the owners this table lists were saved (by this
    // admin or another) are older than the table: they go, without waking
    // anything (the table they were made in is being taken down).
    pending.update_untracked(|p| {
        p.retain(|number, (from, _)| listed.get(number).is_some_and(|o| o.id == *from))
    });
    // A save answers with the owners it stored before the list has reloaded
    // with them: until then those are the owners, so the pickers keep the
    // names just saved, a choice made meanwhile is made against them, and
    // Save has nothing to send.
    let built_at = save.version().get_untracked();
    let owners: Owners = Memo::new(move |_| {
        let mut owners = listed.clone();
        if save.version().get() != built_at {
            save.value().with(|answer| {
                if let Some(Ok(saved)) = answer {
                    for row in &saved.numbers.rows {
                        if let Some(owner) = owners.get_mut(&row.id) {
                            *owner = row.owner.clone();
                        }
                    }
                }
            });
        }
        owners
    });
    let changes = move || {
        let owners = owners.get();
        pending
            .get()
            .into_iter()
            .filter(|(number, (from, owner))| {
                owners.get(number).is_some_and(|now| now.id == *from) && *from != owner.id
            })
            .map(|(number_id, (from, owner))| OwnerChange {
                number_id,
                from_owner_id: from,
                owner_id: owner.id,
            })
            .collect::<Vec<_>>()
    };
    let changes = Memo::new(move |_| changes());
    // Said only while nothing else is waiting to be saved; with the numbers
    // the save took off an application, whose calls now reach none.
    let owners_saved = Signal::derive(move || {
        let stopped = save.value().with(|answer| match answer {
            Some(Ok(saved)) => Some(saved.stopped.clone()),
            _ => None,
        })?;
        changes.with(Vec::is_empty).then(|| {
            let mut said = String::from("The owners are saved.");
            for stop in stopped {
                said.push_str(&format!(
                    " {} no longer runs {}: its new owner cannot see it.",
                    readable_phone(&stop.number),
                    stop.application
                ));
            }
            said
        })
    });
    let table = if rows.is_empty() {
        Either::Left(view! {
            <p>"This account has no phone numbers yet. Request one to start taking calls."</p>
        })
    } else {
        Either::Right(view! {
            <DataTable
                caption="Phone numbers of this account"
                columns=&["Phone Number", "Owner", "PCI"]
                actions=true
                class="numbers"
                rows
                row=move |row: PhoneNumberRow| view! { <NumberRow row owners pending save dialogs /> }
            />
            <div class="actions">
                <button
                    type="button"
                    class="primary"
                    disabled=move || changes.get().is_empty() || save.pending().get()
                    aria-busy=move || save.pending().get().then_some("true")
                    on:click=move |_| {
                        save.dispatch(SavePhoneOwners { changes: changes.get_untracked() });
                    }
                >
                    "Save"
                </button>
                {move || (!changes.get().is_empty()).then(|| view! {
                    <span class="hint">"Owner changes are applied when you save. A number with a new owner loses its OAuth token, and its application unless the new owner can see it."</span>
                })}
            </div>
        })
    };
    // Outside the table's branch: a save refused because its only number
    // was deleted meanwhile reloads an empty list, which must still say so.
    let saved = view! {
        <FormStatus
            // A number's refusal is said at its row while the table lists
            // it; one deleted meanwhile has no row left to say it.
            error=form_error_except(save.value(), move |field| {
                let number = field.strip_prefix("owner-").and_then(|id| id.parse().ok());
                number.is_some_and(|id: i32| owners.with(|o| o.contains_key(&id)))
            })
            success=owners_saved
        />
    };
    let limit_id = "request-number-limit";
    let at_limit = limit.is_some();
    view! {
        {table}
        {saved}
        <div class="actions">
            <button
                type="button"
                class="primary"
                disabled=move || at_limit || request.pending().get()
                aria-busy=move || request.pending().get().then_some("true")
                aria-describedby=limit.is_some().then_some(limit_id)
                on:click=move |_| {
                    request.dispatch(RequestPhoneNumber {});
                }
            >
                {move || if request.pending().get() { "Requesting…" } else { "Request a Phone Number" }}
            </button>
        </div>
        {limit.map(|why| view! { <p class="hint" id=limit_id>{why}</p> })}
        <p class="hint">
            "A request adds a toll-free number. For a local, specific or vanity number, or to \
             move a number of yours here (RESPORG), " <ContactSupport address=support_email /> "."
        </p>
        <FormStatus error=form_error(request.value(), &[]) />
    }
}

#[component]
fn NumberRow(
    row: PhoneNumberRow,
    owners: Owners,
    pending: Pending,
    save: ServerAction<SavePhoneOwners>,
    dialogs: RowDialogs<PhoneNumberRow>,
) -> impl IntoView {
    let readable = readable_phone(&row.e164);
    let id = row.id;
    let listed = StoredValue::new(row.owner.clone());
    let saved = move || owners.with(|o| o.get(&id).cloned()).unwrap_or_else(|| listed.get_value());
    let owner = Signal::derive(move || {
        let saved = saved();
        let chosen = pending.with(|p| {
            p.get(&id).filter(|(from, _)| *from == saved.id).map(|(_, choice)| choice.clone())
        });
        Some(chosen.unwrap_or(saved))
    });
    view! {
        <tr>
            <td><span title=row.e164.clone()>{readable.clone()}</span></td>
            <td>
                <UserPicker
                    label=format!("Owner of {readable}")
                    id=format!("owner-{id}")
                    chosen=owner
                    on_choose=Callback::new(move |choice: UserChoice| {
                        pending.update(|p| {
                            p.insert(id, (saved().id, choice));
                        })
                    })
                    search=phone_owner_choices
                    // Said at the number it is about, not under the table.
                    error=Signal::derive(move || save.value().with(|answer| match answer {
                        Some(Err(err)) => err.message_for(&format!("owner-{id}")),
                        _ => None,
                    }))
                />
            </td>
            <td>{pci_mark(row.pci)}</td>
            <RowActions>
                <DeleteButton dialogs row=row.clone() name=readable.clone() />
            </RowActions>
        </tr>
    }
}

/// The user's own numbers, and the applications and OAuth tokens a number
/// can be deployed with.
type Deployable = (Vec<PhoneNumberRow>, Vec<ApplicationRow>, Vec<OAuthTokenRow>);

/// A number's application and token, by id, as saved or as chosen.
type Deployment = (Option<i32>, Option<i32>);

/// Choices not saved yet on "Your Phone Numbers", by number id: the
/// deployment the number had when the choice was made, and the choice. They
/// outlive the list's reload after another row's Save, which draws every
/// row anew; a choice stands only while that is still the number's
/// deployment (see `Pending` on the admins' tab).
type Drafts = RwSignal<BTreeMap<i32, (Deployment, Deployment)>>;

fn deployment_of(row: &PhoneNumberRow) -> Deployment {
    (row.deployed_to.as_ref().map(|a| a.id), row.token.as_ref().map(|t| t.id))
}

/// The numbers the signed-in user owns, on their Account tab, each deployable
/// to one of the applications they can see.
#[component]
pub fn MyPhoneNumbers() -> impl IntoView {
    let deploy = form_action::<DeployNumber>();
    let assign = form_action::<AssignDeploymentToken>();
    let changes = [answers(deploy), answers(assign)];
    let numbers = server_resource(
        move || changes.map(|c| c.get()),
        |_| async move {
            let numbers = my_phone_numbers().await?;
            if numbers.is_empty() {
                return Ok::<Deployable, AppError>((numbers, Vec::new(), Vec::new()));
            }
            let apps = list_applications().await?.rows;
            let tokens = list_oauth_tokens().await?.rows;
            Ok((numbers, apps, tokens))
        },
    );
    // One notice, naming the number whose Save ran last: two fixed messages
    // piled up, and said nothing of which row they were about.
    let saving = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let notice = move |what: &str| {
        saving.get_untracked().map(|number| format!("{what} of {number} is saved."))
    };
    let stopping = Stopping {
        asked: RwSignal::new(None),
        open: RwSignal::new(false),
        sent: RwSignal::new(false),
    };
    close_on_success(deploy, stopping.open);
    Effect::new(move |_| {
        if let Some(Ok(())) = deploy.value().get() {
            let stopped = stopping.asked.get_untracked().filter(|_| stopping.sent.get_untracked());
            done.set(match stopped {
                Some(stop) => Some(format!(
                    "{} no longer runs {}: calls to it reach no application.",
                    stop.number, stop.application
                )),
                None => notice("The deployment"),
            });
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = assign.value().get() {
            done.set(notice("The OAuth token"));
        }
    });
    // A refused choice is said in the row whose Save sent it, beside it;
    // anything else (a limit, a number gone meanwhile) under the table.
    let errors = (field_error(deploy.value(), "application"), field_error(assign.value(), "token"));
    let drafts: Drafts = RwSignal::new(BTreeMap::new());
    // Said in the Stop Deployment dialog while it is open, not twice.
    let deploy_refused = form_error(deploy.value(), &["application"]);
    let deploy_refused =
        Signal::derive(move || (!stopping.open.get()).then(|| deploy_refused.get()).flatten());
    let table = move |(rows, apps, tokens): Deployable| {
        // Choices made against a deployment saved over since (this row's
        // Save, or a change elsewhere) are older than the list: they go,
        // without waking the rows being taken down.
        drafts.update_untracked(|d| {
            d.retain(|id, (from, _)| rows.iter().any(|r| r.id == *id && deployment_of(r) == *from))
        });
        // Most users own no number: their Account tab draws no dialog for it.
        let deployed = rows.iter().any(|r| r.deployed_to.is_some());
        view! {
            <DataTable
                caption="Phone numbers you own"
                columns=&["Phone Number", "PCI", "Deployed To", "OAuth Token"]
                actions=true
                empty="You own no phone numbers. An account admin assigns them on the Phone Numbers tab."
                rows
                row=move |row: PhoneNumberRow| view! { <MyNumberRow row apps=apps.clone() tokens=tokens.clone() drafts deploy assign saving done errors stopping /> }
            />
            {deployed.then(|| view! { <StopDeployment stopping deploy saving done /> })}
        }
    };
    view! {
        <section class="panel" aria-labelledby="my-numbers-heading">
            <h2 id="my-numbers-heading">"Your Phone Numbers"</h2>
            <Loaded resource=numbers view=table />
            <DoneNotice done />
            <FormStatus error=deploy_refused />
            <FormStatus error=form_error(assign.value(), &["token"]) />
        </section>
    }
}

/// A number to be taken off its application, which the Stop Deployment
/// dialog asks about first.
#[derive(Clone)]
struct Stop {
    number_id: i32,
    /// The number as shown.
    number: String,
    application: String,
}

/// The Stop Deployment dialog of the user's numbers: which number it asks
/// about, whether it is open, and whether the latest deploy sent was its Yes
/// (for the notice).
#[derive(Clone, Copy)]
struct Stopping {
    asked: RwSignal<Option<Stop>>,
    open: RwSignal<bool>,
    sent: RwSignal<bool>,
}

/// Asks before a Save takes a number off its application, as deleting an
/// application or ending a share does: calls to it would reach nothing.
#[component]
fn StopDeployment(
    stopping: Stopping,
    deploy: ServerAction<DeployNumber>,
    saving: RwSignal<Option<String>>,
    done: RwSignal<Option<String>>,
) -> impl IntoView {
    let message = Signal::derive(move || {
        stopping.asked.with(|stop| {
            stop.as_ref().map_or_else(String::new, |stop| {
                format!(
                    "Stop running {} on {}? Calls to it reach no application until it is \
                     deployed again.",
                    stop.application, stop.number
                )
            })
        })
    });
    let on_yes = Callback::new(move |_| {
        let Some(stop) = stopping.asked.get_untracked() else { return };
        done.set(None);
        deploy.value().set(None);
        saving.set(Some(stop.number.clone()));
        stopping.sent.set(true);
        deploy.dispatch(DeployNumber { number_id: stop.number_id, application_id: None });
    });
    view! {
        <Confirm
            title="Stop Deployment"
            open=stopping.open
            id="stop-deployment"
            message
            on_yes
            pending=deploy.pending()
            error=form_error(deploy.value(), &[])
        />
    }
}

#[component]
fn MyNumberRow(
    row: PhoneNumberRow,
    apps: Vec<ApplicationRow>,
    tokens: Vec<OAuthTokenRow>,
    drafts: Drafts,
    deploy: ServerAction<DeployNumber>,
    assign: ServerAction<AssignDeploymentToken>,
    /// The number whose Save ran last, for the notice; cleared at each Save.
    saving: RwSignal<Option<String>>,
    done: RwSignal<Option<String>>,
    /// The refused choices of the last deploy and token Save, for its row.
    errors: (Signal<Option<String>>, Signal<Option<String>>),
    stopping: Stopping,
) -> impl IntoView {
    let current_token = row.token.as_ref().map(|t| t.id);
    let (no_apps, no_tokens) = (apps.is_empty(), tokens.is_empty());
    let token_id = format!("token-{}", row.id);
    let deployed = row.deployed_to.is_some();
    let readable = readable_phone(&row.e164);
    let current = row.deployed_to.as_ref().map(|a| a.id);
    let number_id = row.id;
    let select_id = format!("deploy-{number_id}");
    // A choice takes effect on Save, not on change: arrowing through a
    // closed select changes its value, and each step would reroute live calls.
    let saved: Deployment = (current, current_token);
    let chosen = move || {
        drafts.with(|d| d.get(&number_id).filter(|(from, _)| *from == saved).map(|(_, to)| *to))
    };
    let chosen_app = Signal::derive(move || chosen().map_or(current, |(app, _)| app));
    let chosen_token = Signal::derive(move || chosen().map_or(current_token, |(_, token)| token));
    let choose = move |to: Deployment| {
        drafts.update(|d| {
            d.insert(number_id, (saved, to));
        })
    };
    let app_changed = move || chosen_app.get() != current;
    let changed = move || app_changed() || chosen_token.get() != current_token;
    let pending = move || deploy.pending().get() || assign.pending().get();
    let this_number = StoredValue::new(readable.clone());
    let mine = move || saving.with(|s| this_number.with_value(|n| s.as_ref() == Some(n)));
    let app_error = move || if mine() { errors.0.get() } else { None };
    let token_error = move || if mine() { errors.1.get() } else { None };
    let (app_error_id, token_error_id) =
        (format!("deploy-{number_id}-error"), format!("token-{number_id}-error"));
    let named = readable.clone();
    let running = row.deployed_to.as_ref().map(|a| a.name.clone());
    let save = move |_| {
        if let (None, Some(application)) = (chosen_app.get_untracked(), running.clone()) {
            let stop = Stop { number_id, number: named.clone(), application };
            stopping.asked.set(Some(stop));
            stopping.open.set(true);
            return;
        }
        stopping.sent.set(false);
        // One row's Save at a time: what an earlier one said goes.
        done.set(None);
        deploy.value().set(None);
        assign.value().set(None);
        saving.set(Some(named.clone()));
        if chosen_app.get_untracked() != current {
            deploy.dispatch(DeployNumber { number_id, application_id: chosen_app.get_untracked() });
        } else if chosen_token.get_untracked() != current_token {
            assign.dispatch(AssignDeploymentToken {
                number_id,
                token_id: chosen_token.get_untracked(),
            });
        }
    };
    view! {
        <tr>
            <td>{readable.clone()}</td>
            <td>{pci_mark(row.pci)}</td>
            <td>
                <label class="sr-only" for=select_id.clone()>{format!("Application for {readable}")}</label>
                <select
                    id=select_id
                    // The field a refusal names: it takes the focus (`focus::settle`).
                    name="application"
                    aria-invalid=move || app_error().is_some().then_some("true")
                    aria-describedby=app_error_id.clone()
                    // The attributes below for the server's render, the
                    // property for a choice kept through a reload.
                    prop:value=move || chosen_app.get().map(|a| a.to_string()).unwrap_or_default()
                    on:change=move |ev| {
                        // A token picked for the saved application is not
                        // carried over to another one unseen.
                        choose((event_target_value(&ev).parse().ok(), current_token));
                    }
                >
                    <option value="" selected=current.is_none()>"Not deployed"</option>
                    {apps.into_iter().map(|app| view! {
                        <option value=app.id selected=current == Some(app.id)>{app.name}</option>
                    }).collect_view()}
                </select>
                {no_apps.then(|| view! {
                    <p class="hint">"No application yet: one you create, or one a colleague shares with you, is listed here."</p>
                })}
                <p class="error" id=app_error_id aria-live="polite">{app_error}</p>
            </td>
            <td>
                // The token belongs to the saved deployment: a new application
                // is saved first, then its token chosen.
                {deployed.then(|| view! {
                    <label class="sr-only" for=token_id.clone()>{format!("OAuth token for {readable}")}</label>
                    <select
                        id=token_id.clone()
                        name="token"
                        disabled=app_changed
                        aria-invalid=move || token_error().is_some().then_some("true")
                        aria-describedby=token_error_id.clone()
                        prop:value=move || chosen_token.get().map(|t| t.to_string()).unwrap_or_default()
                        on:change=move |ev| choose((chosen_app.get_untracked(), event_target_value(&ev).parse().ok()))
                    >
                        <option value="" selected=current_token.is_none()>"None"</option>
                        {tokens.into_iter().map(|t| view! {
                            <option value=t.id selected=current_token == Some(t.id)>{format!("{} ({})", t.provider_account_id, t.token_type)}</option>
                        }).collect_view()}
                    </select>
                    {no_tokens.then(|| view! {
                        <p class="hint">"To choose a token, connect a Stripe account on the OAuth Tokens tab."</p>
                    })}
                    <p class="hint" hidden=move || !app_changed()>{if current_token.is_some() { "The token stays with the application it was chosen for: save the new application, then choose its token." } else { "Save the new application first; then choose its token." }}</p>
                    <p class="error" id=token_error_id.clone() aria-live="polite">{token_error}</p>
                })}
                {(!deployed).then(|| view! { <span class="hint">"Deploy the number to an application first."</span> })}
            </td>
            <RowActions>
                <button
                    type="button"
                    aria-label=format!("Save {readable}")
                    disabled=move || !changed() || pending()
                    aria-busy=move || pending().then_some("true")
                    on:click=save
                >
                    "Save"
                </button>
            </RowActions>
        </tr>
    }
}

fn pci_mark(pci: bool) -> impl IntoView {
    mark(pci, "PCI-enabled", "Not PCI-enabled")
}
