//! OAuth tokens of connected Stripe accounts, by the authorization-code
//! flow. Starting it stores a random `state` (hashed) bound to the session
//! that started it; the provider sends the browser back to the callback with
//! that state and a code, which is accepted once, within nine minutes, only
//! from the same session. The code is exchanged server-side for the token,
//! which is sealed. Tokens belong to the user who connected them. Deleting
//! the console's last token for a Stripe account disconnects that account
//! from the platform, so that deleting is not only forgetting; so does a
//! connection Stripe granted whose token the console then did not keep.
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::crypto::{new_token, token_hash};
use crate::domain::core::db::delete_found;
use crate::domain::core::limits;
use crate::domain::core::oauth_provider::CALLBACK_PATH;
use crate::domain::core::outbound::{self, OutboundError};
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::{lock_account, Deleting, Scoped};
use crate::domain::core::secrets::Sealed;
use crate::domain::core::Domain;
use crate::domain::entity::{account, oauth_state, oauth_token, user};
use crate::domain::features::certificates;
use crate::model::{ActivityKind, AppError, OAuthTokenRow, OAuthTokens};

pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// Why a Stripe connection is refused before the operator enabled Stripe.
pub fn not_enabled(d: &Domain) -> String {
    format!(
        "Stripe is not enabled for this account yet. To have it enabled, {}.",
        d.contact_support()
    )
}
pub const PROVIDER: &str = "stripe";
/// What an account's bound on tokens counts, in its refusal.
const FULL: &str = "OAuth tokens";

/// What is sealed: the tokens themselves.
#[derive(Serialize, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
}

/// The provider's answer to the code exchange (Stripe's field names).
#[derive(Deserialize)]
struct Exchange {
    access_token: String,
    refresh_token: Option<String>,
    stripe_user_id: String,
    livemode: bool,
}

/// What a sealed value of this table is bound to (see `operator::reseal_secrets`).
pub fn seal_context(account_id: i32, owner_id: i32) -> String {
    format!("oauth:{account_id}:{owner_id}")
}

fn row(model: &oauth_token::Model) -> OAuthTokenRow {
    OAuthTokenRow {
        id: model.id,
        token_type: if model.livemode { "Live" } else { "Test" }.into(),
        provider_account_id: model.provider_account_id.clone(),
        added: clock::shown(model.created_at),
    }
}

async fn enabled(d: &Domain, me: &Member) -> Result<bool, AppError> {
    let found = account::Entity::find_by_id(me.account_id()).one(&d.read).await?;
    Ok(found.map(|a| a.stripe_enabled).unwrap_or(false))
}

pub async fn list(d: &Domain, me: &Member) -> Result<OAuthTokens, AppError> {
    let rows = Scoped::of(me)
        .mine::<oauth_token::Entity>()
        .order_by_asc(oauth_token::Column::CreatedAt)
        .all(&d.read)
        .await?;
    Ok(OAuthTokens {
        enabled: enabled(d, me).await?,
        support_email: d.support_email.clone(),
        test: d.oauth.test.is_some(),
        live: d.oauth.live.is_some(),
        rows: rows.iter().map(row).collect(),
    })
}

