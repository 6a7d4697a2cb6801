//! Configuration from the environment. Every variable is named in the README.
use std::net::IpAddr;
use std::path::PathBuf;

use app::domain::core::limits::SessionPolicy;
use app::domain::core::mail::SmtpSecurity;
use app::domain::core::oauth_provider::{OAuthClient, OAuthConfig};
use app::domain::core::provisioning::{self, Provisioned};

#[derive(Clone, Debug)]
pub struct Config {
    /// Where the embedded default keeps its files (`DATA_DIR`, default `./data`).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; default: a SQLite file in the data directory.
    pub database_url: String,
    /// `PUBLIC_URL`: the address people use to reach the console. Its origin is
    /// the only one allowed to send state-changing requests; `https` makes
    /// cookies `Secure`.
    pub public_url: String,
    /// `SECRET_KEYS_FILE`: the keys that seal stored secrets (default
    /// `$DATA_DIR/secret-keys`, created with mode 0600 on first start).
    pub secret_keys_file: PathBuf,
    /// `SECRET_KEYS_LOST` (unset: none): ids of keys the database's secrets
    /// are sealed with that no key file holds any more, comma-separated; a
    /// start goes on without them instead of refusing.
    pub secret_keys_lost: Vec<String>,
    /// `MAIL_FROM`: the sender of every automated email.
    pub mail_from: String,
    /// `SUPPORT_EMAIL` (unset: none): where people write for what only the
    /// platform's operators do (Stripe, a full account, a lost second
    /// factor); every "contact support" names it. Checked at start.
    pub support_email: Option<Result<String, String>>,
    /// How mail leaves: SMTP when `SMTP_HOST` is set, else the folder
    /// `MAIL_DIR`. A bad `SMTP_SECURITY` or `SMTP_PORT` is an error at start.
    pub mail: Result<MailConfig, String>,
    /// `NUMBER_POOL_FILE`: the toll-free numbers the embedded provisioning
    /// provider hands out, one E.164 number a line, `pci` after PCI-enabled
    /// ones. Unset: a built-in pool of 40 numbers.
    pub number_pool_file: Option<PathBuf>,
    /// `TRUSTED_PROXIES`: comma-separated addresses of reverse proxies whose
    /// `X-Forwarded-For` names the client. Empty: the connection's peer is
    /// the client. An entry that is not an address is an error at start.
    pub trusted_proxies: Result<Vec<IpAddr>, String>,
    /// `SESSION_IDLE_MINUTES` (default 7 days) and `SESSION_LIFETIME_HOURS`
    /// (default 30 days): when sessions end without a request, and in any
    /// case. Checked at start.
    pub sessions: Result<SessionPolicy, String>,
    /// Stripe Connect: `STRIPE_AUTHORIZE_URL`, `STRIPE_TOKEN_URL`,
    /// `STRIPE_DEAUTHORIZE_URL` (Stripe's by default), and per mode `STRIPE_CLIENT_ID_TEST` + `STRIPE_SECRET_KEY_TEST`,
    /// `STRIPE_CLIENT_ID_LIVE` + `STRIPE_SECRET_KEY_LIVE`. Checked at start:
    /// an id without its secret, or a token URL the exchange would refuse,
    /// stops it rather than failing each connection after Stripe's consent.
    pub oauth: Result<OAuthConfig, String>,
    /// `LIMITS`: overrides of the email and resource limits, e.g.
    /// `password_reset.recipient=5/60,sign_up.client=10/60` (action.subject=
    /// most/minutes; the README lists every default). Checked at start.
    pub limits: Option<String>,
    /// `NUMBER_COOLDOWN_DAYS` (default 30): how long a released number rests
    /// before the embedded provider hands it out again; checked at start.
    pub number_cooldown: Result<chrono::Duration, String>,
    /// `SHUTDOWN_GRACE_SECONDS` (default 30, at most 3600): after SIGTERM or
    /// SIGINT, how long requests in flight and the email being sent may take.
    pub shutdown_grace: Result<std::time::Duration, String>,
    /// `SHUTDOWN_DRAIN_SECONDS` (default 0, at most 300): after SIGTERM or
    /// SIGINT and before the listener closes, how long `/readyz` answers 503
    /// while everything else is still served, for a load balancer to stop
    /// sending new connections.
    pub shutdown_drain: Result<std::time::Duration, String>,
    /// `METRICS_ADDR` (unset: no metrics): where Prometheus metrics are
    /// served, apart from the console, e.g. `127.0.0.1:9100`.
    pub metrics_addr: Option<Result<std::net::SocketAddr, String>>,
    /// `ACTIVITY_RETENTION_DAYS` (default 365, 1 to 3650): how long activity
    /// events are kept; older ones are removed by the hourly clean-up.
    pub activity_retention: Result<chrono::Duration, String>,
}

