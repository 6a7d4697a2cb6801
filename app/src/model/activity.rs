//! The activity log: what kinds of event there are, and the rows of the
//! admin's Activity tab and of one's own security activity.
use serde::{Deserialize, Serialize};

use super::errors::AppError;

/// Defines [`ActivityKind`]: each kind's stable dotted name (stored, and
/// used in URLs, the API and CSV), its label for people, and whether it is a
/// security event a user sees about themself.
macro_rules! activity_kinds {
    ($($kind:ident = $key:literal, $label:literal, $security:literal;)*) => {
        /// What an event records. The dotted names are stored: never rename one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ActivityKind {
            $($kind,)*
        }

        impl ActivityKind {
            pub const ALL: &'static [ActivityKind] = &[$(ActivityKind::$kind,)*];

            /// The stable dotted name, e.g. `user.invited`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ActivityKind::$kind => $key,)*
                }
            }

            /// What people read, e.g. "User invited".
            pub fn label(self) -> &'static str {
                match self {
                    $(ActivityKind::$kind => $label,)*
                }
            }

            /// Whether the event is about a user's own sign-ins and
            /// credentials (shown under Personal security).
            pub fn is_security(self) -> bool {
                match self {
                    $(ActivityKind::$kind => $security,)*
                }
            }
        }
    };
}

activity_kinds! {
    AccountSignedUp = "account.signed_up", "Account signed up", false;
    AccountInfoUpdated = "account_info.updated", "Account information updated", false;
    UserInvited = "user.invited", "User invited", false;
    InvitationResent = "user.invitation_resent", "Invitation sent again", false;
    InvitationDeclined = "user.invitation_declined", "Invitation declined", false;
    InvitationExpired = "user.invitation_expired", "Invitation expired", false;
    UserActivated = "user.activated", "User activated", true;
    UserUpdated = "user.updated", "User edited", false;
    UserRoleChanged = "user.role_changed", "Role or permissions changed", false;
    UserDeleted = "user.deleted", "User deleted", false;
    UserDisabled = "user.disabled", "User disabled", false;
    UserEnabled = "user.enabled", "User enabled", false;
    PasswordResetSent = "user.password_reset_sent", "Password reset sent", false;
    ProfileUpdated = "profile.updated", "Name changed", false;
    SignInSucceeded = "sign_in.succeeded", "Logged in", true;
    SignInFailed = "sign_in.failed", "Failed log-in", true;
    SignInLocked = "sign_in.locked", "Log-in locked", true;
    PasswordChanged = "password.changed", "Password changed", true;
    PasswordReset = "password.reset", "Password reset by email link", true;
    EmailChangeRequested = "email.change_requested", "Email change requested", true;
    EmailChangeCancelled = "email.change_cancelled", "Email change cancelled", true;
    EmailChanged = "email.changed", "Email address changed", true;
    EmailVerified = "email.verified", "Email address verified", true;
    TwoFactorEnabled = "two_factor.enabled", "Two-factor authentication on", true;
    TwoFactorDisabled = "two_factor.disabled", "Two-factor authentication off", true;
    RecoveryCodesRegenerated = "recovery_codes.regenerated", "New recovery codes", true;
    RecoveryCodeUsed = "recovery_code.used", "Recovery code used", true;
    DeveloperKeyCreated = "developer_key.created", "Developer key created", true;
    DeveloperKeyRegenerated = "developer_key.regenerated", "Developer key regenerated", true;
    DeveloperKeyRevoked = "developer_key.revoked", "Developer key revoked", true;
    SessionEnded = "session.ended", "Session logged out", true;
    OtherSessionsEnded = "session.others_ended", "Every other session logged out", true;
    PhoneNumberRequested = "phone_number.requested", "Phone number requested", false;
    PhoneNumberReleased = "phone_number.released", "Phone number deleted", false;
    PhoneNumberOwnerChanged = "phone_number.owner_changed", "Phone number owner changed", false;
    PhoneNumberDeployed = "phone_number.deployed", "Phone number deployed", false;
    PhoneNumberUndeployed = "phone_number.undeployed", "Phone number undeployed", false;
    DeploymentTokenAssigned = "phone_number.token_assigned", "OAuth token assigned to a deployment", false;
    IntegrationAdded = "integration.added", "Integration added", false;
    IntegrationUpdated = "integration.updated", "Integration edited", false;
    IntegrationDeleted = "integration.deleted", "Integration deleted", false;
    CertificateAdded = "certificate.added", "Certificate added", false;
    CertificateReplaced = "certificate.replaced", "Certificate replaced", false;
    CertificateDeleted = "certificate.deleted", "Certificate deleted", false;
    JsLibraryAdded = "js_library.added", "JS library added", false;
    JsLibraryUpdated = "js_library.updated", "JS library edited", false;
    JsLibraryDeleted = "js_library.deleted", "JS library deleted", false;
    ApplicationCreated = "application.created", "Application created", false;
    ApplicationCloned = "application.cloned", "Application cloned", false;
    ApplicationRenamed = "application.renamed", "Application renamed", false;
    ApplicationDeleted = "application.deleted", "Application deleted", false;
    ApplicationShared = "application.shared", "Application shared", false;
    ApplicationUnshared = "application.unshared", "Application unshared", false;
    ApplicationSettingsChanged = "application.settings_changed", "Application settings changed", false;
    OAuthTokenAdded = "oauth_token.added", "OAuth token added", false;
    OAuthTokenDeleted = "oauth_token.deleted", "OAuth token deleted", false;
    OperatorUserAdded = "operator.user_added", "Operator added a user", false;
    OperatorPromoted = "operator.promoted", "Operator made a user admin", false;
    OperatorTwoFactorReset = "operator.two_factor_reset", "Operator reset two-factor authentication", true;
    OperatorStripeEnabled = "operator.stripe_enabled", "Operator enabled Stripe", false;
    OperatorPlanChanged = "operator.plan_changed", "Operator changed the plan", false;
    OperatorAccountsMerged = "operator.accounts_merged", "Operator merged an account into this one", false;
}