/// Starts connecting a Stripe account of `token_type` (`test` or `live`):
/// returns the provider URL to send the browser to.
pub async fn start(
    d: &Domain,
    me: &Member,
    session_token: &str,
    token_type: &str,
) -> Result<String, AppError> {
    let livemode = match token_type {
        "live" => true,
        "test" => false,
        _ => return Err(AppError::field("token_type", "Choose Test or Live.")),
    };
    if !enabled(d, me).await? {
        return Err(AppError::Forbidden(not_enabled(d)));
    }
    me.verified(&d.db).await?;
    // The callback counts the connection as a change: a user whose count is
    // spent is told now, with when to come back, not after the trip to Stripe.
    let changer = Who { actor: Some(me.user_id()), client: me.address(), ..Who::default() };
    quota::refuse_spent(&d.read, &d.quotas, d.clock.now(), Action::Change, &changer).await?;
    let client = if livemode { &d.oauth.live } else { &d.oauth.test };
    let Some(client) = client else {
        tracing::error!(livemode, "no Stripe OAuth client is configured for this mode");
        return Err(AppError::Conflict(format!(
            "{} Stripe tokens cannot be added at the moment: connecting to Stripe in that mode \
             is not set up. Please {}.",
            if livemode { "Live" } else { "Test" },
            d.contact_support()
        )));
    };
    let state = new_token();
    // A full account is told before the trip to Stripe; reconnecting a
    // Stripe account it keeps needs room too (one deleted first), since
    // which account comes back is known only after the code is exchanged.
    // A connection in progress holds a place: two sessions' starts with one
    // place left would both be granted by Stripe, and the second grant
    // thrown away at its callback (and then disconnected, see `Granted`).
    let txn = d.begin().await?;
    lock_account(&txn, me.account_id()).await?;
    let held = Scoped::of(me).all::<oauth_token::Entity>().count(&txn).await?;
    let mut pending = in_progress(&txn, me, d.clock.now()).await?;
    let most = d.holdings.oauth_tokens;
    if held + pending >= most {
        // Without a place, this session's own flows not yet back (a Stripe
        // tab closed, the back button) are given up for this one: a retry
        // is not refused for their ten minutes.
        let own = oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::SessionHash.eq(token_hash(session_token)))
            .filter(oauth_state::Column::UserId.eq(me.user_id()))
            .exec(&txn)
            .await?;
        if own.rows_affected > 0 {
            pending = in_progress(&txn, me, d.clock.now()).await?;
        }
    }
    // Only a token's owner deletes it: the asker is told how many are theirs.
    let advice = match held > 0 && held + pending >= most {
        true => {
            Scoped::of(me).what_to_delete::<oauth_token::Entity>(&txn, Deleting::OwnersOnly).await?
        }
        false => String::new(),
    };
    limits::refuse_full(held + pending, most, || {
        let (connecting, waiting) = match pending {
            0 => (String::new(), String::new()),
            n => (
                match n {
                    1 => " and 1 connection to Stripe in progress".into(),
                    n => format!(" and {n} connections to Stripe in progress"),
                },
                format!(
                    "A connection started and not finished holds its place for {} minutes.",
                    STATE_LIFETIME.num_minutes()
                ),
            ),
        };
        let then = [advice.as_str(), waiting.as_str()].join(" ");
        format!(
            "This account has {held} {FULL}{connecting}, the most it can keep is {most}. {}",
            then.trim()
        )
    })?;
    // Read again under the lock, which disabling the user takes too.
    me.verified(&txn).await?;
    let who = Who {
        actor: Some(me.user_id()),
        account: Some(me.account_id()),
        client: me.address(),
        ..Who::default()
    };
    d.spend(&txn, Action::OAuthStart, &who).await?;
    oauth_state::ActiveModel {
        state_hash: Set(token_hash(&state)),
        session_hash: Set(token_hash(session_token)),
        user_id: Set(me.user_id()),
        livemode: Set(livemode),
        created_at: Set(d.clock.now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let redirect = format!("{}{CALLBACK_PATH}", d.public_url);
    let query = outbound::encode_form(&[
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("scope", "read_write"),
        ("state", state.as_str()),
        ("redirect_uri", redirect.as_str()),
    ]);
    Ok(format!("{}?{query}", d.oauth.authorize_url))
}

/// Why a callback was not accepted; each has a fixed message on the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackRefusal {
    /// No such state, another session's, expired or already used.
    InvalidState,
    /// The user declined at the provider.
    Denied,
    /// The provider did not give a token for the code.
    ExchangeFailed,
    /// The account keeps as many tokens as it may (connections started
    /// before it filled up).
    Full,
    /// The user's changes are counted out for now (`activity::count_change`).
    TooMany,
}

impl CallbackRefusal {
    pub fn key(self) -> &'static str {
        match self {
            CallbackRefusal::InvalidState => "invalid_state",
            CallbackRefusal::Denied => "denied",
            CallbackRefusal::ExchangeFailed => "failed",
            CallbackRefusal::Full => "full",
            CallbackRefusal::TooMany => "too_many",
        }
    }
}

