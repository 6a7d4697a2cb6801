//! What server functions need from the web layer: the domain, the acting
//! member from the session cookie, cookies, and the client's address. An
//! error's HTTP status is set in one place, the server's
//! `security::server_fn_error_status` middleware.
use std::sync::Arc;

use http::header::{HeaderValue, COOKIE, SET_COOKIE, USER_AGENT};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::domain::core::actor::Member;
use crate::domain::identity::sessions;
use crate::domain::Domain;
use crate::model::{AppError, CurrentUser};

/// The session cookie over plain HTTP (development, tests on loopback).
pub const SESSION_COOKIE: &str = "console_session";
/// Over HTTPS cookies carry the `__Host-` prefix: a browser then accepts them
/// only with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain can
/// neither set nor shadow them.
pub const SECURE_SESSION_COOKIE: &str = "__Host-console_session";

/// Where server functions are served (their `prefix`).
pub const SERVER_FN_PREFIX: &str = "/fn/";

/// Provided by the server to every page render and server function. A
/// handle, cheap to clone: axum clones each middleware's state for every
/// request, and a render reads the context once per section.
#[derive(Clone)]
pub struct WebContext(Arc<WebSettings>);

/// What a [`WebContext`] holds.
pub struct WebSettings {
    pub domain: Domain,
    /// Set the `Secure` attribute on cookies (when served over HTTPS).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl WebContext {
    pub fn new(settings: WebSettings) -> Self {
        Self(Arc::new(settings))
    }
}

impl std::ops::Deref for WebContext {
    type Target = WebSettings;
    fn deref(&self) -> &WebSettings {
        &self.0
    }
}

impl WebSettings {
    /// The name of the session cookie, `__Host-` prefixed over HTTPS.
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// The name of the pending log-in challenge's cookie, likewise.
    pub fn challenge_cookie(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_CHALLENGE_COOKIE
        } else {
            CHALLENGE_COOKIE
        }
    }

    /// The attributes every cookie of ours carries.
    fn cookie_attributes(&self, same_site: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("Path=/; HttpOnly; SameSite={same_site}{secure}")
    }
}

pub fn web() -> Result<WebContext, AppError> {
    use_context::<WebContext>().ok_or_else(|| {
        tracing::error!("WebContext missing from the server function context");
        AppError::Internal
    })
}

pub fn domain() -> Result<Domain, AppError> {
    web().map(|w| w.domain.clone())
}

/// `read` of the request being served, if any. Read in place: a page render
/// asks for the session and the client's address once per section, and a
/// copy of the request's parts (headers, extensions) costs more than the read.
fn with_request<R>(read: impl FnOnce(&http::request::Parts) -> Option<R>) -> Option<R> {
    with_context::<http::request::Parts, _>(read).flatten()
}

pub fn session_token() -> Option<String> {
    let web = web().ok()?;
    with_request(|parts| session_token_in(&web, &parts.headers))
}

/// The session token in a request's cookies; also read by the server's middleware.
pub fn session_token_in(web: &WebContext, headers: &http::HeaderMap) -> Option<String> {
    cookie_in(headers, web.session_cookie())
}

fn cookie_in(headers: &http::HeaderMap, cookie: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value.to_owned())
}

