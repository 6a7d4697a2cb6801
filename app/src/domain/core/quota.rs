//! Limits on every action that sends an email or spends a shared resource:
//! per recipient address, per acting user, per account, per client address
//! and in total, each a count within a window. The counts live in the
//! database so that every server process sees the same ones.
//!
//! [`spend`] runs inside the transaction that writes the email (or takes the
//! number): a refused action rolls back with everything it counted, so no
//! email is written and no other count moves. Each count is taken by one
//! conditional UPDATE (`count < max`), so a burst of parallel requests admits
//! at most `max` however they interleave.
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::core::crypto::token_hash;
use crate::domain::core::db;
use crate::domain::entity::quota_counter as counter;
use crate::model::AppError;

/// The limited actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// A password-reset link, asked for by the user or sent by an admin.
    PasswordReset,
    /// A verification link to a sign-up's address: the sign-up's first,
    /// and each one resent.
    Verification,
    /// An invitation (activation link), first or resent.
    Invitation,
    /// An email-change confirmation to a new address.
    EmailChange,
    /// A new account.
    SignUp,
    /// A phone number taken from the provider.
    NumberRequest,
    /// The same, by an account on the demo plan. It holds one number, but
    /// each one it gives back rests out the provider's cool-down, out of
    /// everyone's reach: counted over as long, a request-and-release loop
    /// cannot empty the shared stock.
    DemoNumberRequest,
    /// Two-factor authentication turned on, which emails the user (as turning
    /// it off does; that needs it on first, so this bounds both).
    TwoFactorOn,
    /// A password changed by its signed-in user, which emails them a
    /// notice: bounded per user, since the current password is all it
    /// takes, and in total, since verified accounts add up over time.
    PasswordChange,
    /// A developer key made or given a new secret, which emails its user a
    /// notice: bounded per user (the password and a session are all it
    /// takes) and in total, as a password change is.
    DeveloperKey,
    /// A two-factor set-up started: a new secret sealed and written in
    /// place of the pending one. Not a change (the activity log has no
    /// event for it, and a spent change count must not keep anyone from
    /// securing their account), but each is a write, so a loop is bounded.
    TwoFactorSetup,
    /// A log-in with the right password. Each opens a session (or a code
    /// step) and writes a sign-in event, and each costs a password hash:
    /// only the password's owner can count per user, so that bound cannot
    /// lock anyone else out, and a refusal comes before the hash. Per client
    /// address too, for a client signing in to many accounts of its own.
    SignIn,
    /// A signed-in user's password asked again before a sensitive change
    /// (reauth), right or wrong: each costs a password hash, and a right
    /// one clears the guessing throttle, so without this count a loop of
    /// right passwords would hold the hashing thread without end.
    PasswordCheck,
    /// A CSV download of the Activity tab: up to 100,000 events read and
    /// written out (in batches of a thousand), asked for by any admin, and
    /// every sign-up is one.
    ActivityExport,
    /// A Stripe connection started: a state row kept until it is used or
    /// expires, and at most one call to Stripe with the platform's secret,
    /// whose rate limits every account shares.
    OAuthStart,
    /// An address asked for by a signed-in user (an invitation, a new
    /// address for a user or oneself): the answer "taken" tells whether the
    /// address has an account anywhere on the platform, which sign-up counts
    /// too.
    AddressLookup,
    /// A change a signed-in user makes to their account (anything the
    /// activity log records, except removals and remedies): each writes an
    /// event kept for a year (see `activity::count_change`).
    Change,
    /// A new password judged for guessability (sign-up, a reset or
    /// activation link): up to about 60 ms of CPU each, asked by people not
    /// signed in, before any other count (`validation::new_password`).
    PasswordStrength,
    /// A request to the JSON API with a valid developer key: each reads
    /// the account (a search of its users may read all of them) on the one
    /// database every account shares, asked by a script that never tires.
    ApiRequest,
    /// A request to the JSON API with a key that is no key: it names no
    /// user, so only its client address and everyone's total count it.
    /// Each one counted is a write. Past its address's count a wrong key is
    /// refused (429) by reads alone; once the total is spent, wrong keys
    /// from anywhere are answered 401 as before but no longer counted, so a
    /// crowd of addresses cannot turn made-up keys into writes without end,
    /// nor make a revoked key's script wait for a Retry-After, and right
    /// keys go on working.
    WrongApiKey,
}

