//! Floods every limited action at once and prints how many went through and
//! how many emails were written: each should be exactly its limit, however
//! the parallel requests interleave (the counts live in the database).
//!
//!     cargo run --release --example limits_flood --features app/ssr,app/testing -- --attempts 50
//!
//! Runs the domain on a scratch database (a SQLite file, or PostgreSQL when
//! `DATABASE_URL` names a server), with the default limits.
use std::future::Future;
use std::net::IpAddr;

use app::domain::admin::users::{self, UserForm};
use app::domain::core::actor::Operator;
use app::domain::core::limits::Plan;
use app::domain::core::provisioning::{self, default_pool};
use app::domain::core::quota::{Action, Per};
use app::domain::entity::email_outbox as outbox;
use app::domain::features::phone_numbers;
use app::domain::identity::email_links;
use app::domain::identity::sign_up::{self, SignUp};
use app::domain::testing::{account_with_admin, fresh_concurrent_domain, PASSWORD};
use app::domain::{operator, Domain};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

#[derive(clap::Parser)]
struct Args {
    /// Attempts at each limited action, all at once
    #[arg(long, default_value_t = 50)]
    attempts: usize,
}

async fn emails(d: &Domain, subject: &str) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::Subject.contains(subject))
        .count(&d.db)
        .await
        .unwrap()
}

fn limit(d: &Domain, action: Action, per: Per) -> i32 {
    d.quotas.limits().iter().find(|l| l.action == action && l.per == per).unwrap().max
}

/// Runs `attempts` copies of `make(n)` at once; returns how many succeeded.
async fn flood<F, Fut>(attempts: usize, make: F) -> usize
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..attempts).map(|n| tokio::spawn(make(n))).collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += task.await.unwrap() as usize;
    }
    admitted
}

fn row(action: &str, attempts: usize, admitted: usize, written: u64, expected: i32) -> bool {
    let verdict = match written.cmp(&(expected as u64)) {
        std::cmp::Ordering::Equal => "ok",
        std::cmp::Ordering::Less => "UNDER",
        std::cmp::Ordering::Greater => "OVER",
    };
    println!(
        "| {action:<34} | {attempts:>8} | {admitted:>8} | {written:>14} | {expected:>8} | {verdict} |"
    );
    verdict == "ok"
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let attempts = args.attempts;
    let (d, _) = fresh_concurrent_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    operator::set_plan(&d, &Operator::from_command_line(), "ada@example.com", Plan::Full)
        .await
        .unwrap();
    let admin = ada.admin().unwrap();
    let mut all_ok = true;
    println!("| action (one target)                | attempts | admitted | emails written | limit    |    |");
    println!("|------------------------------------|---------:|---------:|---------------:|---------:|----|");

    let dd = d.clone();
    let admitted = flood(attempts, move |_| {
        let d = dd.clone();
        async move { email_links::request_password_reset(&d, "ada@example.com", None).await.is_ok() }
    })
    .await;
    let expected = limit(&d, Action::PasswordReset, Per::Recipient);
    all_ok &= row(
        "password reset, one address",
        attempts,
        admitted,
        emails(&d, "Reset your password").await,
        expected,
    );

    let client: IpAddr = "203.0.113.9".parse().unwrap();
    let dd = d.clone();
    let admitted = flood(attempts, move |n| {
        let d = dd.clone();
        async move {
            let input = SignUp {
                company_name: "Flood".into(),
                first_name: "F".into(),
                last_name: "L".into(),
                email: format!("flood{n}@example.com"),
                password: PASSWORD.into(),
            };
            sign_up::sign_up(&d, input, "flood", Some(client)).await.is_ok()
        }
    })
    .await;
    let expected = limit(&d, Action::SignUp, Per::Client);
    all_ok &= row(
        "sign-up, one client address",
        attempts,
        admitted,
        emails(&d, "Verify your email").await,
        expected,
    );

    // One of the flood's sign-ups asks for its verification link again and again.
    let flooder = sign_up::sign_up(
        &d,
        SignUp {
            company_name: "Flood".into(),
            first_name: "F".into(),
            last_name: "L".into(),
            email: "resend@example.com".into(),
            password: PASSWORD.into(),
        },
        "flood",
        None,
    )
    .await
    .unwrap()
    .member;
    // The sign-up's own email counts as the address's first.
    let before = emails(&d, "Verify your email").await - 1;
    let dd = d.clone();
    let admitted = flood(attempts, move |_| {
        let (d, me) = (dd.clone(), flooder.clone());
        async move { email_links::resend_verification(&d, &me).await.is_ok() }
    })
    .await;
    let expected = limit(&d, Action::Verification, Per::Recipient);
    all_ok &= row(
        "sign-up + verification resends, one address",
        attempts + 1,
        admitted + 1,
        emails(&d, "Verify your email").await - before,
        expected,
    );

    let form = UserForm {
        first_name: "Bob".into(),
        last_name: "Builder".into(),
        email: "bob@example.com".into(),
        ..Default::default()
    };
    let bob = users::invite(&d, &admin, form).await.unwrap();
    let (dd, a) = (d.clone(), admin.clone());
    let admitted = flood(attempts, move |_| {
        let (d, admin) = (dd.clone(), a.clone());
        async move { users::resend_invitation(&d, &admin, bob.id).await.is_ok() }
    })
    .await;
    let expected = limit(&d, Action::Invitation, Per::Recipient);
    all_ok &= row(
        "invitation + resends, one address",
        attempts + 1,
        admitted + 1,
        emails(&d, "Your invitation").await,
        expected,
    );

    let (dd, me) = (d.clone(), ada.clone());
    let admitted = flood(attempts, move |_| {
        let (d, me) = (dd.clone(), me.clone());
        async move {
            email_links::request_email_change(&d, &me, PASSWORD, "new@example.com", "")
                .await
                .is_ok()
        }
    })
    .await;
    let expected = limit(&d, Action::EmailChange, Per::Recipient);
    all_ok &= row(
        "email change, one new address",
        attempts,
        admitted,
        emails(&d, "Confirm your new email").await,
        expected,
    );

    let (dd, a) = (d.clone(), admin.clone());
    let admitted = flood(attempts, move |_| {
        let (d, admin) = (dd.clone(), a.clone());
        async move { phone_numbers::request(&d, &admin).await.is_ok() }
    })
    .await;
    let expected = limit(&d, Action::NumberRequest, Per::Actor);
    let held = phone_numbers::list(&d, &admin).await.unwrap().rows.len() as u64;
    all_ok &= row("phone numbers (taken), one admin", attempts, admitted, held, expected);

    if !all_ok {
        eprintln!("a limit admitted more or fewer than its limit");
        std::process::exit(1);
    }
}
