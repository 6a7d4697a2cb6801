//! What a tab shows of the data it loads: "Loading…" first, then the data,
//! or the error in its place.
use std::future::Future;

use leptos::either::Either;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::status::{Refused, SessionEnded};
use crate::model::AppError;

/// `Resource::new` for data a tab loads through a server function, with the
/// fetcher's future boxed. On the server that future is the server function's
/// whole body, sea-orm queries included, several kilobytes; leptos moves it by
/// value through several layers before it runs, and those copies were a fifth
/// of the instructions of a signed-in `GET /account` (callgrind). Boxed, each
/// move copies a pointer.
pub fn server_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<Result<T, AppError>>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    Resource::new(source, move |s| Box::pin(fetcher(s)))
}

/// Lets a server render build a `Suspend`'s view once instead of up to three
/// times: awaited first in every `move || Suspend::new(async move { .. })`.
/// Before rendering its children, a `<Suspense>` or `<Transition>` on the
/// server walks them twice (leptos 0.8's `dry_resolve`, which looks for
/// resources read outside a `Suspend`), calling each such closure anew and
/// polling its future once; a future whose data is there by then built the
/// whole view (components, actions, signals) only for it to be dropped.
/// Pending on the first poll (and woken at once), it builds nothing in those
/// walks; the render awaits it as any loading data. The browser is not held
/// back: hydration must find the data at once, as the server rendered it.
///
/// Only for routes rendered with `SsrMode::Async` (every route that loads
/// data is): under out-of-order or in-order streaming, a `<Suspense>` whose
/// `Suspend` is pending on its first poll sends its fallback and streams the
/// view after, so data that was ready would no longer be inline HTML.
pub async fn past_dry_runs() {
    #[cfg(feature = "ssr")]
    {
        let mut polled = false;
        std::future::poll_fn(move |cx| {
            if polled {
                std::task::Poll::Ready(())
            } else {
                polled = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// What a tab shows while its data loads.
pub fn loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

/// `view` of what `resource` loads, inside a `<Transition>`: what was shown
/// stays while the resource reloads after a change.
#[component]
pub fn Loaded<T, F, V>(
    resource: Resource<Result<T, AppError>>,
    view: F,
    /// For the tabs only admins see: a refusal shows [`Refused`] (status 403)
    /// instead of an error message.
    #[prop(optional)]
    admin_only: bool,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let body = move || {
        let view = view.clone();
        Suspend::new(async move {
            past_dry_runs().await;
            let result = resource.await;
            #[cfg(feature = "hydrate")]
            keep_focus();
            match result {
                Ok(data) => Either::Left(view(data)),
                Err(err) => Either::Right(refusal(err, admin_only)),
            }
        })
    };
    view! { <Transition fallback=loading>{body}</Transition> }
}

/// Keeps the focus in its tab while a reload draws the list anew. After a
/// dialog's Save or Yes the focus goes back to the row's button that opened
/// it; the reload then removes that button (the focus falls to the page's
/// body, and a keyboard user starts again from the top) or, drawing the rows
/// in place, gives it to another row ("Delete Bob" where "Delete Ann" was).
/// Once drawn, the button of the same name takes the focus ("Edit Ann Lee",
/// "Add Integration"); if it is gone (deleted, or now "Enable"), the tab's
/// notice of what was done ([`DoneNotice`](super::form::DoneNotice)), or
/// else the tab's heading. Not generic, so the tabs' copies of [`Loaded`]
/// share it.
#[cfg(feature = "hydrate")]
pub(crate) fn keep_focus() {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Element, HtmlElement};

    let lost = |active: Option<Element>| {
        let body = document().body();
        match (active, body) {
            (Some(active), Some(body)) => active == *body.as_ref(),
            (active, _) => active.is_none(),
        }
    };
    let active = document().active_element();
    if lost(active.clone()) {
        return;
    }
    let Some(active) = active else { return };
    let Some(tab) = active.closest("section.panel").ok().flatten() else { return };
    // A button's accessible name: its label, or else its text.
    let name_of = |e: &Element| {
        e.get_attribute("aria-label")
            .or_else(|| (e.tag_name() == "BUTTON").then(|| e.text_content()).flatten())
    };
    let name = name_of(&active);
    request_animation_frame(move || {
        // Drawn anew in place, the button may now be another row's.
        let now = document().active_element();
        let moved = now.as_ref() == Some(&active) && name_of(&active) != name;
        if !moved && !lost(now) {
            return;
        }
        let named = |e: &Element| name.is_some() && name_of(e) == name;
        let all = tab.get_elements_by_tag_name("*");
        // A disabled one (Next Page on the last page) cannot take it.
        let usable = |e: &Element| named(e) && !e.matches(":disabled").unwrap_or(false);
        let same = (0..all.length()).filter_map(|i| all.item(i)).find(usable);
        let target = same
            .or_else(|| tab.query_selector(".done").ok().flatten())
            .or_else(|| tab.query_selector("h2").ok().flatten());
        if let Some(target) = target.and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
            if !target.has_attribute("tabindex") && !named(&target) {
                let _ = target.set_attribute("tabindex", "-1");
            }
            let _ = target.focus();
        }
    });
}

/// What a tab shows instead of its data. Not generic, so that the tabs'
/// copies of [`Loaded`] share it in the wasm.
pub(crate) fn refusal(err: AppError, admin_only: bool) -> AnyView {
    match err {
        AppError::Forbidden(why) if admin_only => view! { <Refused message=why /> }.into_any(),
        AppError::Unauthenticated => view! { <SessionEnded /> }.into_any(),
        // An alert: a list reloaded after a save or a delete fails here,
        // while the focus is on the notice that the change was made.
        err => view! { <p class="alert error" role="alert">{err.to_string()}</p> }.into_any(),
    }
}
