//! Operator subcommands: how the people who run the service act, never
//! through the web UI. Every command that changes something is logged.
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};

use app::domain::core::actor::Operator;
use app::domain::core::limits::Plan;
use app::domain::core::secrets::Keyring;
use app::domain::core::validation::normalize_email;
use app::domain::operator::{self, NewUserByOperator};
use app::domain::Domain;
use app::model::AppError;

/// The command line. `server --help` and `server <command> --help` print it;
/// a usage error exits with status 2 (clap's convention).
#[derive(Debug, Parser)]
#[command(
    name = "server",
    about = "The My Account console: the web server, and the commands of the people who run it.",
    after_help = "Configuration comes from the environment: see the README's table \
                  (DATA_DIR, DATABASE_URL, PUBLIC_URL, SMTP_HOST, ...)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (what `server` alone does)
    Serve,
    /// Add a user, or turn off their two-factor authentication
    #[command(subcommand)]
    User(UserCommand),
    /// Make a user an admin of their account
    Promote {
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
    /// Change an account: its plan, whether it may connect Stripe, or merge it
    /// into another
    #[command(subcommand)]
    Account(AccountCommand),
    /// Emails whose delivery failed for good
    #[command(subcommand)]
    Mail(MailCommand),
    /// The keys that seal stored secrets
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The limits and durations every server on the database runs with
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// A consistent copy of the SQLite database, taken while the server runs
    /// (PostgreSQL: use pg_dump)
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to the account of an existing user; without
    /// --password-stdin the user is emailed an invitation
    Add {
        #[arg(long, value_name = "EMAIL")]
        account_of: String,
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[arg(long, value_name = "NAME")]
        first_name: String,
        #[arg(long, value_name = "NAME")]
        last_name: String,
        /// Make the user an admin of the account
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Turn off a user's two-factor authentication after checking who they
    /// are; they are emailed about it
    #[command(name = "reset-2fa")]
    ResetTwoFactor {
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Let the users of the account connect Stripe (OAuth Tokens)
    EnableStripe {
        #[arg(long, value_name = "EMAIL")]
        account_of: String,
    },
    /// Move the account of a user to another plan (a demo account holds one
    /// phone number at most)
    Plan {
        #[arg(long, value_name = "EMAIL")]
        account_of: String,
        // Checked as the words are read: a typo is refused before the
        // database is opened, with the usage status.
        #[arg(long, value_name = "demo|full", value_parser = ["demo", "full"])]
        plan: String,
    },
    /// Merge the account of --from into the account of --into (one company's
    /// two accounts)
    ///
    /// Moves the users, phone numbers, integrations, JS libraries,
    /// applications, certificates and OAuth tokens of the account of --from
    /// into the account of --into in one transaction, then removes the
    /// emptied account.
    #[command(after_help = MERGE_HELP)]
    Merge {
        /// Any user of the account that is merged and removed
        #[arg(long, value_name = "EMAIL")]
        from: String,
        /// Any user of the account that receives everything and stays
        #[arg(long, value_name = "EMAIL")]
        into: String,
    },
}

const MERGE_HELP: &str = "\
The target account's admins stay its admins; the admins of the merged account
become regular users of the target (they keep Can Create and Can Share), so an
admin of the target decides who else administers it. Everyone's sessions and
developer keys go on working. The target keeps its company details, plan and
Stripe setting.

The merge refuses, changing nothing and naming each conflict, when both
accounts have an integration of one name or a certificate for one domain, when
together they hold more phone numbers than the target's plan allows, when
the merged account may connect Stripe and the target may not, or when no user
of the merged account has verified their email address. A JS library of
the merged account named like one of the target's is renamed \"utils (from
<company>)\", and the command lists each.";

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List the emails whose delivery failed for good
    Failed,
    /// Queue failed emails again, with a fresh set of tries
    #[command(group = clap::ArgGroup::new("which").required(true))]
    Retry {
        /// The email's id, as `mail failed` lists it
        #[arg(long, group = "which")]
        id: Option<i32>,
        /// Every failed email
        #[arg(long, group = "which")]
        all: bool,
    },
}