pub fn user_agent() -> String {
    with_request(|p| p.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default()
}

/// The address the request came from: the connection's peer, or, when that
/// peer is a trusted proxy, the last address in `X-Forwarded-For` that is
/// not one of the trusted proxies (what a client writes there is not
/// believed; past an entry the server cannot read, nothing is, and the peer
/// counts).
pub fn client_address() -> Option<std::net::IpAddr> {
    let web = web().ok()?;
    with_request(|parts| client_address_of(parts, &web.trusted_proxies))
}

pub fn client_address_of(
    parts: &http::request::Parts,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    Some(forwarded_client(&entries, trusted).unwrap_or(peer))
}

/// The first address from the right of `X-Forwarded-For` that is not a
/// trusted proxy. Proxies append, so what stands left of an entry the
/// server cannot read was written by someone it cannot vouch for: there it
/// stops (and the peer is used) rather than skip to the client's own words.
/// Some proxies write a port ("1.2.3.4:5555", "[2001:db8::1]:443").
fn forwarded_client(entries: &[&str], trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    for entry in entries.iter().rev().map(|e| e.trim()) {
        let address = entry
            .parse::<std::net::IpAddr>()
            .or_else(|_| entry.parse::<std::net::SocketAddr>().map(|s| s.ip()))
            .or_else(|_| entry.trim_start_matches('[').trim_end_matches(']').parse())
            .ok()?
            // A dual-stack proxy writes an IPv4 client as ::ffff:a.b.c.d,
            // which would otherwise be counted in one IPv6 /64 with all others.
            .to_canonical();
        if !trusted.contains(&address) {
            return Some(address);
        }
    }
    None
}

/// A request whose session the server has already checked (for a page, once
/// before rendering), kept in the request's extensions so that the several
/// server functions a page render calls do not each look the session up again.
#[derive(Clone)]
pub struct SignedIn {
    pub member: Member,
    pub token: String,
    /// Who the user is, read with the session.
    pub me: CurrentUser,
}

/// Who the signed-in user is, when the session check before a page render
/// found them: the page's top bar and its tabs then need no query.
pub fn checked_user() -> Option<CurrentUser> {
    with_request(|p| p.extensions.get::<SignedIn>().map(|signed_in| signed_in.me.clone()))
}

/// The signed-in member and their session token, or `Unauthenticated`.
pub async fn signed_in() -> Result<(Member, String), AppError> {
    // The member acts from the request's address (recorded with their changes).
    if let Some((member, token)) = with_request(|p| {
        p.extensions.get::<SignedIn>().map(|s| (s.member.clone(), s.token.clone()))
    }) {
        return Ok((member.from_address(client_address()), token));
    }
    let token = session_token().ok_or(AppError::Unauthenticated)?;
    let member = sessions::authenticate(&domain()?, &token).await?;
    Ok((member.from_address(client_address()), token))
}

/// [`signed_in`] for a route of the server's own (a download, a callback),
/// which holds its request's `Parts` rather than running as a server function.
pub async fn signed_in_from(
    web: &WebContext,
    parts: &http::request::Parts,
) -> Result<(Member, String), AppError> {
    let (member, token) = match parts.extensions.get::<SignedIn>() {
        Some(signed_in) => (signed_in.member.clone(), signed_in.token.clone()),
        None => {
            let token = session_token_in(web, &parts.headers).ok_or(AppError::Unauthenticated)?;
            (sessions::authenticate(&web.domain, &token).await?, token)
        }
    };
    Ok((member.from_address(client_address_of(parts, &web.trusted_proxies)), token))
}

pub async fn member() -> Result<Member, AppError> {
    signed_in().await.map(|(member, _)| member)
}

fn set_cookie(value: String) {
    if let (Some(response), Ok(value)) =
        (use_context::<ResponseOptions>(), HeaderValue::from_str(&value))
    {
        response.append_header(SET_COOKIE, value);
    }
}

/// Hands the browser a new session. The session its cookie named before (a
/// log-in as someone else, a sign-up or an invitation opened while signed
/// in) ends: the cookie is its only holder, and a session nobody can use
/// or end from its list would stay valid until it expires.
pub async fn replace_session_cookie(token: &str) -> Result<(), AppError> {
    let web = web()?;
    set_cookie(format!("{}={token}; {}", web.session_cookie(), web.cookie_attributes("Lax")));
    // After the new cookie, and never failing what was done: the new session
    // (a sign-up's whole account) exists already. A session left by an
    // error here still ends when it expires or from the sessions list.
    if let Some(previous) = session_token().filter(|previous| previous != token) {
        if let Err(err) = sessions::log_out(&web.domain, &previous).await {
            tracing::warn!(error = %err, "the session a new one replaced was not ended");
        }
    }
    Ok(())
}

/// The pending second step of a log-in: short-lived, HttpOnly, this site only.
const CHALLENGE_COOKIE: &str = "console_login_challenge";
const SECURE_CHALLENGE_COOKIE: &str = "__Host-console_login_challenge";

pub fn set_challenge_cookie(token: &str) -> Result<(), AppError> {
    let web = web()?;
    let attributes = web.cookie_attributes("Strict");
    // Twice the step's lifetime, which the domain enforces: a cookie gone
    // with the step would leave the answer to a code sent late to the
    // generic "log in again", where a password link's step says how on.
    let max_age = 2 * crate::domain::identity::log_in::CHALLENGE_LIFETIME.num_seconds();
    set_cookie(format!("{}={token}; {attributes}; Max-Age={max_age}", web.challenge_cookie()));
    Ok(())
}

pub fn clear_challenge_cookie() {
    if let Ok(web) = web() {
        let attributes = web.cookie_attributes("Strict");
        set_cookie(format!("{}=; {attributes}; Max-Age=0", web.challenge_cookie()));
    }
}

pub fn challenge_token() -> Option<String> {
    let cookie = web().ok()?.challenge_cookie();
    with_request(|parts| cookie_in(&parts.headers, cookie))
}

pub fn clear_session_cookie() {
    if let Ok(web) = web() {
        let attributes = web.cookie_attributes("Lax");
        set_cookie(format!("{}=; {attributes}; Max-Age=0", web.session_cookie()));
    }
}

/// Only same-site paths may follow a log-in, never another site.
pub fn safe_next(next: Option<String>) -> String {
    // Browsers read a `\` in the path as `/` (`/\evil.example` is another
    // host), but keep one in the query or fragment: a search for `a\b`
    // comes back to its page.
    let backslash_in_path =
        |next: &str| next.split(['?', '#']).next().unwrap_or_default().contains('\\');
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !backslash_in_path(&next)
                && !next.chars().any(char::is_control) =>
        {
            next
        }
        _ => "/account".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{forwarded_client, safe_next};

    #[test]
    fn the_forwarded_client_is_the_rightmost_untrusted_entry_and_never_past_one_unread() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |a: &str| Some(a.parse::<std::net::IpAddr>().unwrap());
        let client = |entries: &[&str]| forwarded_client(entries, &[proxy]);
        assert_eq!(client(&["6.6.6.6", " 1.2.3.4"]), ip("1.2.3.4"));
        assert_eq!(client(&["1.2.3.4", "10.0.0.2"]), ip("1.2.3.4"));
        // A proxy that writes the client's port: still the real client,
        // never what the client wrote before it.
        assert_eq!(client(&["6.6.6.6", " 1.2.3.4:5555"]), ip("1.2.3.4"));
        assert_eq!(client(&["6.6.6.6", "[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client(&["6.6.6.6", "[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(client(&["6.6.6.6", "2001:db8::1"]), ip("2001:db8::1"));
        // IPv4 written the IPv6 way is that IPv4 address, trusted or not.
        assert_eq!(client(&["6.6.6.6", "::ffff:1.2.3.4"]), ip("1.2.3.4"));
        assert_eq!(client(&["1.2.3.4", "::ffff:10.0.0.2"]), ip("1.2.3.4"));
        // An entry it cannot read: nothing left of it is believed.
        assert_eq!(client(&["6.6.6.6", "unknown"]), None);
        assert_eq!(client(&["6.6.6.6", "", "10.0.0.2"]), None);
        assert_eq!(client(&[]), None);
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account/certificates".into())), "/account/certificates");
        let searched = "/account/users?search=a\\b#top\\";
        assert_eq!(safe_next(Some(searched.into())), searched);
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/account\\..\\\\evil.example?x",
            "evil",
            "/a\nb",
            "/a?\nb",
        ] {
            assert_eq!(safe_next(Some(hostile.into())), "/account", "{hostile}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