impl Action {
    pub const ALL: [Action; 20] = [
        Action::PasswordReset,
        Action::Verification,
        Action::Invitation,
        Action::EmailChange,
        Action::SignUp,
        Action::NumberRequest,
        Action::DemoNumberRequest,
        Action::TwoFactorOn,
        Action::PasswordChange,
        Action::DeveloperKey,
        Action::TwoFactorSetup,
        Action::SignIn,
        Action::PasswordCheck,
        Action::ActivityExport,
        Action::OAuthStart,
        Action::AddressLookup,
        Action::Change,
        Action::PasswordStrength,
        Action::ApiRequest,
        Action::WrongApiKey,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Action::PasswordReset => "password_reset",
            Action::Verification => "verification",
            Action::Invitation => "invitation",
            Action::EmailChange => "email_change",
            Action::SignUp => "sign_up",
            Action::NumberRequest => "number_request",
            Action::DemoNumberRequest => "demo_number_request",
            Action::TwoFactorOn => "two_factor_on",
            Action::PasswordChange => "password_change",
            Action::DeveloperKey => "developer_key",
            Action::TwoFactorSetup => "two_factor_setup",
            Action::SignIn => "sign_in",
            Action::PasswordCheck => "password_check",
            Action::ActivityExport => "activity_export",
            Action::OAuthStart => "oauth_start",
            Action::AddressLookup => "address_lookup",
            Action::Change => "change",
            Action::PasswordStrength => "password_strength",
            Action::ApiRequest => "api_request",
            Action::WrongApiKey => "wrong_api_key",
        }
    }

    /// What the refusal calls it.
    fn what(self) -> &'static str {
        match self {
            Action::PasswordReset => "password-reset emails",
            Action::Verification => "verification emails",
            Action::Invitation => "invitations",
            Action::EmailChange => "email-change confirmations",
            Action::SignUp => "sign-ups",
            Action::NumberRequest => "phone-number requests",
            Action::DemoNumberRequest => "phone-number requests on a demo account",
            Action::TwoFactorOn => "two-factor set-ups",
            Action::PasswordChange => "password changes",
            Action::DeveloperKey => "developer keys made or regenerated",
            Action::TwoFactorSetup => "new two-factor secrets",
            Action::SignIn => "log-ins",
            Action::PasswordCheck => "password checks",
            Action::ActivityExport => "activity downloads",
            Action::OAuthStart => "Stripe connections started",
            Action::AddressLookup => "new addresses entered",
            Action::Change => "changes",
            Action::PasswordStrength => "new passwords tried",
            Action::ApiRequest => "API requests",
            Action::WrongApiKey => "requests with a wrong API key",
        }
    }
}

/// Whose count a limit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Per {
    Recipient,
    Actor,
    Account,
    Client,
    Total,
}

impl Per {
    pub fn key(self) -> &'static str {
        match self {
            Per::Recipient => "recipient",
            Per::Actor => "actor",
            Per::Account => "account",
            Per::Client => "client",
            Per::Total => "total",
        }
    }
}

/// At most `max` within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub action: Action,
    pub per: Per,
    pub max: i32,
    pub window: Duration,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}={}/{}",
            self.action.key(),
            self.per.key(),
            self.max,
            self.window.num_minutes()
        )
    }
}

/// Every limit; the README's table lists the defaults.
#[derive(Clone, Debug)]
pub struct QuotaPolicy {
    limits: Vec<Limit>,
}

const HOUR: i64 = 60;
const DAY: i64 = 24 * 60;

