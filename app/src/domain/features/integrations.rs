//! Integrations with third-party services. Every user of the account sees
//! them; only admins add, rename or delete them. Credentials are checked,
//! sealed with the account bound to them, and never leave the server: after
//! creation only the name and description can change.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait,
    IntoActiveModel, QueryFilter, Set, SqlErr,
};
use serde::{Deserialize, Serialize};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::{Admin, Member};
use crate::domain::core::clock;
use crate::domain::core::db::delete_found;
use crate::domain::core::edits;
use crate::domain::core::names;
use crate::domain::core::scope::{lock_account_as, Deleting, Scoped};
use crate::domain::core::secrets::{Sealed, Secrets};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{application_integration, integration};
use crate::domain::features::applications::{
    detached, refuse_impossible_confirmation, refuse_unconfirmed, using_integrations,
    using_integrations_seen_by,
};
use crate::model::{ActivityKind, AppError, IntegrationRow, Service, UsedBy, AWS_REGIONS};

pub use crate::model::DESCRIPTION_MAX;
pub const CONFIG_MAX: usize = 16 * 1024;
pub const NAME_TAKEN: &str =
    "Another integration of this account already has this name: choose another.";

/// What the Add Integration form sends; fields of other services are ignored.
#[derive(Default)]
pub struct NewIntegration {
    pub service: String,
    pub name: String,
    pub description: String,
    /// Dialogflow: the service-account key JSON.
    pub config: String,
    /// AWS: the access key id.
    pub key: String,
    /// AWS: the secret access key.
    pub secret: String,
    /// DynamoDB: the region code.
    pub region: String,
}

/// The sealed part of an integration.
#[derive(PartialEq, Eq, Serialize, Deserialize)]
pub enum Credentials {
    Dialogflow { config: String },
    Aws { key: String, secret: String },
}

/// Never prints the secrets, should credentials end up in a log line.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Dialogflow { .. } => f.write_str("Credentials::Dialogflow { .. }"),
            Credentials::Aws { key, .. } => {
                write!(
                    f,
                    "Credentials::Aws {{ key: …{}, .. }}",
                    &key[key.len().saturating_sub(4)..]
                )
            }
        }
    }
}

/// What is bound to every sealed credential: it opens only for its account.
/// What a sealed value of this table is bound to (see `operator::reseal_secrets`).
pub fn seal_context(account_id: i32) -> String {
    format!("integration:{account_id}")
}

