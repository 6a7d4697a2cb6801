use std::process::ExitCode;
use std::sync::Arc;

use app::api::web::{WebContext, WebSettings};
use app::domain::core::clock::SystemClock;
use app::domain::core::db;
use app::domain::core::limits::SessionPolicy;
use app::domain::core::mail::Transport;
use app::domain::core::provisioning::{self, LocalPool};
use app::domain::core::quota::QuotaPolicy;
use app::domain::core::secrets::{Keyring, Secrets};
use app::domain::Domain;
use axum::Router;
use clap::Parser;
use leptos::config::{get_configuration, Env};
use lettre::message::Mailbox;
use server::config::{without_password, Config, MailConfig};
use server::security::SecurityPolicy;
use server::{build_router, cli, logs, worker};
use tokio::sync::watch;

#[global_allocator]
static ALLOCATOR: server::allocator::Mimalloc = server::allocator::Mimalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // Everything the server creates is for its own user alone: the SQLite
    // database and its journal hold password hashes and recovery-code hashes,
    // `server backup` copies them, and the local mail folder holds live reset
    // and activation links. Without this they were readable by every local
    // user (the default umask 022). The key file was already 0600.
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    match logs::LogFormat::from_env_value(std::env::var("LOG_FORMAT").ok().as_deref()) {
        Ok(format) => {
            let serving = matches!(std::env::args().nth(1).as_deref(), None | Some("serve"));
            logs::init(format, serving)
        }
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
    // An operator command acts on a database that is there: with DATA_DIR
    // mistyped it made and migrated an empty one (and a key file), then
    // reported a backup of it as done.
    if !matches!(command, cli::Command::Serve) {
        if let Some(file) = config.sqlite_file().filter(|file| !file.exists()) {
            return fail(&format!(
                "no database at {}: is DATA_DIR (or DATABASE_URL) right? A server's first start creates it.",
                file.display()
            ));
        }
    }
    if let Err(err) = config.prepare_data_dir() {
        return fail(&format!("cannot create {}: {err}", config.data_dir.display()));
    }
    // The two commands that help put a lost key file right (a backup, the
    // keys that sealed what is stored) run without one: they seal nothing.
    let helps = matches!(
        command,
        cli::Command::Secrets(cli::SecretsCommand::Status) | cli::Command::Backup { .. }
    );
    let keys = match (&command, helps) {
        (cli::Command::Serve, _) => KeyFile::MayCreate,
        (_, true) => KeyFile::IfThere,
        (_, false) => KeyFile::Needed,
    };
    let parts = match DomainParts::check(&config, keys) {
        Ok(parts) => parts,
        Err(message) => return fail(&message),
    };
    match command {
        cli::Command::Serve => {
            // Everything that can be checked without the database is checked
            // before the listener opens: a mistake stops the start at once,
            // not after minutes of migration with /healthz saying ok.
            let serving = match Serving::check(&config).await {
                Ok(serving) => serving,
                Err(message) => return fail(&message),
            };
            let mut signals = Signals::listen();
            let listening = match Listening::start(leptos_options.site_addr, &serving).await {
                Ok(listening) => listening,
                Err(message) => return fail(&message),
            };
            let domain = tokio::select! {
                domain = parts.open(&config, db::Opening::Serving) => domain,
                signal = signals.next() => {
                    // Nothing is served yet; an unfinished migration is rolled
                    // back with its transaction and runs again at the next start.
                    tracing::info!(signal, "stopped while starting");
                    return ExitCode::SUCCESS;
                }
            };
            let domain = match domain {
                Ok(domain) => domain,
                Err(message) => return fail(&message),
            };
            // Before the key check, whose SECRET_KEYS_LOST gives keys up
            // for good: a server refused for its settings changes nothing.
            // (A first start that the key check then refuses has recorded
            // its settings, which are right whichever key the servers use.)
            if let Err(message) = cli::refuse_other_settings(&domain).await {
                return fail(&message);
            }
            if let Err(message) = cli::refuse_unknown_keys(
                &domain,
                &config.secret_keys_file,
                &config.secret_keys_lost,
            )
            .await
            {
                return fail(&message);
            }
            serve(leptos_options, config, domain, serving, listening, signals).await
        }
        command => {
            // A backup runs on a database older than this build (before an
            // upgrade). `secrets status` reads every sealed column, so it is
            // refused there, and on one a first start is still making, with
            // the reason rather than the database's missing table.
            let opening = match command {
                cli::Command::Backup { .. } => db::Opening::AsItIs,
                _ => db::Opening::Command,
            };
            let key_file = match parts.key_file_missing {
                true => cli::KeyFileAt::Missing(&config.secret_keys_file),
                false => cli::KeyFileAt::There(&config.secret_keys_file),
            };
            let mut domain = match parts.open(&config, opening).await {
                Ok(domain) => domain,
                Err(message) => return fail(&message),
            };
            // `account merge` carries the per-account counts by the servers'
            // windows, not its shell's; no other command uses the limits or
            // durations, so a record that does not read stops none of them.
            if matches!(command, cli::Command::Account(cli::AccountCommand::Merge { .. })) {
                if let Err(message) = cli::use_recorded_settings(&mut domain).await {
                    return fail(&message);
                }
            }
            if !helps {
                if let Err(message) = cli::refuse_unknown_keys(
                    &domain,
                    &config.secret_keys_file,
                    &config.secret_keys_lost,
                )
                .await
                {
                    return fail(&message);
                }
            }
            let stdin = &mut std::io::stdin().lock();
            match cli::execute(&domain, command, stdin, Some(key_file)).await {
                Ok(message) => {
                    println!("{message}");
                    ExitCode::SUCCESS
                }
                Err(message) => fail(&message),
            }
        }
    }
}