/// The account's connections to Stripe started and not yet finished, nor
/// expired: each holds a place among the account's tokens, from its start
/// until its token is stored or it is refused ([`CLAIMED`] during the
/// exchange).
async fn in_progress(
    txn: &DatabaseTransaction,
    me: &Member,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, AppError> {
    let users = Scoped::of(me).users().select_only().column(user::Column::Id).into_query();
    Ok(oauth_state::Entity::find()
        .filter(oauth_state::Column::UserId.in_subquery(users))
        .filter(oauth_state::Column::CreatedAt.gte(now - STATE_LIFETIME))
        .count(txn)
        .await?)
}

/// What a claimed state's session becomes: no session's hash (those are
/// hex), so the state cannot be claimed twice, while it keeps holding its
/// place (`in_progress`) through the exchange, until the token is stored in
/// its stead or the flow is refused.
const CLAIMED: &str = "claimed";

/// More than a code's exchange may take (`OAuthConfig::exchange_limit`):
/// a callback is taken only this long before its state expires.
const EXCHANGE_MARGIN: Duration = Duration::minutes(1);

/// What the outbound call's own timeout may start after the last check
/// that it fits before a callback's deadline (see `exchange_and_write`).
const SEND_MARGIN: std::time::Duration = std::time::Duration::from_millis(250);

/// The provider's redirect back. `state` must be one this session started
/// and not yet used; it is used up here whatever happens next.
pub async fn callback(
    d: &Domain,
    me: &Member,
    session_token: &str,
    state: &str,
    code: Option<&str>,
) -> Result<OAuthTokenRow, CallbackRefusal> {
    // Run to its end, from the claim on, even if the request is dropped (a
    // closed tab): a claimed state would otherwise hold its place, out of
    // its session's reach, until it expired. A stopping server waits for
    // it (`Domain::background`). Its logs keep the request's id.
    let hash = token_hash(state);
    let (d, me) = (d.clone(), me.clone());
    let (session_hash, code) = (token_hash(session_token), code.map(str::to_owned));
    let work = d.background.spawn(
        {
            let hash = hash.clone();
            let d = d.clone();
            async move { claim_and_keep(&d, &me, &session_hash, &hash, code.as_deref()).await }
        }
        .instrument(tracing::Span::current()),
    );
    match work.await {
        Ok(finished) => finished,
        Err(err) => {
            tracing::error!(error = %err, "an OAuth callback's task failed");
            give_back_claimed(&d, &hash).await;
            Err(CallbackRefusal::ExchangeFailed)
        }
    }
}

/// Gives back the place of a flow this request may have claimed, when it
/// cannot tell (its task panicked, or its claim outlasted the limit). Were
/// the same link opened twice at once, this could be the other request's
/// claim: that one is then refused as expired when it comes to store its
/// token (nothing is stored but in its state's place).
async fn give_back_claimed(d: &Domain, hash: &str) {
    let gone = oauth_state::Entity::delete_many()
        .filter(oauth_state::Column::StateHash.eq(hash))
        .filter(oauth_state::Column::SessionHash.eq(CLAIMED))
        .exec(&d.db)
        .await;
    if let Err(err) = gone {
        // Its place comes back when it expires, ten minutes after its start.
        tracing::warn!(error = %err, "a failed OAuth flow's state was not removed");
    }
}

/// [`callback`]'s work: claims the state, then exchanges its code and keeps
/// the token, both within the exchange limit, or gives the state's place
/// back.
async fn claim_and_keep(
    d: &Domain,
    me: &Member,
    session_hash: &str,
    hash: &str,
    code: Option<&str>,
) -> Result<OAuthTokenRow, CallbackRefusal> {
    let limit = d.oauth.exchange_limit;
    let deadline = tokio::time::Instant::now() + limit;
    let too_long = || {
        tracing::warn!(seconds = limit.as_secs(), "an OAuth callback took too long");
        CallbackRefusal::ExchangeFailed
    };
    let found = match tokio::time::timeout_at(deadline, claim(d, me, session_hash, hash)).await {
        Ok(found) => found?,
        Err(_) => {
            give_back_claimed(d, hash).await;
            return Err(too_long());
        }
    };
    // Taken only while the exchange can end within the state's lifetime,
    // so the state holds its place (`in_progress`) until it is done.
    let finished = if d.clock.now() - found.created_at > STATE_LIFETIME - EXCHANGE_MARGIN {
        Err(CallbackRefusal::InvalidState)
    } else {
        // Dropped at the deadline, its transaction rolls back: nothing is
        // stored. Its commit is not timed: cut short, the tab would say the
        // connection failed while listing its token.
        let exchange = exchange_and_write(d, me, &found, code, deadline);
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(Ok((txn, model, granted))) => match txn.commit().await {
                Ok(()) => {
                    granted.kept();
                    Ok(row(&model))
                }
                Err(_) => Err(CallbackRefusal::ExchangeFailed),
            },
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => Err(too_long()),
        }
    };
    // Stored, the token took the state's place in the same transaction.
    if finished.is_err() {
        let gone = oauth_state::Entity::delete_by_id(hash).exec(&d.db).await;
        if let Err(err) = gone {
            // Its place comes back when it expires, ten minutes after its start.
            tracing::warn!(error = %err, "a refused OAuth flow's state was not removed");
        }
    }
    finished
}

