use std::process::ExitCode;
use std::sync::Arc;

use app::api::web::{WebContext, WebSettings};
use app::domain::core::clock::SystemClock;
use app::domain::core::db;
use app::domain::core::mail::Transport;
use app::domain::core::provisioning::{self, LocalPool};
use app::domain::core::quota::QuotaPolicy;
use app::domain::core::secrets::Keyring;
use app::domain::Domain;
use clap::Parser;
use leptos::config::{get_configuration, Env};
use lettre::message::Mailbox;
use server::config::{Config, MailConfig};
use server::security::SecurityPolicy;
use server::{build_router, cli, logs, worker};

// A page render makes and drops many small allocations across threads;
// glibc's allocator spent a quarter of a signed-in request on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match logs::LogFormat::from_env_value(std::env::var("LOG_FORMAT").ok().as_deref()) {
        Ok(format) => logs::init(format),
        Err(message) => return fail(&message),
    }
    // Before any configuration: `--help` and usage errors need no database.
    // A usage error exits with status 2.
    let command = cli::Cli::parse().command.unwrap_or(cli::Command::Serve);
    let leptos_options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(err) => return fail(&format!("configuration: {err}")),
    };
    let config = Config::from_env(leptos_options.site_addr);
    if let Err(err) = config.prepare_data_dir() {
        return fail(&format!("cannot create {}: {err}", config.data_dir.display()));
    }
    let database = match db::connect(&config.database_url).await {
        Ok(db) => db,
        Err(err) => return fail(&format!("database: {err}")),
    };
    let keyring = match Keyring::load_or_create(&config.secret_keys_file) {
        Ok(keyring) => Arc::new(keyring),
        Err(err) => return fail(&format!("secret keys: {err}")),
    };
    let mut domain = Domain::new(database, Arc::new(SystemClock), keyring);
    domain.public_url = config.public_url.clone();
    domain.sessions = config.sessions;
    domain.oauth = Arc::new(config.oauth.clone());
    domain.numbers = match &config.number_cooldown {
        Ok(cooldown) => Arc::new(LocalPool { cooldown: *cooldown }),
        Err(err) => return fail(err),
    };
    domain.activity_retention = match &config.activity_retention {
        Ok(retention) => *retention,
        Err(err) => return fail(err),
    };
    domain.quotas =
        match QuotaPolicy::default().with_overrides(config.limits.as_deref().unwrap_or("")) {
            Ok(quotas) => quotas,
            Err(err) => return fail(&format!("LIMITS: {err}")),
        };

    match command {
        cli::Command::Serve => serve(leptos_options, config, domain).await,
        command => {
            let key_file = config.secret_keys_file.clone();
            let stdin = &mut std::io::stdin().lock();
            match cli::execute(&domain, command, stdin, Some(&key_file)).await {
                Ok(message) => {
                    println!("{message}");
                    ExitCode::SUCCESS
                }
                Err(message) => fail(&message),
            }
        }
    }
}

async fn serve(
    leptos_options: leptos::config::LeptosOptions,
    config: Config,
    domain: Domain,
) -> ExitCode {
    let addr = leptos_options.site_addr;
    let policy = SecurityPolicy {
        public_origin: config.public_origin().into(),
        dev_reload_port: (leptos_options.env == Env::DEV).then_some(leptos_options.reload_port),
    };
    let sender: Mailbox = match config.mail_from.parse() {
        Ok(sender) => sender,
        Err(err) => return fail(&format!("MAIL_FROM {:?}: {err}", config.mail_from)),
    };
    let transport = match &config.mail {
        MailConfig::Folder(dir) => Transport::Folder(dir.clone()),
        MailConfig::Smtp { host, port, security, credentials } => {
            match Transport::smtp(host, *port, *security, credentials.clone()) {
                Ok(transport) => transport,
                Err(err) => return fail(&format!("SMTP: {err}")),
            }
        }
    };
    let stocked = match config.number_pool() {
        Ok(pool) => provisioning::stock_local_pool(&domain.db, &pool).await,
        Err(err) => return fail(&format!("NUMBER_POOL_FILE {err}")),
    };
    match stocked {
        Ok(added) => tracing::info!(added, "local number pool stocked"),
        Err(_) => return fail("could not stock the local number pool"),
    }
    let grace = match config.shutdown_grace {
        Ok(grace) => grace,
        Err(err) => return fail(&err),
    };
    let drain = match config.shutdown_drain {
        Ok(drain) => drain,
        Err(err) => return fail(&err),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(addr) = config.metrics_addr.clone() {
        let addr = match addr {
            Ok(addr) => addr,
            Err(err) => return fail(&err),
        };
        let handle = match server::prometheus::install() {
            Ok(handle) => handle,
            Err(err) => return fail(&format!("metrics: {err}")),
        };
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(err) => return fail(&format!("cannot listen on {addr} for metrics: {err}")),
        };
        let mut stopped = stopped.clone();
        let metrics = server::prometheus::router(handle, domain.clone());
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let _ = axum::serve(listener, metrics).with_graceful_shutdown(stop).await;
        });
        println!("Prometheus metrics: http://{addr}/metrics");
    }
    let worker = worker::spawn(domain.clone(), transport, sender, stopped.clone());
    let database = domain.db.clone();
    let web = WebContext::new(WebSettings {
        domain,
        secure_cookies: config.secure_cookies(),
        trusted_proxies: config.trusted_proxies.clone(),
    });
    let router = build_router(leptos_options, web, policy);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => return fail(&format!("cannot listen on {addr}: {err}")),
    };
    println!("My Account console: {}", config.public_url);
    println!("Data directory: {}", config.data_dir.display());
    match &config.mail {
        MailConfig::Folder(dir) => {
            println!("Emails are delivered as .eml files into: {}", dir.display())
        }
        MailConfig::Smtp { host, port, .. } => {
            println!("Emails are delivered by SMTP via {host}:{port}")
        }
    }
    let mut server = tokio::spawn(server::connections::serve(
        listener,
        router,
        server::connections::Limits {
            proxies: config.trusted_proxies.clone(),
            ..server::connections::Limits::default()
        },
        stopped.clone(),
    ));
    tokio::select! {
        signal = termination() => tracing::info!(signal, ?drain, ?grace, "stopping"),
        result = &mut server => return fail(&format!("server: {result:?}")),
    }
    if !drain.is_zero() {
        // Load balancers learn from /readyz; new connections are still
        // served until they have.
        server::health::DRAINING.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(?drain, "draining: /readyz answers 503, requests are still served");
        tokio::time::sleep(drain).await;
    }
    tracing::info!(
        ?grace,
        "no new connections; finishing the requests in flight and the email \
        being sent"
    );
    let _ = stop.send(true);
    let finished = tokio::time::timeout(grace, async {
        let _ = server.await;
        let _ = worker.await;
    })
    .await;
    if finished.is_err() {
        tracing::warn!(?grace, "the grace period ended before every request finished");
    }
    // Closing waits for every connection to come back to the pool; a request
    // still running after the grace may hold one, so the wait is bounded too.
    match tokio::time::timeout(CLOSE_DATABASE_WITHIN, database.close_by_ref()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "closing the database"),
        Err(_) => tracing::warn!("the database did not close in time; exiting anyway"),
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// At the end of a stop (the grace period over, or every request done), how
/// long the process waits for the database's connections to close before it
/// exits anyway.
const CLOSE_DATABASE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits for SIGTERM (what service managers and container runtimes send) or
/// SIGINT (Ctrl-C); returns its name.
async fn termination() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        // Without signal handlers the process still stops, just not gracefully.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}
