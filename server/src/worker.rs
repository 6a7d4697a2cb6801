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

/// Runs until `stop` turns true: the mail loop and the clean-up, each its
/// own task, so a long clean-up (after the retention was lowered) neither
/// holds up the mail nor a stop. A clean-up is dropped where it is: each of
/// its batches is one statement or transaction, done whole or not at all,
/// and the next run takes up the rest.
pub fn spawn(
    domain: Domain,
    transport: Transport,
    sender: Mailbox,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mail = deliver_mail(domain.clone(), transport.clone(), sender, stop.clone());
    let cleaning = clean_up(domain, transport, stop);
    tokio::spawn(async move {
        let _ = tokio::join!(mail, cleaning);
    })
}

/// Delivers the outbox as it fills; when stopped, finishes the email it is
/// sending and starts no other.
fn deliver_mail(
    domain: Domain,
    transport: Transport,
    sender: Mailbox,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    })
}

/// The clean-up, at the start and then every hour, dropped where it is when
/// stopped.
fn clean_up(
    domain: Domain,
    transport: Transport,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = jobs::clean_up(&domain, &transport) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(CLEANUP_EVERY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    })
}
