//! Client certificates for outbound HTTPS. They belong to the account, one
//! per domain; every user sees them; the user who added one, or an admin,
//! replaces it with its renewal (in one step, so calls never go without
//! one) or deletes it. The certificate and key are parsed and checked to
//! belong together before anything is stored; the private key is sealed.
use chrono::{DateTime, Duration, Utc};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, DerivePartialModel, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use std::collections::HashMap;

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::db::delete_found;
use crate::domain::core::limits;
use crate::domain::core::outbound::{self, ClientIdentity, OutboundError};
use crate::domain::core::people;
use crate::domain::core::scope::{lock_account, Deleting, Scoped};
use crate::domain::core::secrets::Sealed;
use crate::domain::core::validation::{turns_or_breaks, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{certificate, user};
use crate::model::{ActivityKind, AppError, CertificateRow, Expiry, EXPIRY_WARNING_DAYS};

/// Certificates expiring within this are flagged.
pub const EXPIRY_WARNING: Duration = Duration::days(EXPIRY_WARNING_DAYS);
/// Not a `maxlength` on the form (nor is [`super::integrations::CONFIG_MAX`]):
/// a paste cut short there would be a broken certificate or JSON, read as
/// the user's mistake; the server says the size beside the field instead.
const PEM_MAX: usize = 64 * 1024;

pub struct NewCertificate {
    pub domain: String,
    pub certificate: String,
    pub private_key: String,
}

/// What replaces a stored certificate: its renewal, for the same domain.
pub struct Renewal {
    pub certificate: String,
    pub private_key: String,
}

/// What a sealed value of this table is bound to (see `operator::reseal_secrets`).
pub fn seal_context(account_id: i32) -> String {
    format!("certificate:{account_id}")
}

/// A host name as outbound calls name it: letters, digits and hyphens in dot-separated labels.
fn domain_name(value: &str) -> Result<String, String> {
    let name = value.trim().trim_end_matches('.').to_lowercase();
    let bad = || "Domain must be a host name like api.example.com.".to_string();
    if name.is_empty() {
        return Err("Domain is required.".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(bad());
    }
    // The limits of DNS (RFC 1035), said as such: "like api.example.com"
    // would not tell the user what is wrong with a long name. Only ASCII
    // is left, so bytes are characters.
    if name.len() > 253 {
        return Err("Domain must be at most 253 characters.".into());
    }
    if name.split('.').any(|label| label.len() > 63) {
        return Err("Each part of Domain between dots must be at most 63 characters.".into());
    }
    let labels_ok = name
        .split('.')
        .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if labels_ok {
        Ok(name)
    } else {
        Err(bad())
    }
}

fn certificate_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let not_pem =
        || "Certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----).".to_string();
    if pem.trim().is_empty() {
        return Err("Certificate is required.".into());
    }
    if pem.len() > PEM_MAX {
        return Err(format!(
            "Certificate is too long: at most {} KB. Paste the certificate and its chain only.",
            PEM_MAX / 1024
        ));
    }
    let chain: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| not_pem())?;
    if chain.is_empty() {
        return Err(not_pem());
    }
    Ok(chain)
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    if pem.trim().is_empty() {
        return Err("Private Key is required.".into());
    }
    if pem.len() > PEM_MAX {
        return Err(format!(
            "Private Key is too long: at most {} KB. Paste the one key only.",
            PEM_MAX / 1024
        ));
    }
    let found = rustls_pemfile::private_key(&mut pem.as_bytes()).ok().flatten();
    found.ok_or_else(|| {
        // PKCS#8 "ENCRYPTED PRIVATE KEY" and OpenSSL's legacy "Proc-Type: 4,ENCRYPTED":
        // the server cannot use a key it has no passphrase for, so say what to do.
        if pem.contains("ENCRYPTED") {
            "Private Key is protected by a passphrase; remove it first (openssl pkey -in key.pem -out plain.pem).".into()
        } else {
            "Private Key must be a PEM private key (-----BEGIN PRIVATE KEY-----: RSA, EC or Ed25519).".into()
        }
    })
}

