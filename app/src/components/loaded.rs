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
            match resource.await {
                Ok(data) => Either::Left(view(data)),
                Err(err) => Either::Right(refusal(err, admin_only)),
            }
        })
    };
    view! { <Transition fallback=loading>{body}</Transition> }
}

/// What a tab shows instead of its data. Not generic, so that the tabs'
/// copies of [`Loaded`] share it in the wasm.
fn refusal(err: AppError, admin_only: bool) -> AnyView {
    match err {
        AppError::Forbidden(why) if admin_only => view! { <Refused message=why /> }.into_any(),
        AppError::Unauthenticated => view! { <SessionEnded /> }.into_any(),
        err => view! { <p class="alert error">{err.to_string()}</p> }.into_any(),
    }
}
