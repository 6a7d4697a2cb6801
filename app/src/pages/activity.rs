//! The Activity tab (admins): the account's events, newest first, filtered by
//! user, kind and date, a page at a time, and the filtered list as CSV; and
//! the Account tab's "Recent security activity" of the signed-in user.
use leptos::prelude::*;

use super::account::SecurityChanges;
use super::my_account::signed_in_user_resource;
use crate::api::activity::{list_activity, my_security_activity};
use crate::api::phone_numbers::phone_owner_choices;
use crate::components::focus_by_id;
use crate::components::form::FormStatus;
use crate::components::loaded::{server_resource, Loaded};
use crate::components::table::{email_parts, DataTable, Pager};
use crate::components::user_picker::UserPicker;
use crate::model::{
    ActivityFilter, ActivityKind, ActivityPage, ActivityRow, EventId, UserChoice, ACTIVITY_CSV_MAX,
    TO_BEFORE_FROM,
};

/// "100,000" for 100000.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
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

#[component]
pub fn ActivityTab() -> impl IntoView {
    let user = RwSignal::new(None::<UserChoice>);
    let kind = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
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
    let restart = move || {
        pages.set(Vec::new());
        before.set(None);
    };
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
    // A download under way, and why the last one was refused.
    let saving = RwSignal::new(false);
    let refusal = RwSignal::new(None::<String>);
    // No download of To before From either, which would open a bare error page.
    let csv = move || {
        let query = filter().query();
        let query = if query.is_empty() { query } else { format!("?{query}") };
        (!backwards()).then(|| format!("/account/activity.csv{query}"))
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
                    search=phone_owner_choices
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
                <select id="activity-kind" on:change=set(kind)>
                    <option value="">"All kinds"</option>
                    {ActivityKind::ALL.iter().map(|k| {
                        view! { <option value=k.as_str()>{k.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="activity-from">"From"</label>
                <input id="activity-from" type="date" on:change=set(from) />
            </div>
            <div class="field" class:invalid=backwards>
                <label for="activity-to">"To"</label>
                <input
                    id="activity-to"
                    type="date"
                    on:change=set(to)
                    aria-invalid=move || backwards().then_some("true")
                    aria-describedby="activity-to-error"
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
                aria-describedby="activity-csv-hint"
                download="activity.csv"
                on:click=move |ev| {
                    // A click to open it elsewhere (a new tab, a window) is the browser's.
                    if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
                        return;
                    }
                    ev.prevent_default();
                    let Some(url) = csv() else { return };
                    if saving.get_untracked() {
                        return;
                    }
                    saving.set(true);
                    refusal.set(None);
                    leptos::task::spawn_local(async move {
                        let saved = save_file(&url, "activity.csv", "text/csv").await;
                        saving.set(false);
                        refusal.set(saved.err());
                    });
                }
            >"Download CSV"</a>
        </div>
        <p class="hint" id="activity-csv-hint">
            {format!("A download holds the newest {} events that match.", thousands(ACTIVITY_CSV_MAX))}
        </p>
        <FormStatus error=refusal />
    }
    .into_any()
    };
    // Drawn for admins only, so a member at the tab's address sees only the
    // refusal. Apart from the list, which redraws on every filter change
    // and would take the focus and the typed dates with it.
    let me = signed_in_user_resource();
    let admin_toolbar =
        move || Suspend::new(async move { me.await.is_ok_and(|me| me.is_admin).then(toolbar) });
    view! {
        <section class="panel" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <Suspense>{admin_toolbar}</Suspense>
            <Loaded resource=events view=table admin_only=true />
        </section>
    }
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
            return Err(crate::model::AppError::Unauthenticated.to_string());
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
                    <td class="breakable">{e.target}</td>
                    <td class="breakable">{e.client_address.unwrap_or_default()}</td>
                    <td class="breakable">{e.detail.unwrap_or_default()}</td>
                </tr>
            }
        />
        <Pager label="Pages of activity" pages cursor=before next />
    }
    .into_any()
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
                        <td class="breakable">{e.client_address.unwrap_or_default()}</td>
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
