//! The OAuth Tokens tab: the user's connected Stripe accounts. Add Token
//! sends the browser to Stripe; Stripe sends it back to the server's
//! callback, which returns here with an outcome code.
use leptos::either::Either;
use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::api::oauth_tokens::{list_oauth_tokens, DeleteOauthToken, StartOauth};
use crate::components::action::{answers, form_action, form_error};
use crate::components::form::{DoneNotice, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::row_dialogs::{ConfirmDelete, RowDialogs};
use crate::components::support::ContactSupport;
use crate::components::table::{DataTable, DeleteButton, RowActions};
use crate::model::{OAuthTokenRow, OAuthTokens};

/// The id of the callback's outcome, where the focus goes on return.
const OUTCOME: &str = "oauth-outcome";

/// The fixed message for each outcome the callback reports.
fn outcome_message(code: &str) -> Option<(bool, &'static str)> {
    match code {
        "connected" => Some((true, "Your Stripe account is connected.")),
        "denied" => Some((false, "Stripe was not connected: the authorization was declined.")),
        "invalid_state" => Some((false, "Stripe was not connected: that link was not started here, was used already or has expired. Please try again from this page.")),
        "failed" => Some((false, "Stripe was not connected: Stripe did not confirm the authorization. Please try again.")),
        "full" => Some((false, "Stripe was not connected: this account has as many OAuth tokens as it may keep. Delete one of yours if you have one, or ask the colleague who connected one to delete it (only its owner can), then try again.")),
        "too_many" => Some((false, "Stripe was not connected: you (or others on your network) have made as many changes as may be made for now. Please try again later.")),
        _ => None,
    }
}

#[component]
pub fn OAuthTokensTab() -> impl IntoView {
    let start = form_action::<StartOauth>();
    let delete = form_action::<DeleteOauthToken>();
    let deleted = answers(delete);
    let tokens = server_resource(move || deleted.get(), |_| list_oauth_tokens());
    let outcome = RwSignal::new(
        use_query_map().with_untracked(|q| q.get("oauth")).and_then(|c| outcome_message(&c)),
    );
    // The outcome is said once: the address loses it, so a reload, or the
    // tab opened again later, does not repeat it.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(window) = web_sys::window() else { return };
        let Ok(url) = window.location().href().and_then(|h| web_sys::Url::new(&h)) else {
            return;
        };
        if url.search_params().has("oauth") {
            // Drawn with the page, the outcome is not read out as a status
            // would be, and past the tabs it is not seen first: it takes
            // the focus.
            if outcome.get_untracked().is_some() {
                crate::components::focus_by_id(OUTCOME);
            }
            url.search_params().delete("oauth");
            if let Ok(history) = window.history() {
                let _ = history.replace_state_with_url(
                    &leptos::wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&url.href()),
                );
            }
        }
    });
    // The provider's page is another site: go there once the server has made the URL.
    Effect::new(move |_| {
        if let Some(Ok(url)) = start.value().get() {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href(&url);
                // Still here after a while (the user pressed Stop, the
                // provider does not answer): the button works again. The
                // timer goes with this answer: a newer one (pressed again
                // after Back) keeps its own, and a tab left has none.
                let again = std::time::Duration::from_secs(10);
                if let Ok(timer) = set_timeout_with_handle(move || start.value().set(None), again) {
                    on_cleanup(move || timer.clear());
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = url;
        }
    });
    // Until the provider's page has replaced this one (or for 10 s) the
    // button stays busy: a second press would start a second connection,
    // spending another of the hour's starts and holding another place among
    // the tokens. A page the browser brings back from its cache (Back from
    // Stripe) is usable again.
    let leaving = move || start.pending().get() || matches!(start.value().get(), Some(Ok(_)));
    #[cfg(feature = "hydrate")]
    {
        let restored = window_event_listener(leptos::ev::pageshow, move |ev| {
            if ev.persisted() {
                start.value().set(None);
            }
        });
        on_cleanup(move || restored.remove());
    }
    let dialogs = RowDialogs::<OAuthTokenRow>::new();
    let done = RwSignal::new(None);
    // The outcome goes once the user does something else here: beside
    // "The test token of … is deleted" it would read as that task's result.
    Effect::new(move |_| {
        if dialogs.delete_open.get() || start.pending().get() {
            outcome.set(None);
        }
    });
    let body = move |tokens: OAuthTokens| match tokens {
        OAuthTokens { enabled: false, support_email, .. } => Either::Left(view! {
            <p class="notice-text">
                "Stripe is not enabled for this account yet. To have it enabled, "
                <ContactSupport address=support_email />
                "; then you can connect Stripe accounts here."
            </p>
        }),
        OAuthTokens { rows, test, live, support_email, .. } => Either::Right(view! {
            <TokenTable rows dialogs />
            // Only the types this server has a Stripe client for: another
            // would be refused after it was chosen.
            {if test || live {
                Either::Left(view! {
                    <form class="inline-form" on:submit=move |ev| {
                        ev.prevent_default();
                        let token_type = event_target_value_of_select(&ev);
                        start.dispatch(StartOauth { token_type });
                    }>
                        <div class="field">
                            <label for="token-type">"Token Type"</label>
                            <select id="token-type" name="token_type">
                                {test.then(|| view! { <option value="test">"Test"</option> })}
                                {live.then(|| view! { <option value="live">"Live"</option> })}
                            </select>
                        </div>
                        <button type="submit" class="primary" disabled=leaving aria-busy=move || leaving().then_some("true")>"Add Token"</button>
                    </form>
                    <FormStatus error=form_error(start.value(), &[]) />
                })
            } else {
                Either::Right(view! {
                    <p class="notice-text">
                        "Connecting Stripe accounts is not set up on this server yet: "
                        <ContactSupport address=support_email />
                        ". Tokens already connected keep working."
                    </p>
                })
            }}
        }),
    };
    view! {
        <section class="panel" aria-labelledby="oauth-heading">
            <h2 id="oauth-heading">"OAuth Tokens"</h2>
            {move || outcome.get().map(|(ok, text)| view! { <p id=OUTCOME tabindex="-1" class=if ok { "alert success" } else { "alert error" } role="status">{text}</p> })}
            <Loaded resource=tokens view=body />
            <DoneNotice done />
        </section>
        <ConfirmDelete
            title="Delete OAuth Token"
            id="delete-token"
            dialogs
            action=delete
            question=|t: &OAuthTokenRow| format!("Delete the {} token of {}? Deployments using it lose it, and unless another token still uses that Stripe account, it is disconnected from the platform.", t.token_type.to_lowercase(), t.provider_account_id)
            input=|row: &OAuthTokenRow| DeleteOauthToken { id: row.id }
            deleted=|t: &OAuthTokenRow| format!("The {} token of {} is deleted.", t.token_type.to_lowercase(), t.provider_account_id)
            done
        />
    }
}

/// The chosen Token Type of the submitted form.
fn event_target_value_of_select(ev: &leptos::ev::SubmitEvent) -> String {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|form| form.query_selector("select").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlSelectElement>().ok())
            .map(|select| select.value())
            .unwrap_or_else(|| "test".into())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        "test".into()
    }
}

#[component]
fn TokenTable(rows: Vec<OAuthTokenRow>, dialogs: RowDialogs<OAuthTokenRow>) -> impl IntoView {
    let row = move |row: OAuthTokenRow| {
        view! {
            <tr>
                <td>{row.token_type.clone()}</td>
                <td>{row.provider_account_id.clone()}</td>
                <td class="when">{row.added.clone()}</td>
                <RowActions>
                    <DeleteButton dialogs row=row.clone() name=format!("the {} token of {}", row.token_type.to_lowercase(), row.provider_account_id) />
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Your OAuth tokens"
            columns=&["Token Type", "Stripe Account", "Added"]
            actions=true
            empty="You have not connected a Stripe account yet."
            rows
            row
        />
    }
}
