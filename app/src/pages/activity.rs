//! The Activity tab (admins): the account's events, newest first, filtered by
//! user, kind and date, a page at a time, and the filtered list as CSV; and
//! the Account tab's "Recent security activity" of the signed-in user.
use leptos::either::Either;
use leptos::prelude::*;

use super::account::SecurityChanges;
use crate::api::activity::{
    activity_user_choice, activity_user_choices, list_activity, my_security_activity,
};
use crate::components::address::{keep_in_address, Query};
use crate::components::form::FormStatus;
use crate::components::loaded::{past_dry_runs, server_resource, Loaded};
use crate::components::signed_in::signed_in_user_resource;
use crate::components::table::{email_parts, DataTable, Pager};
use crate::components::user_picker::UserPicker;
use crate::components::{focus_by_id, say};
use crate::model::{
    readable_phone, ActivityFilter, ActivityKind, ActivityPage, ActivityRow, EventId, UserChoice,
    ACTIVITY_CSV_MAX, TO_BEFORE_FROM,
};

/// "100,000" for 100000.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "2026-11-22 09:00 UTC" from the RFC 3339 time of an event ("…T09:00:41Z"),
/// to the minute as every other time in the console; the `datetime` and the
/// export keep the seconds.
fn when(at: &str) -> impl IntoView {
    let shown = at.trim_end_matches('Z').replacen('T', " ", 1);
    let minute = shown.get(..16).unwrap_or(&shown);
    view! { <time datetime=at.to_owned()>{format!("{minute} UTC")}</time> }
}

