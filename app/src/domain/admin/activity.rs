//! The Activity tab: the account's events for its admins, newest first,
//! filtered by user, kind and date, a page at a time or as CSV. Only the
//! admin's own account's events are ever read (the tenant scope).
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use crate::domain::core::activity::{self, Filter};
use crate::domain::core::actor::Admin;
use crate::domain::core::people;
use crate::domain::core::quota::{Action, Who};
use crate::domain::core::scope::Scoped;
use crate::domain::core::Domain;
use crate::domain::entity::{activity_event, user};
use crate::model::{
    ActivityFilter, ActivityPage, ActivityRow, AppError, EventId, UserChoice, ACTIVITY_CSV_MAX,
};

/// Events on one page of the tab and of the API.
pub const PAGE: u64 = 50;
/// Events read per query while writing a CSV.
const CSV_BATCH: u64 = 1000;

/// A page of the account's events passing `filter`, older than `before`.
pub async fn list(
    d: &Domain,
    admin: &Admin,
    filter: &ActivityFilter,
    before: Option<EventId>,
) -> Result<ActivityPage, AppError> {
    let filter = Filter::parse(filter)?.with_id_bounds(&d.read).await?;
    let scoped = Scoped::of(admin.member()).all::<activity_event::Entity>();
    activity::page(&d.read, scoped, &filter, before, PAGE).await
}

/// The users the tab's User filter offers for what has been typed so far:
/// every user of the account, disabled ones included (what a disabled user
/// did is what an admin most often looks for), unlike the phone numbers'
/// owner picker.
pub async fn user_choices(
    d: &Domain,
    admin: &Admin,
    search: &str,
) -> Result<Vec<UserChoice>, AppError> {
    people::choices_among(d, Scoped::of(admin.member()).users(), search).await
}

/// Who the tab's User filter names when the address gives only an id (a
/// reload, a bookmark): the account's user of that id, or, for a user since
/// deleted, the address their newest event was made under; `None` when no
/// user of that id ever acted in this account (another account's user
/// included: their name is not told).
pub async fn user_choice(
    d: &Domain,
    admin: &Admin,
    id: i32,
) -> Result<Option<UserChoice>, AppError> {
    let scope = Scoped::of(admin.member());
    if let Some(user) = scope.users().filter(user::Column::Id.eq(id)).one(&d.read).await? {
        return Ok(Some(people::user_choice(&user)));
    }
    let newest = scope
        .all::<activity_event::Entity>()
        .filter(activity_event::Column::ActorUserId.eq(id))
        .order_by_desc(activity_event::Column::Id)
        .one(&d.read)
        .await?;
    Ok(newest.map(|event| UserChoice { id, name: event.actor.clone(), email: event.actor }))
}

/// The events passing `filter` as CSV (newest first, at most [`ACTIVITY_CSV_MAX`]),
/// whole: [`csv_export`], collected.
pub async fn csv(d: &Domain, admin: &Admin, filter: &ActivityFilter) -> Result<String, AppError> {
    let mut export = csv_export(d, admin, filter).await?;
    let mut text = String::new();
    while let Some(chunk) = export.next_chunk().await? {
        text.push_str(&chunk);
    }
    Ok(text)
}

/// A CSV download of the events passing `filter`, checked and counted
/// ([`Action::ActivityExport`]) before any of it is read; then read and sent
/// a page at a time ([`CsvExport::next_chunk`]), so that a hundred thousand
/// events never sit in the server's memory at once.
pub async fn csv_export(
    d: &Domain,
    admin: &Admin,
    filter: &ActivityFilter,
) -> Result<CsvExport, AppError> {
    let filter = Filter::parse(filter)?.with_id_bounds(&d.read).await?;
    let member = admin.member();
    let who = Who {
        actor: Some(member.user_id()),
        account: Some(member.account_id()),
        client: member.address(),
        ..Who::default()
    };
    d.spend_alone(Action::ActivityExport, &who).await?;
    Ok(CsvExport { d: d.clone(), admin: admin.clone(), filter, next: Next::Header })
}

/// A CSV download under way (see [`csv_export`]).
pub struct CsvExport {
    d: Domain,
    admin: Admin,
    filter: Filter,
    next: Next,
}

enum Next {
    Header,
    /// Events older than `before`, with `sent` events sent so far.
    Events {
        before: Option<EventId>,
        sent: usize,
    },
    Done,
}

impl CsvExport {
    /// The next piece of the file: the header line, then the lines of one
    /// page of events at a time; None once all are sent. Each page is read
    /// when asked for, so a client that reads slowly holds back the reads.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, AppError> {
        let (before, sent) = match self.next {
            Next::Header => {
                self.next = Next::Events { before: None, sent: 0 };
                return Ok(Some(format!("{CSV_HEADER}\r\n")));
            }
            Next::Events { before, sent } => (before, sent),
            Next::Done => return Ok(None),
        };
        self.next = Next::Done;
        // A download read slowly may outlast its admin's rights: disabled,
        // demoted or merged away, they read no more of the account.
        self.admin.recheck(&self.d.read).await?;
        let scoped = Scoped::of(self.admin.member()).all::<activity_event::Entity>();
        let batch = CSV_BATCH.min((ACTIVITY_CSV_MAX - sent) as u64);
        let page = activity::page(&self.d.read, scoped, &self.filter, before, batch).await?;
        let sent = sent + page.rows.len();
        if let Some(next) = page.next.filter(|_| sent < ACTIVITY_CSV_MAX) {
            self.next = Next::Events { before: Some(next), sent };
        }
        Ok(Some(lines_of(&page.rows)))
    }
}

/// The file's first line, after a UTF-8 byte order mark: without it a
/// spreadsheet opened by a double click (Excel) reads the file in the
/// computer's legacy code page, and "Zoë" or "São Paulo" come out garbled.
/// Programs skip it as they read UTF-8 with a BOM (Python's `utf-8-sig`).
const CSV_HEADER: &str = "\u{feff}time,actor,kind,what,target,client_address,detail";

/// The header and one line per event, every cell quoted.
pub fn csv_of(rows: &[ActivityRow]) -> String {
    format!("{CSV_HEADER}\r\n{}", lines_of(rows))
}

/// One line per event, every cell quoted.
fn lines_of(rows: &[ActivityRow]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells = [
            row.at.as_str(),
            row.actor.as_str(),
            row.kind.as_str(),
            row.label.as_str(),
            row.target.as_str(),
            row.client_address.as_deref().unwrap_or(""),
            row.detail.as_deref().unwrap_or(""),
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell: quoted, quotes doubled, and a cell a spreadsheet would run
/// as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return) prefixed with `'` so it is shown as text. A signed number alone
/// (a phone number in E.164, `+14155550100`) runs nothing and is kept as it
/// is, for the programs that read the file.
pub fn cell(text: &str) -> String {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number;
    let text = if formula { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("ada@example.com"), "\"ada@example.com\"");
        assert_eq!(cell("say \"hi\", then"), "\"say \"\"hi\"\", then\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for risky in ["+1+HYPERLINK(\"x\")", "-1-2", "+", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(risky).starts_with("\"'"), "{risky}");
        }
        // A number alone runs nothing: a phone number stays as programs read it.
        assert_eq!(cell("+14155550100"), "\"+14155550100\"");
        assert_eq!(cell("-12"), "\"-12\"");
        assert_eq!(cell("a\nb"), "\"a\nb\"");
    }
}