/// What a process needs of the key file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyFile {
    /// A server: its first start creates it.
    MayCreate,
    /// An operator command that seals (an invitation, a notice): the
    /// servers' own file, never a fresh key no server holds.
    Needed,
    /// `backup` and `secrets status`, which seal nothing: the file if it is
    /// there, and otherwise a key of their own that opens nothing stored,
    /// so an operator whose file is lost can still back up and see what
    /// the lost keys sealed.
    IfThere,
}

/// What the domain is made of besides its database, checked from the
/// configuration before the database is opened.
struct DomainParts {
    secrets: Secrets,
    numbers: LocalPool,
    activity_retention: chrono::Duration,
    quotas: QuotaPolicy,
    support_email: Option<String>,
    sessions: SessionPolicy,
    oauth: app::domain::core::oauth_provider::OAuthConfig,
    /// No key file there, for a command that runs without one
    /// ([`KeyFile::IfThere`]): its own key opens nothing stored.
    key_file_missing: bool,
}

impl DomainParts {
    fn check(config: &Config, keys: KeyFile) -> Result<DomainParts, String> {
        let file = &config.secret_keys_file;
        // Missing only when the file system says so: a file it cannot look
        // at (a folder not searchable) is read, and its error told.
        let missing = keys == KeyFile::IfThere && matches!(file.try_exists(), Ok(false));
        let secrets = match keys {
            KeyFile::MayCreate => Secrets::from_file(file),
            KeyFile::IfThere if missing => Ok(Secrets::fixed(Keyring::generate())),
            KeyFile::Needed | KeyFile::IfThere => Secrets::from_existing_file(file),
        };
        Ok(DomainParts {
            secrets: secrets.map_err(|err| format!("secret keys: {err}"))?,
            key_file_missing: missing,
            numbers: LocalPool { cooldown: config.number_cooldown.clone()? },
            activity_retention: config.activity_retention.clone()?,
            sessions: config.sessions.clone()?,
            oauth: config.oauth.clone()?,
            support_email: config.support_email.clone().transpose()?,
            quotas: QuotaPolicy::default()
                .with_overrides(config.limits.as_deref().unwrap_or(""))
                .map_err(|err| format!("LIMITS: {err}"))?,
        })
    }

    /// Opens the database (migrated as `opening` says): the domain every
    /// command acts through.
    async fn open(self, config: &Config, opening: db::Opening) -> Result<Domain, String> {
        let url = &config.database_url;
        let database = db::connect_as(url, opening)
            .await
            .map_err(|err| {
                let hint = match err.to_string().contains("timed out") {
                    true => format!(
                        " (no connection within {} s: is the database running, and does DATABASE_URL name it?)",
                        db::ACQUIRE_TIMEOUT.as_secs()
                    ),
                    false => String::new(),
                };
                without_password(format!("database: {err}{hint}"), url)
            })?;
        let mut domain = Domain::new(database, Arc::new(SystemClock), Arc::new(self.secrets));
        domain.public_url = config.public_url.clone();
        domain.sessions = self.sessions;
        domain.oauth = Arc::new(self.oauth);
        domain.numbers = Arc::new(self.numbers);
        domain.activity_retention = self.activity_retention;
        domain.quotas = self.quotas;
        domain.support_email = self.support_email;
        domain.lost_keys = config.secret_keys_lost.clone().into();
        Ok(domain)
    }
}

