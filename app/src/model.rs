//! The types that cross the wire between browser and server. Secrets never
//! appear here: password hashes, session tokens and the like stay server-side.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The signed-in user as the browser sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    /// Whether the user has proved they receive mail at `email`.
    pub email_verified: bool,
    pub company_name: String,
}

impl CurrentUser {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// One row of the admin's user table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    pub two_factor_enabled: bool,
    /// Still invited: has not set a password yet.
    pub invited: bool,
}

/// How the user table is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserSort {
    #[default]
    Name,
    Email,
    Status,
}

impl UserSort {
    pub const ALL: [UserSort; 3] = [UserSort::Name, UserSort::Email, UserSort::Status];

    pub fn key(self) -> &'static str {
        match self {
            UserSort::Name => "name",
            UserSort::Email => "email",
            UserSort::Status => "status",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserSort::Name => "Name",
            UserSort::Email => "Email",
            UserSort::Status => "Status",
        }
    }

    pub fn from_key(key: &str) -> UserSort {
        UserSort::ALL.into_iter().find(|s| s.key() == key).unwrap_or_default()
    }
}

/// One page of the user table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    /// Where the next page starts, if there is one (an opaque cursor).
    pub next: Option<String>,
    /// Whether the account has more than one user (the table is shown only then).
    pub several_users: bool,
}

/// The company details on the Account Information tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub company_name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    /// E.164, or empty.
    pub phone: String,
}

/// The user's two-factor authentication, as their Account tab shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub recovery_codes_left: usize,
}

/// What setting up two-factor authentication shows once: the secret as a QR
/// code (SVG, rendered on the server) and as text for typing in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// A developer key as listed: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeveloperKeyRow {
    pub id: i32,
    pub name: String,
    /// The key's first characters, e.g. `vk_AbCd1234`.
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// A key just generated: `key` is shown once and never again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeveloperKey {
    pub row: DeveloperKeyRow,
    pub key: String,
}

/// One of the user's signed-in browsers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Identifies the session for ending it (the SHA-256 of its token, never the token).
    pub id: String,
    pub device: String,
    pub last_seen: String,
    pub started: String,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// A client certificate of the account, as every user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub id: i32,
    pub domain: String,
    pub subject: String,
    pub issuer: String,
    /// The day it expires, `YYYY-MM-DD`.
    pub expires: String,
    pub expiry: Expiry,
    pub added_by: String,
    /// Whether the signed-in user may delete it (who added it, or an admin).
    pub can_delete: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    Valid,
    /// Within 30 days.
    Soon,
    Expired,
}

/// A connected Stripe account, as its owner sees it. The tokens stay on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokenRow {
    pub id: i32,
    /// "Test" or "Live".
    pub token_type: String,
    pub provider_account_id: String,
    pub added: String,
}

/// The OAuth Tokens tab: whether Stripe is enabled for the account, and the user's tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub enabled: bool,
    pub rows: Vec<OAuthTokenRow>,
}

/// A user of the account as a picker offers them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChoice {
    pub id: i32,
    pub name: String,
    pub email: String,
}

/// One of the account's phone numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberRow {
    pub id: i32,
    /// E.164; [`readable_phone`] formats it for people.
    pub e164: String,
    pub pci: bool,
    pub owner: UserChoice,
    /// The application calls to this number run, if it is deployed.
    pub deployed_to: Option<Named>,
    /// The OAuth token that deployment uses, if one is assigned.
    pub token: Option<Named>,
}

/// The Phone Numbers tab: the account's numbers and whether it may hold more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumbers {
    pub rows: Vec<PhoneNumberRow>,
    /// Why no further number can be requested (the demo plan's limit), if so.
    pub limit: Option<String>,
}

/// Something referred to by id and shown by name (an application, a library).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: i32,
    pub name: String,
}

/// The longest JS library code, in characters; the browser counts toward it.
pub const JS_LIBRARY_MAX: usize = 4096;

/// One of the user's JS libraries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsLibraryRow {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub code: String,
    /// The names of the applications it is attached to.
    pub used_by: Vec<String>,
    /// The day it was last changed, `YYYY-MM-DD`.
    pub updated: String,
}