/// Claims the state `hash` for this session's callback: it then holds its
/// place, out of any other callback's reach. Not this session's, or not
/// there: refused, nothing claimed.
async fn claim(
    d: &Domain,
    me: &Member,
    session_hash: &str,
    hash: &str,
) -> Result<oauth_state::Model, CallbackRefusal> {
    let internal = |_| CallbackRefusal::ExchangeFailed;
    let found = oauth_state::Entity::find_by_id(hash).one(&d.db).await.map_err(internal)?;
    let Some(found) = found else { return Err(CallbackRefusal::InvalidState) };
    let claimed = oauth_state::Entity::update_many()
        .col_expr(oauth_state::Column::SessionHash, Expr::value(CLAIMED))
        .filter(oauth_state::Column::StateHash.eq(hash))
        .filter(oauth_state::Column::SessionHash.eq(session_hash))
        .filter(oauth_state::Column::UserId.eq(me.user_id()))
        .exec(&d.db)
        .await
        .map_err(internal)?;
    match claimed.rows_affected {
        1 => Ok(found),
        _ => Err(CallbackRefusal::InvalidState),
    }
}

/// A connection Stripe granted, until its token is kept ([`Granted::kept`]).
/// Dropped before (refused after the exchange: the account full or the
/// user disabled meanwhile; cut short at the deadline; its commit failed),
/// it is disconnected as a deleted token's is, unless the console holds
/// another token for that Stripe account: otherwise the platform's secret
/// could act on an account whose owner was told it was not connected.
/// As background work, since a drop cannot wait, and the request may be
/// gone.
struct Granted {
    d: Domain,
    connection: Option<Connection>,
}

impl Granted {
    fn kept(mut self) {
        self.connection = None;
    }
}

impl Drop for Granted {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else { return };
        tracing::warn!(
            stripe_account = connection.stripe_account,
            "a granted Stripe connection was not kept: it is disconnected unless the console holds another token for it"
        );
        let d = self.d.clone();
        let work = async move { disconnect_unless_held(&d, connection, GRANT_NOT_KEPT).await };
        self.d.background.spawn(work.instrument(tracing::Span::current()));
    }
}

/// A Stripe account connected to the platform through a token of the
/// console: what Stripe's deauthorize needs to end it.
struct Connection {
    /// The console's account the token was for (outbound calls are counted to it).
    account_id: i32,
    livemode: bool,
    stripe_account: String,
}

impl Connection {
    fn of(token: &oauth_token::Model) -> Connection {
        Connection {
            account_id: token.account_id,
            livemode: token.livemode,
            stripe_account: token.provider_account_id.clone(),
        }
    }
}

/// Why a connection is ended, as the log says it.
const LAST_TOKEN_DELETED: &str = "its last token was deleted";
const GRANT_NOT_KEPT: &str = "it was granted but its token not kept";
const NEVER_OPENS_DROPPED: &str = "its token could never open again and went with its owner";

/// The Stripe accounts of tokens a hand-over dropped because they could
/// never open again: as for a deleted token, each is disconnected unless
/// the console holds another token for it, once the hand-over committed.
#[derive(Default)]
#[must_use = "disconnect them once the hand-over has committed"]
pub struct Dropped(Vec<Connection>);

impl Dropped {
    /// Called after the commit, so that the count of tokens left sees the
    /// dropped ones gone (were it rolled back, they are counted and nothing
    /// is disconnected). Each is started before any is awaited: they run
    /// at once, and to their end even if the request goes away.
    pub async fn disconnect_unless_held(self, d: &Domain) {
        let started: Vec<_> = (self.0.into_iter())
            .map(|connection| {
                let d2 = d.clone();
                let work = async move {
                    disconnect_unless_held(&d2, connection, NEVER_OPENS_DROPPED).await
                };
                d.background.spawn(work.instrument(tracing::Span::current()))
            })
            .collect();
        for work in started {
            if let Err(err) = work.await {
                tracing::error!(error = %err, "a dropped token's disconnect failed");
            }
        }
    }
}

