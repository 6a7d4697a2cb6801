//! Background work of every server process: the domain's jobs (delivering
//! the outbox, the hourly clean-up) on a timer. Both are safe with several
//! processes on one database. When the server stops, the worker finishes the
//! email it is sending and starts no other.
use std::time::Duration;

use app::domain::core::mail::Transport;
use app::domain::{jobs, Domain};
use lettre::message::Mailbox;
use tokio::sync::watch;

const POLL_EVERY: Duration = Duration::from_secs(2);
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);
const BATCH: u64 = 20;

/// Runs until `stop` turns true.
pub fn spawn(
    domain: Domain,
    transport: Transport,
    sender: Mailbox,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            let stopping = {
                let stop = stop.clone();
                move || *stop.borrow()
            };
            match jobs::deliver_mail(&domain, &transport, &sender, BATCH, &stopping).await {
                // A full batch: there may be more waiting.
                Ok(handled) if handled as u64 == BATCH && !stopping() => continue,
                Ok(_) => {}
                Err(err) => jobs::job_failed(jobs::Job::Mail, &err),
            }
            if stopping() {
                return;
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
                jobs::clean_up(&domain, &transport).await;
                last_cleanup = Some(tokio::time::Instant::now());
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    })
}