/// `SUPPORT_EMAIL` checked as the addresses users sign up with are.
fn support_address(address: &str) -> Result<String, String> {
    app::domain::core::validation::email(address)
        .map_err(|why| format!("SUPPORT_EMAIL {address:?}: {why}"))
}

/// A mode's client when both its variables are set.
fn oauth_client(id: &str, secret: &str) -> Result<Option<OAuthClient>, String> {
    let pair = paired((id, var(id)), (secret, var(secret)))?;
    Ok(pair.map(|(client_id, secret)| OAuthClient { client_id, secret }))
}

/// Two settings that go together: both, or neither.
fn paired(
    (a, a_value): (&str, Option<String>),
    (b, b_value): (&str, Option<String>),
) -> Result<Option<(String, String)>, String> {
    match (a_value, b_value) {
        (Some(a_value), Some(b_value)) => Ok(Some((a_value, b_value))),
        (None, None) => Ok(None),
        _ => Err(format!("{a} and {b} go together: set both, or neither")),
    }
}

/// Stripe's endpoints and this server's clients, from the environment.
fn oauth_config() -> Result<OAuthConfig, String> {
    let defaults = OAuthConfig::default();
    let token_url = var("STRIPE_TOKEN_URL").unwrap_or(defaults.token_url.clone());
    // What the code's exchange would refuse, refused now.
    app::domain::core::outbound::parse_url(&token_url)
        .map_err(|err| format!("STRIPE_TOKEN_URL {token_url:?}: {err}"))?;
    let deauthorize_url = var("STRIPE_DEAUTHORIZE_URL").unwrap_or(defaults.deauthorize_url.clone());
    app::domain::core::outbound::parse_url(&deauthorize_url)
        .map_err(|err| format!("STRIPE_DEAUTHORIZE_URL {deauthorize_url:?}: {err}"))?;
    // The browser is sent there with the flow's state: over plain HTTP
    // (loopback test providers aside) anyone on the way would read it. The
    // flow's query is added after a `?`, so the URL must not have one.
    let authorize_url = var("STRIPE_AUTHORIZE_URL").unwrap_or(defaults.authorize_url.clone());
    app::domain::core::outbound::parse_url(&authorize_url)
        .map_err(|err| format!("STRIPE_AUTHORIZE_URL {authorize_url:?}: {err}"))?;
    if authorize_url.contains(['?', '#']) {
        return Err(format!(
            "STRIPE_AUTHORIZE_URL {authorize_url:?}: no query or fragment; the console adds \
             the flow's own"
        ));
    }
    Ok(OAuthConfig {
        authorize_url,
        token_url,
        deauthorize_url,
        test: oauth_client("STRIPE_CLIENT_ID_TEST", "STRIPE_SECRET_KEY_TEST")?,
        live: oauth_client("STRIPE_CLIENT_ID_LIVE", "STRIPE_SECRET_KEY_LIVE")?,
        ..defaults
    })
}

