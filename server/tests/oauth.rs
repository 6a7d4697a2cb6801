//! The Stripe OAuth flow end to end against a local provider: the state is
//! bound to the session, used once, and the token is stored sealed for the
//! user who connected it.
mod support;

use std::sync::Arc;

use app::domain::admin::users;
use app::domain::core::oauth_provider::{OAuthClient, OAuthConfig};
use app::domain::core::provisioning;
use app::domain::features::applications;
use app::domain::features::deployments;
use app::domain::features::oauth_tokens;
use app::domain::features::phone_numbers;
use app::domain::testing::Snapshot;
use axum::body::Body;
use axum::extract::Form;
use axum::routing::post;
use axum::Json;
use http::{header, Request, StatusCode};
use serde_json::json;
use support::TestApp;

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";
const SECRET: &str = "sk_test_local_provider_secret";
const ACCESS_TOKEN: &str = "sk_test_connected_ACCESS_TOKEN_123";

/// What a local provider's `/deauthorize` heard: the form's client id and
/// Stripe account, and the request's Authorization header.
type Disconnects = Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A local provider's token endpoint: only the right secret and code get a token.
async fn provider() -> String {
    provider_recording().await.0
}

/// A local provider's `/deauthorize`: records what it hears in `heard`.
fn deauthorize(heard: Disconnects) -> axum::routing::MethodRouter {
    post(
        move |headers: http::HeaderMap,
              Form(form): Form<std::collections::HashMap<String, String>>| async move {
            let field = |name: &str| form.get(name).cloned().unwrap_or_default();
            let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let record = (field("client_id"), field("stripe_user_id"), auth.unwrap_or("").into());
            heard.lock().unwrap().push(record);
            Json(json!({ "stripe_user_id": field("stripe_user_id") }))
        },
    )
}