/// Why a kind was refused.
pub const UNKNOWN_KIND: &str = "kind must be one of the activity kinds, e.g. user.invited.";

impl ActivityKind {
    /// The kind with this dotted name.
    pub fn parse(key: &str) -> Result<ActivityKind, AppError> {
        ActivityKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == key.trim())
            .ok_or_else(|| AppError::field("kind", UNKNOWN_KIND))
    }

    /// The kinds a user sees about themself under Personal security.
    pub fn security() -> impl Iterator<Item = ActivityKind> {
        ActivityKind::ALL.iter().copied().filter(|kind| kind.is_security())
    }

    /// The heading the Kind filter lists it under, by the area its name
    /// starts with: sixty kinds in one list were hard to find one in.
    /// [`ActivityKind::ALL`] keeps each group's kinds together.
    pub fn group(self) -> &'static str {
        let area = self.as_str().split('.').next().unwrap_or_default();
        match area {
            "account" | "account_info" | "user" => "Account and users",
            "phone_number" => "Phone numbers",
            "integration" | "certificate" | "js_library" | "application" | "oauth_token" => {
                "Applications and what they use"
            }
            "operator" => "Support",
            _ => "Log-ins and personal security",
        }
    }
}

/// An event's id, the cursor of every activity listing. 64 bits: every
/// change and sign-in of every account draws one, and a busy platform draws
/// more than 32 bits hold within a few years.
pub type EventId = i64;

/// One event, as the Activity tab, the API and the CSV show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityRow {
    pub id: EventId,
    /// When, as RFC 3339 in UTC.
    pub at: String,
    /// Who acted: their email address when it happened, `operator`, or
    /// `system` for the console's own clean-up (an expired invitation).
    pub actor: String,
    /// The acting user's id, when a user acted (and not an unknown person).
    pub actor_user_id: Option<i32>,
    /// The stable dotted name of what happened, e.g. `user.invited`.
    pub kind: String,
    /// What happened, for people.
    pub label: String,
    /// What it happened to: an email address, a number, a name.
    pub target: String,
    /// The client address the change came from, when known.
    pub client_address: Option<String>,
    /// A short detail, e.g. what an edit changed.
    pub detail: Option<String>,
    /// The user it happened to, when someone else acted on them (an admin,
    /// an operator); such events show in that user's security list too.
    pub subject_user_id: Option<i32>,
}

/// A page of events, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub rows: Vec<ActivityRow>,
    /// Where the next (older) page starts, or `None` on the last page.
    pub next: Option<EventId>,
}

/// Said beside To, by the tab before it asks and by the server to anyone who
/// asks all the same.
pub const TO_BEFORE_FROM: &str = "To must be the same day as From or later.";

/// At most this many events go into one CSV download, the newest that match:
/// the page says so beside the link.
pub const ACTIVITY_CSV_MAX: usize = 100_000;

/// What the Activity tab, the API and the CSV filter by; every part optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFilter {
    /// Only events this user made.
    pub user_id: Option<i32>,
    /// Only events of this kind (its dotted name).
    pub kind: Option<String>,
    /// Only events on or after this day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Only events on or before this day (`YYYY-MM-DD`, UTC).
    pub to: Option<String>,
}