/// The chain written back as PEM, certificates only: whatever else was pasted
/// into the field (a private key from a combined .pem file, above all) is not
/// stored in the clear.
fn chain_pem(chain: &[CertificateDer<'_>]) -> String {
    chain.iter().map(|cert| pem_block("CERTIFICATE", cert.as_ref())).collect()
}

/// The key written back as PEM from what was read of it: whatever was
/// pasted around it (the certificate of a combined .pem file, comments, or
/// padding up to the field's 64 KB, which would grow the table) is not
/// sealed and stored. `None` for an encoding this does not name.
fn key_pem(key: &PrivateKeyDer<'_>) -> Option<String> {
    let label = match key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        PrivateKeyDer::Pkcs8(_) => "PRIVATE KEY",
        _ => return None,
    };
    Some(pem_block(label, key.secret_der()))
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap_or_default())
        .collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

struct Parsed {
    subject: String,
    issuer: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

fn describe(leaf: &CertificateDer<'_>) -> Result<Parsed, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|_| {
        "Certificate could not be read as X.509: paste the PEM file's whole text, from \
             -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----."
            .to_string()
    })?;
    let validity = cert.validity();
    let not_before = DateTime::from_timestamp(validity.not_before.timestamp(), 0)
        .ok_or_else(|| "Certificate has an unreadable start date.".to_string())?;
    let not_after = DateTime::from_timestamp(validity.not_after.timestamp(), 0)
        .ok_or_else(|| "Certificate has an unreadable expiry date.".to_string())?;
    let (subject, issuer) = (cert.subject().to_string(), cert.issuer().to_string());
    Ok(Parsed { subject: shown(subject), issuer: shown(issuer), not_before, not_after })
}

/// The most of a subject or issuer kept to show: a real one is a few names
/// long, but a certificate may carry a name as long as its PEM allows, which
/// every member of the account would be sent with the list.
pub const NAME_SHOWN_MAX: usize = 300;

/// A subject or issuer as the list shows it: cut at [`NAME_SHOWN_MAX`], and
/// a control character or one that reorders the text written as its code
/// (`\u{202e}`). The name is the certificate's, not typed here, so it is
/// not refused: a NUL would fail PostgreSQL's insert, and U+202E would show
/// every member of the account a name that reads other than it is.
fn shown(name: String) -> String {
    // Cut first, on the name's own characters, so no code is cut in half.
    let (name, cut) = match name.char_indices().nth(NAME_SHOWN_MAX) {
        Some((at, _)) => (&name[..at], "…"),
        None => (name.as_str(), ""),
    };
    let acts = |c: char| c.is_control() || turns_or_breaks(c);
    let mut out = String::with_capacity(name.len() + cut.len());
    for c in name.chars() {
        match acts(c) {
            true => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            false => out.push(c),
        }
    }
    out.push_str(cut);
    out
}

/// Whether the key is the certificate's: the public key derived from the
/// private key must be the one the first certificate holds. Refused, the
/// field to mend and why: the key when it is another's, the certificate
/// when the key's own comes later in the chain (pasted CA first) or the
/// certificate is one TLS cannot use with a key (not X.509 v3).
fn keys_match(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), (&'static str, String)> {
    use rustls::{Error, InconsistentKeys};
    let signing = rustls::crypto::ring::sign::any_supported_type(key).map_err(|_| {
        let why = "Private Key is of a kind that cannot be used (use RSA, ECDSA P-256/P-384 or \
                   Ed25519).";
        ("private_key", why.to_string())
    })?;
    let matches = |chain: Vec<CertificateDer<'static>>| {
        rustls::sign::CertifiedKey::new(chain, signing.clone()).keys_match()
    };
    match matches(chain.to_vec()) {
        Ok(()) => Ok(()),
        Err(Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            let own = (1..chain.len()).find(|&i| matches(vec![chain[i].clone()]).is_ok());
            Err(match own {
                Some(i) => (
                    "certificate",
                    format!(
                        "The certificate for this private key must come first: it is number {} \
                         of the {} pasted.",
                        i + 1,
                        chain.len()
                    ),
                ),
                None => {
                    ("private_key", "The private key does not belong to this certificate.".into())
                }
            })
        }
        // A key whose public half cannot be derived to compare.
        Err(Error::InconsistentKeys(InconsistentKeys::Unknown)) => Err((
            "private_key",
            "Private Key could not be compared with the certificate: use RSA, ECDSA \
             P-256/P-384 or Ed25519."
                .into(),
        )),
        Err(other) => Err((
            "certificate",
            format!(
                "Certificate cannot be used for TLS with its key (it must be X.509 v3): {other}."
            ),
        )),
    }
}

