//! The address's query, read as it was written, and a tab's filters kept
//! in it, so that a reload, a link or Back shows the list as it was left
//! (Manage Users, Activity).

/// The page's query as the address holds it (without the `?`), whose values
/// are decoded once. The router's own query map decodes them a second time
/// (leptos_router 0.8's `ParamsMap::insert`), which turns text that looks
/// escaped into other text: a search for `%41` came back as `A`, and the
/// log-in page's `next=/account/users%3Fsearch%3Da%2526b` as a search for
/// `a` and a parameter `b`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query(String);

impl Query {
    pub fn new(raw: impl Into<String>) -> Self {
        Query(raw.into())
    }

    /// The page's query now (not tracked).
    pub fn now() -> Self {
        use leptos::prelude::GetUntracked;
        Query(leptos_router::hooks::use_location().search.get_untracked())
    }

    /// The first value of `name`, decoded once (`+` is a space, as forms
    /// and `URLSearchParams` write it).
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = leptos_router::location::Url::unescape(&key.replace('+', " "));
            (key == name).then(|| leptos_router::location::Url::unescape(&value.replace('+', " ")))
        })
    }
}

/// Keeps a tab's filters and the address in step, through the router, so
/// that it knows the address it shows. `parts` (tracked) gives the filters
/// that differ from their defaults as query parameters; a change is written
/// in place, with no history entry per keystroke. `follow` is given the
/// query whenever the address changes (the tab's link, which is its bare
/// address, or Back) and sets the filters to it if they differ.
pub fn keep_in_address(
    parts: impl Fn() -> Vec<(&'static str, String)> + 'static,
    follow: impl Fn(&Query) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::*;
        use leptos_router::hooks::{use_location, use_navigate};
        let location = use_location();
        Effect::new(move |_| follow(&Query(location.search.get())));
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::Query;

    #[test]
    fn values_are_decoded_once() {
        let query = Query::new("next=%2Faccount%2Fusers%3Fsearch%3Da%2526b&logged_out");
        assert_eq!(query.get("next").as_deref(), Some("/account/users?search=a%26b"));
        assert_eq!(query.get("logged_out").as_deref(), Some(""));
        assert_eq!(query.get("missing"), None);
        let typed = Query::new("search=ada+l%2541&show=disabled&search=second");
        assert_eq!(typed.get("search").as_deref(), Some("ada l%41"), "the first, once");
        assert_eq!(typed.get("show").as_deref(), Some("disabled"));
        assert_eq!(Query::new("").get("search"), None);
    }
}
