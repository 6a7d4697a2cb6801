//! JS libraries: each belongs to the user who wrote it and can be attached to
//! the account's applications. The code is at most 4096 characters. Whether
//! it parses is the browser's advice to the author, not a rule: a library
//! that does not parse may still be saved.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DerivePartialModel,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::db::delete_found;
use crate::domain::core::edits::{self, version_of};
use crate::domain::core::names;
use crate::domain::core::scope::{lock_account, Deleting, Scoped};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{application_library, js_library};
use crate::domain::features::applications::{
    detached, refuse_impossible_confirmation, refuse_unconfirmed, using_libraries_seen_by,
};
use crate::model::{ActivityKind, AppError, JsLibraryRow, UsedBy, JS_LIBRARY_MAX};

pub use crate::model::DESCRIPTION_MAX;
/// Why a library's name is refused: an application's settings list every
/// library of the account by name, and two of one name could not be told
/// apart there.
pub const NAME_TAKEN: &str =
    "Another JS library of this account already has this name: choose another.";

/// What the Add and Edit dialogs send.
pub struct LibraryForm {
    pub name: String,
    pub description: String,
    pub code: String,
}

/// Edit's form, and the version of the library it opened on
/// (`JsLibraryRow::version`; `None`: saved over whatever changed since).
pub struct LibraryEdit {
    pub form: LibraryForm,
    pub opened: Option<String>,
}

impl From<LibraryForm> for LibraryEdit {
    fn from(form: LibraryForm) -> Self {
        LibraryEdit { form, opened: None }
    }
}

/// Said when the library was saved (in another window) since Edit opened:
/// only its owner edits it, so that is where the change came from, and
/// saving the form whole would undo it unseen.
pub const CHANGED_SINCE_OPENED: &str = "This library was changed in another window since you \
     opened it. Close this dialog and open Edit again to see that change, then make yours.";

/// Refuses an edit opened on another version than `found`'s.
fn refuse_stale(opened: Option<&str>, found: &js_library::Model) -> Result<(), AppError> {
    match edits::is_stale(opened, found.updated_at) {
        true => Err(AppError::Conflict(CHANGED_SINCE_OPENED.into())),
        false => Ok(()),
    }
}

struct Checked {
    name: String,
    description: String,
    code: String,
}

fn check(form: &LibraryForm) -> Result<Checked, AppError> {
    let mut errors = Errors::default();
    let name = errors.check("name", validation::one_line_name(&form.name, "Name"));
    let description = errors.check(
        "description",
        validation::optional_text(&form.description, "Description", DESCRIPTION_MAX),
    );
    // The code is kept as written, whitespace and all, but for its line
    // breaks: a browser sends a text area's as CRLF, and counted so, the
    // length would be more than the field showed as the user typed.
    let code = form.code.replace("\r\n", "\n");
    let length = code.chars().count();
    if code.trim().is_empty() {
        errors.add("code", "Code is required.");
    } else if length > JS_LIBRARY_MAX {
        errors.add(
            "code",
            format!("Code must be at most {JS_LIBRARY_MAX} characters; this is {length}."),
        );
    } else if let Err(message) = validation::lines_only_control(&code, "Code") {
        errors.add("code", message);
    }
    errors.into_result()?;
    Ok(Checked { name, description, code })
}

