//! Schema migrations: one module per change, never edited once landed.
use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts_users_sessions;
mod m20261122_000002_email;
mod m20261122_000003_integrations;
mod m20261122_000004_user_directory;
mod m20261122_000005_phone_numbers;
mod m20261122_000006_personal_security;
mod m20261122_000008_applications;
mod m20261122_000009_certificates_oauth;
mod m20261128_000010_trust;
mod m20261128_000011_search_index;
mod m20261128_000012_disabled_users;
mod m20261129_000013_activity;
mod m20261129_000014_four_character_pieces;
mod m20261130_000015_pending_password_links;
mod m20261130_000016_invitation_declines;
mod m20261130_000017_link_indexes;
mod m20261130_000018_declined_links;
mod m20261201_000019_sealed_outbox;
mod m20261201_000020_session_addresses;
mod m20261202_000021_activity_subjects;
mod m20261202_000022_declined_mailboxes;
mod m20261202_000023_link_requesters;
mod m20261202_000024_wide_event_ids;
mod m20261203_000025_session_ages;
mod m20261204_000026_outbox_requeued_at;
mod m20261204_000027_repeated_code_locks;
mod m20261205_000028_lookup_indexes;
mod m20261206_000029_secret_keys;
mod m20261207_000030_shared_settings;
mod m20261208_000031_status_order;
mod m20261208_000032_certificate_start;
mod m20261209_000033_settings_versions;
mod m20261210_000034_outbox_links;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts_users_sessions::Migration),
            Box::new(m20261122_000002_email::Migration),
            Box::new(m20261122_000003_integrations::Migration),
            Box::new(m20261122_000004_user_directory::Migration),
            Box::new(m20261122_000005_phone_numbers::Migration),
            Box::new(m20261122_000006_personal_security::Migration),
            Box::new(m20261122_000008_applications::Migration),
            Box::new(m20261122_000009_certificates_oauth::Migration),
            Box::new(m20261128_000010_trust::Migration),
            Box::new(m20261128_000011_search_index::Migration),
            Box::new(m20261128_000012_disabled_users::Migration),
            Box::new(m20261129_000013_activity::Migration),
            Box::new(m20261129_000014_four_character_pieces::Migration),
            Box::new(m20261130_000015_pending_password_links::Migration),
            Box::new(m20261130_000016_invitation_declines::Migration),
            Box::new(m20261130_000017_link_indexes::Migration),
            Box::new(m20261130_000018_declined_links::Migration),
            Box::new(m20261201_000019_sealed_outbox::Migration),
            Box::new(m20261201_000020_session_addresses::Migration),
            Box::new(m20261202_000021_activity_subjects::Migration),
            Box::new(m20261202_000022_declined_mailboxes::Migration),
            Box::new(m20261202_000023_link_requesters::Migration),
            Box::new(m20261202_000024_wide_event_ids::Migration),
            Box::new(m20261203_000025_session_ages::Migration),
            Box::new(m20261204_000026_outbox_requeued_at::Migration),
            Box::new(m20261204_000027_repeated_code_locks::Migration),
            Box::new(m20261205_000028_lookup_indexes::Migration),
            Box::new(m20261206_000029_secret_keys::Migration),
            Box::new(m20261207_000030_shared_settings::Migration),
            Box::new(m20261208_000031_status_order::Migration),
            Box::new(m20261208_000032_certificate_start::Migration),
            Box::new(m20261209_000033_settings_versions::Migration),
            Box::new(m20261210_000034_outbox_links::Migration),
        ]
    }
}