/// `secrets rotate`'s default wait: the request timeout and a margin.
pub const ROTATE_WAIT_SECONDS: u64 = crate::REQUEST_TIMEOUT.as_secs() + 5;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Seal stored secrets with a new key, after a wait for requests in flight (running servers pick it up from the key file)
    Rotate {
        /// How long to wait, after writing the new key, before re-sealing:
        /// a request that sealed a secret with the old key just before has
        /// until then to commit it (0 when no server is running)
        #[arg(long, value_name = "SECONDS", default_value_t = ROTATE_WAIT_SECONDS)]
        wait: u64,
    },
    /// How many stored secrets each key seals, table by table
    Status,
    /// Drop every key but the current one from the key file, once nothing
    /// stored is sealed with them (after a rotation's re-seal) and every
    /// host has the rotated file. Copy the key file aside first: database
    /// backups taken before the rotation open only with it
    Retire,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// The servers' settings as the database records them, beside this
    /// command's own (from its environment)
    Show,
    /// Record this command's settings (LIMITS, NUMBER_COOLDOWN_DAYS,
    /// SESSION_IDLE_MINUTES, SESSION_LIFETIME_HOURS, ACTIVITY_RETENTION_DAYS,
    /// from its environment) as the servers'; then restart each server with
    /// them. Without --yes it says what it would change and changes nothing
    Adopt {
        /// Record them (a variable left unset records its default)
        #[arg(long)]
        yes: bool,
    },
}

/// The command `args` (without the program name) name, or clap's message.
pub fn parse(args: &[String]) -> Result<Option<Command>, String> {
    Cli::try_parse_from(std::iter::once("server".to_owned()).chain(args.iter().cloned()))
        .map(|cli| cli.command)
        .map_err(|e| e.to_string())
}

/// Runs an operator command given as words (tests, scripts); returns the text
/// to print or an error message. `input` is where `--password-stdin` reads
/// from (stdin, or a buffer in tests). `secrets rotate` needs the key file:
/// see [`rotate_secrets`].
pub async fn run(
    domain: &Domain,
    args: &[String],
    input: &mut dyn BufRead,
) -> Result<String, String> {
    match parse(args)? {
        Some(command) => execute(domain, command, input, None).await,
        None => Err("no command given".into()),
    }
}

/// `secrets rotate` and `secrets status` given as words, with the key file
/// that `rotate` adds a key to.
pub async fn rotate_secrets(
    domain: &Domain,
    args: &[String],
    key_file: &Path,
) -> Result<String, String> {
    match parse(args)? {
        Some(command @ Command::Secrets(_)) => {
            execute(domain, command, &mut std::io::empty(), Some(KeyFileAt::There(key_file))).await
        }
        _ => Err("not a secrets command".into()),
    }
}