fn filled(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// The user an id from the address names until their name has come
/// ([`activity_user_choice`]): the filter applies at once, and the picker
/// shows the name when it is known.
fn unnamed(id: i32) -> UserChoice {
    UserChoice { id, name: String::new(), email: String::new() }
}

/// The name shown for an id that no user of the account acted under, as
/// the log names an actor whose address it could not read.
fn nobody_named(id: i32) -> UserChoice {
    UserChoice { id, name: format!("user {id}"), email: String::new() }
}

#[component]
pub fn ActivityTab() -> impl IntoView {
    // The filters are in the address, so a reload, a link or Back keeps them.
    let query = Query::now();
    let address = ActivityFilter::from_address(|name| query.get(name));
    let user = RwSignal::new(address.user_id.map(unnamed));
    let kind = RwSignal::new(address.kind.unwrap_or_default());
    let from = RwSignal::new(address.from.unwrap_or_default());
    let to = RwSignal::new(address.to.unwrap_or_default());
    // The name of the address's user, drawn with the toolbar.
    let address_user = address.user_id;
    let named = server_resource(
        move || address_user,
        |id| async move {
            let Some(id) = id else { return Ok(None) };
            Ok(Some(activity_user_choice(id).await?.unwrap_or_else(|| nobody_named(id))))
        },
    );
    // The cursors of the pages before this one, for "Previous page".
    let pages = RwSignal::new(Vec::<Option<EventId>>::new());
    let before = RwSignal::new(None::<EventId>);
    let filter = move || ActivityFilter {
        user_id: user.get().map(|u| u.id),
        kind: filled(kind.get()),
        from: filled(from.get()),
        to: filled(to.get()),
    };
    // To before From is said beside To at once, and the list keeps showing
    // the last dates that made sense instead of giving way to the refusal.
    let backwards = move || {
        let (from, to) = (from.get(), to.get());
        !from.is_empty() && !to.is_empty() && to < from
    };
    let asked = Memo::new(move |last: Option<&(ActivityFilter, Option<EventId>)>| match last {
        Some((last, _)) if backwards() => (last.clone(), before.get()),
        _ => (filter(), before.get()),
    });
    let events = server_resource(
        move || asked.get(),
        |(f, before)| list_activity(f.user_id, f.kind, f.from, f.to, before),
    );
    // Said to a screen reader after each filter or page, as the table
    // drawn anew is heard by nobody (the Users tab does the same). Not on
    // the first run: the region is empty as served, as in the browser.
    let said = RwSignal::new(None::<String>);
    Effect::new(move |seen: Option<()>| {
        let summary = events.with(|page| match page {
            Some(Ok(page)) => Some(match page.rows.len() {
                0 => "No activity matches these filters.".to_owned(),
                1 => "1 event shown.".to_owned(),
                shown => format!("{shown} events shown."),
            }),
            _ => None,
        });
        if let (Some(()), Some(summary)) = (seen, summary) {
            say(said, summary);
        }
    });
    let restart = move || {
        pages.set(Vec::new());
        before.set(None);
    };
    // The address holds what the list shows (not dates the wrong way round).
    let follow = move |query: &Query| {
        let wanted = ActivityFilter::from_address(|name| query.get(name));
        if asked.with_untracked(|(shown, _)| *shown == wanted) {
            return;
        }
        if wanted.user_id != user.with_untracked(|u| u.as_ref().map(|u| u.id)) {
            user.set(wanted.user_id.map(unnamed));
            if let Some(id) = wanted.user_id {
                name_later(user, id);
            }
        }
        kind.set(wanted.kind.unwrap_or_default());
        from.set(wanted.from.unwrap_or_default());
        to.set(wanted.to.unwrap_or_default());
        restart();
    };
    keep_in_address(move || asked.with(|(shown, _)| shown.parts()), follow);
    let set = move |signal: RwSignal<String>| {
        move |ev: leptos::ev::Event| {
            signal.set(event_target_value(&ev));
            // Dates the wrong way round change nothing shown (below): the
            // list keeps its page, and its pager goes on working.
            if !backwards() {
                restart();
            }
        }
    };
    // A download under way, why the last one was refused, or that it was saved.
    let saving = RwSignal::new(false);
    let refusal = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let csv = move || {
        let query = filter().query();
        let query = if query.is_empty() { query } else { format!("?{query}") };
        format!("/account/activity.csv{query}")
    };
    let table = move |page| view! { <ActivityTable page pages before /> };
    // Type-erased, so the tab's view type stays within the compiler's limits.
    let toolbar = move || {
        view! {
        <div class="toolbar">
            <div class="field">
                <label class="label" for="activity-user">"User"</label>
                <UserPicker
                    label="User".to_string()
                    id="activity-user".to_string()
                    chosen=user
                    on_choose=Callback::new(move |choice: UserChoice| {
                        user.set(Some(choice));
                        restart();
                    })
                    search=activity_user_choices
                />
                {move || user.get().is_some().then(|| view! {
                    // The button goes with the choice: the focus goes to the picker.
                    <button type="button" on:click=move |_| {
                        user.set(None);
                        restart();
                        focus_by_id("activity-user");
                    }>"All Users"</button>
                })}
            </div>
            <div class="field">
                <label for="activity-kind">"Kind"</label>
                // The attributes for the server's render, the property for
                // a change of the address after a choice (the browser no
                // longer follows `selected` once an option was picked).
                <select id="activity-kind" prop:value=move || kind.get() on:change=set(kind)>
                    <option value="" selected=move || kind.with(String::is_empty)>"All kinds"</option>
                    {ActivityKind::ALL.chunk_by(|a, b| a.group() == b.group()).map(|group| view! {
                        <optgroup label=group[0].group()>
                            {group.iter().map(|k| {
                                let key = k.as_str();
                                view! { <option value=key selected=move || kind.get() == key>{k.label()}</option> }
                            }).collect_view()}
                        </optgroup>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="activity-from">"From"</label>
                // The attribute for the server's render (a date from the
                // address), the property for a change of the address after.
                <input
                    id="activity-from"
                    type="date"
                    value=from.get_untracked()
                    prop:value=move || from.get()
                    on:change=set(from)
                    aria-describedby="activity-days-hint"
                />
            </div>
            <div class="field" class:invalid=backwards>
                <label for="activity-to">"To"</label>
                <input
                    id="activity-to"
                    type="date"
                    value=to.get_untracked()
                    prop:value=move || to.get()
                    on:change=set(to)
                    aria-invalid=move || backwards().then_some("true")
                    aria-describedby="activity-to-error activity-days-hint"
                />
                <p class="error" id="activity-to-error" aria-live="polite">
                    {move || backwards().then_some(TO_BEFORE_FROM)}
                </p>
            </div>
            // Fetched, not followed, once the page's code runs: a refusal
            // (the hour's downloads spent, the session ended) is said below
            // the link, where a followed link would end in a failed
            // download or a file holding the message.
            <a
                class="button"
                href=csv
                aria-disabled=move || (backwards() || saving.get()).then_some("true")
                aria-busy=move || saving.get().then_some("true")
                // With To before From, the link stays in the Tab order (a
                // link without its address would leave it) and says why it
                // downloads nothing.
                aria-describedby=move || match backwards() {
                    true => "activity-csv-hint activity-to-error",
                    false => "activity-csv-hint",
                }
                download="activity.csv"
                on:click=move |ev| {
                    // No download of To before From, which would be a bare
                    // error page, however it is clicked.
                    if backwards() {
                        ev.prevent_default();
                        return;
                    }
                    // A click to open it elsewhere (a new tab, a window) is the browser's.
                    if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
                        return;
                    }
                    ev.prevent_default();
                    if saving.get_untracked() {
                        return;
                    }
                    let url = csv();
                    saving.set(true);
                    refusal.set(None);
                    saved.set(None);
                    leptos::task::spawn_local(async move {
                        let answer = save_file(&url, "activity.csv", "text/csv").await;
                        saving.set(false);
                        match answer {
                            Ok(()) => saved.set(Some("activity.csv is downloaded.".into())),
                            Err(why) => refusal.set(Some(why)),
                        }
                    });
                }
            >
                // Up to 100,000 events: said while they are fetched.
                {move || if saving.get() { "Preparing CSV…" } else { "Download CSV" }}
            </a>
        </div>
        <p class="hint" id="activity-days-hint">
            "From and To are whole days in UTC, as the times in the list."
        </p>
        <p class="hint" id="activity-csv-hint">
            {format!("A download holds the newest {} events that match.", thousands(ACTIVITY_CSV_MAX))}
        </p>
        <FormStatus error=refusal success=saved />
    }
    .into_any()
    };
    // Drawn for admins only, so a member at the tab's address sees only the
    // refusal. Apart from the list, which redraws on every filter change
    // and would take the focus and the typed dates with it.
    let me = signed_in_user_resource();
    let admin_toolbar = move || {
        Suspend::new(async move {
            past_dry_runs().await;
            let is_admin = me.await.is_ok_and(|me| me.is_admin);
            if let Ok(Some(choice)) = named.await {
                name(user, choice);
            }
            is_admin.then(toolbar)
        })
    };
    view! {
        <section class="panel" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <Suspense>{admin_toolbar}</Suspense>
            <Loaded resource=events view=table admin_only=true />
            <p class="sr-only" role="status">{move || said.get()}</p>
        </section>
    }
}

/// Shows `choice`'s name for the user the filter names, unless another
/// user (or none) has been chosen since. A tab left before a late answer
/// came has its signals gone: nothing to do.
fn name(user: RwSignal<Option<UserChoice>>, choice: UserChoice) {
    let waiting = user
        .try_with_untracked(|u| u.as_ref().is_some_and(|u| u.id == choice.id && u.name.is_empty()));
    if waiting == Some(true) {
        user.try_set(Some(choice));
    }
}

/// [`name`]s the user of `id` once the server has said who they are.
fn name_later(user: RwSignal<Option<UserChoice>>, id: i32) {
    leptos::task::spawn_local(async move {
        // Unanswered (the connection lost), the field stays empty: the
        // filter is still the user's, and All Users still clears it.
        if let Ok(choice) = activity_user_choice(id).await {
            name(user, choice.unwrap_or_else(|| nobody_named(id)));
        }
    });
}

/// Fetches `url` and has the browser save what it answers, a file of type
/// `kind`, as `name`; or returns why not, to say where the user is looking.
async fn save_file(url: &str, name: &str, kind: &str) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Blob, HtmlElement, Response, Url};
        use wasm_bindgen_futures::JsFuture;
        let lost =
            || "The download did not arrive: check your connection and try again.".to_owned();
        let wait = |promise| async move { JsFuture::from(promise).await.map_err(|_| lost()) };
        let answer = wait(window().fetch_with_str(url)).await?;
        let response: Response = answer.dyn_into().map_err(|_| lost())?;
        // A session that has ended is sent on to the log-in page, whose
        // page would otherwise be saved as the file.
        if response.redirected() {
            return Err(crate::components::action::SESSION_ENDED.to_owned());
        }
        let answered = response.headers().get("content-type").ok().flatten().unwrap_or_default();
        if !response.ok() {
            // The console's refusals are plain text; a proxy's error page
            // is not shown as markup.
            if !answered.starts_with("text/plain") {
                return Err(lost());
            }
            let text = wait(response.text().map_err(|_| lost())?).await?.as_string();
            return Err(text.filter(|t| !t.is_empty()).unwrap_or_else(lost));
        }
        if !answered.starts_with(kind) {
            return Err(lost());
        }
        let blob: Blob = wait(response.blob().map_err(|_| lost())?).await?.unchecked_into();
        let href = Url::create_object_url_with_blob(&blob).map_err(|_| lost())?;
        let link: HtmlElement =
            document().create_element("a").map_err(|_| lost())?.unchecked_into();
        let _ = link.set_attribute("href", &href);
        let _ = link.set_attribute("download", name);
        link.click();
        // Released once the browser has surely taken the file.
        set_timeout(
            move || drop(Url::revoke_object_url(&href)),
            std::time::Duration::from_secs(60),
        );
        Ok(())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (url, name, kind);
        Ok(())
    }
}

