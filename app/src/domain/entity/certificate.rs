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
