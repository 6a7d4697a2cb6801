//! Operator subcommands: how the people who run the service act, never
//! through the web UI. Every command is logged.
use std::io::BufRead;

use std::path::Path;

use app::domain::core::actor::Operator;
use app::domain::core::limits::Plan;
use app::domain::operator::{self, NewUserByOperator};
use app::domain::Domain;
use app::model::AppError;

pub const USAGE: &str = "\
Usage:
  server [serve]                      run the web server
  server user add --account-of EMAIL --email EMAIL --first-name NAME --last-name NAME
                  [--admin] [--password-stdin]
                                      add a user to the account of an existing user;
                                      the password is read from the first line of stdin;
                                      without it the user is emailed an invitation
  server promote --email EMAIL        make a user an admin of their account
  server user reset-2fa --email EMAIL   turn off a user's two-factor authentication after
                                      checking who they are; they are emailed about it
  server account enable-stripe --account-of EMAIL
                                      let the users of that account connect Stripe (OAuth Tokens)
  server account plan --account-of EMAIL --plan (demo|full)
                                      move the account of a user to another plan
                                      (a demo account holds one phone number at most)
  server mail failed                  list the emails whose delivery failed for good
  server mail retry (--id ID | --all) queue failed emails again, with a fresh set of tries
  server secrets rotate               seal stored secrets with a new key (restart the servers after)
  server secrets status               how many stored secrets each key seals, table by table
  server backup --to FILE             a consistent copy of the SQLite database, taken while
                                      the server runs (PostgreSQL: use pg_dump)
  server help                         show this text";

/// Reads `--name value` pairs and `--flag`s.
struct Flags(Vec<String>);

impl Flags {
    fn value(&self, name: &str) -> Result<String, String> {
        let at = self.0.iter().position(|a| a == name).ok_or(format!("{name} is required"))?;
        self.0
            .get(at + 1)
            .filter(|v| !v.starts_with("--"))
            .cloned()
            .ok_or(format!("{name} needs a value"))
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

/// Runs an operator command; returns the text to print or an error message.
/// `input` is where `--password-stdin` reads from (stdin, or a buffer in tests).
pub async fn run(
    domain: &Domain,
    args: &[String],
    input: &mut dyn BufRead,
) -> Result<String, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["user", "add", ..] => user_add(domain, Flags(args[2..].to_vec()), input).await,
        ["user", "reset-2fa", ..] => reset_two_factor(domain, Flags(args[2..].to_vec())).await,
        ["promote", ..] => promote(domain, Flags(args[1..].to_vec())).await,
        ["account", "enable-stripe", ..] => enable_stripe(domain, Flags(args[2..].to_vec())).await,
        ["account", "plan", ..] => account_plan(domain, Flags(args[2..].to_vec())).await,
        ["mail", "failed"] => failed_mail(domain).await,
        ["mail", "retry", ..] => retry_mail(domain, Flags(args[2..].to_vec())).await,
        ["backup", ..] => backup(domain, Flags(args[1..].to_vec())).await,
        _ => Err(USAGE.into()),
    }
}

