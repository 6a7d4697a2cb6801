//! Client certificates: every user of the account sees them; whoever added
//! one, or an admin, replaces or deletes it.
use leptos::prelude::*;

use crate::model::{AppError, CertificateRow};

#[server(prefix = "/fn", endpoint = "list_certificates")]
pub async fn list_certificates() -> Result<Vec<CertificateRow>, AppError> {
    use super::web::*;
    use crate::domain::features::certificates;
    certificates::list(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "add_certificate")]
pub async fn add_certificate(
    domain: String,
    certificate: String,
    private_key: String,
) -> Result<CertificateRow, AppError> {
    use super::web::member;
    use crate::domain::features::certificates::{self, NewCertificate};
    let input = NewCertificate { domain, certificate, private_key };
    certificates::add(&super::web::domain()?, &member().await?, input).await
}

#[server(prefix = "/fn", endpoint = "replace_certificate")]
pub async fn replace_certificate(
    id: i32,
    certificate: String,
    private_key: String,
) -> Result<CertificateRow, AppError> {
    use super::web::member;
    use crate::domain::features::certificates::{self, Renewal};
    let input = Renewal { certificate, private_key };
    certificates::replace(&super::web::domain()?, &member().await?, id, input).await
}

#[server(prefix = "/fn", endpoint = "delete_certificate")]
pub async fn delete_certificate(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::certificates;
    certificates::delete(&domain()?, &member().await?, id).await
}