/// What serving needs besides the domain, checked before the listener opens.
struct Serving {
    sender: Mailbox,
    transport: Transport,
    /// The pool file's numbers; `None`: the built-in pool.
    pool: Option<Vec<provisioning::Provisioned>>,
    grace: std::time::Duration,
    drain: std::time::Duration,
    proxies: Vec<std::net::IpAddr>,
    /// The recorder is installed at once, so what is counted while the
    /// database opens is kept; the endpoint answers once the domain is ready
    /// (it reports the mail queue and the pools).
    metrics: Option<(metrics_exporter_prometheus::PrometheusHandle, tokio::net::TcpListener)>,
}

impl Serving {
    async fn check(config: &Config) -> Result<Serving, String> {
        let sender = config
            .mail_from
            .parse()
            .map_err(|err| format!("MAIL_FROM {:?}: {err}", config.mail_from))?;
        let transport = match config.mail.clone()? {
            MailConfig::Folder(dir) => {
                // Made now, so that a folder that cannot be (a path through
                // a file, no permission) stops the start, not each delivery.
                std::fs::create_dir_all(&dir)
                    .map_err(|err| format!("MAIL_DIR {}: {err}", dir.display()))?;
                Transport::Folder(dir)
            }
            MailConfig::Smtp { host, port, security, credentials } => {
                Transport::smtp(&host, port, security, credentials)
                    .map_err(|err| format!("SMTP: {err}"))?
            }
        };
        let pool = config.number_pool().map_err(|err| format!("NUMBER_POOL_FILE {err}"))?;
        let metrics = match config.metrics_addr.clone() {
            None => None,
            Some(addr) => {
                let addr = addr?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|err| format!("cannot listen on {addr} for metrics: {err}"))?;
                let handle =
                    server::prometheus::install().map_err(|err| format!("metrics: {err}"))?;
                Some((handle, listener))
            }
        };
        Ok(Serving {
            sender,
            transport,
            pool,
            grace: config.shutdown_grace.clone()?,
            drain: config.shutdown_drain.clone()?,
            proxies: config.trusted_proxies.clone()?,
            metrics,
        })
    }
}