/// The rest of [`callback`], once its state is claimed: the code exchanged
/// and the token written in place of its state, in the transaction
/// returned for the caller to commit (and then to mark the grant kept).
async fn exchange_and_write(
    d: &Domain,
    me: &Member,
    found: &oauth_state::Model,
    code: Option<&str>,
    deadline: tokio::time::Instant,
) -> Result<(DatabaseTransaction, oauth_token::Model, Granted), CallbackRefusal> {
    let internal = |_| CallbackRefusal::ExchangeFailed;
    let Some(code) = code.filter(|c| !c.is_empty()) else { return Err(CallbackRefusal::Denied) };
    // Filled up since the start (another window): the code is not exchanged,
    // so Stripe completes no connection that would not be kept.
    let held = Scoped::of(me).all::<oauth_token::Entity>().count(&d.db).await.map_err(internal)?;
    if held >= d.holdings.oauth_tokens {
        return Err(CallbackRefusal::Full);
    }
    // Disabled since the callback's session was checked: Stripe is not sent
    // to grant a connection that the write below would throw away (it is
    // checked again there, for one disabled during the exchange), and no
    // change is counted.
    me.verified(&d.db).await.map_err(|err| match err {
        AppError::Internal => CallbackRefusal::ExchangeFailed,
        _ => CallbackRefusal::InvalidState,
    })?;
    // The code is sent only while the call's own timeout ends before the
    // deadline: cut short by the deadline after Stripe granted, its answer
    // unread, the connection would be one the console never learns of, and
    // so never ends. Checked before the change is counted (a refusal spends
    // nothing), and again just before the call.
    let no_time_for_answer = || {
        let late = tokio::time::Instant::now() + outbound::TIMEOUT + SEND_MARGIN > deadline;
        if late {
            tracing::warn!("an OAuth callback had too little time left to exchange its code");
        }
        late
    };
    if no_time_for_answer() {
        return Err(CallbackRefusal::ExchangeFailed);
    }
    let by = match activity::count_change(d, me).await {
        Ok(counted) => By::Member(counted),
        Err(AppError::TooManyRequests(_)) => return Err(CallbackRefusal::TooMany),
        Err(_) => return Err(CallbackRefusal::ExchangeFailed),
    };
    let client = if found.livemode { &d.oauth.live } else { &d.oauth.test };
    let client = client.as_ref().ok_or(CallbackRefusal::ExchangeFailed)?;
    let failed = |err: OutboundError| {
        if err.unanswered() {
            // Sent within the deadline, but unanswered: Stripe may have
            // granted the connection after all.
            tracing::error!(
                error = %err,
                "Stripe did not answer a code exchange in time: a connection it granted after all is unknown to the console; check the platform's connected accounts in Stripe's dashboard"
            );
        } else {
            tracing::warn!(error = %err, "the OAuth code exchange failed");
        }
        CallbackRefusal::ExchangeFailed
    };
    let url = d.oauth.token_url.as_str();
    let identity = certificates::identity_for_url(d, me.account_id(), url).await.map_err(failed)?;
    if no_time_for_answer() {
        return Err(CallbackRefusal::ExchangeFailed);
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_secret", client.secret.as_str()),
    ];
    let answer = d.outbound.send("POST", url, Some(&form), None, identity).await.map_err(failed)?;
    if answer.status != 200 {
        tracing::warn!(status = answer.status, "the OAuth provider refused the code");
        return Err(CallbackRefusal::ExchangeFailed);
    }
    let exchange: Exchange =
        serde_json::from_str(&answer.body).map_err(|_| CallbackRefusal::ExchangeFailed)?;
    // Granted from here, whatever follows: ended with the secret of the
    // mode that was asked (the client that exchanged the code).
    let connection = Connection {
        account_id: me.account_id(),
        livemode: found.livemode,
        stripe_account: exchange.stripe_user_id.clone(),
    };
    let granted = Granted { d: d.clone(), connection: Some(connection) };
    if exchange.livemode != found.livemode {
        tracing::warn!("the OAuth provider answered for the other mode");
        return Err(CallbackRefusal::ExchangeFailed);
    }
    let (txn, model) = keep(d, me, found, exchange, by).await?;
    Ok((txn, model, granted))
}