/// A certificate and its key as pasted, read and checked to belong together.
struct Pair {
    chain: Vec<CertificateDer<'static>>,
    parsed: Parsed,
    /// The key as read, which is what is sealed.
    key_pem: String,
}

/// Reads the pasted certificate and key, each refusal said beside its field
/// in `errors`; `None` when either could not be used.
fn read_pair(errors: &mut Errors, certificate: &str, key: &str) -> Option<Pair> {
    let chain = errors.check("certificate", certificate_chain(certificate));
    let key = private_key(key);
    if let Err(message) = &key {
        errors.add("private_key", message.clone());
    }
    let parsed = chain.first().map(describe).transpose().unwrap_or_else(|m| {
        errors.add("certificate", m);
        None
    });
    // A certificate that could not be read matches no key: saying the key
    // does not belong to it would send the user to mend the wrong field.
    if let (true, Ok(key)) = (parsed.is_some(), &key) {
        if let Err((field, message)) = keys_match(&chain, key) {
            errors.add(field, message);
        }
    }
    let key_pem = key.ok().as_ref().and_then(key_pem);
    Some(Pair { chain, parsed: parsed?, key_pem: key_pem? })
}

fn expiry(not_before: DateTime<Utc>, not_after: DateTime<Utc>, now: DateTime<Utc>) -> Expiry {
    if not_after <= now {
        Expiry::Expired
    } else if now < not_before {
        Expiry::NotYetValid
    } else if not_after - now <= EXPIRY_WARNING {
        Expiry::Soon
    } else {
        Expiry::Valid
    }
}

pub async fn add(
    d: &Domain,
    me: &Member,
    input: NewCertificate,
) -> Result<CertificateRow, AppError> {
    me.verified(&d.db).await?;
    let mut errors = Errors::default();
    let domain = errors.check("domain", domain_name(&input.domain));
    let pair = read_pair(&mut errors, &input.certificate, &input.private_key);
    errors.into_result()?;
    let Pair { chain, parsed, key_pem } = pair.ok_or(AppError::Internal)?;
    let sealed = d.secrets.seal(&key_pem, &seal_context(me.account_id()));
    let event = Event::new(ActivityKind::CertificateAdded, &domain);
    let new = certificate::ActiveModel {
        account_id: Set(me.account_id()),
        added_by: Set(me.user_id()),
        domain: Set(domain.clone()),
        subject: Set(parsed.subject),
        issuer: Set(parsed.issuer),
        not_before: Set(Some(parsed.not_before)),
        not_after: Set(parsed.not_after),
        cert_pem: Set(chain_pem(&chain)),
        key_id: Set(sealed.key_id),
        key_ciphertext: Set(sealed.ciphertext),
        created_at: Set(d.clock.now()),
        ..Default::default()
    };
    // Only its adder or an admin may delete it: said, so a member who may
    // not knows whom to ask.
    let taken = || {
        AppError::field(
            "domain",
            format!(
                "This account already has a certificate for {domain}. To renew it, the user \
                 who added it or an account admin replaces it (Replace, on its row)."
            ),
        )
    };
    // Before a change is counted, so a refusal spends none; the unique
    // index still decides a race.
    let same_domain = Scoped::of(me)
        .all::<certificate::Entity>()
        .filter(certificate::Column::Domain.eq(domain.as_str()));
    if same_domain.one(&d.read).await?.is_some() {
        return Err(taken());
    }
    let by = By::Member(activity::count_change(d, me).await?);
    let model = activity::with_event(d, by, event, async |txn| {
        let most = d.holdings.certificates;
        // An admin may delete anyone's certificate; a member only their own.
        let deleting = match me.admin() {
            Ok(_) => Deleting::Any,
            Err(_) => Deleting::OwnersOrAnAdmin,
        };
        Scoped::of(me)
            .refuse_full::<certificate::Entity>(txn, most, "certificates", deleting)
            .await?;
        // Read again under the lock, which disabling the user takes too.
        me.verified(txn).await?;
        new.insert(txn).await.map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => taken(),
            _ => e.into(),
        })
    })
    .await?;
    Ok(rows(d, me, vec![model.into()]).await?.remove(0))
}