/// The secret key file a command was given, as the start found it.
#[derive(Clone, Copy)]
pub enum KeyFileAt<'a> {
    There(&'a Path),
    /// Not there: `backup` and `secrets status` run without it (the
    /// domain's key is then a throwaway that opens nothing), and say so.
    Missing(&'a Path),
}

/// Runs a parsed operator command (`serve` is the caller's). `key_file` is
/// the secret key file as the start found it: the one `secrets rotate` adds
/// a key to, and the one `backup` and `secrets status` say is missing.
pub async fn execute(
    domain: &Domain,
    command: Command,
    input: &mut dyn BufRead,
    key_file: Option<KeyFileAt<'_>>,
) -> Result<String, String> {
    match command {
        Command::Serve => Err("serve is not an operator command".into()),
        Command::User(UserCommand::Add {
            account_of,
            email,
            first_name,
            last_name,
            admin,
            password_stdin,
        }) => {
            let password = if password_stdin {
                let mut line = String::new();
                input.read_line(&mut line).map_err(|e| e.to_string())?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let user = NewUserByOperator {
                account_of,
                email,
                first_name,
                last_name,
                is_admin: admin,
                password,
            };
            user_add(domain, user).await
        }
        Command::User(UserCommand::ResetTwoFactor { email }) => {
            reset_two_factor(domain, email).await
        }
        Command::Promote { email } => promote(domain, email).await,
        Command::Account(AccountCommand::EnableStripe { account_of }) => {
            enable_stripe(domain, account_of).await
        }
        Command::Account(AccountCommand::Plan { account_of, plan }) => {
            account_plan(domain, account_of, plan).await
        }
        Command::Account(AccountCommand::Merge { from, into }) => {
            merge_accounts(domain, from, into).await
        }
        Command::Mail(MailCommand::Failed) => failed_mail(domain).await,
        Command::Mail(MailCommand::Retry { id, all }) => {
            retry_mail(domain, if all { None } else { id }).await
        }
        Command::Secrets(SecretsCommand::Status) => secrets_status(domain, key_file).await,
        Command::Secrets(SecretsCommand::Retire) => match key_file {
            Some(KeyFileAt::There(key_file)) => retire(domain, key_file).await,
            _ => Err("secrets retire needs the key file".into()),
        },
        Command::Secrets(SecretsCommand::Rotate { wait }) => match key_file {
            Some(KeyFileAt::There(key_file)) => {
                rotate(domain, key_file, Duration::from_secs(wait)).await
            }
            _ => Err("secrets rotate needs the key file".into()),
        },
        Command::Settings(SettingsCommand::Show) => show_settings(domain).await,
        Command::Settings(SettingsCommand::Adopt { yes }) => adopt_settings(domain, yes).await,
        Command::Backup { to } => backup(domain, &to, key_file).await,
    }
}

async fn reset_two_factor(domain: &Domain, email: String) -> Result<String, String> {
    // Answered as stored (" ADA@Example.com " is ada@example.com).
    let email = normalize_email(&email);
    match operator::reset_two_factor(domain, &Operator::from_command_line(), &email).await {
        Ok(()) => {
            Ok(format!("Two-factor authentication of {email} is off; they were emailed about it."))
        }
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn enable_stripe(domain: &Domain, email: String) -> Result<String, String> {
    let email = normalize_email(&email);
    match operator::enable_stripe(domain, &Operator::from_command_line(), &email).await {
        Ok(true) => Ok(format!("Stripe is enabled for the account of {email}.")),
        Ok(false) => Ok(format!(
            "Stripe is enabled for the account of {email} already; nothing was changed."
        )),
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn account_plan(domain: &Domain, email: String, wanted: String) -> Result<String, String> {
    let email = normalize_email(&email);
    let plan =
        Plan::from_key(&wanted).ok_or(format!("--plan must be demo or full, not {wanted:?}"))?;
    match operator::set_plan(domain, &Operator::from_command_line(), &email, plan).await {
        Ok(before) if before == plan => Ok(format!(
            "The account of {email} is on the {} plan already; nothing was changed.",
            plan.key()
        )),
        Ok(before) => Ok(format!(
            "The account of {email} was on the {} plan and is now on the {} plan.",
            before.key(),
            plan.key()
        )),
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn merge_accounts(domain: &Domain, from: String, into: String) -> Result<String, String> {
    let merged = operator::merge_accounts(domain, &Operator::from_command_line(), &from, &into)
        .await
        .map_err(explain)?;
    let moved = merged
        .moved
        .iter()
        .map(|(table, count)| format!("{count} {table}"))
        .collect::<Vec<_>>()
        .join(", ");
    let demoted = match merged.demoted.as_slice() {
        [] => String::new(),
        emails => format!(" No longer admins: {}.", emails.join(", ")),
    };
    let renamed = match merged.renamed.as_slice() {
        [] => String::new(),
        names => {
            let each: Vec<String> =
                names.iter().map(|(was, now)| format!("\"{was}\" is now \"{now}\"")).collect();
            format!(" JS libraries renamed, so no two share a name: {}.", each.join(", "))
        }
    };
    Ok(format!(
        "Merged account {} into account {} and removed it. Moved: {moved}.{demoted}{renamed}",
        merged.from_account, merged.into_account
    ))
}

async fn user_add(domain: &Domain, input: NewUserByOperator) -> Result<String, String> {
    let owner_email = normalize_email(&input.account_of);
    let invite = input.password.is_none();
    let user = match operator::add_user(domain, &Operator::from_command_line(), input).await {
        Err(AppError::NotFound) => {
            return Err(format!("No user has the email address {owner_email}."))
        }
        other => other.map_err(explain)?,
    };
    // The link is this process's PUBLIC_URL: said, so a command run without
    // the servers' setting shows the wrong address before anyone opens it.
    let how = if invite {
        format!("; an invitation email is on its way, its link on {}", domain.public_url)
    } else {
        String::new()
    };
    Ok(format!("Added user {} ({}) to account {}{how}.", user.id, user.email, user.account_id))
}

async fn promote(domain: &Domain, email: String) -> Result<String, String> {
    let promoted =
        operator::promote(domain, &Operator::from_command_line(), &email).await.map_err(explain)?;
    let changed_nothing = promoted.changed_nothing();
    let user = promoted.user;
    if changed_nothing {
        return Ok(format!(
            "{} is an admin of account {} already; nothing was changed.",
            user.email, user.account_id
        ));
    }
    let again = if promoted.enabled_again {
        " An admin had disabled them: they are enabled again, and the developer keys they \
         had work again too."
    } else {
        ""
    };
    if promoted.was_admin {
        return Ok(format!(
            "{} was an admin of account {} already.{again}",
            user.email, user.account_id
        ));
    }
    Ok(format!("{} is now an admin of account {}.{again}", user.email, user.account_id))
}

async fn failed_mail(domain: &Domain) -> Result<String, String> {
    let rows =
        operator::failed_mail(domain, &Operator::from_command_line()).await.map_err(explain)?;
    if rows.is_empty() {
        return Ok("No failed emails.".into());
    }
    Ok(rows
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{} tries\t{}",
                r.id,
                app::domain::core::clock::shown(r.created_at),
                r.to_address,
                r.attempts,
                r.last_error.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

async fn retry_mail(domain: &Domain, id: Option<i32>) -> Result<String, String> {
    let queued =
        operator::retry_mail(domain, &Operator::from_command_line(), id).await.map_err(explain)?;
    match id {
        // Named, and not queued: a typo must not read as done to a script.
        Some(id) if queued == 0 => Err(format!(
            "Email {id} was not queued again: it is not a failed email that this key file \
             opens (`mail failed` lists the failed ones)."
        )),
        Some(_) => Ok(format!("Queued {queued} email(s) again.")),
        // What `--all` left failed is what no key of this file opens:
        // said, so "0 queued" does not read as "none failed". Counted as
        // such (a worker may fail another email meanwhile); a count that
        // fails is not an error, the retry is done.
        None => {
            let operator = Operator::from_command_line();
            let left = match operator::failed_mail_unopened(domain, &operator).await {
                Ok(0) => String::new(),
                Ok(left) => format!(
                    " {left} left failed: sealed with a key this key file lacks (`mail failed` \
                     lists them)."
                ),
                Err(err) => {
                    tracing::warn!(error = %err, "the failed emails left could not be counted");
                    String::new()
                }
            };
            Ok(format!("Queued {queued} email(s) again.{left}"))
        }
    }
}

/// `secrets rotate`: adds a new current key to the key file (the old ones
/// stay, to open what is not re-sealed yet), then re-seals every stored secret
/// with it, a batch of rows a transaction. A crash in between loses nothing: the old keys
/// still open the old rows, and running the command again finishes the job.
///
/// Rotations of one key file take turns (a lock file beside it), and each
/// starts from the file as it is then, joined with the keys this process
/// opened with: two at once each wrote the keys it had read plus its own, the
/// second dropping the first's new key and every secret sealed with it. Hosts
/// with a copy of the file each must rotate on one and copy the file on.
///
/// The re-seal waits `wait` after the new key is written: a server seals
/// with the file's current key, so from then on it seals with the new one,
/// but a request that sealed with the old key a moment before commits
/// later. Re-sealing at once would miss its row, which would stay under a
/// key the operator believes retired. After [`crate::REQUEST_TIMEOUT`] every
/// such request has committed or been dropped.
async fn rotate(domain: &Domain, key_file: &Path, wait: Duration) -> Result<String, String> {
    // Held until dropped, after the re-seal.
    let _turn = key_file_turn(key_file).await?;
    let on_disk = Keyring::read(key_file).map_err(|e| e.to_string())?;
    let rotated = match &on_disk {
        Some(file) => file.joined(&domain.secrets.keyring()).rotated(),
        None => domain.secrets.keyring().rotated(),
    };
    // Written under the record's lock, and recorded only if written.
    let operator = Operator::from_command_line();
    let written = std::cell::Cell::new(false);
    let write = || {
        rotated.save(key_file).map_err(|e| e.to_string())?;
        written.set(true);
        Ok(())
    };
    match operator::record_rotation(domain, &operator, &rotated, write).await {
        Ok(operator::KeyAgreement::Agreed) => {}
        Ok(operator::KeyAgreement::Differs { theirs, .. }) => {
            return Err(format!(
                "secret keys: the servers on this database seal with key {theirs}, which {} \
                 lacks (another host rotated meanwhile, or this file is not theirs). The file is \
                 left as it was: copy the servers' key file here, then rotate again if need be.",
                key_file.display()
            ))
        }
        Err(err) => {
            // Written but not recorded: the old key current again, or this
            // host would seal with a key a start elsewhere is not held to.
            // The new one stays below it, for what was sealed with it
            // meanwhile (and in case the record did commit).
            if let (true, Some(before)) = (written.get(), &on_disk) {
                if let Err(restore) = before.joined(&rotated).save(key_file) {
                    return Err(format!(
                        "{err}; and the key file could not be put back with key {} current: \
                         {restore}. Put that key's line first in {}",
                        before.current_key_id(),
                        key_file.display()
                    ));
                }
            }
            return Err(err);
        }
    }
    if !wait.is_zero() {
        // Said whatever the log filter: otherwise the command sits silent.
        eprintln!(
            "Wrote the new key {}; re-sealing in {} s (copy the key file to other hosts at once).",
            rotated.current_key_id(),
            wait.as_secs()
        );
        tracing::info!(
            target: "operator",
            key_id = rotated.current_key_id(),
            seconds = wait.as_secs(),
            "wrote the new key; waiting for requests that sealed with the old one before re-sealing"
        );
        tokio::time::sleep(wait).await;
    }
    let resealed = operator::reseal_secrets(domain, &operator, &rotated).await.map_err(explain)?;
    // The first rows by name, then how many more: a key given up may have
    // sealed thousands, which the log names one by one.
    const NAMED: usize = 20;
    let left = match resealed.left.as_slice() {
        [] => String::new(),
        rows => {
            let more = match rows.len().saturating_sub(NAMED) {
                0 => String::new(),
                n => format!(" and {n} more (the log names each)"),
            };
            format!(
                " Left as they were, because they open with no key in the file (sealed with a \
                 key given up with SECRET_KEYS_LOST, or damaged): {}{more}. Their owners enter \
                 them again (see the README on lost keys).",
                rows[..rows.len().min(NAMED)].join(", ")
            )
        }
    };
    Ok(format!(
        "New key {} sealed {} secret(s). Running servers read it from the key file within seconds.{left}",
        rotated.current_key_id(),
        resealed.count
    ))
}

/// Takes this key file's turn (its `.lock` beside it), as a rotation does:
/// held until the returned file is dropped.
async fn key_file_turn(key_file: &Path) -> Result<std::fs::File, String> {
    let fail = |err: std::io::Error| format!("{}: {err}", key_file.display());
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let turn = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(key_file.with_extension("lock"))
        .map_err(fail)?;
    // Waited for off the async threads.
    tokio::task::spawn_blocking(move || turn.lock().map(|()| turn))
        .await
        .map_err(|e| e.to_string())?
        .map_err(fail)
}

/// `secrets retire`: what ends a rotation. A key left in the file keeps
/// opening every copy of the database taken while it sealed (a backup
/// someone took away, a leaked dump); retired, it opens nothing here. Only
/// once no stored value is sealed with a key the file holds besides its
/// current one (the rotation's re-seal done, no email waiting under an old
/// key), and only while that current key is the servers' (the last
/// recorded, checked under the record's lock, as a rotation is): refused,
/// naming what is left, otherwise. Values under keys the file does not hold
/// (given up with `SECRET_KEYS_LOST`) open with no file either way and do
/// not hold it back. Takes the key file's turn, as a rotation does; a
/// rotation that started before, from keys it held in memory, may add a
/// retired key back to the file, sealing nothing: a second retire drops it.
async fn retire(domain: &Domain, key_file: &Path) -> Result<String, String> {
    let _turn = key_file_turn(key_file).await?;
    let on_disk = Keyring::read(key_file)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no key file at {}", key_file.display()))?;
    let current = on_disk.current_key_id().to_owned();
    let counts =
        operator::secrets_status(domain, &Operator::from_command_line()).await.map_err(explain)?;
    let old = |key_id: &str| key_id != current;
    let held: Vec<String> = counts
        .iter()
        .filter(|c| old(&c.key_id) && on_disk.holds(&c.key_id))
        .map(|c| format!("{} {} under {}", c.table, c.count, c.key_id))
        .collect();
    if !held.is_empty() {
        return Err(format!(
            "secret keys: nothing retired, since stored secrets are still sealed with keys the \
             file holds besides its current one ({current}): {}. Run `secrets rotate`, which \
             re-seals every stored secret that opens (with a newer key), then retire; one that \
             opens with no key (it names them) is entered again by its owner or deleted.",
            held.join(", ")
        ));
    }
    let retired: Vec<String> = on_disk.key_ids().into_iter().skip(1).collect();
    if retired.is_empty() {
        return Ok(format!(
            "The key file holds only its current key, {current}: nothing to retire."
        ));
    }
    let write = || on_disk.current_only().save(key_file).map_err(|e| e.to_string());
    let operator = Operator::from_command_line();
    match operator::record_retirement(domain, &operator, &on_disk, write).await? {
        operator::KeyAgreement::Agreed => {}
        operator::KeyAgreement::Differs { theirs, .. } => {
            return Err(format!(
                "secret keys: nothing retired: the servers on this database seal with key \
                 {theirs}, not with {current}, the current key of {} (a rotation on another \
                 host, or this file is not theirs). Copy the servers' key file here first.",
                key_file.display()
            ))
        }
    }
    tracing::info!(target: "operator", retired = ?retired, "retired secret keys");
    let unheld = counts.iter().filter(|c| old(&c.key_id) && !on_disk.holds(&c.key_id)).count();
    let unheld = match unheld {
        0 => String::new(),
        _ => " Some secrets are sealed with keys given up before (see `secrets status`): no \
              key file opens them, as before."
            .to_owned(),
    };
    Ok(format!(
        "Retired {}: the key file holds only {current} now. Copy it to the other hosts.{unheld} \
         Database backups taken before the last rotation open only with the key file as it \
         was: keep the copy you made before retiring with them, apart from the database, or \
         let them go.",
        retired.join(", ")
    ))
}

/// `secrets status`: one line per table and key id, the current key marked.
async fn secrets_status(
    domain: &Domain,
    key_file: Option<KeyFileAt<'_>>,
) -> Result<String, String> {
    let counts =
        operator::secrets_status(domain, &Operator::from_command_line()).await.map_err(explain)?;
    if let Some(KeyFileAt::Missing(file)) = key_file {
        // No key here opens anything: the ids say which keys a copy of the
        // file must hold (or `SECRET_KEYS_LOST` must give up).
        let named = match counts.is_empty() {
            true => "Nothing stored is sealed yet.",
            false => "These secrets open only with the keys named here.",
        };
        let mut lines = vec![format!(
            "No key file at {}: is SECRET_KEYS_FILE (or DATA_DIR) the servers'? {named}",
            file.display()
        )];
        lines.extend(counts.iter().map(|c| format!("{}\t{}\t{}", c.table, c.key_id, c.count)));
        return Ok(lines.join("\n"));
    }
    let current = domain.secrets.current_key_id();
    if counts.is_empty() {
        return Ok(format!("No stored secrets. The current key is {current}."));
    }
    Ok(counts
        .iter()
        .map(|c| {
            let mark = if c.key_id == current { " (current)" } else { "" };
            format!("{}\t{}{mark}\t{}", c.table, c.key_id, c.count)
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

async fn backup(
    domain: &Domain,
    to: &Path,
    key_file: Option<KeyFileAt<'_>>,
) -> Result<String, String> {
    let bytes =
        operator::backup(domain, &Operator::from_command_line(), to).await.map_err(explain)?;
    if let Some(KeyFileAt::Missing(file)) = key_file {
        return Ok(format!(
            "Backed up the database to {} ({bytes} bytes). There is no key file at {}: without \
             the keys that sealed them, the copy's stored secrets do not open. Find the file \
             (`secrets status` names its keys) and keep a copy of it with this one.",
            to.display(),
            file.display()
        ));
    }
    Ok(format!(
        "Backed up the database to {} ({bytes} bytes). To restore it, stop every server, \
         replace the database file (default $DATA_DIR/console.db) with this copy, remove \
         console.db-wal and console.db-shm beside it if they exist, and start again. Keep \
         a copy of the key file (SECRET_KEYS_FILE, default $DATA_DIR/secret-keys) with it: \
         the stored secrets open with its keys alone.",
        to.display()
    ))
}

async fn show_settings(domain: &Domain) -> Result<String, String> {
    let shown =
        operator::shared_settings(domain, &Operator::from_command_line()).await.map_err(explain)?;
    let lines: Vec<String> = shown
        .iter()
        .map(|s| {
            let recorded = s.recorded.as_deref().map_or("not recorded yet".into(), setting);
            match s.recorded.as_deref() == Some(s.ours.as_str()) {
                true => format!("{}: {recorded}", s.name),
                false => format!("{}: {recorded}; this command's: {}", s.name, setting(&s.ours)),
            }
        })
        .collect();
    Ok(lines.join("\n"))
}

/// `settings adopt`: what it would record, and with `yes`, records it. A
/// shell without the servers' variables would otherwise put every setting
/// back to its default, and the servers' next restarts would be refused.
async fn adopt_settings(domain: &Domain, yes: bool) -> Result<String, String> {
    let op = Operator::from_command_line();
    let changes = match yes {
        true => operator::adopt_settings(domain, &op).await,
        false => operator::shared_settings(domain, &op).await,
    };
    let changes: Vec<String> = changes
        .map_err(explain)?
        .iter()
        .filter(|s| s.recorded.as_ref() != Some(&s.ours))
        .map(|s| match &s.recorded {
            Some(before) => format!("{}: {} (was {})", s.name, setting(&s.ours), setting(before)),
            None => format!("{}: {} (none recorded before)", s.name, setting(&s.ours)),
        })
        .collect();
    if changes.is_empty() {
        return Ok("The servers' settings are these already: nothing to change.".into());
    }
    let changes = changes.join("\n");
    Ok(match yes {
        true => format!(
            "Recorded as the servers' settings:\n{changes}\nServers running keep their old \
             settings until restarted: restart each with these (a server started with the old \
             ones now refuses to start)."
        ),
        false => format!(
            "Would record as the servers' settings:\n{changes}\nNothing changed: check that \
             this command's environment holds the new values (an unset variable records its \
             default), then run `server settings adopt --yes`."
        ),
    })
}

/// A shared setting's value as an answer names it.
fn setting(value: &str) -> String {
    match value {
        "" => "the default".into(),
        value => format!("{value:?}"),
    }
}

/// Gives an operator command the servers' recorded settings in place of
/// its shell's (`operator::use_recorded_settings`).
pub async fn use_recorded_settings(domain: &mut Domain) -> Result<(), String> {
    operator::use_recorded_settings(domain, &Operator::from_command_line())
        .await
        .map_err(|err| format!("settings: {err}"))
}

/// Refuses a server whose limits and durations are not the ones recorded
/// for the servers on its database: it would admit what they refuse (or
/// the reverse), and end sessions or keep activity for another time.
pub async fn refuse_other_settings(domain: &Domain) -> Result<(), String> {
    let differs = operator::agree_on_settings(domain, &Operator::from_command_line())
        .await
        .map_err(|err| format!("settings: cannot check the servers' settings: {err}"))?;
    if differs.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = differs
        .iter()
        .map(|d| {
            format!(
                "{} is {} here, {} on the servers",
                d.name,
                setting(&d.ours),
                setting(&d.theirs)
            )
        })
        .collect();
    Err(format!(
        "settings: this server's differ from the ones the servers on this database run with \
         (table shared_settings): {}. Start it with theirs; to change them for every server, \
         run `server settings adopt --yes` with the new ones, then restart each server with them.",
        each.join("; ")
    ))
}

/// An error as the operator reads it: a refused field named by its flag.
fn explain(err: AppError) -> String {
    let flag = |field: &str| match field {
        "password" => "--password-stdin".to_owned(),
        field => format!("--{}", field.replace('_', "-")),
    };
    match err {
        AppError::Invalid(errors) => errors
            .into_iter()
            .map(|e| format!("{}: {}", flag(&e.field), e.message))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// Refuses a key file that lacks keys the database's secrets are sealed
/// with: a lost key file, replaced by a fresh one at a server's first start.
/// Run on it, every secret sealed before fails to open while new ones are
/// sealed with a key no backup holds. Every process runs it at its start:
/// a server, and each operator command but the two that help
/// (`secrets status`, `backup`).
pub async fn refuse_unknown_keys(
    domain: &Domain,
    key_file: &Path,
    lost: &[String],
) -> Result<(), String> {
    let operator = Operator::from_command_line();
    let unknown = operator::sealed_with_unknown_keys(domain, &operator)
        .await
        .map_err(|err| format!("secret keys: cannot count the sealed secrets: {err}"))?;
    let said = |counts: &[&operator::SealedCount]| {
        let counts: Vec<String> = counts
            .iter()
            .map(|c| format!("{} {} sealed with key {}", c.count, c.table, c.key_id))
            .collect();
        counts.join(", ")
    };
    let (given_up, missing): (Vec<_>, Vec<_>) =
        unknown.iter().partition(|c| lost.contains(&c.key_id));
    if !missing.is_empty() {
        return Err(format!(
            "secret keys: {} lacks keys the database's secrets are sealed with ({}). Restore the \
         key file from its backup (a server that found no key file created a new one there), \
         or set SECRET_KEYS_FILE to the file the other servers use; after a `secrets rotate` on \
         another host, copy its key file here. If no backup holds a key, SECRET_KEYS_LOST=<key \
         id> starts without it: what it sealed is lost (see the README).",
            key_file.display(),
            said(&missing)
        ));
    }
    // The key file is read again under the record's lock, so a rotation
    // on this host that committed meanwhile is seen.
    let agreed = operator::agree_on_current_key(domain, &operator, &domain.secrets, lost)
        .await
        .map_err(|err| format!("secret keys: cannot check the servers' key: {err}"))?;
    if let operator::KeyAgreement::Differs { ours, theirs, why } = agreed {
        return Err(key_differs(key_file, &ours, &theirs, why));
    }
    // Only once the start is sure to go on, and only the keys this file
    // lacks: a key declared lost and found again (added back to the file)
    // opens its emails, which a `mail retry` may have queued again.
    if !given_up.is_empty() {
        let mut ids: Vec<String> = given_up.iter().map(|c| c.key_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let failed = operator::give_up_lost_keys(domain, &operator, &ids)
            .await
            .map_err(|err| format!("secret keys: cannot give up the lost keys: {err}"))?;
        tracing::warn!(
            sealed = said(&given_up),
            emails_failed_now = failed,
            "SECRET_KEYS_LOST: starting without keys declared lost; what they sealed does not open"
        );
    }
    Ok(())
}

/// Why a process whose key file's current key is not the servers' does not
/// run: it would seal secrets the others cannot open.
fn key_differs(key_file: &Path, ours: &str, theirs: &str, why: operator::KeyDiffers) -> String {
    use operator::KeyDiffers;
    let why = match why {
        KeyDiffers::Older => format!(
            "a key the servers sealed with before {theirs} replaced it (by `secrets rotate`, or a \
             start with SECRET_KEYS_LOST). Copy the key file from the host that made {theirs}; \
             if no host or backup holds it, SECRET_KEYS_LOST={theirs} starts without it"
        ),
        KeyDiffers::Unrecorded => format!(
            "a key the servers never sealed with, above theirs in the file (a line added at its \
             top, or a rotation the database has no record of). Copy the servers' key file \
             here; if the database was restored from a backup taken before a rotation, move \
             the line of key {theirs} to the top of the file instead"
        ),
        KeyDiffers::Own => format!(
            "a key of its own (a server that found no key file created it), and the file lacks \
             theirs. Copy their key file here, or set SECRET_KEYS_FILE to it; if no host or \
             backup holds it any more, SECRET_KEYS_LOST={theirs} starts without it"
        ),
    };
    format!(
        "secret keys: the servers on this database seal with key {theirs}, and the current key \
         of {} is {ours}: {why}. A process sealing with a key other than theirs makes secrets \
         they cannot open.",
        key_file.display()
    )
}