/// What a list shows of an integration: not its sealed credentials, up to
/// 22 KB a row, which a tab of a hundred would read for nothing.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "integration::Entity")]
struct Listed {
    id: i32,
    service: String,
    name: String,
    description: String,
    region: Option<String>,
    hint: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<integration::Model> for Listed {
    fn from(m: integration::Model) -> Self {
        let (id, service, name, description) = (m.id, m.service, m.name, m.description);
        Listed {
            id,
            service,
            name,
            description,
            region: m.region,
            hint: m.hint,
            created_at: m.created_at,
        }
    }
}

fn row(model: impl Into<Listed>) -> IntegrationRow {
    let model: Listed = model.into();
    IntegrationRow {
        id: model.id,
        service: Service::from_key(&model.service).unwrap_or(Service::Dialogflow),
        name: model.name,
        description: model.description,
        region: model.region,
        hint: model.hint,
        added: clock::shown(model.created_at),
        used_by: UsedBy::default(),
    }
}

pub async fn list(d: &Domain, actor: &Member) -> Result<Vec<IntegrationRow>, AppError> {
    let mut rows: Vec<Listed> =
        Scoped::of(actor).integrations().into_partial_model().all(&d.read).await?;
    rows.sort_by(|a, b| names::order(&a.name, &b.name));
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    // An admin, who deletes, is told every application using one; a member
    // the names of those the Applications tab shows them, and how many more.
    let mut used = match actor.admin() {
        Ok(_) => using_integrations(&d.read, &ids).await?,
        Err(_) => using_integrations_seen_by(&d.read, &ids, actor).await?,
    };
    Ok(rows
        .into_iter()
        .map(|model| {
            let used_by = used.remove(&model.id).unwrap_or_default();
            IntegrationRow { used_by, ..row(model) }
        })
        .collect())
}

fn description(value: &str) -> Result<String, String> {
    // A browser sends a text area's line breaks as CRLF: counted as one
    // character each, as the field showed them.
    let value = value.trim().replace("\r\n", "\n");
    let value = value.as_str();
    if value.chars().count() > DESCRIPTION_MAX {
        return Err(format!("Description must be at most {DESCRIPTION_MAX} characters."));
    }
    validation::lines_only_control(value, "Description")?;
    Ok(value.to_owned())
}

/// The longest project ID taken: Google's are at most 30 characters, a
/// domain-scoped one a domain and a colon more.
const PROJECT_ID_MAX: usize = 100;

/// A Google service-account key: the JSON file Google lets one download.
fn dialogflow_config(value: &str) -> Result<(String, String), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Config is required: paste the service-account key JSON.".into());
    }
    if value.len() > CONFIG_MAX {
        return Err(format!("Config must be at most {} KiB.", CONFIG_MAX / 1024));
    }
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|e| format!("Config is not valid JSON ({e})."))?;
    let text = |field: &str| json.get(field).and_then(|v| v.as_str()).map(str::trim).unwrap_or("");
    if text("type") != "service_account" {
        return Err(
            "Config must be a service-account key: its \"type\" is \"service_account\".".into()
        );
    }
    let project_id = text("project_id");
    if project_id.is_empty() {
        return Err("Config has no \"project_id\".".into());
    }
    // Shown to every member as the integration's hint. Google's project
    // IDs are 6 to 30 lower-case letters, digits and hyphens; older ones
    // carry a domain ("example.com:my-project").
    let id_like = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c);
    if project_id.len() > PROJECT_ID_MAX || !project_id.chars().all(id_like) {
        return Err("Config's \"project_id\" is not a Google Cloud project ID.".into());
    }
    if validation::email(text("client_email")).is_err() {
        return Err("Config has no valid \"client_email\".".into());
    }
    // The key parsed, not only its PEM lines checked: one pasted with
    // literal "\n"s (as it comes out of an environment variable) or cut
    // short would be saved and fail at its first use, and credentials
    // cannot be edited, only deleted with their attachments and added again.
    let key = text("private_key");
    let parsed = rustls_pemfile::private_key(&mut key.as_bytes()).ok().flatten();
    let usable = parsed
        .is_some_and(|parsed| rustls::crypto::ring::sign::any_supported_type(&parsed).is_ok());
    if !key.starts_with("-----BEGIN PRIVATE KEY-----") || !usable {
        return Err("Config has no valid PEM \"private_key\": paste the key file as Google \
                    Cloud gave it."
            .into());
    }
    Ok((value.to_owned(), project_id.to_owned()))
}

fn aws_key_id(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(
            "Key is required: the access key id, AKIA and 16 more letters and digits.".into()
        );
    }
    let well_formed =
        value.len() == 20 && value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    // A temporary key (ASIA…) works only with a session token this form has
    // no field for, and expires within hours; the credentials cannot be
    // changed afterwards, so it is refused now rather than failing later.
    if well_formed && value.starts_with("ASIA") {
        return Err("Key is a temporary AWS key (ASIA…), which expires within hours: use a \
                    long-term access key id (AKIA…) of an IAM user."
            .into());
    }
    if well_formed && value.starts_with("AKIA") {
        Ok(value.to_owned())
    } else {
        Err("Key must be an AWS access key id: 20 capital letters and digits starting with AKIA."
            .into())
    }
}

fn aws_secret(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Secret is required: the secret access key AWS showed with the key.".into());
    }
    let well_formed = value.len() == 40
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+' || c == '=');
    if well_formed {
        Ok(value.to_owned())
    } else {
        Err("Secret must be an AWS secret access key: 40 characters.".into())
    }
}

fn region(value: &str) -> Result<String, String> {
    AWS_REGIONS
        .iter()
        .find(|(code, _)| *code == value.trim())
        .map(|(code, _)| code.to_string())
        .ok_or_else(|| "Select a region from the list.".into())
}

/// Refuses a name another of the account's integrations has (in any
/// capitals) before a change is counted: a refusal spends none. The unique
/// index still decides a race.
async fn refuse_taken_name(
    d: &Domain,
    admin: &Admin,
    name: &str,
    other_than: Option<i32>,
) -> Result<(), AppError> {
    let mut same = Scoped::of(admin.member())
        .integrations()
        .filter(integration::Column::NameKey.eq(name.to_lowercase()));
    if let Some(id) = other_than {
        same = same.filter(integration::Column::Id.ne(id));
    }
    match same.one(&d.read).await? {
        Some(_) => Err(AppError::field("name", NAME_TAKEN)),
        None => Ok(()),
    }
}