#[component]
fn ActivityTable(
    page: ActivityPage,
    pages: RwSignal<Vec<Option<EventId>>>,
    before: RwSignal<Option<EventId>>,
) -> impl IntoView {
    let next = page.next;
    view! {
        <DataTable
            caption="Activity of this account, newest first"
            columns=&["Time", "User", "What", "Target", "Client Address", "Detail"]
            empty="No activity matches these filters."
            rows=page.rows
            row=|e: ActivityRow| view! {
                <tr>
                    <td class="when">{when(&e.at)}</td>
                    <td class="email">{email_parts(e.actor)}</td>
                    <td>{e.label}</td>
                    <td class="breakable">{target_view(&e.kind, e.target)}</td>
                    <td class="address">{e.client_address.unwrap_or_default()}</td>
                    <td class="breakable">{e.detail.unwrap_or_default()}</td>
                </tr>
            }
        />
        <Pager label="Pages of activity" pages cursor=before next />
    }
    .into_any()
}

/// [`target`] in a cell that may break anywhere (a long name must not widen
/// the table past its frame), but an email only after its "@": broken
/// anywhere, the column shrank to "Communication|s" and "example.c|om".
fn target_view(kind: &str, target_text: String) -> impl IntoView {
    let shown = target(kind, target_text);
    match shown.contains('@') {
        true => Either::Left(email_parts(shown)),
        false => Either::Right(shown),
    }
}