impl Default for QuotaPolicy {
    fn default() -> Self {
        use Action::*;
        use Per::*;
        let limit = |action, per, max, minutes| Limit {
            action,
            per,
            max,
            window: Duration::minutes(minutes),
        };
        QuotaPolicy {
            limits: vec![
                limit(PasswordReset, Recipient, 3, HOUR),
                limit(PasswordReset, Actor, 20, HOUR),
                limit(PasswordReset, Account, 50, HOUR),
                limit(PasswordReset, Client, 20, HOUR),
                limit(PasswordReset, Total, 1000, HOUR),
                limit(Verification, Recipient, 3, HOUR),
                limit(Verification, Client, 10, HOUR),
                limit(Verification, Total, 1000, HOUR),
                limit(Invitation, Recipient, 3, DAY),
                limit(Invitation, Actor, 30, HOUR),
                limit(Invitation, Account, 100, DAY),
                // An office of admins behind one address inviting a team.
                limit(Invitation, Client, 100, HOUR),
                limit(Invitation, Total, 2000, HOUR),
                limit(EmailChange, Recipient, 3, HOUR),
                limit(EmailChange, Actor, 10, HOUR),
                limit(EmailChange, Account, 50, HOUR),
                limit(EmailChange, Client, 30, HOUR),
                limit(EmailChange, Total, 1000, HOUR),
                limit(SignUp, Client, 5, HOUR),
                limit(SignUp, Total, 500, HOUR),
                limit(NumberRequest, Actor, 10, HOUR),
                limit(NumberRequest, Account, 20, DAY),
                limit(NumberRequest, Total, 200, HOUR),
                limit(DemoNumberRequest, Account, 3, 30 * DAY),
                // Anyone can sign up for a demo: new accounts from one client
                // address, and all of them together, cannot take the stock
                // that paying accounts draw on.
                limit(DemoNumberRequest, Client, 3, 30 * DAY),
                limit(DemoNumberRequest, Total, 20, 30 * DAY),
                // Each emails a notice (so does off, which needs it on
                // first) to the user's own verified address. No total: a
                // crowd of accounts spending it would keep everyone from
                // securing theirs, and dropping the notice instead would
                // let whoever holds a stolen session and password turn it
                // on unseen. A crowd so mails only itself: five turn-ons a
                // day for each verified user, so at most eleven notices with
                // the turn-offs between; sign-ups' and invitations' limits
                // bound how fast it grows, not how large it grows.
                limit(TwoFactorOn, Actor, 5, DAY),
                // Accounts made from one address (five sign-ups an hour), together.
                limit(TwoFactorOn, Client, 30, HOUR),
                limit(PasswordChange, Actor, 10, DAY),
                // Accounts made from one address (five sign-ups an hour), together.
                limit(PasswordChange, Client, 100, HOUR),
                limit(PasswordChange, Total, 1000, HOUR),
                // A script that regenerates its key daily, many times over.
                limit(DeveloperKey, Actor, 20, DAY),
                // Accounts made from one address (five sign-ups an hour), together.
                limit(DeveloperKey, Client, 100, HOUR),
                limit(DeveloperKey, Total, 1000, HOUR),
                limit(TwoFactorSetup, Actor, 30, HOUR),
                limit(SignIn, Actor, 30, HOUR),
                // A client's own accounts each have a count: together they
                // may hold the hashing threads no longer than this. Ten
                // times a busy user's, for an office behind one address.
                limit(SignIn, Client, 300, HOUR),
                limit(PasswordCheck, Actor, 30, HOUR),
                limit(PasswordCheck, Client, 300, HOUR),
                limit(ActivityExport, Actor, 10, HOUR),
                limit(ActivityExport, Account, 20, HOUR),
                // The accounts one client signs up, together.
                limit(ActivityExport, Client, 30, HOUR),
                limit(OAuthStart, Actor, 20, HOUR),
                limit(OAuthStart, Account, 50, HOUR),
                // The accounts one client signs up (an operator enables
                // Stripe for each), and all of them, calling Stripe with the
                // platform's one secret.
                limit(OAuthStart, Client, 100, HOUR),
                limit(OAuthStart, Total, 2000, HOUR),
                limit(AddressLookup, Actor, 60, HOUR),
                limit(AddressLookup, Client, 60, HOUR),
                // Each change writes an event kept for a year: what bounds
                // the log is the day's count, not its pace. Far more than a
                // person clicks (a save of many owners counts each), and a
                // script looping on a session stores at most 730,000 a year.
                limit(Change, Actor, 2000, DAY),
                // The users one client makes (sign-ups, invitations), each
                // with the count above, together: ten busy users' worth, for
                // an office behind one address.
                limit(Change, Client, 20_000, DAY),
                limit(PasswordStrength, Client, 60, HOUR),
                limit(PasswordStrength, Actor, 30, HOUR),
                // Ten a second for a minute, far beyond a script's paging.
                limit(ApiRequest, Actor, 600, 1),
                // The users one admin can make (a hundred invitations a day)
                // each with a count of their own, together; and what clients
                // spread over many addresses can read of one account.
                limit(ApiRequest, Account, 3000, 1),
                // A client's own accounts (five sign-ups an hour) together:
                // twice one user's.
                limit(ApiRequest, Client, 1200, 1),
                // A script with a revoked key retrying once a second.
                limit(WrongApiKey, Client, 60, 1),
                limit(WrongApiKey, Total, 6000, 1),
            ],
        }
    }
}

impl QuotaPolicy {
    pub fn limits(&self) -> &[Limit] {
        &self.limits
    }

    /// The most `action` may be done per `per` in its window, if limited.
    pub fn max(&self, action: Action, per: Per) -> Option<i32> {
        self.limits.iter().find(|l| (l.action, l.per) == (action, per)).map(|l| l.max)
    }