#[derive(Clone)]
pub enum MailConfig {
    /// The embedded default: .eml files in this folder (`MAIL_DIR`, default `$DATA_DIR/mail`).
    Folder(PathBuf),
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        credentials: Option<(String, String)>,
    },
}

/// `SMTP_PORT` and `SMTP_SECURITY`: a value that is neither unset nor valid
/// stops the start, rather than mail going out some other way than asked.
fn smtp_settings() -> Result<(u16, SmtpSecurity), String> {
    let security = match var("SMTP_SECURITY").as_deref() {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("none") => SmtpSecurity::None,
        Some("tls") => SmtpSecurity::Tls,
        Some(other) => {
            return Err(format!("SMTP_SECURITY must be starttls, tls or none, not {other:?}"))
        }
    };
    let default_port = match security {
        SmtpSecurity::None => 25,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
    };
    let port = match var("SMTP_PORT") {
        None => default_port,
        Some(port) => port
            .trim()
            .parse()
            .ok()
            .filter(|&port: &u16| port > 0)
            .ok_or_else(|| format!("SMTP_PORT must be a port number, not {port:?}"))?,
    };
    Ok((port, security))
}

/// An environment variable, with empty meaning unset.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A number of days from `name` (`least` to 3650), or `default` when unset.
fn days(name: &str, default: chrono::Duration, least: i64) -> Result<chrono::Duration, String> {
    match var(name) {
        None => Ok(default),
        Some(days) => match days.trim().parse::<i64>() {
            Ok(days) if (least..=3650).contains(&days) => Ok(chrono::Duration::days(days)),
            _ => Err(format!("{name}: {days:?} is not a number of days ({least} to 3650)")),
        },
    }
}

/// `TRUSTED_PROXIES` read: an entry that is not an address (one with a port,
/// a range, a name) is refused rather than dropped, since a dropped proxy
/// silently becomes every client's address.
fn proxies(list: &str) -> Result<Vec<IpAddr>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpAddr>()
                // Canonical, as the addresses compared with them are
                // (::ffff:10.0.0.2 is 10.0.0.2).
                .map(|address| address.to_canonical())
                .map_err(|_| {
                    format!(
                        "TRUSTED_PROXIES: {entry:?} is not an IP address (list each proxy's \
                         address, without a port or a range)"
                    )
                })
        })
        .collect()
}

/// `SESSION_IDLE_MINUTES` (1 minute to a year) and `SESSION_LIFETIME_HOURS`
/// (1 hour to a year): a value that is not a number in range stops the
/// start; a negative one ended every session at once.
fn session_policy() -> Result<SessionPolicy, String> {
    let defaults = SessionPolicy::default();
    let setting = |name: &str, most: i64| match var(name) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=most).contains(&n) => Ok(Some(n)),
            _ => Err(format!("{name} must be 1 to {most}, not {text:?}")),
        },
    };
    Ok(SessionPolicy {
        idle: setting("SESSION_IDLE_MINUTES", 525_600)?
            .map_or(defaults.idle, chrono::Duration::minutes),
        absolute: setting("SESSION_LIFETIME_HOURS", 8_760)?
            .map_or(defaults.absolute, chrono::Duration::hours),
        ..defaults
    })
}

/// Never prints the SMTP password.
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailConfig::Folder(dir) => f.debug_tuple("Folder").field(dir).finish(),
            MailConfig::Smtp { host, port, security, credentials } => f
                .debug_struct("Smtp")
                .field("host", host)
                .field("port", port)
                .field("security", security)
                .field("username", &credentials.as_ref().map(|(user, _)| user))
                .finish_non_exhaustive(),
        }
    }
}

