//! The page title: one per page and per My Account tab, so browser history,
//! tabs and bookmarks tell them apart ("Phone Numbers · My Account · Voice
//! Console"). The server writes it into the HTML for a direct visit; on the
//! client [`PageTitle`] follows every navigation.
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::tabs::Tab;

pub use crate::model::PRODUCT;

/// The title of the page at `path` (no query string).
pub fn page_title(path: &str) -> String {
    let path = path.trim_end_matches('/');
    let page = match path {
        "" => None,
        "/signup" => Some("Create your account"),
        "/login" => Some("Log in"),
        "/login/two-factor" => Some("Two-factor authentication"),
        "/forgot-password" => Some("Forgot your password?"),
        "/verify-email" => Some("Verify your email address"),
        "/reset-password" => Some("Choose a new password"),
        "/confirm-email" => Some("Confirm your new email address"),
        "/activate" => Some("Your invitation"),
        _ => match Tab::ALL.into_iter().find(|tab| tab.path() == path) {
            Some(Tab::Account) => return format!("My Account · {PRODUCT}"),
            Some(tab) => return format!("{} · My Account · {PRODUCT}", tab.label()),
            None => Some("Page not found"),
        },
    };
    match page {
        Some(page) => format!("{page} · {PRODUCT}"),
        None => format!("My Account · {PRODUCT}"),
    }
}

/// Keeps `document.title` in step with client-side navigation. Renders
/// nothing, so hydration has nothing to match; effects run only in the browser.
#[component]
pub fn PageTitle() -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| document().set_title(&page_title(&location.pathname.get())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_tab_has_its_own_title() {
        assert_eq!(page_title("/login"), "Log in · Voice Console");
        assert_eq!(page_title("/account"), "My Account · Voice Console");
        assert_eq!(page_title("/account/"), "My Account · Voice Console");
        assert_eq!(
            page_title("/account/phone-numbers"),
            "Phone Numbers · My Account · Voice Console"
        );
        assert_eq!(page_title("/nowhere"), "Page not found · Voice Console");
        let mut titles: Vec<String> = Tab::ALL.iter().map(|t| page_title(t.path())).collect();
        titles.extend(["/signup", "/login", "/forgot-password"].map(page_title));
        let count = titles.len();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), count, "no two pages share a title");
    }
}