/// Replaces the stored certificate `id` with its renewal, for the same
/// domain, in one statement: calls present the old one until the commit and
/// the new one after it, never none (a delete then an add leaves a gap).
/// Who may delete it may replace it ([`may_change`]), and the replacement is
/// then theirs. A renewal servers would refuse now (expired, or not valid
/// yet) is refused while the current one still works
/// ([`refuse_unusable_renewal`]).
pub async fn replace(
    d: &Domain,
    me: &Member,
    id: i32,
    input: Renewal,
) -> Result<CertificateRow, AppError> {
    me.verified(&d.db).await?;
    let found = Scoped::of(me).find::<certificate::Entity>(&d.read, id).await?;
    refuse_unless_may_change(&found, me)?;
    let mut errors = Errors::default();
    let pair = read_pair(&mut errors, &input.certificate, &input.private_key);
    errors.into_result()?;
    let Pair { chain, parsed, key_pem } = pair.ok_or(AppError::Internal)?;
    let now = d.clock.now();
    // Before a change is counted, so a refusal spends none; again under the
    // lock, against the certificate as it is then.
    refuse_unusable_renewal(&parsed, &found, now)?;
    let sealed = d.secrets.seal(&key_pem, &seal_context(me.account_id()));
    let event = Event::new(ActivityKind::CertificateReplaced, &found.domain);
    let by = By::Member(activity::count_change(d, me).await?);
    let model = activity::with_event(d, by, event, async |txn| {
        // Read again under the lock, which a hand-over and disabling the
        // user take too.
        lock_account(txn, me.account_id()).await?;
        me.verified(txn).await?;
        let found = changeable(txn, me, id).await?;
        refuse_unusable_renewal(&parsed, &found, now)?;
        let mut renewed: certificate::ActiveModel = found.into();
        renewed.added_by = Set(me.user_id());
        renewed.subject = Set(parsed.subject);
        renewed.issuer = Set(parsed.issuer);
        renewed.not_before = Set(Some(parsed.not_before));
        renewed.not_after = Set(parsed.not_after);
        renewed.cert_pem = Set(chain_pem(&chain));
        renewed.key_id = Set(sealed.key_id);
        renewed.key_ciphertext = Set(sealed.ciphertext);
        renewed.created_at = Set(now);
        Ok(renewed.update(txn).await?)
    })
    .await?;
    Ok(rows(d, me, vec![model.into()]).await?.remove(0))
}

/// Refuses a renewal servers would refuse now while `current` works (has
/// started and not expired): every call would fail, from one that
/// succeeds. One not valid yet is taken once it starts; either kind once
/// the current one has expired, or while it has not started itself.
fn refuse_unusable_renewal(
    renewal: &Parsed,
    current: &certificate::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // A row an earlier build added has no start stored: read from its PEM.
    let started = current.not_before.or_else(|| certificate::not_before_of(&current.cert_pem));
    let works = started.is_none_or(|start| start <= now) && now < current.not_after;
    if !works {
        return Ok(());
    }
    let why = if renewal.not_after <= now {
        format!(
            "This certificate expired on {}, and the current one still works: replace it with \
             a certificate valid now.",
            clock::shown(renewal.not_after)
        )
    } else if now < renewal.not_before {
        format!(
            "This certificate is valid only from {}, and the current one still works: replaced \
             now, calls would be refused until then. Replace it from that time.",
            clock::shown(renewal.not_before)
        )
    } else {
        return Ok(());
    };
    Err(AppError::field("certificate", why))
}