impl Config {
    pub fn from_env(site_addr: std::net::SocketAddr) -> Self {
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("console.db").display())
        });
        let public_url = var("PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{site_addr}"));
        let mail_from =
            var("MAIL_FROM").unwrap_or_else(|| "Voice Console <no-reply@localhost>".into());
        let mail = match var("SMTP_HOST") {
            Some(host) => smtp_settings().and_then(|(port, security)| {
                let user = ("SMTP_USERNAME", var("SMTP_USERNAME"));
                let credentials = paired(user, ("SMTP_PASSWORD", var("SMTP_PASSWORD")))?;
                // Their defaults suit the mail folder on one machine: sent
                // out, every link would name this listening address, which
                // nobody else can open, and the sender a localhost nobody
                // can answer or trust.
                let unset: Vec<(&str, String)> = [
                    ("PUBLIC_URL", format!("their links would name http://{site_addr}")),
                    ("MAIL_FROM", "their sender would be no-reply@localhost".into()),
                ]
                .into_iter()
                .filter(|(name, _)| var(name).is_none())
                .collect();
                if !unset.is_empty() {
                    let names: Vec<&str> = unset.iter().map(|(name, _)| *name).collect();
                    let why: Vec<&str> = unset.iter().map(|(_, why)| why.as_str()).collect();
                    return Err(format!(
                        "SMTP_HOST sends the emails out, so set {} too: otherwise {}",
                        names.join(" and "),
                        why.join(" and ")
                    ));
                }
                Ok(MailConfig::Smtp { host, port, security, credentials })
            }),
            None => Ok(MailConfig::Folder(
                var("MAIL_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("mail")),
            )),
        };
        let number_pool_file = var("NUMBER_POOL_FILE").map(PathBuf::from);
        let trusted_proxies = var("TRUSTED_PROXIES").map_or(Ok(Vec::new()), |list| proxies(&list));
        let sessions = session_policy();
        let secret_keys_file = var("SECRET_KEYS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("secret-keys"));
        let oauth = oauth_config();
        let limits = var("LIMITS");
        let seconds = |name: &str, default: u64, most: u64| match var(name) {
            None => Ok(std::time::Duration::from_secs(default)),
            Some(seconds) => match seconds.trim().parse::<u64>() {
                Ok(seconds) if seconds <= most => Ok(std::time::Duration::from_secs(seconds)),
                _ => Err(format!("{name} must be 0 to {most}, not {seconds:?}")),
            },
        };
        let shutdown_grace = seconds("SHUTDOWN_GRACE_SECONDS", 30, 3600);
        let shutdown_drain = seconds("SHUTDOWN_DRAIN_SECONDS", 0, 300);
        let number_cooldown = days("NUMBER_COOLDOWN_DAYS", provisioning::COOLDOWN, 0);
        let retention = chrono::Duration::days(app::domain::core::DEFAULT_ACTIVITY_RETENTION_DAYS);
        let activity_retention = days("ACTIVITY_RETENTION_DAYS", retention, 1);
        Config {
            activity_retention,
            limits,
            number_cooldown,
            shutdown_grace,
            shutdown_drain,
            metrics_addr: var("METRICS_ADDR").map(|addr| {
                addr.trim()
                    .parse()
                    .map_err(|_| format!("METRICS_ADDR must be an address and port, not {addr:?}"))
            }),
            oauth,
            support_email: var("SUPPORT_EMAIL").map(|address| support_address(&address)),
            data_dir,
            database_url,
            public_url,
            secret_keys_file,
            secret_keys_lost: var("SECRET_KEYS_LOST")
                .map(|ids| {
                    ids.split(',')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            mail_from,
            mail,
            number_pool_file,
            trusted_proxies,
            sessions,
        }
    }

    /// Scheme, host and port of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => self.public_url[..after_scheme + slash].to_owned(),
            None => self.public_url.clone(),
        }
    }

    /// The embedded provisioning provider's stock from the pool file; `None`
    /// without one (the built-in pool, see `provisioning::stock_built_in_pool`).
    pub fn number_pool(&self) -> Result<Option<Vec<Provisioned>>, String> {
        match &self.number_pool_file {
            None => Ok(None),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let numbers = provisioning::parse_pool(&text);
                numbers.map(Some).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The SQLite database file the URL names, if it names one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let path = self.database_url.strip_prefix("sqlite://")?.split('?').next()?;
        (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
    }

    /// Creates the data directory.
    pub fn prepare_data_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
    }
}

/// `message` with the password of the database URL `url` masked: some
/// errors quote the whole URL, and what fails a start goes to the logs.
pub fn without_password(message: String, url: &str) -> String {
    let authority =
        url.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    let password = authority
        .rsplit_once('@')
        .and_then(|(user_info, _)| user_info.split_once(':'))
        .map(|(_, password)| password)
        .filter(|password| !password.is_empty());
    // Or given as a parameter, as libpq's URLs allow (`?password=...`).
    let parameter = url
        .split_once('?')
        .into_iter()
        .flat_map(|(_, query)| query.split('&'))
        .find_map(|pair| pair.strip_prefix("password="))
        .filter(|password| !password.is_empty());
    [password, parameter]
        .into_iter()
        .flatten()
        .fold(message, |message, password| message.replace(password, "***"))
}

#[cfg(test)]
mod tests {
    use super::{paired, proxies, support_address, without_password, Config};

    #[test]
    fn settings_that_go_together_are_both_set_or_refused() {
        let (user, password) = ("SMTP_USERNAME", "SMTP_PASSWORD");
        let both = paired((user, Some("mail".into())), (password, Some("pw".into())));
        assert_eq!(both, Ok(Some(("mail".into(), "pw".into()))));
        assert_eq!(paired((user, None), (password, None)), Ok(None));
        let half = paired((user, Some("mail".into())), (password, None));
        let said = "SMTP_USERNAME and SMTP_PASSWORD go together: set both, or neither";
        assert_eq!(half.as_ref().map_err(String::as_str), Err(said));
        assert!(paired((user, None), (password, Some("pw".into()))).is_err());
    }

    #[test]
    fn a_database_password_is_masked_in_errors() {
        let url = "postgresql+ssl://app:S3cret@db.internal/console";
        let said = format!("The connection string '{url}' has no supporting driver.");
        assert_eq!(
            without_password(said, url),
            "The connection string 'postgresql+ssl://app:***@db.internal/console' has no supporting driver."
        );
        let in_query = "postgres://app@db.internal/console?sslmode=require&password=Hidden1";
        assert_eq!(
            without_password(format!("bad {in_query}"), in_query),
            "bad postgres://app@db.internal/console?sslmode=require&password=***"
        );
        let plain = "sqlite://data/console.db?mode=rwc";
        assert_eq!(without_password(format!("bad {plain}"), plain), format!("bad {plain}"));
    }

    #[test]
    fn a_support_address_is_checked_at_start() {
        assert_eq!(support_address(" Help@Voice.example ").as_deref(), Ok("help@voice.example"));
        let refused = support_address("help desk").unwrap_err();
        assert!(refused.starts_with("SUPPORT_EMAIL \"help desk\": "), "{refused}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_refused() {
        let read = proxies(" 10.0.0.2, ::ffff:10.0.0.3 ,2001:db8::1,").unwrap();
        let expected: Vec<std::net::IpAddr> =
            ["10.0.0.2", "10.0.0.3", "2001:db8::1"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(read, expected);
        for entry in ["10.0.0.2:8080", "10.0.0.0/8", "proxy.internal"] {
            let refused = proxies(&format!("10.0.0.2,{entry}")).unwrap_err();
            assert!(refused.contains(&format!("{entry:?} is not an IP address")), "{refused}");
        }
    }

    #[test]
    fn public_origin_drops_the_path() {
        let mut config = Config::from_env("127.0.0.1:3000".parse().unwrap());
        config.public_url = "https://console.example.com/base".into();
        assert_eq!(config.public_origin(), "https://console.example.com");
        assert!(config.secure_cookies());
        config.public_url = "http://127.0.0.1:3000".into();
        assert_eq!(config.public_origin(), "http://127.0.0.1:3000");
        assert!(!config.secure_cookies());
    }
}
