//! A tab's filters kept in the address's query, so that a reload, a link or
//! Back shows the list as it was left (Manage Users, Activity).
use leptos_router::params::ParamsMap;

/// Keeps a tab's filters and the address in step, through the router, so
/// that it knows the address it shows. `parts` (tracked) gives the filters
/// that differ from their defaults as query parameters; a change is written
/// in place, with no history entry per keystroke. `follow` is given the
/// query whenever the address changes (the tab's link, which is its bare
/// address, or Back) and sets the filters to it if they differ.
pub fn keep_in_address(
    parts: impl Fn() -> Vec<(&'static str, String)> + 'static,
    follow: impl Fn(&ParamsMap) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::*;
        use leptos_router::hooks::{use_location, use_navigate, use_query_map};
        let query = use_query_map();
        Effect::new(move |_| query.with(&follow));
        let location = use_location();
        let navigate = use_navigate();
        Effect::new(move |_| {
            let Ok(params) = web_sys::UrlSearchParams::new() else { return };
            for (name, value) in parts() {
                params.append(name, &value);
            }
            let params = String::from(params.to_string());
            let wanted = match params.as_str() {
                "" => String::new(),
                params => format!("?{params}"),
            };
            let now = web_sys::window().and_then(|w| w.location().search().ok());
            if now.unwrap_or_default() != wanted {
                let path = location.pathname.get_untracked();
                let options = leptos_router::NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                };
                navigate(&format!("{path}{wanted}"), options);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (parts, follow);
}