    /// The longest window of `action`'s limits (zero when it has none).
    pub fn longest_window(&self, action: Action) -> Duration {
        let windows = self.limits.iter().filter(|l| l.action == action).map(|l| l.window);
        windows.max().unwrap_or_else(Duration::zero)
    }

    /// Sets one limit (replacing the default for its action and subject).
    pub fn set(&mut self, limit: Limit) {
        self.limits.retain(|l| (l.action, l.per) != (limit.action, limit.per));
        self.limits.push(limit);
    }

    /// The limits that differ from the defaults, as `LIMITS` writes them,
    /// sorted: the same limits given in another order, with spaces, or with
    /// a default spelled out read the same (the settings the processes on
    /// one database must share, `operator::agree_on_settings`).
    pub fn overrides(&self) -> String {
        let defaults = QuotaPolicy::default();
        let mut changed: Vec<String> = self
            .limits
            .iter()
            .filter(|l| !defaults.limits.contains(l))
            .map(ToString::to_string)
            .collect();
        changed.sort();
        changed.join(",")
    }

    /// Applies overrides written as `action.per=max/minutes`, separated by
    /// commas, e.g. `password_reset.recipient=5/60,sign_up.client=10/60`.
    pub fn with_overrides(mut self, text: &str) -> Result<Self, String> {
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = || format!("{item:?}: expected action.per=max/minutes");
            let (name, value) = item.split_once('=').ok_or_else(bad)?;
            let (action, per) = name.split_once('.').ok_or_else(bad)?;
            let action = Action::ALL
                .into_iter()
                .find(|a| a.key() == action)
                .ok_or_else(|| format!("{item:?}: unknown action {action:?}"))?;
            let per = [Per::Recipient, Per::Actor, Per::Account, Per::Client, Per::Total]
                .into_iter()
                .find(|p| p.key() == per)
                .ok_or_else(|| format!("{item:?}: unknown subject {per:?}"))?;
            let (max, minutes) = value.split_once('/').ok_or_else(bad)?;
            let max: i32 = max.parse().map_err(|_| bad())?;
            let minutes: i64 = minutes.parse().map_err(|_| bad())?;
            if max < 0 || minutes <= 0 {
                return Err(bad());
            }
            self.set(Limit { action, per, max, window: Duration::minutes(minutes) });
        }
        Ok(self)
    }
}

/// Who is acting, as far as it is known; a limit on a subject that is not
/// known (no client address behind a test, no actor before sign-in) is skipped.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub recipient: Option<String>,
    pub actor: Option<i32>,
    pub account: Option<i32>,
    pub client: Option<IpAddr>,
    /// Sends nothing (a reset asked for an address with no user, whose
    /// answer is the same as any other's): not counted in the platform-wide
    /// total, which bounds what the platform sends, so that made-up requests
    /// from a few client addresses cannot use it up for everyone. Their
    /// other subjects count them as any other, and say nothing of the
    /// address.
    pub sends_nothing: bool,
    /// Held to the recipient's own count but not to its mailbox's (see
    /// [`counters`]): for a verified user's own address, whose emails only
    /// its owner receives (spellings of the mailbox that anyone can sign up,
    /// `ada+1@`, `ada+2@`, …, use up the mailbox's counts, which must not
    /// close its owner's "Forgot password?"); and for a request that sends
    /// nothing, or is checked before anyone knows whether it will.
    pub skip_mailbox: bool,
}

impl Who {
    fn subject(&self, per: Per) -> Option<String> {
        match per {
            // Addresses are counted by their hash, never kept in clear.
            Per::Recipient => self.recipient.as_deref().map(|r| token_hash(&r.to_lowercase())),
            Per::Actor => self.actor.map(|id| id.to_string()),
            Per::Account => self.account.map(|id| id.to_string()),
            Per::Client => self.client.map(client_key),
            Per::Total => (!self.sends_nothing).then(|| "all".into()),
        }
    }
}

