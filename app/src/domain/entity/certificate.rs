use sea_orm::entity::prelude::*;

/// A client certificate the account's outbound HTTPS calls to `domain`
/// present. The private key is sealed; the certificate itself is public.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub added_by: i32,
    pub domain: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub issuer: String,
    /// When the certificate's validity starts; `None` for one added by a
    /// build without migration 32 (still running beside this one in a
    /// rolling deploy), whose start the list reads from its PEM.
    pub not_before: Option<DateTimeUtc>,
    pub not_after: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub cert_pem: String,
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub key_ciphertext: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// When the first certificate of a PEM chain starts to be valid, or `None`
/// when the PEM holds none that reads. For the rows stored without
/// `not_before` (migration 32, and an earlier build's adds): a new row is
/// given the start read with its other fields.
pub fn not_before_of(cert_pem: &str) -> Option<DateTimeUtc> {
    let leaf = rustls_pemfile::certs(&mut cert_pem.as_bytes()).next()?.ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    DateTimeUtc::from_timestamp(cert.validity().not_before.timestamp(), 0)
}
