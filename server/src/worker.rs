//! Background work of every server process: the domain's jobs (delivering
//! the outbox, the hourly clean-up) on a timer. Both are safe with several
//! processes on one database.
use std::time::Duration;

use app::domain::core::mail::Transport;
use app::domain::{jobs, Domain};
use lettre::message::Mailbox;

const POLL_EVERY: Duration = Duration::from_secs(2);
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);
const BATCH: u64 = 20;

pub fn spawn(domain: Domain, transport: Transport, sender: Mailbox) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            match jobs::deliver_mail(&domain, &transport, &sender, BATCH).await {
                // A full batch: there may be more waiting.
                Ok(handled) if handled as u64 == BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "mail worker pass failed"),
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
                jobs::clean_up(&domain).await;
                last_cleanup = Some(tokio::time::Instant::now());
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    })
}