impl ActivityFilter {
    /// The filter as URL query parameters (for the CSV link and the tab's
    /// address), empty parts left out.
    pub fn query(&self) -> String {
        let parts = self.parts().into_iter().map(|(name, value)| format!("{name}={value}"));
        parts.collect::<Vec<_>>().join("&")
    }

    /// The parts that are set, as query parameters' names and values, in
    /// the order of [`ActivityFilter::query`]; the values hold only
    /// characters a URL keeps as they are.
    pub fn parts(&self) -> Vec<(&'static str, String)> {
        let mut parts = Vec::new();
        if let Some(user) = self.user_id {
            parts.push(("user", user.to_string()));
        }
        for (name, value) in [("kind", &self.kind), ("from", &self.from), ("to", &self.to)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                let safe: String = value
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    .collect();
                parts.push((name, safe));
            }
        }
        parts
    }

    /// The filter a tab's address asks for (`get` reads one of its query
    /// parameters). What the tab could not show is left out rather than
    /// refused: a kind it does not know, a date not written `YYYY-MM-DD`,
    /// and a To before its From, so that an old bookmark or an edited
    /// address still opens the list.
    pub fn from_address(get: impl Fn(&str) -> Option<String>) -> ActivityFilter {
        let day = |name| get(name).filter(|d| is_day(d));
        let (from, to) = (day("from"), day("to"));
        let to = match (&from, to) {
            (Some(from), Some(to)) if to < *from => None,
            (_, to) => to,
        };
        ActivityFilter {
            user_id: get("user").and_then(|id| id.parse().ok()),
            kind: get("kind")
                .and_then(|k| ActivityKind::parse(&k).ok())
                .map(|k| k.as_str().to_owned()),
            from,
            to,
        }
    }
}

/// Whether `text` is a day that exists, written `YYYY-MM-DD` as a date
/// field gives it: such days compare as text in the order of time. (Not
/// chrono's parser: this runs in the browser too, and a few lines cost the
/// download less.)
pub fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    let written = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    if !written {
        return false;
    }
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    // The day after 9999-12-31, where a range ends, has five digits, which
    // SQLite's text dates sort before every other: "To 9999-12-31" found
    // nothing.
    if year > 9998 {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::{ActivityFilter, ActivityKind};

    fn from(query: &[(&str, &str)]) -> ActivityFilter {
        ActivityFilter::from_address(|name| {
            query.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        })
    }

    /// Each group is one run of the list, so the Kind filter draws each
    /// heading once.
    #[test]
    fn each_group_of_kinds_is_listed_together() {
        let mut seen: Vec<&str> = Vec::new();
        for kind in ActivityKind::ALL {
            if seen.last() != Some(&kind.group()) {
                assert!(!seen.contains(&kind.group()), "{} is apart from its group", kind.as_str());
                seen.push(kind.group());
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    #[test]
    fn an_address_gives_back_the_filter_it_was_written_from() {
        let filter = ActivityFilter {
            user_id: Some(7),
            kind: Some("user.invited".into()),
            from: Some("2026-11-22".into()),
            to: Some("2026-12-01".into()),
        };
        assert_eq!(filter.query(), "user=7&kind=user.invited&from=2026-11-22&to=2026-12-01");
        assert_eq!(
            from(&filter.parts().iter().map(|(n, v)| (*n, v.as_str())).collect::<Vec<_>>()),
            filter
        );
        assert_eq!(from(&[]), ActivityFilter::default());
    }

    #[test]
    fn what_a_tab_could_not_show_is_left_out_of_an_address() {
        let odd = from(&[
            ("user", "seven"),
            ("kind", "user.exploded"),
            ("from", "22/11/2026"),
            ("to", "2026-11-2x"),
        ]);
        assert_eq!(odd, ActivityFilter::default());
        // 9999-12-31 too: the range would end on a day of five digits.
        for missing in
            ["2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "9999-12-31"]
        {
            assert_eq!(from(&[("from", missing)]).from, None, "{missing}");
        }
        assert_eq!(from(&[("from", "2028-02-29")]).from.as_deref(), Some("2028-02-29"));
        // A To before its From goes; the From stays.
        let backwards = from(&[("from", "2026-12-02"), ("to", "2026-12-01")]);
        assert_eq!((backwards.from.as_deref(), backwards.to), (Some("2026-12-02"), None));
        let same_day = from(&[("from", "2026-12-02"), ("to", "2026-12-02")]);
        assert_eq!(same_day.to.as_deref(), Some("2026-12-02"));
        assert_eq!(from(&[("kind", " sign_in.failed ")]).kind.as_deref(), Some("sign_in.failed"));
    }
}
