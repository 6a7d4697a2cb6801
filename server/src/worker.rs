//! Background work of every server process: delivering the outbox,
//! removing accounts whose address was never verified, and forgetting
//! expired log-in throttling records, challenges and OAuth states. Both are safe with
//! several processes on one database.
use std::time::Duration;

use app::domain::mail::{self, Transport};
use app::domain::{lifecycle, throttle, Domain};
use lettre::message::Mailbox;

const POLL_EVERY: Duration = Duration::from_secs(2);
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);
const BATCH: u64 = 20;

pub fn spawn(domain: Domain, transport: Transport, sender: Mailbox) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            match mail::deliver_due(&domain, &transport, &sender, BATCH).await {
                // A full batch: there may be more waiting.
                Ok(handled) if handled as u64 == BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "mail worker pass failed"),
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
                if let Err(err) = lifecycle::remove_unverified_accounts(&domain).await {
                    tracing::error!(error = %err, "removing unverified accounts failed");
                }
                if let Err(err) = throttle::forget_expired(&domain).await {
                    tracing::error!(error = %err, "forgetting expired log-in records failed");
                }
                last_cleanup = Some(tokio::time::Instant::now());
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    })
}