/// The block a client address is counted by: an IPv4 address alone, an IPv6
/// address by its /64, the block one subscriber usually holds in full.
pub fn client_block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// [`client_block`] as the key of a count: "1.2.3.4", "2001:db8:1:2::/64"
/// (its four groups written out, as counts kept in the database have them).
pub fn client_key(address: IpAddr) -> String {
    match client_block(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// How many times one subject's limit the group it belongs to shares: the
/// /64s of one IPv6 /56 ([`network_key`]), the spellings of one mailbox
/// ([`mailbox_key`]). Room for the few neighbours a /56 may hold, or the
/// few addresses a person tags for their own use; far from the 256 /64s of
/// a /56, or the endless tags of an address, that would each count alone.
pub const GROUP_FACTOR: i32 = 4;

/// The most emails of every kind the spellings of one mailbox are sent a
/// day, together (a verified user's own address is not held to it: see
/// [`Who::skip_mailbox`], nor is the mailbox's own spelling). A day's cap,
/// not an hour's, is safe here: it can close only spellings that anyone can
/// sign up, not the owner's own.
pub const MAILBOX_DAY_MAX: i32 = 20;

/// The count of [`MAILBOX_DAY_MAX`] for a mailbox's group.
fn mailbox_day_key(group: &str) -> String {
    format!("mailbox_day:{group}")
}

/// The /56 an IPv6 client address is in ("2001:db8:1:200::/56"), counted as
/// well as its /64: what a provider usually hands one customer, 256 /64s
/// that would each count alone. (A /48, which a free tunnel broker hands
/// out, is 256 of them: a person with one still spends limits 64 times
/// slower than with a count per /64.) None for IPv4, where each address
/// is counted alone and costs its holder.
pub fn network_key(address: IpAddr) -> Option<String> {
    let s = network_block(address)?.segments();
    Some(format!("{:x}:{:x}:{:x}:{:x}::/56", s[0], s[1], s[2], s[3]))
}

/// The /56 an IPv6 client address is in, as an address ([`network_key`]).
pub fn network_block(address: IpAddr) -> Option<std::net::Ipv6Addr> {
    match address {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3] & 0xff00, 0, 0, 0, 0))
        }
    }
}

/// The mailbox an email address delivers to, counted as well as the
/// address itself: "ada+news@example.com" and "ada@example.com" reach one
/// person (sub-addressing), as do Gmail's addresses with and without dots,
/// so a recipient's limit is not dodged by tagging their address anew for
/// each email.
pub fn mailbox_key(address: &str) -> Option<String> {
    let address = address.trim().to_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    let local = local.split('+').next().filter(|local| !local.is_empty())?;
    let mailbox = match domain {
        "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
        _ => format!("{local}@{domain}"),
    };
    Some(mailbox)
}

/// The mailbox `address` delivers to ([`mailbox_key`]), or the address
/// itself, lower-cased, when it has no mailbox apart from itself.
pub fn mailbox_of(address: &str) -> String {
    mailbox_key(address).unwrap_or_else(|| address.trim().to_lowercase())
}

/// Whole minutes from `now` to `until`, rounded up, at least one.
pub fn minutes_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (((until - now).num_seconds() + 59) / 60).max(1)
}

/// A length of time (a wait, a link's life) in the unit a person reads it
/// in, rounded up: "45 minutes", "24 hours", "30 days".
pub fn duration_text(minutes: i64) -> String {
    let up = |per: i64| (minutes + per - 1) / per;
    match minutes {
        ..=1 => "1 minute".into(),
        2..=120 => format!("{minutes} minutes"),
        121..=2_880 => format!("{} hours", up(60)),
        _ => format!("{} days", up(DAY)),
    }
}

/// Counts one `action` by `who` against every limit that applies, on `conn`
/// (the transaction of the email or resource it pays for). Past any limit:
/// "try again in" minutes, hours or days ([`duration_text`]), and the caller's transaction
/// must roll back.
pub async fn spend<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    who: &Who,
) -> Result<(), AppError> {
    spend_several(conn, policy, now, action, who, 1).await
}

/// [`spend`] for `n` actions at once (a save of many changes): all are
/// admitted or none.
pub async fn spend_several<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    who: &Who,
    n: i32,
) -> Result<(), AppError> {
    for (key, limit, takes) in counters(policy, action, who) {
        if takes {
            admit(conn, now, &key, &limit, n).await?;
        } else {
            refuse_if_spent(conn, now, key, &limit).await?;
        }
    }
    Ok(())
}

