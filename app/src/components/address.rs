//! The address's query, read as it was written, and a tab's filters kept
//! in it, so that a reload, a link or Back shows the list as it was left
//! (Manage Users, Activity); the log-in addresses that bring a user back.
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Where a signed-out visitor of `path` is sent: log in, then come back.
pub fn log_in_url(path: &str) -> String {
    format!("/login?next={}", encode_path(path))
}

/// The page's own address, with its query (`/account/users?search=ada`):
/// where a log-in after a session ended brings the user back to, searched
/// or filtered as they left it.
pub fn here() -> String {
    use leptos::prelude::WithUntracked;
    // The route's own address, as `Query::now` reads it: the router's
    // location is already the next page's while a link is followed.
    let path = leptos_router::hooks::use_url().with_untracked(|url| url.path().to_owned());
    Query::now().without_refusal().after(&path)
}

/// The second step of a log-in with two-factor authentication, then `path`.
/// After a password link, the step also says that the new password waits
/// for the code (`pages::PASSWORD_WAITS_FOR_CODE`).
pub fn two_factor_url(path: &str, after_password_link: bool) -> String {
    let flag = if after_password_link { "&password_link=1" } else { "" };
    format!("/login/two-factor?next={}{flag}", encode_path(path))
}

/// A path (with its query) as one query value: everything but the
/// unreserved characters and `/` is escaped, `?`, `&` and `=` included.
const PATH_IN_QUERY: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_IN_QUERY).to_string()
}

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

    /// The page's query now (not tracked), as the route drawing it knows it.
    pub fn now() -> Self {
        use leptos::prelude::WithUntracked;
        Query(leptos_router::hooks::use_url().with_untracked(|url| url.search().to_owned()))
    }

    /// The first value of `name`, decoded once (`+` is a space, as forms
    /// and `URLSearchParams` write it).
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decoded(key) == name).then(|| decoded(value))
        })
    }

    /// The query without the parameters server functions add to a plain
    /// form's page when it was refused (`__path`, `__err`): an address to
    /// come back to says nothing of a refusal.
    pub fn without_refusal(&self) -> Query {
        let kept: Vec<&str> = self
            .0
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = decoded(pair.split_once('=').map_or(*pair, |(key, _)| key));
                key != "__path" && key != "__err"
            })
            .collect();
        Query(kept.join("&"))
    }

    /// `path` with this query, if any.
    pub fn after(&self, path: &str) -> String {
        match self.0.is_empty() {
            true => path.to_owned(),
            false => format!("{path}?{}", self.0),
        }
    }
}

/// One part of a query, decoded the same way on the server and in the
/// browser (a broken escape stays as it is written, and bytes that are not
/// UTF-8 become U+FFFD), so the hydrated page reads what the server did.
fn decoded(part: &str) -> String {
    percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8_lossy().into_owned()
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
        use leptos_router::hooks::{use_location, use_navigate, use_url};
        // The route's own address: it keeps the one it was drawn for while
        // another tab's link is followed, where the router's location is
        // already the next page's (whose empty query, followed, would clear
        // the filters and write over this page's history entry).
        let url = use_url();
        Effect::new(move |_| url.with(|url| follow(&Query::new(url.search()))));
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
        // A broken escape reads the same on the server and in the browser.
        assert_eq!(Query::new("search=%E9%zz").get("search").as_deref(), Some("\u{FFFD}%zz"));
    }

    #[test]
    fn an_address_to_come_back_to_says_nothing_of_a_refusal() {
        let refused = Query::new("search=ada&__path=%2Ffn%2Fupdate_user&__err=RXJy");
        assert_eq!(refused.without_refusal().after("/account/users"), "/account/users?search=ada");
        assert_eq!(Query::new("__err=RXJy").without_refusal().after("/account"), "/account");
        assert_eq!(Query::new("").without_refusal().after("/account"), "/account");
    }
}