/// [`provider`], with what its `/deauthorize` heard.
async fn provider_recording() -> (String, Disconnects) {
    let disconnects = Disconnects::default();
    let app = axum::Router::new().route("/deauthorize", deauthorize(disconnects.clone())).route(
        "/token",
        post(|Form(form): Form<std::collections::HashMap<String, String>>| async move {
            // Codes "good-code…" are good; what follows becomes part of the token.
            let code = form.get("code").map(String::as_str).unwrap_or_default();
            let ok = form.get("grant_type").map(String::as_str) == Some("authorization_code")
                && form.get("client_secret").map(String::as_str) == Some(SECRET)
                && code.starts_with("good-code");
            if !ok {
                return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" })));
            }
            (
                StatusCode::OK,
                Json(json!({
                    "access_token": format!("{ACCESS_TOKEN}{}", &code["good-code".len()..]),
                    "refresh_token": "rt_test_REFRESH",
                    "token_type": "bearer",
                    "stripe_user_id": "acct_1LocalTest",
                    // "good-code-live" answers for the other mode.
                    "livemode": code.ends_with("-live"),
                    "scope": "read_write"
                })),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), disconnects)
}

async fn app_with_provider() -> TestApp {
    let url = provider().await;
    let mut app = TestApp::new().await;
    app.configure(|d| d.oauth = Arc::new(oauth_config(&url)));
    app
}

fn oauth_config(provider_url: &str) -> OAuthConfig {
    OAuthConfig {
        authorize_url: format!("{provider_url}/authorize"),
        token_url: format!("{provider_url}/token"),
        deauthorize_url: format!("{provider_url}/deauthorize"),
        test: Some(OAuthClient { client_id: "ca_test_local".into(), secret: SECRET.into() }),
        live: None,
        ..OAuthConfig::default()
    }
}

fn state_of(url: &str) -> String {
    url.split(['?', '&']).find_map(|p| p.strip_prefix("state=")).unwrap().to_owned()
}

/// The provider's redirect back, as a browser follows it: a cross-site GET.
async fn callback(app: &TestApp, session: Option<&str>, query: &str) -> String {
    let mut request = Request::get(format!("/oauth/stripe/callback?{query}"))
        .header("sec-fetch-site", "cross-site");
    if let Some(token) = session {
        request = request.header(header::COOKIE, format!("console_session={token}"));
    }
    let reply = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    reply.location().unwrap().to_owned()
}

/// An operator turns Stripe on for `admin_email`'s account.
async fn enable_stripe(app: &TestApp, admin_email: &str) {
    enable_stripe_on(&app.domain, admin_email).await;
}

async fn enable_stripe_on(d: &app::domain::Domain, admin_email: &str) {
    let args: Vec<String> = ["account", "enable-stripe", "--account-of", admin_email]
        .iter()
        .map(|s| s.to_string())
        .collect();
    server::cli::run(d, &args, &mut std::io::Cursor::new(String::new())).await.unwrap();
}

async fn start(app: &TestApp, session: &str) -> String {
    let started = app.call("start_oauth", &[("token_type", "test")], Some(session)).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    started.json().as_str().unwrap().to_owned()
}

#[test]
fn the_authorization_code_flow_stores_the_token_for_its_user() {
    support::run(async {
        let app = app_with_provider().await;
        let admin = app.sign_up(ADMIN).await;
        // Until an operator enables Stripe, there is no flow to start.
        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("start_oauth", &[("token_type", "test")], Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        before.assert_unchanged(&app.domain).await;
        assert!(app.call("list_oauth_tokens", &[], Some(&admin)).await.json()["enabled"] == false);
        let page = app.page("/account/oauth-tokens", Some(&admin)).await;
        assert!(page.body.contains("Stripe is not enabled for this account"));
        enable_stripe(&app, ADMIN).await;

        let url = start(&app, &admin).await;
        assert!(
            url.contains("client_id=ca_test_local") && url.contains("response_type=code"),
            "{url}"
        );
        assert!(
            url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Foauth%2Fstripe%2Fcallback"),
            "{url}"
        );
        let state = state_of(&url);
        let outcome = callback(&app, Some(&admin), &format!("code=good-code&state={state}")).await;
        assert_eq!(outcome, "/account/oauth-tokens?oauth=connected");
        let listed = app.call("list_oauth_tokens", &[], Some(&admin)).await;
        let tokens = listed.json();
        assert_eq!(tokens["rows"][0]["provider_account_id"], "acct_1LocalTest");
        assert_eq!(tokens["rows"][0]["token_type"], "Test");
        assert!(!listed.body.contains(ACCESS_TOKEN), "the token never reaches a browser");
        let page = app.page("/account/oauth-tokens", Some(&admin)).await;
        assert!(page.body.contains("acct_1LocalTest") && !page.body.contains(ACCESS_TOKEN));
        // The connection is in the activity log, by the account it names, not the token.
        let activity =
            app.call("list_activity", &[("kind", "oauth_token.added")], Some(&admin)).await;
        assert_eq!(activity.json()["rows"][0]["target"], "Stripe test acct_1LocalTest");
        assert!(!activity.body.contains(ACCESS_TOKEN) && !activity.body.contains("good-code"));

        // The same state again: refused, nothing added.
        let before = Snapshot::take(&app.domain).await;
        let replay = callback(&app, Some(&admin), &format!("code=good-code&state={state}")).await;
        assert_eq!(replay, "/account/oauth-tokens?oauth=invalid_state");
        // A made-up state, or none: refused.
        assert_eq!(
            callback(&app, Some(&admin), "code=good-code&state=forged").await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        assert_eq!(
            callback(&app, Some(&admin), "code=good-code").await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        before.assert_unchanged(&app.domain).await;
        // A real state used from another session (an attacker's link): refused,
        // from another user's and from the same user's other session.
        let other = app.operator_adds_member(ADMIN, MEMBER).await;
        let second = app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().unwrap();
        let state = state_of(&start(&app, &admin).await);
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(
            callback(&app, Some(&second), &format!("code=good-code&state={state}")).await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        assert_eq!(
            callback(&app, Some(&other), &format!("code=good-code&state={state}")).await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        assert_eq!(
            callback(&app, None, &format!("code=good-code&state={state}")).await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        before.assert_unchanged(&app.domain).await;
        // A code the provider rejects, or the user declining. Each uses its
        // state up (oauth_states), whatever happens next; nothing else changes.
        let used_up = async |state: &str| {
            let again = format!("code=good-code&state={state}");
            assert_eq!(
                callback(&app, Some(&admin), &again).await,
                "/account/oauth-tokens?oauth=invalid_state"
            );
        };
        let state = state_of(&start(&app, &admin).await);
        let before = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        assert_eq!(
            callback(&app, Some(&admin), &format!("code=bad-code&state={state}")).await,
            "/account/oauth-tokens?oauth=failed"
        );
        used_up(&state).await;
        before.assert_unchanged(&app.domain).await;
        let state = state_of(&start(&app, &admin).await);
        let before = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        assert_eq!(
            callback(&app, Some(&admin), &format!("error=access_denied&state={state}")).await,
            "/account/oauth-tokens?oauth=denied"
        );
        used_up(&state).await;
        before.assert_unchanged(&app.domain).await;
        // A state expires after ten minutes (and is used up by the late try;
        // the session, used eleven minutes on, records its last use).
        let state = state_of(&start(&app, &admin).await);
        app.clock.advance(chrono::Duration::minutes(11));
        let before = Snapshot::take_except(&app.domain, &["oauth_states", "sessions"]).await;
        assert_eq!(
            callback(&app, Some(&admin), &format!("code=good-code&state={state}")).await,
            "/account/oauth-tokens?oauth=invalid_state"
        );
        before.assert_unchanged(&app.domain).await;
        assert_eq!(
            app.call("list_oauth_tokens", &[], Some(&admin)).await.json()["rows"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Connecting the same Stripe account again refreshes its token in
        // place (deployments keep it) instead of listing it twice.
        let state = state_of(&start(&app, &admin).await);
        assert_eq!(
            callback(&app, Some(&admin), &format!("code=good-code-again&state={state}")).await,
            "/account/oauth-tokens?oauth=connected"
        );
        let rows = app.call("list_oauth_tokens", &[], Some(&admin)).await.json()["rows"].clone();
        assert_eq!((rows.as_array().unwrap().len(), &rows[0]["id"]), (1, &tokens["rows"][0]["id"]));
        let grace =
            app::domain::identity::sessions::authenticate(&app.domain, &admin).await.unwrap();
        let id = rows[0]["id"].as_i64().unwrap() as i32;
        assert_eq!(
            app::domain::features::oauth_tokens::access_token(&app.domain, &grace, id)
                .await
                .unwrap(),
            format!("{ACCESS_TOKEN}-again")
        );

        // Live mode has no client here: the tab does not offer it, and a
        // request for it anyway gets a clear refusal.
        let listed = app.call("list_oauth_tokens", &[], Some(&admin)).await.json();
        assert_eq!((&listed["test"], &listed["live"]), (&json!(true), &json!(false)));
        let page = app.page("/account/oauth-tokens", Some(&admin)).await;
        assert!(page.body.contains(r#"<option value="test">"#));
        assert!(!page.body.contains(r#"<option value="live">"#));
        let before = Snapshot::take(&app.domain).await;
        let live = app.call("start_oauth", &[("token_type", "live")], Some(&admin)).await;
        assert_eq!(live.status, StatusCode::CONFLICT);
        before.assert_unchanged(&app.domain).await;
        // Tokens are the owner's: another user neither sees nor deletes them.
        let admin_again =
            app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().unwrap();
        let id = tokens["rows"][0]["id"].to_string();
        let eve = app.sign_up("eve@example.com").await;
        assert_eq!(
            app.call("list_oauth_tokens", &[], Some(&other)).await.json()["rows"],
            json!([])
        );
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(
            app.call("delete_oauth_token", &[("id", &id)], Some(&other)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call("delete_oauth_token", &[("id", &id)], Some(&eve)).await.status,
            StatusCode::NOT_FOUND
        );
        before.assert_unchanged(&app.domain).await;
        assert_eq!(
            app.call("delete_oauth_token", &[("id", &id)], Some(&admin_again)).await.status,
            StatusCode::OK
        );
    })
}

/// The token type is test or live, nothing else (nor another spelling):
/// anything else is refused beside its field with 422, before a state is
/// kept or a start counted.
#[test]
fn a_start_for_an_unknown_token_type_is_refused_beside_the_field() {
    support::run(async {
        let app = app_with_provider().await;
        let admin = app.sign_up(ADMIN).await;
        enable_stripe(&app, ADMIN).await;
        let before = Snapshot::take(&app.domain).await;
        for token_type in ["sandbox", "", "Test", "LIVE"] {
            let refused =
                app.call("start_oauth", &[("token_type", token_type)], Some(&admin)).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{token_type}: {}",
                refused.body
            );
            assert_eq!(refused.json()["Invalid"][0]["field"], "token_type", "{}", refused.body);
        }
        before.assert_unchanged(&app.domain).await;
        // The same session starts a test flow at once.
        start(&app, &admin).await;
    })
}

#[test]
fn tokens_go_to_deployments_and_pass_to_the_deleting_admin() {
    support::run(async {
        let app = app_with_provider().await;
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        enable_stripe(&app, ADMIN).await;
        for session in [&admin, &member] {
            let state = state_of(&start(&app, session).await);
            assert_eq!(
                callback(&app, Some(session), &format!("code=good-code&state={state}")).await,
                "/account/oauth-tokens?oauth=connected"
            );
        }
        let d = &app.domain;
        let grace = app::domain::identity::sessions::authenticate(d, &admin).await.unwrap();
        let bob = app::domain::identity::sessions::authenticate(d, &member).await.unwrap();
        let bobs_token = oauth_tokens::list(d, &bob).await.unwrap().rows[0].id;
        let graces_token = oauth_tokens::list(d, &grace).await.unwrap().rows[0].id;

        // Bob deploys his number to a shared application and gives it his token.
        provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
        let number = phone_numbers::request(d, &grace.admin().unwrap()).await.unwrap();
        phone_numbers::save_owners(
            d,
            &grace.admin().unwrap(),
            &[app::model::OwnerChange {
                number_id: number.id,
                from_owner_id: number.owner.id,
                owner_id: bob.user_id(),
            }],
        )
        .await
        .unwrap();
        let ivr = applications::create(d, &grace, "IVR").await.unwrap();
        applications::share(d, &grace, ivr.id, bob.user_id()).await.unwrap();
        let before = Snapshot::take(d).await;
        let early =
            deployments::assign_token(d, &bob, number.id, Some(bobs_token)).await.unwrap_err();
        assert!(early.message_for("token").unwrap().contains("Deploy the number"));
        before.assert_unchanged(d).await;
        deployments::deploy(d, &bob, number.id, ivr.id).await.unwrap();
        let before = Snapshot::take(d).await;
        let others =
            deployments::assign_token(d, &bob, number.id, Some(graces_token)).await.unwrap_err();
        assert_eq!(
            others.message_for("token").as_deref(),
            Some("Choose one of your OAuth tokens.")
        );
        assert_eq!(
            deployments::assign_token(d, &grace, number.id, Some(graces_token)).await,
            Err(app::model::AppError::NotFound)
        );
        before.assert_unchanged(d).await;
        deployments::assign_token(d, &bob, number.id, Some(bobs_token)).await.unwrap();
        let mine = phone_numbers::owned_by_me(d, &bob).await.unwrap();
        assert_eq!(mine[0].token.as_ref().map(|t| t.name.as_str()), Some("acct_1LocalTest (Test)"));
        // A refused change (someone else's token) leaves the current token in place.
        let before = Snapshot::take(d).await;
        let refused =
            deployments::assign_token(d, &bob, number.id, Some(graces_token)).await.unwrap_err();
        assert!(refused.message_for("token").is_some());
        before.assert_unchanged(d).await;
        let still = phone_numbers::owned_by_me(d, &bob).await.unwrap();
        assert_eq!(still[0].token.as_ref().map(|t| t.id), Some(bobs_token));

        // Deleting Bob gives Grace his number, deployment and all. His token
        // is for the Stripe account she connected too: she keeps one token
        // for it, her own, and the deployment runs on it.
        users::delete(d, &grace.admin().unwrap(), bob.user_id()).await.unwrap();
        let hers = oauth_tokens::list(d, &grace).await.unwrap().rows;
        assert_eq!(hers.iter().map(|t| t.id).collect::<Vec<_>>(), [graces_token]);
        assert_eq!(
            oauth_tokens::access_token(d, &grace, graces_token).await.unwrap(),
            ACCESS_TOKEN
        );
        let numbers = phone_numbers::owned_by_me(d, &grace).await.unwrap();
        assert_eq!(numbers[0].token.as_ref().map(|t| t.id), Some(graces_token));
    })
}

/// Deleting the console's last token for a Stripe account disconnects that
/// account from the platform (Stripe's deauthorize, with the mode's
/// secret); while a colleague, or another account, still holds a token for
/// it, the connection theirs needs stays. A delete refused (another's
/// token) disconnects nothing and changes nothing.
#[test]
fn deleting_the_last_token_for_a_stripe_account_disconnects_it() {
    support::run(async {
        let (url, disconnects) = provider_recording().await;
        let mut app = TestApp::new().await;
        app.configure(|d| d.oauth = Arc::new(oauth_config(&url)));
        let admin = app.sign_up(ADMIN).await;
        let member = app.operator_adds_member(ADMIN, MEMBER).await;
        let elsewhere = app.sign_up("eve@globex.example").await;
        enable_stripe(&app, ADMIN).await;
        enable_stripe(&app, "eve@globex.example").await;
        let mut ids = Vec::new();
        for session in [&admin, &member, &elsewhere] {
            let state = state_of(&start(&app, session).await);
            assert_eq!(
                callback(&app, Some(session), &format!("code=good-code&state={state}")).await,
                "/account/oauth-tokens?oauth=connected"
            );
            let listed = app.call("list_oauth_tokens", &[], Some(session)).await.json();
            ids.push(listed["rows"][0]["id"].as_i64().unwrap().to_string());
        }
        let (graces, bobs, eves) = (&ids[0], &ids[1], &ids[2]);
        let delete = async |id: &str, session: &str| {
            app.call("delete_oauth_token", &[("id", id)], Some(session)).await.status
        };
        let before = Snapshot::take(&app.domain).await;
        assert_eq!(delete(bobs, &admin).await, StatusCode::NOT_FOUND);
        before.assert_unchanged(&app.domain).await;
        assert_eq!(delete(graces, &admin).await, StatusCode::OK);
        assert!(disconnects.lock().unwrap().is_empty(), "Bob's token still needs the connection");
        assert_eq!(delete(bobs, &member).await, StatusCode::OK);
        assert!(disconnects.lock().unwrap().is_empty(), "Eve's token, of Globex, still needs it");
        assert_eq!(delete(eves, &elsewhere).await, StatusCode::OK);
        let heard = disconnects.lock().unwrap().clone();
        let expected = ("ca_test_local", "acct_1LocalTest", format!("Bearer {SECRET}"));
        assert_eq!(
            heard.iter().map(|(c, a, k)| (c.as_str(), a.as_str(), k.clone())).collect::<Vec<_>>(),
            [expected]
        );
    })
}

/// A token that could never open again (altered, or under a key declared
/// lost) goes with its owner when an admin deletes them: as for a deleted
/// token, its Stripe account is then disconnected from the platform, unless
/// the console holds another token for it.
#[test]
fn a_token_dropped_with_its_owner_disconnects_its_stripe_account() {
    use app::domain::entity::oauth_token;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    support::run(async {
        let (url, disconnects) = provider_recording().await;
        let mut app = TestApp::new().await;
        app.configure(|d| d.oauth = Arc::new(oauth_config(&url)));
        let admin = app.sign_up(ADMIN).await;
        enable_stripe(&app, ADMIN).await;
        // Bob and Cy each connect the same Stripe account.
        let mut owners = Vec::new();
        for email in [MEMBER, "cy@example.com"] {
            let session = app.operator_adds_member(ADMIN, email).await;
            let state = state_of(&start(&app, &session).await);
            assert_eq!(
                callback(&app, Some(&session), &format!("code=good-code&state={state}")).await,
                "/account/oauth-tokens?oauth=connected"
            );
            let listed = app.call("list_oauth_tokens", &[], Some(&session)).await.json();
            owners.push(listed["rows"][0]["id"].as_i64().unwrap() as i32);
        }
        let db = &app.domain.db;
        // Each token altered, then its owner deleted by the admin.
        let delete_owner_of = async |id: i32| {
            let token = oauth_token::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
            let altered = oauth_token::ActiveModel {
                id: Set(id),
                ciphertext: Set(format!("{}x", token.ciphertext)),
                ..Default::default()
            };
            oauth_token::Entity::update(altered).exec(db).await.unwrap();
            let owner = token.owner_id.to_string();
            let deleted = app.call("delete_user", &[("id", owner.as_str())], Some(&admin)).await;
            assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
            assert!(oauth_token::Entity::find_by_id(id).one(db).await.unwrap().is_none());
        };
        delete_owner_of(owners[0]).await;
        assert!(disconnects.lock().unwrap().is_empty(), "Cy's token still needs the connection");
        delete_owner_of(owners[1]).await;
        let heard = disconnects.lock().unwrap().clone();
        assert_eq!(heard, [disconnected()]);
    })
}

/// Each start keeps a state and may buy a call to Stripe with the platform's
/// secret, so starts are counted. An account keeps a bounded number of
/// tokens, and a connection in progress holds one of its places: a start
/// without a place is refused, so Stripe grants no connection that would
/// not be kept, but it first gives up its own session's flows not yet back.
#[test]
fn connections_are_counted_and_an_account_keeps_a_bounded_number_of_tokens() {
    use app::domain::core::quota::{Action, Limit, Per};
    support::run(async {
        let mut app = app_with_provider().await;
        let hour = chrono::Duration::hours(1);
        app.configure(|d| {
            d.holdings.oauth_tokens = 2;
            d.quotas.set(Limit {
                action: Action::OAuthStart,
                per: Per::Actor,
                max: 3,
                window: hour,
            });
        });
        let admin = app.sign_up(ADMIN).await;
        let other_window =
            app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().unwrap();
        let third_window =
            app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().unwrap();
        enable_stripe(&app, ADMIN).await;
        let tokens =
            async || app.call("list_oauth_tokens", &[], Some(&admin)).await.json()["rows"].clone();
        let start_refused = async |status: http::StatusCode, why: &str| {
            let before = Snapshot::take(&app.domain).await;
            let form = [("token_type", "test")];
            let refused = app.call("start_oauth", &form, Some(&third_window)).await;
            assert_eq!(refused.status, status, "{}", refused.body);
            assert!(refused.body.contains(why), "{}", refused.body);
            before.assert_unchanged(&app.domain).await;
        };

        // Two sessions' flows hold the account's two places: a third
        // session's start is refused for want of one, before it is counted.
        let first = state_of(&start(&app, &admin).await);
        let abandoned = state_of(&start(&app, &other_window).await);
        start_refused(http::StatusCode::CONFLICT, "2 connections to Stripe in progress").await;
        // With no token yet, nothing is said about deleting one.
        start_refused(
            http::StatusCode::CONFLICT,
            "the most it can keep is 2. A connection started \
             and not finished holds its place for 10 minutes.",
        )
        .await;
        // The second session starting again gives up its own flow for it.
        let retried = state_of(&start(&app, &other_window).await);
        let query = format!("code=good-code&state={abandoned}");
        // Nothing is stored (the flows aside).
        let unchanged = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        let gone = callback(&app, Some(&other_window), &query).await;
        assert_eq!(gone, "/account/oauth-tokens?oauth=invalid_state");
        unchanged.assert_unchanged(&app.domain).await;
        let connected =
            callback(&app, Some(&admin), &format!("code=good-code&state={first}")).await;
        assert_eq!(connected, "/account/oauth-tokens?oauth=connected");
        assert_eq!(tokens().await.as_array().unwrap().len(), 1, "{}", tokens().await);
        // The token took its flow's place: still full.
        start_refused(http::StatusCode::CONFLICT, "1 connection to Stripe in progress").await;
        // Only a token's owner deletes it: the asker is told the one is theirs.
        start_refused(http::StatusCode::CONFLICT, "You own 1 of them: delete one of yours").await;
        // The retried flow expires unused and gives its place back; the next
        // start is the fourth counted within the hour: refused.
        app.clock.advance(oauth_tokens::STATE_LIFETIME + chrono::Duration::seconds(1));
        // (The session's last-seen time moves with the clock first.)
        app.call("list_oauth_tokens", &[], Some(&third_window)).await;
        start_refused(http::StatusCode::TOO_MANY_REQUESTS, "Too many Stripe connections started")
            .await;
        let query = format!("code=good-code&state={retried}");
        let unchanged = Snapshot::take_except(&app.domain, &["oauth_states", "sessions"]).await;
        let late = callback(&app, Some(&other_window), &query).await;
        assert_eq!(late, "/account/oauth-tokens?oauth=invalid_state");
        unchanged.assert_unchanged(&app.domain).await;
    })
}

/// A flow whose place went meanwhile (the account's bound lowered, or a
/// flow started before places were held) is refused at the callback, before
/// the code is exchanged.
#[test]
fn a_callback_without_room_is_refused_before_the_exchange() {
    support::run(async {
        let mut app = app_with_provider().await;
        let admin = app.sign_up(ADMIN).await;
        enable_stripe(&app, ADMIN).await;
        let state = state_of(&start(&app, &admin).await);
        app.configure(|d| d.holdings.oauth_tokens = 0);
        // "bad-code" would have answered "failed" had it reached the provider.
        let before = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        let full = callback(&app, Some(&admin), &format!("code=bad-code&state={state}")).await;
        assert_eq!(full, "/account/oauth-tokens?oauth=full");
        before.assert_unchanged(&app.domain).await;
        let page = app.page("/account/oauth-tokens?oauth=full", Some(&admin)).await;
        assert!(page.body.contains("has as many OAuth tokens as it may keep"), "{}", page.body);
    })
}

/// A provider that answers a Test flow with a Live connection (or the other
/// way round) is not believed: nothing is stored, and the user is told the
/// connection failed.
#[test]
fn an_answer_for_the_other_mode_stores_nothing() {
    support::run(async {
        let (url, disconnects) = provider_recording().await;
        let mut app = TestApp::new().await;
        app.configure(|d| d.oauth = Arc::new(oauth_config(&url)));
        let admin = app.sign_up(ADMIN).await;
        enable_stripe(&app, ADMIN).await;
        let state = state_of(&start(&app, &admin).await);
        let before = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        let live =
            callback(&app, Some(&admin), &format!("code=good-code-live&state={state}")).await;
        assert_eq!(live, "/account/oauth-tokens?oauth=failed");
        before.assert_unchanged(&app.domain).await;
        let listed = app.call("list_oauth_tokens", &[], Some(&admin)).await.json();
        assert_eq!(listed["rows"], json!([]));
        // Stripe granted it all the same: it is disconnected, with the
        // secret of the mode that exchanged the code.
        background_done(&app.domain).await;
        assert_eq!(*disconnects.lock().unwrap(), [disconnected()]);
    })
}

/// A user disabled while Stripe exchanges their code keeps no token: the
/// connection is refused as if it had not been started, and its place
/// comes back. Stripe had granted it: the console asks Stripe to
/// disconnect it, as for a deleted last token, so the platform's secret
/// cannot act on an account whose owner was told it was not connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_during_the_exchange_keeps_no_token() {
    use tokio::time::{timeout, Duration};
    let HeldStripe { d, heard, release, disconnects, .. } = held_stripe().await;
    let (admin, bob, exchanging) = bob_exchanging(&d, heard).await;
    users::disable(&d, &admin.admin().unwrap(), bob.user_id()).await.unwrap();
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    release.send(()).unwrap();
    let refused = timeout(Duration::from_secs(10), exchanging).await.unwrap().unwrap();
    assert!(matches!(refused, Err(oauth_tokens::CallbackRefusal::InvalidState)), "{refused:?}");
    before.assert_unchanged(&d).await;
    assert_eq!(states(&d).await, 0);
    background_done(&d).await;
    let heard = disconnects.lock().unwrap().clone();
    assert_eq!(heard, [disconnected()]);
}

/// A grant refused after the exchange for a Stripe account the console
/// holds another token for (a colleague's) keeps the connection theirs needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_grant_keeps_a_connection_a_colleague_holds() {
    use tokio::time::{timeout, Duration};
    let HeldStripe { d, heard, release, disconnects, .. } = held_stripe().await;
    let (admin, bob, exchanging) = bob_exchanging(&d, heard).await;
    // Meanwhile Grace connects the same Stripe account (Stripe answers her
    // at once), and Bob is disabled.
    let state = state_of(&oauth_tokens::start(&d, &admin, "grace's window", "test").await.unwrap());
    oauth_tokens::callback(&d, &admin, "grace's window", &state, Some("good-code")).await.unwrap();
    users::disable(&d, &admin.admin().unwrap(), bob.user_id()).await.unwrap();
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    release.send(()).unwrap();
    let refused = timeout(Duration::from_secs(10), exchanging).await.unwrap().unwrap();
    assert!(matches!(refused, Err(oauth_tokens::CallbackRefusal::InvalidState)), "{refused:?}");
    before.assert_unchanged(&d).await;
    let tokens = oauth_tokens::list(&d, &admin).await.unwrap().rows;
    assert_eq!(tokens.len(), 1);
    // Grace's token needs the connection until she deletes it: then, once.
    background_done(&d).await;
    assert_eq!(*disconnects.lock().unwrap(), []);
    oauth_tokens::delete(&d, &admin, tokens[0].id).await.unwrap();
    assert_eq!(*disconnects.lock().unwrap(), [disconnected()]);
}

/// A user disabled between their callback's session check and the code's
/// exchange is refused before Stripe is asked: no connection is granted
/// that the console would not keep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_before_the_exchange_is_refused_before_stripe_is_asked() {
    let HeldStripe { d, mut heard, .. } = held_stripe().await;
    let admin = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    let bob = app::domain::testing::add_user(&d, admin.account_id(), MEMBER, false).await;
    enable_stripe_on(&d, ADMIN).await;
    let state = state_of(&oauth_tokens::start(&d, &bob, "bob's window", "test").await.unwrap());
    users::disable(&d, &admin.admin().unwrap(), bob.user_id()).await.unwrap();
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    // The held provider would wait for a release that never comes.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        oauth_tokens::callback(&d, &bob, "bob's window", &state, Some("good-code")),
    );
    let refused = refused.await.expect("the code was sent to Stripe");
    assert!(matches!(refused, Err(oauth_tokens::CallbackRefusal::InvalidState)), "{refused:?}");
    assert!(heard.try_recv().is_err(), "the code reached Stripe");
    before.assert_nothing_counted(&d).await;
    assert_eq!(states(&d).await, 0, "the flow gave its place back");
}

/// Every start may buy a call to Stripe with the platform's one secret:
/// the starts of one client address's accounts, and of all accounts, are
/// counted together, and one past either count is refused with nothing kept.
#[tokio::test]
async fn starts_are_counted_per_client_address_and_in_total() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = app::domain::testing::fresh_domain().await;
    d.oauth = Arc::new(oauth_config(&provider().await));
    let hour = chrono::Duration::hours(1);
    let office: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    let ada = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    let grace = app::domain::testing::account_with_admin(&d, "Initech", "grace@initech.test").await;
    let cy = app::domain::testing::account_with_admin(&d, "Globex", "cy@globex.test").await;
    for email in [ADMIN, "grace@initech.test", "cy@globex.test"] {
        enable_stripe_on(&d, email).await;
    }
    let (ada, grace) = (ada.from_address(Some(office)), grace.from_address(Some(office)));
    let refused = async |d: &app::domain::Domain, me: &app::domain::core::actor::Member| {
        let before = Snapshot::take(d).await;
        let refused = oauth_tokens::start(d, me, "a window", "test").await;
        assert!(
            matches!(&refused, Err(app::model::AppError::TooManyRequests(why)) if why.contains("Too many Stripe connections started")),
            "{refused:?}"
        );
        before.assert_unchanged(d).await;
    };
    d.quotas.set(Limit { action: Action::OAuthStart, per: Per::Client, max: 1, window: hour });
    oauth_tokens::start(&d, &ada, "a window", "test").await.unwrap();
    refused(&d, &grace).await;
    // From elsewhere, Grace's own account starts.
    oauth_tokens::start(&d, &grace.clone().from_address(None), "a window", "test").await.unwrap();
    d.quotas.set(Limit { action: Action::OAuthStart, per: Per::Total, max: 2, window: hour });
    refused(&d, &cy).await;
}

/// A callback in its state's last minute is refused as expired (its
/// exchange could outlast the place the state holds), and the place comes
/// back at once.
#[test]
fn a_callback_in_its_states_last_minute_is_refused_and_gives_its_place_back() {
    support::run(async {
        let mut app = app_with_provider().await;
        app.configure(|d| d.holdings.oauth_tokens = 1);
        let admin = app.sign_up(ADMIN).await;
        let other = app.log_in(ADMIN, app::domain::testing::PASSWORD).await.session().unwrap();
        enable_stripe(&app, ADMIN).await;
        let state = state_of(&start(&app, &admin).await);
        app.clock.advance(oauth_tokens::STATE_LIFETIME - chrono::Duration::seconds(30));
        let unchanged = Snapshot::take_except(&app.domain, &["oauth_states", "sessions"]).await;
        let late = callback(&app, Some(&admin), &format!("code=good-code&state={state}")).await;
        assert_eq!(late, "/account/oauth-tokens?oauth=invalid_state");
        unchanged.assert_unchanged(&app.domain).await;
        let listed = app.call("list_oauth_tokens", &[], Some(&other)).await.json();
        assert_eq!(listed["rows"], json!([]));
        start(&app, &other).await;
    })
}

/// A user whose changes are counted out is refused at the start, with when
/// to come back; one counted out between the start and Stripe's redirect
/// back is refused then, before the code is exchanged, with its own message.
#[test]
fn a_connection_past_the_change_count_is_refused_before_the_exchange() {
    use app::domain::core::quota::{Action, Limit, Per};
    support::run(async {
        let mut app = app_with_provider().await;
        let admin = app.sign_up(ADMIN).await;
        enable_stripe(&app, ADMIN).await;
        let state = state_of(&start(&app, &admin).await);
        app.configure(|d| {
            let hour = chrono::Duration::hours(1);
            d.quotas.set(Limit { action: Action::Change, per: Per::Actor, max: 1, window: hour });
        });
        let renamed = app.call(
            "update_name",
            // Another name than its own: a save of the same spends nothing.
            &[("first_name", "Augusta"), ("last_name", "Byron")],
            Some(&admin),
        );
        assert_eq!(renamed.await.status, StatusCode::OK);
        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("start_oauth", &[("token_type", "test")], Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
        assert!(refused.body.contains("Try again in"), "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        // "bad-code" would have answered "failed" had it reached the provider.
        let before = Snapshot::take_except(&app.domain, &["oauth_states"]).await;
        let refused = callback(&app, Some(&admin), &format!("code=bad-code&state={state}")).await;
        assert_eq!(refused, "/account/oauth-tokens?oauth=too_many");
        before.assert_unchanged(&app.domain).await;
        let page = app.page("/account/oauth-tokens?oauth=too_many", Some(&admin)).await;
        assert!(page.body.contains("as many changes as may be made for now"), "{}", page.body);
    })
}

/// Callbacks for one Stripe account at the same moment (the flow started in
/// several windows) add it once: the others refresh the token they find.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_at_the_same_moment_add_one_stripe_account_once() {
    use app::domain::entity::oauth_token;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (mut d, _) = app::domain::testing::fresh_concurrent_domain().await;
    d.oauth = Arc::new(oauth_config(&provider().await));
    let me = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    enable_stripe_on(&d, ADMIN).await;
    let session = "a session token";
    let mut states = Vec::new();
    for _ in 0..6 {
        states.push(state_of(&oauth_tokens::start(&d, &me, session, "test").await.unwrap()));
    }
    let tasks: Vec<_> = states
        .into_iter()
        .map(|state| {
            let (d, me) = (d.clone(), me.clone());
            tokio::spawn(async move {
                oauth_tokens::callback(&d, &me, session, &state, Some("good-code")).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(oauth_token::Entity::find().count(&d.db).await.unwrap(), 1);
}

/// A local provider that tells `asked` when a code reaches it and answers
/// only once `released` fires (or at once, after the first); "bad-code" is
/// refused. Its `/deauthorize` records into `disconnects`. Returns its URL.
async fn held_provider(
    asked: tokio::sync::oneshot::Sender<()>,
    released: tokio::sync::oneshot::Receiver<()>,
    disconnects: Disconnects,
) -> String {
    use axum::response::IntoResponse;
    use tokio::sync::Mutex;
    let gate = Arc::new(Mutex::new(Some((asked, released))));
    let token = post(move |body: String| {
        let gate = gate.clone();
        async move {
            // Taken before the wait: the lock is not held through it, so
            // another code meanwhile is answered at once.
            let first = gate.lock().await.take();
            if let Some((asked, released)) = first {
                let _ = asked.send(());
                let _ = released.await;
            }
            if body.contains("code=bad-code") {
                return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" })))
                    .into_response();
            }
            Json(json!({
                "access_token": ACCESS_TOKEN, "refresh_token": "rt_test_REFRESH",
                "token_type": "bearer", "stripe_user_id": "acct_1LocalTest",
                "livemode": false, "scope": "read_write"
            }))
            .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let router =
        axum::Router::new().route("/token", token).route("/deauthorize", deauthorize(disconnects));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// A domain on a fresh database whose Stripe is a [`held_provider`]: `heard`
/// fires when a code reaches it, `release` lets it answer.
struct HeldStripe {
    d: app::domain::Domain,
    clock: app::domain::core::clock::ManualClock,
    heard: tokio::sync::oneshot::Receiver<()>,
    release: tokio::sync::oneshot::Sender<()>,
    /// What its `/deauthorize` heard.
    disconnects: Disconnects,
}

async fn held_stripe() -> HeldStripe {
    let (asked, heard) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let disconnects = Disconnects::default();
    let url = held_provider(asked, released, disconnects.clone()).await;
    let (mut d, clock) = app::domain::testing::fresh_concurrent_domain().await;
    d.oauth = Arc::new(oauth_config(&url));
    HeldStripe { d, clock, heard, release, disconnects }
}

/// What the local provider's `/deauthorize` hears when the console
/// disconnects its test-mode Stripe account.
fn disconnected() -> (String, String, String) {
    ("ca_test_local".into(), "acct_1LocalTest".into(), format!("Bearer {SECRET}"))
}

/// Grace's account with Bob in it, Stripe on, and Bob's connection started
/// and its code at Stripe (`heard`), held there until released.
async fn bob_exchanging(
    d: &app::domain::Domain,
    heard: tokio::sync::oneshot::Receiver<()>,
) -> (
    app::domain::core::actor::Member,
    app::domain::core::actor::Member,
    tokio::task::JoinHandle<Result<app::model::OAuthTokenRow, oauth_tokens::CallbackRefusal>>,
) {
    let admin = app::domain::testing::account_with_admin(d, "Acme", ADMIN).await;
    let bob = app::domain::testing::add_user(d, admin.account_id(), MEMBER, false).await;
    enable_stripe_on(d, ADMIN).await;
    let state = state_of(&oauth_tokens::start(d, &bob, "bob's window", "test").await.unwrap());
    let exchanging = tokio::spawn({
        let (d, bob) = (d.clone(), bob.clone());
        async move { oauth_tokens::callback(&d, &bob, "bob's window", &state, Some("good-code")).await }
    });
    let waited = tokio::time::timeout(std::time::Duration::from_secs(10), heard).await;
    waited.expect("the code never reached Stripe").unwrap();
    (admin, bob, exchanging)
}

/// Waits for the domain's background work (a disconnect) to end.
async fn background_done(d: &app::domain::Domain) {
    d.background.close();
    let done = tokio::time::timeout(std::time::Duration::from_secs(10), d.background.wait());
    done.await.expect("the background work ended");
}

/// How many OAuth flows are in the database, claimed or not.
async fn states(d: &app::domain::Domain) -> u64 {
    use app::domain::entity::oauth_state;
    use sea_orm::{EntityTrait, PaginatorTrait};
    oauth_state::Entity::find().count(&d.db).await.unwrap()
}

/// A flow holds its place while Stripe exchanges its code (seconds, at
/// times): a start meanwhile, with no other place, is refused, so Stripe is
/// not sent to grant a connection that could not be kept. The exchange
/// runs to its end when the browser goes away (the request dropped), and a
/// flow refused, at Stripe or by Stripe, gives its place back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_holds_its_place_while_its_code_is_exchanged() {
    use tokio::time::{timeout, Duration};
    let HeldStripe { mut d, heard, release, .. } = held_stripe().await;
    d.holdings.oauth_tokens = 1;
    let me = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    enable_stripe_on(&d, ADMIN).await;
    let state = state_of(&oauth_tokens::start(&d, &me, "window one", "test").await.unwrap());
    let mut exchanging = tokio::spawn({
        let (d, me) = (d.clone(), me.clone());
        async move { oauth_tokens::callback(&d, &me, "window one", &state, Some("good-code")).await }
    });
    tokio::select! {
        asked = heard => asked.unwrap(),
        early = &mut exchanging => panic!("the callback ended before the exchange: {early:?}"),
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("the code never reached Stripe"),
    }
    let before = Snapshot::take(&d).await;
    let refused = oauth_tokens::start(&d, &me, "window two", "test").await;
    assert!(
        matches!(&refused, Err(app::model::AppError::Conflict(why)) if why.contains("1 connection to Stripe in progress")),
        "{refused:?}"
    );
    before.assert_unchanged(&d).await;
    // The browser goes (a closed tab drops the request), then Stripe
    // answers; a stopping server waits for the domain's background work.
    exchanging.abort();
    release.send(()).unwrap();
    d.background.close();
    timeout(Duration::from_secs(10), d.background.wait()).await.expect("the exchange ended");
    let stored = oauth_tokens::list(&d, &me).await.unwrap().rows;
    assert_eq!(stored.len(), 1, "the token was stored once the request was dropped");
    assert_eq!(states(&d).await, 0, "the token took its state's place");
    // A refused flow gives its place back at once: with the token deleted,
    // a flow declined at Stripe, then one whose code Stripe refuses, each
    // leave room for the next start.
    oauth_tokens::delete(&d, &me, stored[0].id).await.unwrap();
    // Each stores nothing (the flow it ends aside).
    let state = state_of(&oauth_tokens::start(&d, &me, "window one", "test").await.unwrap());
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    let declined = oauth_tokens::callback(&d, &me, "window one", &state, None).await;
    assert!(matches!(declined, Err(oauth_tokens::CallbackRefusal::Denied)), "{declined:?}");
    before.assert_unchanged(&d).await;
    let state = state_of(&oauth_tokens::start(&d, &me, "window two", "test").await.unwrap());
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    let failed = oauth_tokens::callback(&d, &me, "window two", &state, Some("bad-code")).await;
    assert!(matches!(failed, Err(oauth_tokens::CallbackRefusal::ExchangeFailed)), "{failed:?}");
    before.assert_unchanged(&d).await;
    assert_eq!(states(&d).await, 0);
    oauth_tokens::start(&d, &me, "window three", "test").await.unwrap();
}

/// A callback left less time than Stripe's answer may take (its claim
/// slow, or the limit short) does not send the code: cut short after Stripe
/// granted, the connection would be one the console never learns of. It is
/// refused before the request times out and before a change is counted,
/// stores nothing, gives its place back, and Stripe never hears the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_time_for_stripes_answer_does_not_send_the_code() {
    use tokio::time::{timeout, Duration};
    let HeldStripe { mut d, mut heard, .. } = held_stripe().await;
    let limit = app::domain::core::outbound::TIMEOUT;
    d.oauth = Arc::new(OAuthConfig { exchange_limit: limit, ..(*d.oauth).clone() });
    d.holdings.oauth_tokens = 1;
    let me = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    enable_stripe_on(&d, ADMIN).await;
    let state = state_of(&oauth_tokens::start(&d, &me, "window one", "test").await.unwrap());
    // The flow itself aside, which the refusal ends.
    let before = Snapshot::take_except(&d, &["oauth_states"]).await;
    let slow = oauth_tokens::callback(&d, &me, "window one", &state, Some("good-code"));
    let refused = timeout(Duration::from_secs(10), slow).await.expect("the callback waited on");
    assert!(matches!(refused, Err(oauth_tokens::CallbackRefusal::ExchangeFailed)), "{refused:?}");
    assert_eq!(heard.try_recv(), Err(tokio::sync::oneshot::error::TryRecvError::Empty));
    before.assert_nothing_counted(&d).await;
    assert_eq!(states(&d).await, 0);
    assert!(oauth_tokens::list(&d, &me).await.unwrap().rows.is_empty());
    oauth_tokens::start(&d, &me, "window two", "test").await.unwrap();
}

/// A token is stored only in its flow's place: a state that expired and was
/// cleaned up during the exchange (its place perhaps another start's since)
/// is refused as expired, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_cleaned_up_during_its_exchange_stores_nothing() {
    use tokio::time::{timeout, Duration};
    let HeldStripe { d, clock, heard, release, .. } = held_stripe().await;
    let me = app::domain::testing::account_with_admin(&d, "Acme", ADMIN).await;
    enable_stripe_on(&d, ADMIN).await;
    let state = state_of(&oauth_tokens::start(&d, &me, "window one", "test").await.unwrap());
    let exchanging = tokio::spawn({
        let (d, me) = (d.clone(), me.clone());
        async move { oauth_tokens::callback(&d, &me, "window one", &state, Some("good-code")).await }
    });
    timeout(Duration::from_secs(10), heard).await.expect("the code never reached Stripe").unwrap();
    clock.advance(oauth_tokens::STATE_LIFETIME + chrono::Duration::seconds(1));
    app::domain::jobs::forget_expired(&d).await.unwrap();
    assert_eq!(states(&d).await, 0);
    release.send(()).unwrap();
    let late = timeout(Duration::from_secs(10), exchanging).await.unwrap().unwrap();
    assert!(matches!(late, Err(oauth_tokens::CallbackRefusal::InvalidState)), "{late:?}");
    assert!(oauth_tokens::list(&d, &me).await.unwrap().rows.is_empty());
}

/// Where only the platform can help (Stripe not enabled, a second factor
/// lost), the pages and the refusal say where to write when a support
/// address is configured; the refusal changes nothing.
#[test]
fn where_only_the_platform_can_help_the_support_address_is_named() {
    // On a page, the address opens a new email to it.
    const LINKED: &str =
        "contact support at <a href=\"mailto:help@voice.example\">help@voice.example</a>";
    support::run(async {
        let mut app = TestApp::new().await;
        app.configure(|d| d.support_email = Some("help@voice.example".into()));
        let admin = app.sign_up(ADMIN).await;
        let page = app.page("/account/oauth-tokens", Some(&admin)).await;
        assert!(
            page.body.contains("Stripe is not enabled for this account yet. To have it enabled, ")
                && page.body.contains(LINKED),
            "{}",
            page.body
        );
        let before = Snapshot::take(&app.domain).await;
        let refused = app.call("start_oauth", &[("token_type", "test")], Some(&admin)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("contact support at help@voice.example"), "{}", refused.body);
        before.assert_unchanged(&app.domain).await;
        // Locked out of the second factor: who can turn it off.
        let code_step = app.page("/login/two-factor", None).await;
        assert!(code_step.body.contains(LINKED), "{}", code_step.body);
    })
}