/// The certificate `id` read again under the account's lock, refused unless
/// `me` may still change it ([`may_change`]): a hand-over may have passed
/// it to an admin, or `me` may be an admin no more.
async fn changeable(
    txn: &DatabaseTransaction,
    me: &Member,
    id: i32,
) -> Result<certificate::Model, AppError> {
    let found = Scoped::of(me).find::<certificate::Entity>(txn, id).await?;
    refuse_unless_may_change(&found, me)?;
    if found.added_by != me.user_id() {
        // Another user's certificate: only while still an admin.
        me.admin()?.recheck(txn).await?;
    }
    Ok(found)
}

/// What the list shows of a certificate: not its sealed private key (up to
/// a few kilobytes a row), which only the outbound client opens, nor its
/// PEM, whose dates are stored beside it (but for an earlier build's adds,
/// see [`starts_unknown`]).
#[derive(DerivePartialModel)]
#[sea_orm(entity = "certificate::Entity")]
struct Listed {
    id: i32,
    added_by: i32,
    domain: String,
    subject: String,
    issuer: String,
    not_before: Option<DateTime<Utc>>,
    not_after: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<certificate::Model> for Listed {
    fn from(m: certificate::Model) -> Self {
        Listed {
            id: m.id,
            added_by: m.added_by,
            domain: m.domain,
            subject: m.subject,
            issuer: m.issuer,
            not_before: m.not_before,
            not_after: m.not_after,
            created_at: m.created_at,
        }
    }
}

async fn rows(
    d: &Domain,
    me: &Member,
    models: Vec<Listed>,
) -> Result<Vec<CertificateRow>, AppError> {
    let now = d.clock.now();
    let adders = limits::distinct(models.iter().map(|m| m.added_by));
    let adders =
        people::choices_where(&d.read, Condition::all().add(user::Column::Id.is_in(adders)))
            .await?;
    let unknown = starts_unknown(d, &models).await?;
    Ok(models
        .into_iter()
        .map(|m| {
            let starts = m.not_before.or_else(|| unknown.get(&m.id).copied().flatten());
            let starts = starts.unwrap_or(m.created_at);
            (m, starts)
        })
        .map(|(m, starts)| CertificateRow {
            id: m.id,
            expiry: expiry(starts, m.not_after, now),
            valid_from: clock::shown(starts),
            expires: clock::shown(m.not_after),
            added_by: adders.get(&m.added_by).map(|u| u.name.clone()).unwrap_or_default(),
            can_delete: may_change(m.added_by, me),
            domain: m.domain,
            subject: m.subject,
            issuer: m.issuer,
        })
        .collect())
}

/// The start of each of `models` stored without one, read from its PEM: a
/// certificate added by an earlier build still running beside this one
/// (a rolling deploy) after migration 32. Nothing to read otherwise.
async fn starts_unknown(
    d: &Domain,
    models: &[Listed],
) -> Result<HashMap<i32, Option<DateTime<Utc>>>, AppError> {
    let ids: Vec<i32> = models.iter().filter(|m| m.not_before.is_none()).map(|m| m.id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let pems: Vec<(i32, String)> = certificate::Entity::find()
        .select_only()
        .columns([certificate::Column::Id, certificate::Column::CertPem])
        .filter(certificate::Column::Id.is_in(ids))
        .into_tuple()
        .all(&d.read)
        .await?;
    Ok(pems.into_iter().map(|(id, pem)| (id, certificate::not_before_of(&pem))).collect())
}

/// The user who added a certificate may replace or delete it, and so may an
/// admin.
fn may_change(added_by: i32, me: &Member) -> bool {
    added_by == me.user_id() || me.admin().is_ok()
}

/// Refuses unless [`may_change`].
fn refuse_unless_may_change(found: &certificate::Model, me: &Member) -> Result<(), AppError> {
    match may_change(found.added_by, me) {
        true => Ok(()),
        false => Err(AppError::Forbidden(
            "Only the user who added this certificate, or an account admin, can replace or \
             delete it."
                .into(),
        )),
    }
}

pub async fn list(d: &Domain, me: &Member) -> Result<Vec<CertificateRow>, AppError> {
    let models = Scoped::of(me)
        .all::<certificate::Entity>()
        .order_by_asc(certificate::Column::Domain)
        .into_partial_model()
        .all(&d.read)
        .await?;
    rows(d, me, models).await
}

pub async fn delete(d: &Domain, me: &Member, id: i32) -> Result<(), AppError> {
    let found = Scoped::of(me).find::<certificate::Entity>(&d.db, id).await?;
    refuse_unless_may_change(&found, me)?;
    let event = Event::new(ActivityKind::CertificateDeleted, &found.domain);
    activity::with_event(d, By::Remedy(me), event, async |txn| {
        // Read again under the lock, which a hand-over takes too: a
        // certificate passed to an admin a moment ago is no longer this
        // user's own.
        lock_account(txn, me.account_id()).await?;
        me.active(txn).await?;
        let found = changeable(txn, me, found.id).await?;
        delete_found::<certificate::Entity>(txn, found.id).await
    })
    .await?;
    Ok(())
}

/// The account's client certificate for `host`, for the outbound client.
pub async fn identity_for(
    d: &Domain,
    account_id: i32,
    host: &str,
) -> Result<Option<ClientIdentity>, AppError> {
    let Some(found) = Scoped::account(account_id)
        .all::<certificate::Entity>()
        .filter(certificate::Column::Domain.eq(host.to_lowercase()))
        .one(&d.db)
        .await?
    else {
        return Ok(None);
    };
    let sealed = Sealed { key_id: found.key_id.clone(), ciphertext: found.key_ciphertext.clone() };
    let key_pem = d.secrets.open(&sealed, &seal_context(account_id)).map_err(|err| {
        tracing::error!(certificate = found.id, error = %err, "a certificate key does not open");
        AppError::Internal
    })?;
    let chain = certificate_chain(&found.cert_pem).map_err(|_| AppError::Internal)?;
    let key = private_key(&key_pem).map_err(|_| AppError::Internal)?;
    Ok(Some(ClientIdentity { chain, key }))
}

/// A call made for an account: presents the account's client certificate
/// for the host, if it has one.
pub async fn send_for_account(
    d: &Domain,
    account_id: i32,
    method: &str,
    url: &str,
    form: Option<&[(&str, &str)]>,
    bearer: Option<&str>,
) -> Result<outbound::Response, OutboundError> {
    let identity = identity_for_url(d, account_id, url).await?;
    d.outbound.send(method, url, form, bearer, identity).await
}

/// [`identity_for`] the host of `url`, for a caller that times the call
/// itself.
pub async fn identity_for_url(
    d: &Domain,
    account_id: i32,
    url: &str,
) -> Result<Option<ClientIdentity>, OutboundError> {
    let host = outbound::parse_url(url)?.host;
    identity_for(d, account_id, &host)
        .await
        .map_err(|_| OutboundError("the account's certificate could not be opened".into()))
}

/// The certificates a deleted user added are now the deleting admin's to delete.
pub async fn hand_over(txn: &DatabaseTransaction, from: i32, to: i32) -> Result<(), AppError> {
    certificate::Entity::update_many()
        .col_expr(certificate::Column::AddedBy, to.into())
        .filter(certificate::Column::AddedBy.eq(from))
        .exec(txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(domain_name(" API.Example.com. ").unwrap(), "api.example.com");
        assert_eq!(domain_name("localhost").unwrap(), "localhost");
        for bad in ["", "exa mple.com", "-a.com", "a..com", "https://a.com", "*.a.com"] {
            assert!(domain_name(bad).is_err(), "{bad:?}");
        }
        let long = vec!["a".repeat(60); 5].join(".");
        assert_eq!(domain_name(&long).unwrap_err(), "Domain must be at most 253 characters.");
        let long_label = format!("{}.example.com", "a".repeat(64));
        assert_eq!(
            domain_name(&long_label).unwrap_err(),
            "Each part of Domain between dots must be at most 63 characters."
        );
        assert!(domain_name(&format!("{}.example.com", "a".repeat(63))).is_ok());
        // Letters beyond ASCII are the problem, not the length.
        let said = domain_name(&"ñ".repeat(130)).unwrap_err();
        assert_eq!(said, "Domain must be a host name like api.example.com.");
    }
}