async fn serve(
    leptos_options: leptos::config::LeptosOptions,
    config: Config,
    domain: Domain,
    serving: Serving,
    listening: Listening,
    mut signals: Signals,
) -> ExitCode {
    let policy = SecurityPolicy::new(
        &config.public_origin(),
        (leptos_options.env == Env::DEV).then_some(leptos_options.reload_port),
    );
    let Serving { sender, transport, pool, grace, drain, proxies, metrics } = serving;
    let stocked = match &pool {
        Some(numbers) => provisioning::stock_local_pool(&domain.db, numbers).await,
        None => provisioning::stock_built_in_pool(&domain.db).await,
    };
    match stocked {
        Ok(added) => tracing::info!(added, "local number pool stocked"),
        Err(_) => return fail("could not stock the local number pool"),
    }
    let Listening { app, server: mut serving, stop, stopped } = listening;
    if let Some((handle, listener)) = metrics {
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
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
    // Every pool: the read and search pools too (on PostgreSQL, connections
    // dropped at exit instead of closed log an error on its server).
    let pools =
        [domain.db.clone(), domain.read.clone(), domain.search_index.clone(), domain.probe.clone()];
    let background = domain.background.clone();
    let web = WebContext::new(WebSettings {
        domain,
        secure_cookies: config.secure_cookies(),
        trusted_proxies: proxies,
    });
    let _start_up_router = app.send_replace(build_router(leptos_options, web, policy));
    println!("My Account console: {}", config.public_url);
    println!("Data directory: {}", config.data_dir.display());
    match &config.mail {
        Ok(MailConfig::Folder(dir)) => {
            println!("Emails are delivered as .eml files into: {}", dir.display())
        }
        Ok(MailConfig::Smtp { host, port, .. }) => {
            println!("Emails are delivered by SMTP via {host}:{port}")
        }
        // Refused by `Serving::check` before the server starts.
        Err(_) => {}
    }
    if config.support_email.is_none() {
        tracing::warn!(
            "SUPPORT_EMAIL is not set: where the console and its emails say \"contact support\" \
             (a lost second factor, enabling Stripe), they name no address"
        );
    }
    tokio::select! {
        signal = signals.next() => tracing::info!(signal, ?drain, ?grace, "stopping"),
        result = &mut serving => return fail(&format!("server: {result:?}")),
    }
    // A second signal (a second Ctrl-C) cuts the waits short: the drain's
    // and the grace's.
    let mut signalled_again = false;
    if !drain.is_zero() {
        // Load balancers learn from /readyz; new connections are still
        // served until they have.
        server::health::DRAINING.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(?drain, "draining: /readyz answers 503, requests are still served");
        tokio::select! {
            _ = tokio::time::sleep(drain) => {}
            signal = signals.next() => {
                tracing::warn!(signal, "signalled again: stopping without draining or waiting");
                signalled_again = true;
            }
        }
    }
    tracing::info!(
        ?grace,
        "no new connections; finishing the requests in flight, the email \
        being sent, the reset links being written and the Stripe connections being made"
    );
    let _ = stop.send(true);
    let finishing = tokio::time::timeout(grace, async {
        let _ = serving.await;
        let _ = worker.await;
        // A Stripe code's exchange whose browser has gone (its token is
        // kept), and reset links asked for and answered.
        background.close();
        background.wait().await;
    });
    tokio::select! {
        // Biased: already signalled twice, the requests are not waited for.
        biased;
        _ = std::future::ready(()), if signalled_again => {}
        finished = finishing => if finished.is_err() {
            tracing::warn!(
                ?grace,
                "the grace period ended before every request, the email being sent and the \
                 Stripe connections being made finished"
            );
        },
        signal = signals.next() => tracing::warn!(
            signal,
            "signalled again: stopping without waiting for the requests in flight"
        ),
    }
    // Closing waits for every connection to come back to the pool; a request
    // still running after the grace may hold one, so the wait is bounded too.
    // All at once: a pool held by a request still running waits out the
    // bound alone, and the others close meanwhile. A pool that is two
    // fields (on SQLite the read pool is also the search and probe pools)
    // closes once; closing it again returns at once.
    let closing = futures::future::join_all(pools.iter().map(|pool| pool.close_by_ref()));
    match tokio::time::timeout(CLOSE_DATABASE_WITHIN, closing).await {
        Ok(closed) => {
            for err in closed.into_iter().filter_map(Result::err) {
                tracing::warn!(error = %err, "closing the database");
            }
        }
        Err(_) => tracing::warn!("the database did not close in time; exiting anyway"),
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// The console's listener, open from the process's first moments: opening
/// and migrating the database can take minutes (a migration that rewrites a
/// big table), and a supervisor that hears nothing meanwhile restarts the
/// process, which starts the migration again. Until the application is
/// ready (`app`), `/healthz` answers and everything else is 503
/// ([`server::health::starting`]).
struct Listening {
    app: watch::Sender<Router>,
    server: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
}

impl Listening {
    async fn start(addr: std::net::SocketAddr, serving: &Serving) -> Result<Listening, String> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|err| format!("cannot listen on {addr}: {err}"))?;
        let (app, routers) = watch::channel(server::health::starting());
        let (stop, stopped) = watch::channel(false);
        let limits = server::connections::Limits {
            proxies: serving.proxies.clone(),
            ..server::connections::Limits::default()
        };
        let server =
            tokio::spawn(server::connections::serve(listener, routers, limits, stopped.clone()));
        Ok(Listening { app, server, stop, stopped })
    }
}

/// At the end of a stop (the grace period over, or every request done), how
/// long the process waits for the database's connections to close before it
/// exits anyway.
const CLOSE_DATABASE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// SIGTERM (what service managers and container runtimes send) and SIGINT
/// (Ctrl-C), listened for from the start: one that comes while the database
/// opens ends the start, and one that comes as serving begins waits for
/// the stop instead of killing the process.
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl Signals {
    fn listen() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(term), Ok(int)) => Signals(Some((term, int))),
            // Without signal handlers the process still stops, just not gracefully.
            _ => Signals(None),
        }
    }

    /// Waits for the next one; returns its name.
    async fn next(&mut self) -> &'static str {
        let Some((term, int)) = &mut self.0 else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}
