//! Every operator command: what the people who run the service do through
//! the server's command line, on any account. Each takes an [`Operator`],
//! which only the command line makes, and each that changes something is
//! logged (target `operator`). One module per group of commands.
mod account_merge;
mod accounts;
mod maintenance;
mod secrets;
mod settings;
mod users;

pub use account_merge::{merge_accounts, MergeConflict, Merged};
pub use accounts::{enable_stripe, set_plan};
pub use maintenance::{backup, failed_mail, failed_mail_unopened, retry_mail};
pub use secrets::{
    agree_on_current_key, give_up_lost_keys, record_retirement, record_rotation, reseal_secrets,
    reseal_secrets_in_batches, sealed_with_unknown_keys,
    seals_with_other_than_the_last_recorded_key, secrets_status, KeyAgreement, KeyDiffers,
    Resealed, SealedCount, SEALED_TABLES,
};
pub use settings::{
    adopt_settings, agree_on_settings, settings_differing, shared_settings, use_recorded_settings,
    RecordedSetting, SettingDiffers, SharedSettings,
};
pub use users::{add_user, promote, reset_two_factor, NewUserByOperator, Promoted};