async fn reset_two_factor(domain: &Domain, flags: Flags) -> Result<String, String> {
    let email = flags.value("--email")?;
    match operator::reset_two_factor(domain, &Operator::from_command_line(), &email).await {
        Ok(()) => {
            Ok(format!("Two-factor authentication of {email} is off; they were emailed about it."))
        }
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn enable_stripe(domain: &Domain, flags: Flags) -> Result<String, String> {
    let email = flags.value("--account-of")?;
    match operator::enable_stripe(domain, &Operator::from_command_line(), &email).await {
        Ok(()) => Ok(format!("Stripe is enabled for the account of {email}.")),
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn account_plan(domain: &Domain, flags: Flags) -> Result<String, String> {
    let email = flags.value("--account-of")?;
    let wanted = flags.value("--plan")?;
    let plan =
        Plan::from_key(&wanted).ok_or(format!("--plan must be demo or full, not {wanted:?}"))?;
    match operator::set_plan(domain, &Operator::from_command_line(), &email, plan).await {
        Ok(before) => Ok(format!(
            "The account of {email} was on the {} plan and is now on the {} plan.",
            before.key(),
            plan.key()
        )),
        Err(AppError::NotFound) => Err(format!("No user has the email address {email}.")),
        Err(err) => Err(err.to_string()),
    }
}

async fn user_add(
    domain: &Domain,
    flags: Flags,
    input: &mut dyn BufRead,
) -> Result<String, String> {
    let owner_email = flags.value("--account-of")?;
    let password = if flags.has("--password-stdin") {
        let mut line = String::new();
        input.read_line(&mut line).map_err(|e| e.to_string())?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let input = NewUserByOperator {
        account_of: owner_email.clone(),
        email: flags.value("--email")?,
        first_name: flags.value("--first-name")?,
        last_name: flags.value("--last-name")?,
        is_admin: flags.has("--admin"),
        password,
    };
    let invite = input.password.is_none();
    let user = match operator::add_user(domain, &Operator::from_command_line(), input).await {
        Err(AppError::NotFound) => {
            return Err(format!("No user has the email address {owner_email}."))
        }
        other => other.map_err(explain)?,
    };
    let how = if invite { "; an invitation email is on its way" } else { "" };
    Ok(format!("Added user {} ({}) to account {}{how}.", user.id, user.email, user.account_id))
}

async fn promote(domain: &Domain, flags: Flags) -> Result<String, String> {
    let email = flags.value("--email")?;
    let user =
        operator::promote(domain, &Operator::from_command_line(), &email).await.map_err(explain)?;
    Ok(format!("{} is now an admin of account {}.", user.email, user.account_id))
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
                r.created_at.format("%Y-%m-%d %H:%M"),
                r.to_address,
                r.attempts,
                r.last_error.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

async fn retry_mail(domain: &Domain, flags: Flags) -> Result<String, String> {
    let id = if flags.has("--all") {
        None
    } else {
        Some(flags.value("--id")?.parse::<i32>().map_err(|_| "--id needs a number".to_string())?)
    };
    let queued =
        operator::retry_mail(domain, &Operator::from_command_line(), id).await.map_err(explain)?;
    Ok(format!("Queued {queued} email(s) again."))
}

/// `secrets rotate`: adds a new current key to the key file (the old ones
/// stay, to open what is not re-sealed yet), then re-seals every stored secret
/// with it in one transaction. A crash in between loses nothing: the old keys
/// still open the old rows, and running the command again finishes the job.
pub async fn rotate_secrets(
    domain: &Domain,
    args: &[String],
    key_file: &Path,
) -> Result<String, String> {
    match args.get(1).map(String::as_str) {
        Some("rotate") => {}
        Some("status") => return secrets_status(domain).await,
        _ => return Err(USAGE.into()),
    }
    let rotated = domain.secrets.rotated();
    rotated.save(key_file).map_err(|e| e.to_string())?;
    let resealed = operator::reseal_secrets(domain, &Operator::from_command_line(), &rotated)
        .await
        .map_err(explain)?;
    Ok(format!(
        "New key {} sealed {resealed} secret(s). Restart the servers so they seal with it.",
        rotated.current_key_id()
    ))
}

/// `secrets status`: one line per table and key id, the current key marked.
async fn secrets_status(domain: &Domain) -> Result<String, String> {
    let counts =
        operator::secrets_status(domain, &Operator::from_command_line()).await.map_err(explain)?;
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

async fn backup(domain: &Domain, flags: Flags) -> Result<String, String> {
    let to = flags.value("--to")?;
    let bytes = operator::backup(domain, &Operator::from_command_line(), Path::new(&to))
        .await
        .map_err(explain)?;
    Ok(format!(
        "Backed up the database to {to} ({bytes} bytes). To restore it, stop every server, \
         replace the database file (default $DATA_DIR/console.db) with this copy, remove \
         console.db-wal and console.db-shm beside it if they exist, and start again."
    ))
}

fn explain(err: AppError) -> String {
    match err {
        AppError::Invalid(errors) => errors
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