/// The counters `action` by `who` is held to, each with its limit and
/// whether it takes a count, always in the same order, so two transactions
/// never wait on each other's rows.
fn counters(policy: &QuotaPolicy, action: Action, who: &Who) -> Vec<(String, Limit, bool)> {
    let mut counted = Vec::new();
    for limit in policy.limits.iter().filter(|l| l.action == action) {
        if let Some(subject) = who.subject(limit.per) {
            counted.push((counter_key(action, limit.per, &subject), *limit, true));
        }
        // The group the subject is part of (a /56, a mailbox) shares a few
        // times its limit.
        let group = match limit.per {
            Per::Client => who.client.and_then(network_key),
            // By its hash, as the address is.
            Per::Recipient if who.skip_mailbox => None,
            Per::Recipient => who.recipient.as_deref().and_then(mailbox_group),
            _ => None,
        };
        if let Some(group) = group {
            let max = limit.max.saturating_mul(GROUP_FACTOR);
            counted.push((counter_key(action, limit.per, &group), Limit { max, ..*limit }, true));
            if limit.per == Per::Recipient {
                // And every kind of email to the mailbox's spellings
                // together, over a day: each kind's hourly counts alone
                // let hundreds a day through.
                let day = Limit { max: MAILBOX_DAY_MAX, window: Duration::days(1), ..*limit };
                counted.push((mailbox_day_key(&group), day, true));
            }
        }
    }
    counted.sort_by(|a, b| a.0.cmp(&b.0));
    counted
}

/// The group a recipient's spellings are counted by, by its hash as the
/// address is. None for the mailbox's own spelling (`ada@` of `ada+1@`):
/// only its owner holds it, so the spellings anyone can sign up must not
/// close it; it is held to its own count alone.
fn mailbox_group(recipient: &str) -> Option<String> {
    let mailbox = mailbox_key(recipient)?;
    if mailbox == recipient.trim().to_lowercase() {
        return None;
    }
    Some(format!("mailbox {}", token_hash(&mailbox)))
}

/// Whether `recipient`'s mailbox has no `action` left (its group's count,
/// not the address's own): for an email that is then not sent, answered as
/// if it were, where a refusal would tell more than the email.
pub async fn mailbox_spent<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    recipient: &str,
) -> Result<bool, AppError> {
    let Some(group) = mailbox_group(recipient) else { return Ok(false) };
    for limit in policy.limits.iter().filter(|l| (l.action, l.per) == (action, Per::Recipient)) {
        let max = limit.max.saturating_mul(GROUP_FACTOR);
        let day = Limit { max: MAILBOX_DAY_MAX, window: Duration::days(1), ..*limit };
        let counts = [
            (counter_key(action, Per::Recipient, &group), Limit { max, ..*limit }),
            (mailbox_day_key(&group), day),
        ];
        for (key, limit) in counts {
            // Not a refusal (logged and counted as one): nothing is told.
            if spent_since(conn, now, key, &limit).await?.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Refuses `action` by `who` if a limit has no count left, without taking
/// one: for a refusal that must come before costly work whose outcome
/// decides whether to [`spend`] (a password hash). Parallel requests may all
/// pass it; `spend` still admits no more than the limit.
pub async fn refuse_spent<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    who: &Who,
) -> Result<(), AppError> {
    for (key, limit, _) in counters(policy, action, who) {
        refuse_if_spent(conn, now, key, &limit).await?;
    }
    Ok(())
}

/// Whether a limit of `action` by `who` has no count left, asked without a
/// refusal (neither logged nor in `console_limit_refusals_total`): for a
/// request that is answered as before and only no longer counted.
pub async fn is_spent<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    who: &Who,
) -> Result<bool, AppError> {
    for (key, limit, _) in counters(policy, action, who) {
        if spent_since(conn, now, key, &limit).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long until `action` by `who` is admitted again: the longest wait of
/// the counters it has no count left in, zero when none is spent. For a
/// refusal's `Retry-After`; a window that ends meanwhile only shortens it.
pub async fn time_until_admitted<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    action: Action,
    who: &Who,
) -> Result<Duration, AppError> {
    let mut longest = Duration::zero();
    for (key, limit, _) in counters(policy, action, who) {
        if limit.max == 0 {
            // Nothing is ever admitted, and no count is kept to time it.
            longest = longest.max(limit.window);
            continue;
        }
        let Some(row) = counter::Entity::find_by_id(key).one(conn).await? else { continue };
        let ends = row.window_started_at + limit.window;
        if row.count >= limit.max && ends > now {
            longest = longest.max(ends - now);
        }
    }
    Ok(longest)
}

/// Refuses when the counter `key` has no count left under `limit`.
async fn refuse_if_spent<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    key: String,
    limit: &Limit,
) -> Result<(), AppError> {
    match spent_since(conn, now, key, limit).await? {
        Some(started) => Err(refusal(limit, started, now)),
        None => Ok(()),
    }
}

/// When the window of the counter `key` began, if it has no count left
/// under `limit`.
async fn spent_since<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    key: String,
    limit: &Limit,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(row) = counter::Entity::find_by_id(key).one(conn).await? else { return Ok(None) };
    let spent = row.count >= limit.max && row.window_started_at > now - limit.window;
    Ok(spent.then_some(row.window_started_at))
}