/// The token Stripe gave for `found`'s code, written in place of its state
/// (or refused: the user disabled, or the account full, meanwhile).
async fn keep(
    d: &Domain,
    me: &Member,
    found: &oauth_state::Model,
    exchange: Exchange,
    by: By<'_>,
) -> Result<(DatabaseTransaction, oauth_token::Model), CallbackRefusal> {
    let internal = |_| CallbackRefusal::ExchangeFailed;
    let sealed_json = serde_json::to_string(&Tokens {
        access_token: exchange.access_token,
        refresh_token: exchange.refresh_token,
    })
    .map_err(|_| CallbackRefusal::ExchangeFailed)?;
    let sealed = d.secrets.seal(&sealed_json, &seal_context(me.account_id(), me.user_id()));
    let now = d.clock.now();
    let txn = d.begin().await.map_err(internal)?;
    // Connecting the same Stripe account again in the same mode refreshes the
    // user's token for it rather than listing it twice; the row keeps its id,
    // so deployments that use it go on working, with the new token. Looked
    // up under the account's lock, so two callbacks at once (two windows)
    // cannot both add it.
    lock_account(&txn, me.account_id()).await.map_err(|_| CallbackRefusal::ExchangeFailed)?;
    // A user disabled while this waited has no session left to use it: as
    // if the connection had not been started by it.
    me.verified(&txn).await.map_err(|_| CallbackRefusal::InvalidState)?;
    let earlier = Scoped::of(me)
        .mine::<oauth_token::Entity>()
        .filter(oauth_token::Column::Provider.eq(PROVIDER))
        .filter(oauth_token::Column::Livemode.eq(exchange.livemode))
        .filter(oauth_token::Column::ProviderAccountId.eq(exchange.stripe_user_id.as_str()))
        .one(&txn)
        .await
        .map_err(internal)?;
    // Checked again under the lock: callbacks at the same moment.
    if earlier.is_none() {
        let most = d.holdings.oauth_tokens;
        let scope = Scoped::of(me);
        let full =
            scope.refuse_full::<oauth_token::Entity>(&txn, most, FULL, Deleting::OwnersOnly).await;
        full.map_err(|err| match err {
            AppError::Conflict(_) => CallbackRefusal::Full,
            _ => CallbackRefusal::ExchangeFailed,
        })?;
    }
    let model = match earlier {
        Some(model) => {
            let mut active = model.into_active_model();
            active.key_id = Set(sealed.key_id);
            active.ciphertext = Set(sealed.ciphertext);
            active.created_at = Set(now);
            active.update(&txn).await
        }
        None => {
            oauth_token::ActiveModel {
                account_id: Set(me.account_id()),
                owner_id: Set(me.user_id()),
                provider: Set(PROVIDER.into()),
                livemode: Set(exchange.livemode),
                provider_account_id: Set(exchange.stripe_user_id),
                key_id: Set(sealed.key_id),
                ciphertext: Set(sealed.ciphertext),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
        }
    }
    .map_err(internal)?;
    let event = Event::new(ActivityKind::OAuthTokenAdded, token_name(&model));
    activity::record(d, &txn, by, event).await.map_err(|_| CallbackRefusal::ExchangeFailed)?;
    // The state holds the place the token takes, unless it expired and was
    // cleaned up meanwhile: then another start may have taken the place.
    let state = oauth_state::Entity::delete_by_id(found.state_hash.clone());
    if state.exec(&txn).await.map_err(internal)?.rows_affected != 1 {
        return Err(CallbackRefusal::InvalidState);
    }
    Ok((txn, model))
}

/// Deletes the user's token. When no token of the console (in any account,
/// either mode) is left for its Stripe account, Stripe is then asked to
/// disconnect that account from the platform: until then the platform's
/// secret could still act on it, whatever the console forgot. Another
/// token for it, a colleague's or another account's, keeps the connection,
/// which theirs needs.
///
/// Counted after the commit: of two deletes at once of the last two tokens
/// (in two accounts, whose locks differ), the later to count sees both
/// gone. A callback storing a new token for that Stripe account between
/// the count and Stripe's answer would keep a token Stripe no longer
/// honours; the log says so (see `disconnect`).
pub async fn delete(d: &Domain, me: &Member, id: i32) -> Result<(), AppError> {
    let found = Scoped::of(me).find_mine::<oauth_token::Entity>(&d.db, id).await?;
    let event = Event::new(ActivityKind::OAuthTokenDeleted, token_name(&found));
    let found = activity::with_event(d, By::Remedy(me), event, async |txn| {
        // Read again under the lock a hand-over takes: a token passed to an
        // admin is not this user's to delete.
        lock_account(txn, me.account_id()).await?;
        me.active(txn).await?;
        let found = Scoped::of(me).find_mine::<oauth_token::Entity>(txn, found.id).await?;
        delete_found::<oauth_token::Entity>(txn, found.id).await?;
        Ok(found)
    })
    .await?;
    // The token is gone whatever follows: a failure from here is logged,
    // not answered as a delete that failed. Run to its end (or its
    // warning) even if the request goes away: a closed tab must not leave
    // the account connected unseen.
    let d2 = d.clone();
    let work = async move {
        disconnect_unless_held(&d2, Connection::of(&found), LAST_TOKEN_DELETED).await
    };
    if let Err(err) = d.background.spawn(work.instrument(tracing::Span::current())).await {
        tracing::error!(error = %err, "a deleted token's disconnect failed");
    }
    Ok(())
}

/// How many tokens of the console, in any account and either mode, are for
/// the Stripe account `stripe_account`.
async fn tokens_for(d: &Domain, stripe_account: &str) -> Result<u64, AppError> {
    Ok(oauth_token::Entity::find()
        .filter(oauth_token::Column::Provider.eq(PROVIDER))
        .filter(oauth_token::Column::ProviderAccountId.eq(stripe_account))
        .count(&d.db)
        .await?)
}

/// Asks Stripe to disconnect `connection` from the platform (`why`: its
/// last token deleted, or its grant not kept), unless a token of the
/// console (a colleague's, another account's) is left for its Stripe
/// account: theirs needs the connection. Counted here, after the commit
/// that removed the token (or that never stored it), so of two at once
/// the later to count sees both gone.
async fn disconnect_unless_held(d: &Domain, connection: Connection, why: &'static str) {
    match tokens_for(d, &connection.stripe_account).await {
        Ok(0) => disconnect(d, &connection, why).await,
        Ok(_) => tracing::info!(
            stripe_account = connection.stripe_account,
            reason = why,
            "a Stripe account stays connected: the console holds another token for it"
        ),
        Err(err) => tracing::warn!(
            stripe_account = connection.stripe_account,
            reason = why,
            error = %err,
            "a Stripe account may still be connected: check it in Stripe's dashboard"
        ),
    }
}

/// Asks Stripe to disconnect `connection`'s account from the platform. Not
/// undone when Stripe cannot be reached or refuses: the token is gone (or
/// was never kept) either way, and the log names the account for an
/// operator to disconnect in Stripe's dashboard.
async fn disconnect(d: &Domain, connection: &Connection, why: &'static str) {
    let stripe_account = connection.stripe_account.as_str();
    let client = if connection.livemode { &d.oauth.live } else { &d.oauth.test };
    let Some(client) = client else {
        tracing::warn!(
            stripe_account,
            reason = why,
            "a Stripe account was not disconnected: no client for its mode"
        );
        return;
    };
    let form = [("client_id", client.client_id.as_str()), ("stripe_user_id", stripe_account)];
    let url = &d.oauth.deauthorize_url;
    let secret = Some(client.secret.as_str());
    let account_id = connection.account_id;
    match certificates::send_for_account(d, account_id, "POST", url, Some(&form), secret).await {
        Ok(answer) if answer.status == 200 => {
            tracing::info!(stripe_account, reason = why, "a Stripe account was disconnected");
            // Connected again meanwhile (a callback that stored its token
            // after the count): that token no longer works at Stripe. One
            // whose commit lands after this count is not seen: the race is
            // at Stripe, which no lock here closes.
            if tokens_for(d, stripe_account).await.is_ok_and(|held| held > 0) {
                tracing::warn!(
                    stripe_account,
                    reason = why,
                    "a token stored while its Stripe account was being disconnected no longer works: its owner connects it again"
                );
            }
        }
        Ok(answer) => tracing::warn!(
            stripe_account,
            reason = why,
            status = answer.status,
            "Stripe refused to disconnect an account: disconnect it in Stripe's dashboard"
        ),
        Err(err) => tracing::warn!(
            stripe_account,
            reason = why,
            error = %err,
            "a Stripe account was not disconnected: disconnect it in Stripe's dashboard"
        ),
    }
}

/// How events name a token: its mode and the provider's account id (never the token).
fn token_name(model: &oauth_token::Model) -> String {
    let mode = if model.livemode { "live" } else { "test" };
    format!("Stripe {mode} {}", model.provider_account_id)
}

/// The access token, for the server's own calls to Stripe. Never for a browser.
pub async fn access_token(d: &Domain, me: &Member, id: i32) -> Result<String, AppError> {
    let found = Scoped::of(me).find_mine::<oauth_token::Entity>(&d.db, id).await?;
    let sealed = Sealed { key_id: found.key_id.clone(), ciphertext: found.ciphertext.clone() };
    let text = d.secrets.open(&sealed, &seal_context(found.account_id, found.owner_id)).map_err(
        |err| {
            tracing::error!(token = found.id, error = %err, "an OAuth token does not open");
            AppError::Internal
        },
    )?;
    let tokens: Tokens = serde_json::from_str(&text).map_err(|_| AppError::Internal)?;
    Ok(tokens.access_token)
}

/// A deleted user's tokens pass to the admin who deleted them, re-sealed for
/// their new owner (the owner is part of what the seal is bound to).
///
/// Two kinds are not passed on but deleted, so that the user can always be
/// deleted and the admin lists each Stripe account once:
/// - a token for a Stripe account and mode the admin holds one for too
///   (connecting it again refreshes one token in place, never two): the
///   admin's is kept, unless it can never open again and the other opens;
///   the deployments that used the other use the one kept;
/// - a token that can never open again ([`Opening::Never`]): nobody can use
///   it, and failing on it would keep its owner from ever being deleted.
///   Its deletion is returned as an event for the caller to record: the
///   numbers that used it run without a token until the admin connects that
///   Stripe account again. (So is that of the admin's own that can never
///   open, replaced by the one passed on.) Its Stripe account is returned
///   too, for the caller to disconnect after its commit as a deleted
///   token's ([`Dropped`]).
///
/// A token under a key this process lacks and nobody declared lost
/// (another host's) refuses the deletion, naming the token: it changes
/// nothing and can be tried again once the key file is here.
pub async fn hand_over(
    d: &Domain,
    txn: &DatabaseTransaction,
    from: i32,
    to: i32,
) -> Result<(Vec<Event>, Dropped), AppError> {
    let (mut events, mut dropped) = (Vec::new(), Dropped::default());
    // In a fixed order, so a refusal names the same token each time.
    let theirs = oauth_token::Entity::find()
        .filter(oauth_token::Column::OwnerId.eq(from))
        .order_by_asc(oauth_token::Column::Id)
        .all(txn)
        .await?;
    for token in theirs {
        let held = oauth_token::Entity::find()
            .filter(oauth_token::Column::OwnerId.eq(to))
            .filter(oauth_token::Column::Provider.eq(token.provider.as_str()))
            .filter(oauth_token::Column::Livemode.eq(token.livemode))
            .filter(oauth_token::Column::ProviderAccountId.eq(token.provider_account_id.as_str()))
            .one(txn)
            .await?;
        let broken = match held {
            Some(held) => match opening(d, &held) {
                Opening::Opens(_) => {
                    merge_into(txn, token.id, held.id).await?;
                    continue;
                }
                Opening::Never => Some(held),
                Opening::NotHere => return Err(not_here(d, &held)),
            },
            None => None,
        };
        let text = match opening(d, &token) {
            Opening::Opens(text) => text,
            Opening::Never => {
                // Its deployments' links go with it (the foreign key cascades).
                delete_found::<oauth_token::Entity>(txn, token.id).await?;
                dropped.0.push(Connection::of(&token));
                events.push(
                    Event::new(ActivityKind::OAuthTokenDeleted, token_name(&token))
                        .detail("it could no longer be opened: connect this Stripe account again"),
                );
                continue;
            }
            Opening::NotHere => return Err(not_here(d, &token)),
        };
        if let Some(broken) = broken {
            merge_into(txn, broken.id, token.id).await?;
            events.push(
                Event::new(ActivityKind::OAuthTokenDeleted, token_name(&broken))
                    .detail("it could no longer be opened: the one passed on replaces it"),
            );
        }
        let resealed = d.secrets.seal(&text, &seal_context(token.account_id, to));
        let mut active = token.into_active_model();
        active.owner_id = Set(to);
        active.key_id = Set(resealed.key_id);
        active.ciphertext = Set(resealed.ciphertext);
        active.update(txn).await?;
    }
    Ok((events, dropped))
}

/// Whether a stored token opens for its owner.
enum Opening {
    Opens(String),
    /// Never again: sealed under a key the operator declared lost
    /// ([`Domain::lost_keys`]), or altered or damaged. Logged; the hand-over
    /// drops it, with an event in the account's activity log.
    Never,
    /// Sealed under a key this process does not hold and nobody declared
    /// lost: another host's, until the key file is copied here. Logged.
    NotHere,
}

fn opening(d: &Domain, token: &oauth_token::Model) -> Opening {
    use crate::domain::core::secrets::SecretError;
    let sealed = Sealed { key_id: token.key_id.clone(), ciphertext: token.ciphertext.clone() };
    match d.secrets.open(&sealed, &seal_context(token.account_id, token.owner_id)) {
        Ok(text) => Opening::Opens(text),
        Err(SecretError::UnknownKey(key)) if !d.lost_keys.contains(&key) => {
            tracing::error!(token = token.id, key, "an OAuth token's key is not here");
            Opening::NotHere
        }
        Err(err) => {
            tracing::warn!(token = token.id, error = %err, "an OAuth token will never open");
            Opening::Never
        }
    }
}

/// Why a user is not deleted yet: `token` (theirs, or the admin's for the
/// same Stripe account) is under another host's key.
fn not_here(d: &Domain, token: &oauth_token::Model) -> AppError {
    AppError::Conflict(format!(
        "The OAuth token {} does not open on this server yet (its key has not reached it): \
         nothing was deleted. Try again later; if it goes on, {}.",
        token_name(token),
        d.contact_support()
    ))
}

/// Deletes the token `gone`, the deployments that used it using `kept`.
async fn merge_into(txn: &DatabaseTransaction, gone: i32, kept: i32) -> Result<(), AppError> {
    use crate::domain::entity::deployment_token;
    deployment_token::Entity::update_many()
        .col_expr(deployment_token::Column::OauthTokenId, kept.into())
        .filter(deployment_token::Column::OauthTokenId.eq(gone))
        .exec(txn)
        .await?;
    delete_found::<oauth_token::Entity>(txn, gone).await
}
