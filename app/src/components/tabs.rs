//! The My Account tab bar. Tabs are links to real URLs, so each renders on the
//! server for a direct visit and switches on the client after hydration.
use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Account,
    Certificates,
    OAuthTokens,
    JsLibraries,
    Integrations,
    Users,
    AccountInformation,
    PhoneNumbers,
    Applications,
    Activity,
}

impl Tab {
    pub const ALL: [Tab; 10] = [
        Tab::Account,
        Tab::Users,
        Tab::AccountInformation,
        Tab::PhoneNumbers,
        Tab::Certificates,
        Tab::OAuthTokens,
        Tab::JsLibraries,
        Tab::Integrations,
        Tab::Applications,
        Tab::Activity,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Tab::Account => "Account",
            Tab::Certificates => "Certificates",
            Tab::OAuthTokens => "OAuth Tokens",
            Tab::JsLibraries => "JS Libraries",
            Tab::Integrations => "Integrations",
            Tab::Users => "Manage Users",
            Tab::AccountInformation => "Account Information",
            Tab::PhoneNumbers => "Phone Numbers",
            Tab::Applications => "Applications",
            Tab::Activity => "Activity",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Tab::Account => "/account",
            Tab::Certificates => "/account/certificates",
            Tab::OAuthTokens => "/account/oauth-tokens",
            Tab::JsLibraries => "/account/js-libraries",
            Tab::Integrations => "/account/integrations",
            Tab::Users => "/account/users",
            Tab::AccountInformation => "/account/account-information",
            Tab::PhoneNumbers => "/account/phone-numbers",
            Tab::Applications => "/account/applications",
            Tab::Activity => "/account/activity",
        }
    }

    /// Tabs only admins see (the server refuses their data to anyone else).
    pub fn admin_only(self) -> bool {
        matches!(self, Tab::Users | Tab::AccountInformation | Tab::PhoneNumbers | Tab::Activity)
    }

    pub fn visible_to(is_admin: bool) -> impl Iterator<Item = Tab> {
        Tab::ALL.into_iter().filter(move |t| is_admin || !t.admin_only())
    }
}

#[component]
pub fn TabBar(is_admin: bool) -> impl IntoView {
    // Plain links, not the router's `<A>`: the router takes over a click on
    // any same-origin link anyway, and `<A>` resolved each href and kept two
    // memos of its own. Building and dropping them was 11% of a signed-in
    // `GET /account`'s instructions; these links save 6% of them (callgrind).
    // One memo of the path serves every tab.
    let path = use_location().pathname;
    let list = NodeRef::<leptos::html::Ul>::new();
    // On a phone the tabs are one row that scrolls sideways (the stylesheet):
    // the current one is brought to the row's middle after each navigation,
    // so "Activity" is not left off screen. Only the row scrolls, never the
    // page. Does nothing where the row fits.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        path.track();
        let Some(list) = list.get() else { return };
        let current = list.query_selector("a[aria-current=\"page\"]").ok().flatten();
        if let Some(tab) = current.and_then(|a| a.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
            let middle = tab.offset_left() - (list.client_width() - tab.offset_width()) / 2;
            list.set_scroll_left(middle.max(0));
        }
    });
    view! {
        <nav class="tabs" aria-label="My Account sections">
            <ul node_ref=list>
                {Tab::visible_to(is_admin)
                    .map(|tab| {
                        // Exact: "/account" must not stay current on its sub-tabs.
                        let current = move || path.with(|p| p == tab.path()).then_some("page");
                        view! {
                            <li>
                                <a href=tab.path() aria-current=current>
                                    {tab.label()}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