/// An event's target as its tab shows it: a number as the Phone Numbers tab
/// writes it (the CSV keeps E.164, for programs).
fn target(kind: &str, target: String) -> String {
    match kind.starts_with("phone_number.") {
        true => readable_phone(&target),
        false => target,
    }
}

/// The Account tab's list of the user's own security events, newest first.
#[component]
pub fn SecurityActivitySection() -> impl IntoView {
    let security = SecurityChanges::of_tab();
    // Older events a page at a time, as on the Activity tab.
    let pages = RwSignal::new(Vec::<Option<EventId>>::new());
    let before = RwSignal::new(None::<EventId>);
    // A new event shows on the first page: a change made on the tab goes
    // back to it. The cursor the list loads is the first page's as soon as
    // the change is counted, so it is loaded once (not the old page first);
    // the pager's own state follows.
    let cursor = Memo::new(move |seen: Option<&(u32, Option<EventId>)>| {
        let (changes, at) = (security.get(), before.get());
        match seen {
            Some((was, _)) if *was != changes => (changes, None),
            _ => (changes, at),
        }
    });
    Effect::new(move |seen: Option<u32>| {
        let changes = security.get();
        if seen.is_some_and(|seen| seen != changes) && before.get_untracked().is_some() {
            pages.set(Vec::new());
            before.set(None);
        }
        changes
    });
    let events = server_resource(move || cursor.get(), |(_, before)| my_security_activity(before));
    let table = move |page: ActivityPage| {
        let next = page.next;
        view! {
            <DataTable
                caption="Your recent security activity, newest first"
                columns=&["Time", "What", "Client Address", "Detail"]
                empty="No security activity yet."
                rows=page.rows
                row=|e: ActivityRow| view! {
                    <tr>
                        <td class="when">{when(&e.at)}</td>
                        // An event about the user is someone else's doing: say
                        // whose (an operator's kinds say so themselves).
                        <td>
                            {e.label}
                            {(e.subject_user_id.is_some() && e.actor_user_id.is_some()).then(|| view! {
                                <span class="by">" by " {e.actor}</span>
                            })}
                        </td>
                        <td class="address">{e.client_address.unwrap_or_default()}</td>
                        <td class="breakable">{e.detail.unwrap_or_default()}</td>
                    </tr>
                }
            />
            <Pager label="Pages of security activity" pages cursor=before next />
        }
    };
    view! {
        <section class="panel" aria-labelledby="security-activity-heading">
            <h2 id="security-activity-heading">"Personal Security"</h2>
            <Loaded resource=events view=table />
        </section>
    }
}
