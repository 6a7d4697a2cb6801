//! The My Account console: UI, its contract with the server (`api`, `model`),
//! and, server-side only, the business rules (`domain`).
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod domain;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::title::{page_title, PageTitle};
use pages::account_info::AccountInformationTab;
use pages::activity::ActivityTab;
use pages::applications::ApplicationsTab;
use pages::certificates::CertificatesTab;
use pages::email_links::{ActivatePage, ConfirmEmailPage, ResetPasswordPage, VerifyEmailPage};
use pages::integrations::IntegrationsTab;
use pages::js_libraries::JsLibrariesTab;
use pages::oauth_tokens::OAuthTokensTab;
use pages::phone_numbers::PhoneNumbersTab;
use pages::{
    account::AccountTab,
    log_in::{LogInCodePage, LogInPage},
    my_account::MyAccountPage,
};
use pages::{forgot_password::ForgotPasswordPage, sign_up::SignUpPage, users::UsersTab};

/// The HTML document around the app. Stylesheet and title live here rather
/// than in `App`: leptos_meta components at the top of `App` broke release
/// hydration in a trial build.
///
/// Only the signed-in console loads the app's code (the wasm, 450 KB on the
/// wire) and hydrates. Every other page is plain HTML whose forms post to
/// their server functions, with [`PLAIN_FORMS`] inlined to send them in
/// place: a first visit to the log-in or sign-up page costs a few kilobytes.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let path = request_path();
    let runs_app = runs_the_app(&path);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // As inner HTML: a text child would carry hydration's `<!>`
                // marker, which a `<title>` shows as text. The titles are
                // fixed strings (`page_title`).
                <title inner_html=page_title(&path)></title>
                <meta name="theme-color" content="#1f5fbf" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="icon" href="/favicon.ico" sizes="32x32" />
                <link rel="apple-touch-icon" href="/icon-192.png" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options) />
                <AutoReload options=options.clone() />
                {runs_app.then(|| view! {
                    <HydrationScripts options />
                    <script nonce=use_nonce() inner_html=EARLY_CLICKS></script>
                })}
                <MetaTags />
            </head>
            <body>
                <App />
                {(!runs_app).then(|| view! { <script nonce=use_nonce() inner_html=PLAIN_FORMS></script> })}
            </body>
        </html>
    }
}

/// The script of the pages that do not run the app (see [`shell`]), inlined:
/// 1.4 KB compressed. Their forms post to their server functions and
/// work with no script at all, the server answering with a redirect: to the
/// next page, or back with the error (leptos's `__err`), which the page then
/// shows beside its field. The script sends the form without leaving the
/// page instead, as the app does on its own pages: an error shows beside its
/// field while what was typed stays, and a success follows the server's
/// redirect. An error that names no field but has its own sentence (too many
/// attempts, a disabled user, a conflict) is shown above the form; any other
/// by the page the server renders for it, the same page a browser without
/// scripts gets. A reply that is lost or not the app's is reported, and the
/// form never sent twice.
const PLAIN_FORMS: &str = include_str!("plain_forms.js");

/// The script of the pages that run the app, inlined in their head: a click
/// on a button before the app's code has loaded is made again once it has.
const EARLY_CLICKS: &str = include_str!("early_clicks.js");

/// Whether the page at `path` loads the app's code and hydrates: the signed-in
/// console does; the pages before it (log-in, sign-up, the email links) and
/// "not found" are plain HTML, whose forms work without it.
fn runs_the_app(path: &str) -> bool {
    path == "/account" || path.starts_with("/account/")
}

/// The stylesheet's URL. With hashed file names (a release build) its name
/// carries the hash cargo-leptos wrote to `hash.txt` beside the server binary,
/// which is read once: it changes only with the binary.
fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
        let hash = options
            .hash_files
            .then(|| {
                let exe = std::env::current_exe().ok()?;
                std::fs::read_to_string(exe.parent()?.join(options.hash_file.as_ref())).ok()
            })
            .flatten()
            .and_then(|hashes| {
                hashes.lines().find_map(|line| {
                    line.trim().strip_prefix("css:").map(|hash| hash.trim().to_owned())
                })
            });
        match hash {
            Some(hash) => format!("/{pkg}/{name}.{hash}.css"),
            None => format!("/{pkg}/{name}.css"),
        }
    })
}

/// The path the request asks for; [`PageTitle`] keeps the title in step
/// after hydration.
fn request_path() -> String {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return parts.uri.path().to_owned();
    }
    "/account".to_owned()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <PageTitle />
            <Routes fallback=|| view! { <pages::NotFound /> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/account" /> } />
                <Route path=path!("/signup") view=SignUpPage />
                <Route path=path!("/login") view=LogInPage />
                <Route path=path!("/login/two-factor") view=LogInCodePage />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage />
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/confirm-email") view=ConfirmEmailPage ssr=SsrMode::Async />
                <Route path=path!("/activate") view=ActivatePage ssr=SsrMode::Async />
                // Async: the page is rendered once the signed-in user is known,
                // so a redirect to log-in or a 403 can still set the status.
                <ParentRoute path=path!("/account") view=MyAccountPage ssr=SsrMode::Async>
                    <Route path=path!("") view=AccountTab />
                    <Route path=path!("certificates") view=CertificatesTab />
                    <Route path=path!("oauth-tokens") view=OAuthTokensTab />
                    <Route path=path!("js-libraries") view=JsLibrariesTab />
                    <Route path=path!("applications") view=ApplicationsTab />
                    <Route path=path!("integrations") view=IntegrationsTab />
                    <Route path=path!("users") view=UsersTab />
                    <Route path=path!("account-information") view=AccountInformationTab />
                    <Route path=path!("phone-numbers") view=PhoneNumbersTab />
                    <Route path=path!("activity") view=ActivityTab />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