/// "Too many … for now. Try again in …", for a window that began at `started`.
fn refusal(limit: &Limit, started: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    // A script looping past its API limit is refused many times a second:
    // the metric counts each, the log only at debug level.
    match limit.action {
        Action::ApiRequest | Action::WrongApiKey => {
            tracing::debug!(limit = %limit, "quota reached")
        }
        _ => tracing::warn!(limit = %limit, "quota reached"),
    }
    metrics::counter!("console_limit_refusals_total", "action" => limit.action.key()).increment(1);
    AppError::TooManyRequests(format!(
        "Too many {} for now. Try again in {}.",
        limit.action.what(),
        duration_text(minutes_until(started + limit.window, now))
    ))
}

/// The row that counts `action` per `per` for one subject.
fn counter_key(action: Action, per: Per, subject: &str) -> String {
    format!("{}:{}:{subject}", action.key(), per.key())
}

/// Two accounts become one (an operator's merge): every per-account count of
/// `from` is added to the same count of `into`, so a merge does not start the
/// merged account's limits afresh, and `from`'s counts go. Of two windows the
/// later start is kept. A count whose window is over (kept until the hourly
/// clean-up) counts nothing: `from`'s is not added, and `into`'s is taken
/// to be zero. A count `from` takes while the merge runs without
/// the account's lock (an activity download) may not be carried over: it
/// goes with `from`'s row, or lands under `from`'s key, which nothing reads
/// once its users have moved. That is a download or two, once per merge an
/// operator runs.
pub async fn merge_account_counts<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
    from: i32,
    into: i32,
) -> Result<(), AppError> {
    let over = |action: Action, started: DateTime<Utc>| {
        let limit = policy.limits.iter().find(|l| (l.action, l.per) == (action, Per::Account));
        limit.is_none_or(|limit| started <= now - limit.window)
    };
    for action in Action::ALL {
        let from_key = counter_key(action, Per::Account, &from.to_string());
        let Some(theirs) = counter::Entity::find_by_id(from_key.clone()).one(conn).await? else {
            continue;
        };
        if over(action, theirs.window_started_at) {
            counter::Entity::delete_by_id(from_key).exec(conn).await?;
            continue;
        }
        let into_key = counter_key(action, Per::Account, &into.to_string());
        let ours = counter::Entity::find_by_id(into_key.clone()).one(conn).await?;
        if ours.is_some_and(|ours| over(action, ours.window_started_at)) {
            // Over: `from`'s count and window stand alone.
            counter::Entity::delete_by_id(into_key.clone()).exec(conn).await?;
        }
        counter::Entity::insert(counter::ActiveModel {
            key: Set(into_key.clone()),
            count: Set(0),
            window_started_at: Set(theirs.window_started_at),
        })
        .on_conflict_do_nothing_on([counter::Column::Key])
        .exec(conn)
        .await?;
        // Here only: its min/max would shadow the integers' elsewhere.
        use sea_orm::sea_query::ExprTrait;
        counter::Entity::update_many()
            .col_expr(counter::Column::Count, Expr::col(counter::Column::Count).add(theirs.count))
            .filter(counter::Column::Key.eq(&into_key))
            .exec(conn)
            .await?;
        counter::Entity::update_many()
            .col_expr(counter::Column::WindowStartedAt, Expr::value(theirs.window_started_at))
            .filter(counter::Column::Key.eq(&into_key))
            .filter(counter::Column::WindowStartedAt.lt(theirs.window_started_at))
            .exec(conn)
            .await?;
        counter::Entity::delete_by_id(from_key).exec(conn).await?;
    }
    Ok(())
}

/// Takes one count of `key`, or refuses past `limit`.
async fn admit<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    key: &str,
    limit: &Limit,
    n: i32,
) -> Result<(), AppError> {
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    // Twice at most: the clean-up may delete an expired row between the
    // insert and the update, and the second round inserts it afresh.
    for _ in 0..2 {
        counter::Entity::insert(counter::ActiveModel {
            key: Set(key.to_owned()),
            count: Set(0),
            window_started_at: Set(now),
        })
        .on_conflict_do_nothing_on([counter::Column::Key])
        .exec(conn)
        .await?;
        // A window that is over starts again at zero.
        counter::Entity::update_many()
            .col_expr(counter::Column::Count, Expr::value(0))
            .col_expr(counter::Column::WindowStartedAt, Expr::value(now))
            .filter(counter::Column::Key.eq(key))
            .filter(counter::Column::WindowStartedAt.lte(now - limit.window))
            .exec(conn)
            .await?;
        let admitted = counter::Entity::update_many()
            .col_expr(counter::Column::Count, Expr::col(counter::Column::Count).add(n))
            .filter(counter::Column::Key.eq(key))
            .filter(counter::Column::Count.lte(limit.max - n))
            .exec(conn)
            .await?;
        if admitted.rows_affected == 1 {
            return Ok(());
        }
        let Some(row) = counter::Entity::find_by_id(key.to_owned()).one(conn).await? else {
            continue;
        };
        return Err(refusal(limit, row.window_started_at, now));
    }
    Err(AppError::Internal)
}