fn name_conflict(err: sea_orm::DbErr) -> AppError {
    if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        AppError::field("name", NAME_TAKEN)
    } else {
        err.into()
    }
}

pub async fn add(
    d: &Domain,
    admin: &Admin,
    input: NewIntegration,
) -> Result<IntegrationRow, AppError> {
    admin.member().verified(&d.db).await?;
    let mut errors = Errors::default();
    let service = Service::from_key(&input.service);
    if service.is_none() {
        errors.add("service", "Select a service.");
    }
    let name = errors.check("name", validation::one_line_name(&input.name, "Name"));
    let description = errors.check("description", description(&input.description));
    let (credentials, hint, region) = match service {
        Some(Service::Dialogflow) => {
            let (config, project) = errors.check("config", dialogflow_config(&input.config));
            (Credentials::Dialogflow { config }, project, None)
        }
        Some(aws) => {
            let key = errors.check("key", aws_key_id(&input.key));
            let secret = errors.check("secret", aws_secret(&input.secret));
            let region =
                (aws == Service::DynamoDb).then(|| errors.check("region", region(&input.region)));
            let hint = format!("…{}", key.get(key.len().saturating_sub(4)..).unwrap_or(""));
            (Credentials::Aws { key, secret }, hint, region)
        }
        None => {
            (Credentials::Aws { key: String::new(), secret: String::new() }, String::new(), None)
        }
    };
    errors.into_result()?;

    let account_id = admin.account_id();
    let plaintext = serde_json::to_string(&credentials).map_err(|_| AppError::Internal)?;
    let sealed = d.secrets.seal(&plaintext, &seal_context(account_id));
    let service_key = service.map(Service::key).unwrap_or_default();
    let event = Event::new(ActivityKind::IntegrationAdded, &name).detail(service_key);
    let new = integration::ActiveModel {
        account_id: Set(account_id),
        service: Set(service_key.into()),
        name_key: Set(name.to_lowercase()),
        name: Set(name),
        description: Set(description),
        region: Set(region),
        hint: Set(hint),
        key_id: Set(sealed.key_id),
        ciphertext: Set(sealed.ciphertext),
        created_at: Set(d.clock.now()),
        ..Default::default()
    };
    refuse_taken_name(d, admin, new.name.as_ref(), None).await?;
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let model = activity::with_event(d, by, event, async |txn| {
        lock_account_as(txn, admin).await?;
        let most = d.holdings.integrations;
        Scoped::of(admin.member())
            .refuse_full::<integration::Entity>(txn, most, "integrations", Deleting::Any)
            .await?;
        new.insert(txn).await.map_err(name_conflict)
    })
    .await?;
    Ok(row(model))
}

async fn find(d: &Domain, admin: &Admin, id: i32) -> Result<integration::Model, AppError> {
    find_on(&d.db, admin, id).await
}