/// An application the user owns or that is shared with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRow {
    pub id: i32,
    pub name: String,
    pub owner: UserChoice,
    /// Whether the signed-in user owns it (and so may share, clone and configure it).
    pub mine: bool,
    /// Who it is shared with; listed for its owner only.
    pub shared_with: Vec<UserChoice>,
    pub libraries: Vec<Named>,
    pub integrations: Vec<Named>,
}

/// The Applications page: what the user sees and may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applications {
    pub rows: Vec<ApplicationRow>,
    pub can_create: bool,
    pub can_share: bool,
    /// What an application's settings can attach: the account's libraries and integrations.
    pub libraries: Vec<Named>,
    pub integrations: Vec<Named>,
}

/// An owner change the Phone Numbers tab saves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerChange {
    pub number_id: i32,
    pub owner_id: i32,
}

/// `+18005550100` as `(800) 555-0100`; other countries' numbers stay E.164.
pub fn readable_phone(e164: &str) -> String {
    match e164.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.chars().all(|c| c.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => e164.to_owned(),
    }
}

/// A message about one form field, shown beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The name of the form field (the server function argument).
    pub field: String,
    pub message: String,
}

/// Every error a server function can return. The browser shows field errors
/// beside their fields and everything else as a message above the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// Bad input; nothing was changed.
    Invalid(Vec<FieldError>),
    /// No valid session (or API key).
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden(String),
    /// Not found in the actor's account (also what another account's ids give).
    NotFound,
    /// Too many attempts; try again later.
    TooManyRequests(String),
    /// Allowed, but the current state does not permit it (a plan's limit, an
    /// empty stock); nothing was changed.
    Conflict(String),
    /// Something failed on the server; details are in the server log only.
    Internal,
    /// Transport or encoding failure between browser and server.
    Transport(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }

    /// The message for one field, if the error names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => {
                errors.iter().find(|e| e.field == field).map(|e| e.message.clone())
            }
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::TooManyRequests(_) => 429,
            AppError::Conflict(_) => 409,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Invalid(errors) if errors.len() == 1 => write!(f, "{}", errors[0].message),
            AppError::Invalid(_) => write!(f, "Please correct the highlighted fields."),
            AppError::Unauthenticated => write!(f, "Please log in."),
            AppError::Forbidden(why) => write!(f, "{why}"),
            AppError::NotFound => write!(f, "Not found."),
            AppError::TooManyRequests(why) | AppError::Conflict(why) => write!(f, "{why}"),
            AppError::Internal => write!(f, "Something went wrong on our side. Please try again."),
            AppError::Transport(_) => write!(f, "Could not reach the server. Please try again."),
        }
    }
}

impl std::error::Error for AppError {}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // A missing or malformed argument is the caller's bad input.
            E::Args(why) | E::MissingArg(why) => AppError::field("form", why),
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// The services an account can integrate with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Service {
    Dialogflow,
    DynamoDb,
    S3,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Dialogflow, Service::DynamoDb, Service::S3];

    /// The value stored and sent in forms.
    pub fn key(self) -> &'static str {
        match self {
            Service::Dialogflow => "dialogflow",
            Service::DynamoDb => "dynamodb",
            Service::S3 => "s3",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Service::Dialogflow => "Google Dialogflow",
            Service::DynamoDb => "Amazon DynamoDB",
            Service::S3 => "Amazon S3 (call recordings)",
        }
    }

    pub fn from_key(key: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn is_aws(self) -> bool {
        matches!(self, Service::DynamoDb | Service::S3)
    }
}

/// One integration as every user of the account sees it: never its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationRow {
    pub id: i32,
    pub service: Service,
    pub name: String,
    pub description: String,
    pub region: Option<String>,
    /// Dialogflow's project id, or `…ABCD`: the last 4 characters of the AWS key id.
    pub hint: String,
    /// The day it was added, `YYYY-MM-DD`.
    pub added: String,
    /// The names of the applications it is attached to.
    pub used_by: Vec<String>,
}

/// AWS regions, as listed by AWS on 2025-06-01: (code, name). Add new ones here.
pub const AWS_REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ap-southeast-5", "Asia Pacific (Malaysia)"),
    ("ap-southeast-7", "Asia Pacific (Thailand)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("me-central-1", "Middle East (UAE)"),
    ("mx-central-1", "Mexico (Central)"),
    ("sa-east-1", "South America (São Paulo)"),
];