/// Forgets counts whose window is over, each by its own limit's window (an
/// hourly count is not kept for the month a demo's number requests are).
/// Counts of a limit no longer configured go once the longest window is over.
pub async fn forget_expired<C: ConnectionTrait>(
    conn: &C,
    policy: &QuotaPolicy,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    use sea_orm::sea_query::{ExprTrait, LikeExpr};
    // In batches, each read by the index on the window's start: a flood
    // from many addresses grows the table, and one statement over all of
    // it held SQLite's only writer for its whole run.
    const BATCH: u64 = 1000;
    let key = counter::Column::Key;
    let mut removed = 0;
    for limit in &policy.limits {
        // The key's prefix, its `_` escaped: `LIKE` reads it as any character.
        let prefix = counter_key(limit.action, limit.per, "").replace('_', "\\_");
        let expired = sea_orm::Condition::all()
            .add(counter::Column::WindowStartedAt.lte(now - limit.window))
            .add(Expr::col(key).like(LikeExpr::new(format!("{prefix}%")).escape('\\')));
        removed += db::delete_in_batches::<counter::Entity>(conn, key, BATCH, expired).await?;
    }
    let longest = policy.limits.iter().map(|l| l.window).max().unwrap_or(Duration::days(1));
    let past_every_window =
        sea_orm::Condition::all().add(counter::Column::WindowStartedAt.lte(now - longest));
    removed +=
        db::delete_in_batches::<counter::Entity>(conn, key, BATCH, past_every_window).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let key = |a: &str| client_key(a.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn a_wait_is_told_in_minutes_hours_or_days() {
        assert_eq!(duration_text(1), "1 minute");
        assert_eq!(duration_text(60), "60 minutes");
        assert_eq!(duration_text(1440), "24 hours");
        assert_eq!(duration_text(1441), "25 hours");
        assert_eq!(duration_text(30 * DAY), "30 days");
        assert_eq!(duration_text(30 * DAY - 59), "30 days");
    }

    #[test]
    fn overrides() {
        let policy = QuotaPolicy::default()
            .with_overrides("password_reset.recipient=5/30, sign_up.client=0/60")
            .unwrap();
        let find = |a, p| *policy.limits().iter().find(|l| l.action == a && l.per == p).unwrap();
        assert_eq!(find(Action::PasswordReset, Per::Recipient).max, 5);
        assert_eq!(find(Action::PasswordReset, Per::Recipient).window, Duration::minutes(30));
        assert_eq!(find(Action::SignUp, Per::Client).max, 0);
        assert_eq!(policy.limits().len(), QuotaPolicy::default().limits().len());
        assert!(QuotaPolicy::default().with_overrides("nope.recipient=1/1").is_err());
        assert!(QuotaPolicy::default().with_overrides("sign_up.nobody=1/1").is_err());
        assert!(QuotaPolicy::default().with_overrides("sign_up.client=1").is_err());
        assert!(QuotaPolicy::default().with_overrides("sign_up.client=1/0").is_err());
    }

    #[test]
    fn overrides_read_the_same_however_they_are_written() {
        let read = |text: &str| QuotaPolicy::default().with_overrides(text).unwrap().overrides();
        assert_eq!(read(""), "");
        let one = read("sign_up.client=0/60, password_reset.recipient=5/30");
        assert_eq!(one, "password_reset.recipient=5/30,sign_up.client=0/60");
        assert_eq!(read(" password_reset.recipient=5/30,sign_up.client=0/60,"), one);
        // A default spelled out is no override; a later entry wins.
        let default = QuotaPolicy::default().limits()[0].to_string();
        assert_eq!(read(&format!("{default},sign_up.client=0/60")), "sign_up.client=0/60");
        assert_eq!(read("sign_up.client=1/60,sign_up.client=0/60"), "sign_up.client=0/60");
    }
}