async fn find_on(
    conn: &impl ConnectionTrait,
    admin: &Admin,
    id: i32,
) -> Result<integration::Model, AppError> {
    Scoped::of(admin.member())
        .integrations()
        .filter(integration::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// What Edit Integration opened with (hidden in the form): two admins may
/// have it open at once, and each saves only what they changed
/// ([`edits::merged`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shown {
    pub name: String,
    pub description: String,
}

/// Renames or re-describes an integration; its credentials cannot change.
/// `was`: the values the form opened with (`None`: every field as sent).
pub async fn update(
    d: &Domain,
    admin: &Admin,
    id: i32,
    name: &str,
    description_text: &str,
    was: Option<Shown>,
) -> Result<IntegrationRow, AppError> {
    let mut errors = Errors::default();
    let name = errors.check("name", validation::one_line_name(name, "Name"));
    let description = errors.check("description", description(description_text));
    errors.into_result()?;
    // As checked, or as shown when today's rules refuse it (a value stored
    // before a rule is still what the form opened with).
    let was = was.map(|shown| {
        let mut refused = Errors::default();
        let name = refused.check("name", validation::one_line_name(&shown.name, "Name"));
        let checked = refused.check("description", self::description(&shown.description));
        Shown {
            name: edits::as_opened(&refused, "name", name, &shown.name),
            description: edits::as_opened(&refused, "description", checked, &shown.description),
        }
    });
    let sent = Shown { name: name.clone(), description: description.clone() };
    let current = find(d, admin, id).await?;
    // Saved as it is, or as the form opened (Save pressed again): nothing to
    // write, record or count.
    let now = Shown { name: current.name.clone(), description: current.description.clone() };
    if sent == now || was.as_ref() == Some(&sent) {
        // Only to an admin still: a demoted one is refused, not answered.
        admin.recheck(&d.db).await?;
        return with_used_by(d, row(current)).await;
    }
    // Only a name this form changed: another admin's rename stands, and the
    // unique index still refuses a clash made meanwhile (`name_conflict`).
    if was.as_ref().is_none_or(|was| was.name != name) {
        refuse_taken_name(d, admin, &name, Some(id)).await?;
    }
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    // Read again under the lock: one deleted meanwhile is not found (not a
    // failed write), and "renamed from" names the name it had just before.
    lock_account_as(&txn, admin).await?;
    let found = find_on(&txn, admin, id).await?;
    let mut errors = Errors::default();
    let name = edits::merged(
        &mut errors,
        ("name", "Name"),
        name,
        was.as_ref().map(|w| &w.name),
        &found.name,
    );
    let description = edits::merged(
        &mut errors,
        ("description", "Description"),
        description,
        was.as_ref().map(|w| &w.description),
        &found.description,
    );
    errors.into_result()?;
    let mut event = Event::new(ActivityKind::IntegrationUpdated, &name);
    if found.name != name {
        event = event.detail(format!("renamed from {}", found.name));
    }
    let mut active = found.into_active_model();
    active.name_key = Set(name.to_lowercase());
    active.name = Set(name);
    active.description = Set(description);
    let model = active.update(&txn).await.map_err(name_conflict)?;
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    with_used_by(d, row(model)).await
}

/// `row` with the applications that use it, as the list shows it: an admin
/// sees every application of the account.
async fn with_used_by(d: &Domain, row: IntegrationRow) -> Result<IntegrationRow, AppError> {
    let used_by = using_integrations(&d.db, &[row.id]).await?.remove(&row.id).unwrap_or_default();
    Ok(IntegrationRow { used_by, ..row })
}

/// Deletes an integration. One that applications use is deleted only when
/// the admin confirmed detaching it from those very applications
/// (`detach_from`, what the dialog named); then it leaves them in the same
/// transaction.
pub async fn delete(
    d: &Domain,
    admin: &Admin,
    id: i32,
    detach_from: &UsedBy,
) -> Result<(), AppError> {
    refuse_impossible_confirmation(d, admin.account_id(), detach_from).await?;
    let txn = d.begin().await?;
    // Attaching takes the same lock, so "in use" is not read a moment before
    // an attachment the admin never confirmed detaching.
    lock_account_as(&txn, admin).await?;
    // Read under the lock: a rename that landed while this waited is the
    // name the event records.
    let found = find_on(&txn, admin, id).await?;
    let used_by =
        using_integrations(&txn, &[found.id]).await?.remove(&found.id).unwrap_or_default();
    refuse_unconfirmed(&found.name, &used_by, detach_from)?;
    application_integration::Entity::delete_many()
        .filter(application_integration::Column::IntegrationId.eq(found.id))
        .exec(&txn)
        .await?;
    delete_found::<integration::Entity>(&txn, found.id).await?;
    let event = detached(Event::new(ActivityKind::IntegrationDeleted, &found.name), &used_by);
    activity::record(d, &txn, By::Remedy(admin.member()), event).await?;
    txn.commit().await?;
    Ok(())
}

/// The credentials, for the server's own calls to the service. Never for a browser.
pub async fn credentials(d: &Domain, admin: &Admin, id: i32) -> Result<Credentials, AppError> {
    // Secrets are worth the one more read: an admin demoted a moment ago
    // reads them no more.
    admin.recheck(&d.db).await?;
    let found = find(d, admin, id).await?;
    open(&d.secrets, &found)
}

fn open(secrets: &Secrets, model: &integration::Model) -> Result<Credentials, AppError> {
    let sealed = Sealed { key_id: model.key_id.clone(), ciphertext: model.ciphertext.clone() };
    let plaintext = secrets.open(&sealed, &seal_context(model.account_id)).map_err(|err| {
        tracing::error!(integration = model.id, error = %err, "integration credentials do not open");
        AppError::Internal
    })?;
    serde_json::from_str(&plaintext).map_err(|_| AppError::Internal)
}
