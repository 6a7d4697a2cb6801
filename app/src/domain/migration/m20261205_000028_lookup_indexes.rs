//! Indexes for the columns rows are looked up by that had none, each found
//! by a query that read every account's rows (helper-123's review):
//! an account's libraries, applications and OAuth tokens (each tab, and the
//! count under the account lock before an add); the applications a library
//! or an integration is attached to (the JS Libraries and Integrations tabs'
//! "Used by"); a user's certificates, login challenges, OAuth states and
//! the links they asked for (read when they are demoted, disabled or
//! deleted, and by PostgreSQL's foreign-key checks on a delete); the
//! numbers deployed with an OAuth token (when it is deleted). And the
//! window's start of the limits' counts and of failed log-ins, by which the
//! hourly clean-up finds the expired ones in batches instead of reading
//! tables a flood from many addresses grows.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, column).
const INDEXES: [(&str, &str, &str); 12] = [
    ("idx_js_libraries_account", "js_libraries", "account_id"),
    ("idx_applications_account", "applications", "account_id"),
    ("idx_oauth_tokens_account", "oauth_tokens", "account_id"),
    ("idx_application_libraries_library", "application_libraries", "library_id"),
    ("idx_application_integrations_integration", "application_integrations", "integration_id"),
    ("idx_certificates_added_by", "certificates", "added_by"),
    ("idx_deployment_tokens_oauth_token", "deployment_tokens", "oauth_token_id"),
    ("idx_login_challenges_user", "login_challenges", "user_id"),
    ("idx_oauth_states_user", "oauth_states", "user_id"),
    ("idx_email_tokens_requested_by", "email_tokens", "requested_by"),
    ("idx_quota_counters_window", "quota_counters", "window_started_at"),
    ("idx_login_failures_window", "login_failures", "window_started_at"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, column) in INDEXES {
            let index = Index::create()
                .name(name)
                .table(Alias::new(table))
                .col(Alias::new(column))
                .to_owned();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