/// What a row shows of a library: not its code, up to 4 KB, which a list
/// of a user's 200 would read and send for nothing.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "js_library::Entity")]
struct Listed {
    id: i32,
    name: String,
    description: String,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<js_library::Model> for Listed {
    fn from(m: js_library::Model) -> Self {
        Listed { id: m.id, name: m.name, description: m.description, updated_at: m.updated_at }
    }
}

fn row(model: impl Into<Listed>, used_by: UsedBy) -> JsLibraryRow {
    let model: Listed = model.into();
    JsLibraryRow {
        id: model.id,
        name: model.name,
        description: model.description,
        used_by,
        updated: clock::shown(model.updated_at),
        version: version_of(model.updated_at),
    }
}

/// The libraries `me` wrote, with the applications using each.
pub async fn list(d: &Domain, me: &Member) -> Result<Vec<JsLibraryRow>, AppError> {
    let mut mine: Vec<Listed> =
        Scoped::of(me).mine::<js_library::Entity>().into_partial_model().all(&d.read).await?;
    mine.sort_by(|a, b| names::order(&a.name, &b.name).then(a.id.cmp(&b.id)));
    let ids: Vec<i32> = mine.iter().map(|l| l.id).collect();
    let mut used = using_libraries_seen_by(&d.read, &ids, me).await?;
    Ok(mine
        .into_iter()
        .map(|l| {
            let u = used.remove(&l.id).unwrap_or_default();
            row(l, u)
        })
        .collect())
}

/// The code of one of `me`'s libraries, for its Edit dialog; anyone else's
/// is "not found", as everywhere.
pub async fn code(d: &Domain, me: &Member, id: i32) -> Result<String, AppError> {
    Scoped::of(me)
        .mine::<js_library::Entity>()
        .filter(js_library::Column::Id.eq(id))
        .select_only()
        .column(js_library::Column::Code)
        .into_tuple()
        .one(&d.read)
        .await?
        .ok_or(AppError::NotFound)
}

/// Libraries hold up to `JS_LIBRARY_MAX` characters of code each; an unverified sign-up
/// (any address, no mailbox needed) may store none.
pub async fn add(d: &Domain, me: &Member, form: LibraryForm) -> Result<JsLibraryRow, AppError> {
    let checked = check(&form)?;
    me.verified(&d.db).await?;
    let now = d.clock.now();
    let event = Event::new(ActivityKind::JsLibraryAdded, &checked.name);
    let key = names::key(&checked.name);
    let new = js_library::ActiveModel {
        account_id: Set(me.account_id()),
        owner_id: Set(me.user_id()),
        name: Set(checked.name),
        description: Set(checked.description),
        code: Set(checked.code),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // Refused at once, without spending a change; again under the lock,
    // which an add or rename of the same name racing this one takes too.
    refuse_taken(&d.db, me, &key, None).await?;
    let by = By::Member(activity::count_change(d, me).await?);
    let model = activity::with_event(d, by, event, async |txn| {
        let most = d.holdings.js_libraries;
        Scoped::of(me)
            .refuse_full::<js_library::Entity>(txn, most, "JS libraries", Deleting::OwnersOnly)
            .await?;
        // Read again under the lock, which disabling the user takes too.
        me.verified(txn).await?;
        refuse_taken(txn, me, &key, None).await?;
        Ok(new.insert(txn).await?)
    })
    .await?;
    Ok(row(model, Default::default()))
}

pub async fn update(
    d: &Domain,
    me: &Member,
    id: i32,
    edit: impl Into<LibraryEdit>,
) -> Result<JsLibraryRow, AppError> {
    let LibraryEdit { form, opened } = edit.into();
    let checked = check(&form)?;
    me.verified(&d.db).await?;
    let found = Scoped::of(me).find_mine::<js_library::Entity>(&d.db, id).await?;
    let key = names::key(&checked.name);
    // A library that already shares its name (two of one name from before
    // names were checked) can still be edited under it.
    let renames = |from: &js_library::Model| names::key(&from.name) != key;
    if renames(&found) {
        refuse_taken(&d.db, me, &key, Some(id)).await?;
    }
    let unchanged = |found: &js_library::Model| {
        (&found.name, &found.description, &found.code)
            == (&checked.name, &checked.description, &checked.code)
    };
    // Saved as it is (Save pressed again): nothing to write, record or count.
    let model = if unchanged(&found) {
        found
    } else {
        // Asked before anything is counted, and again under the lock. Not
        // of a save that would write nothing (a double submit, the same
        // change made in two windows).
        refuse_stale(opened.as_deref(), &found)?;
        let by = By::Member(activity::count_change(d, me).await?);
        let txn = d.begin().await?;
        // Whether this renames is decided again under the lock, from the row
        // as it is now: a rename that landed since would otherwise be
        // written back over, onto a name another library may have taken.
        lock_account(&txn, me.account_id()).await?;
        me.verified(&txn).await?;
        let found = Scoped::of(me).find_mine::<js_library::Entity>(&txn, id).await?;
        refuse_stale(opened.as_deref(), &found)?;
        if renames(&found) {
            refuse_taken(&txn, me, &key, Some(id)).await?;
        }
        let mut event = Event::new(ActivityKind::JsLibraryUpdated, &checked.name);
        if found.name != checked.name {
            event = event.detail(format!("renamed from {}", found.name));
        }
        let mut active = found.into_active_model();
        active.name = Set(checked.name);
        active.description = Set(checked.description);
        active.code = Set(checked.code);
        active.updated_at = Set(d.clock.now());
        let model = active.update(&txn).await?;
        activity::record(d, &txn, by, event).await?;
        txn.commit().await?;
        model
    };
    let mut used = using_libraries_seen_by(&d.db, &[model.id], me).await?;
    let used = used.remove(&model.id).unwrap_or_default();
    Ok(row(model, used))
}

/// Refuses `key` ([`names::key`]) when another library of the account (not
/// `except`) has it. The account holds at most `Holdings::js_libraries`.
async fn refuse_taken(
    conn: &impl ConnectionTrait,
    me: &Member,
    key: &str,
    except: Option<i32>,
) -> Result<(), AppError> {
    let libraries: Vec<(i32, String)> = Scoped::of(me)
        .all::<js_library::Entity>()
        .select_only()
        .column(js_library::Column::Id)
        .column(js_library::Column::Name)
        .into_tuple()
        .all(conn)
        .await?;
    match libraries.iter().any(|(id, name)| Some(*id) != except && names::key(name) == key) {
        true => Err(AppError::field("name", NAME_TAKEN)),
        false => Ok(()),
    }
}

/// Deletes a library. One that applications use is deleted only when the
/// user confirmed detaching it from those very applications (`detach_from`,
/// what the dialog named); then it leaves them in the same transaction.
pub async fn delete(
    d: &Domain,
    me: &Member,
    id: i32,
    detach_from: &UsedBy,
) -> Result<(), AppError> {
    refuse_impossible_confirmation(d, me.account_id(), detach_from).await?;
    let library = Scoped::of(me).find_mine::<js_library::Entity>(&d.db, id).await?;
    let txn = d.begin().await?;
    // Attaching takes the same lock, so "in use" is not read a moment before
    // an attachment the owner never confirmed detaching.
    lock_account(&txn, me.account_id()).await?;
    me.active(&txn).await?;
    // Read again under the lock, which a hand-over takes too: a library
    // passed to an admin a moment ago is not this user's to delete.
    let library = Scoped::of(me).find_mine::<js_library::Entity>(&txn, library.id).await?;
    let used_by = using_libraries_seen_by(&txn, &[library.id], me)
        .await?
        .remove(&library.id)
        .unwrap_or_default();
    refuse_unconfirmed(&library.name, &used_by, detach_from)?;
    application_library::Entity::delete_many()
        .filter(application_library::Column::LibraryId.eq(library.id))
        .exec(&txn)
        .await?;
    delete_found::<js_library::Entity>(&txn, library.id).await?;
    let event = detached(Event::new(ActivityKind::JsLibraryDeleted, &library.name), &used_by);
    activity::record(d, &txn, By::Remedy(me), event).await?;
    txn.commit().await?;
    Ok(())
}

/// A user's libraries pass to `to` when they go (the admin who deleted them,
/// or the heir of an invitee who declined or lapsed). Names are unique in
/// the account, so none clashes.
pub async fn hand_over(txn: &DatabaseTransaction, from: i32, to: i32) -> Result<(), AppError> {
    js_library::Entity::update_many()
        .col_expr(js_library::Column::OwnerId, to.into())
        .filter(js_library::Column::OwnerId.eq(from))
        .exec(txn)
        .await?;
    Ok(())
}
