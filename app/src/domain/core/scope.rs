//! Tenant scope in one place: every query of account-owned rows starts here,
//! from the actor's account, never from an account id the browser sent. An id
//! from the browser is looked up only inside this scope, so another account's
//! row is simply "not found".
//!
//! Every entity with an `account_id` implements [`AccountOwned`] (a test in
//! `app/tests/layers.rs` fails when one does not), and no other domain module
//! filters by an account column by hand (the same test checks), but the
//! operator's and the jobs', whose work spans accounts.
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Select,
};

use crate::domain::core::actor::{Admin, Member};
use crate::domain::core::limits;
use crate::domain::entity::{
    account, activity_event, application, certificate, integration, invitation_decline, js_library,
    oauth_token, phone_number, user,
};
use crate::model::AppError;

/// A table whose rows belong to one account.
pub trait AccountOwned: EntityTrait {
    /// The column that names the owning account.
    fn account_column() -> Self::Column;
    /// The row's id, as the browser names it.
    fn id_column() -> Self::Column;
    /// The user a row belongs to inside the account, for things that are
    /// someone's own (`None` for things the whole account shares).
    fn owner_column() -> Option<Self::Column> {
        None
    }
}

macro_rules! account_owned {
    ($($entity:ident $(owned by $owner:ident)?),* $(,)?) => {$(
        impl AccountOwned for $entity::Entity {
            fn account_column() -> Self::Column {
                $entity::Column::AccountId
            }
            fn id_column() -> Self::Column {
                $entity::Column::Id
            }
            $(fn owner_column() -> Option<Self::Column> {
                Some($entity::Column::$owner)
            })?
        }
    )*};
}

account_owned! {
    user,
    activity_event owned by ActorUserId,
    integration,
    invitation_decline,
    phone_number owned by OwnerId,
    application owned by OwnerId,
    js_library owned by OwnerId,
    certificate owned by AddedBy,
    oauth_token owned by OwnerId,
}

/// The rows of every account on `plan`, for a count across accounts (what
/// demo accounts hold together), never a list shown to anyone. Each row's
/// account is looked up by its key: anyone can sign up, so the accounts on
/// the demo plan are many more than the rows they hold, and SQLite built the
/// list of them whole at every count (under the lock of the account asking,
/// and the writer's). PostgreSQL plans the two alike, by its statistics.
pub fn held_on_plan<E: AccountOwned>(plan: limits::Plan) -> Select<E> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let on_plan = Query::select()
        .expr(Expr::val(1))
        .from(account::Entity)
        .and_where(
            Expr::col((account::Entity, account::Column::Id))
                .equals((E::default(), E::account_column())),
        )
        .and_where(Expr::col((account::Entity, account::Column::Plan)).eq(plan.key()))
        .to_owned();
    E::find().filter(Expr::exists(on_plan))
}

/// The rows one actor may reach: those of their account.
pub struct Scoped {
    account_id: i32,
    user_id: i32,
}

impl Scoped {
    pub fn of(actor: &Member) -> Self {
        Scoped { account_id: actor.account_id(), user_id: actor.user_id() }
    }

    /// An account's rows with no acting user (nothing is "mine"): for work
    /// done on an account's behalf, such as an outbound call for it.
    pub fn account(account_id: i32) -> Self {
        Scoped { account_id, user_id: 0 }
    }

    /// Every row of the account.
    pub fn all<E: AccountOwned>(&self) -> Select<E> {
        E::find().filter(E::account_column().eq(self.account_id))
    }

    /// The row with this id, if it is the account's; otherwise "not found".
    pub async fn find<E: AccountOwned>(
        &self,
        conn: &impl ConnectionTrait,
        id: i32,
    ) -> Result<E::Model, AppError> {
        self.all::<E>().filter(E::id_column().eq(id)).one(conn).await?.ok_or(AppError::NotFound)
    }

    /// The actor's own rows (those they own or added).
    pub fn mine<E: AccountOwned>(&self) -> Select<E> {
        let query = self.all::<E>();
        match E::owner_column() {
            Some(owner) => query.filter(owner.eq(self.user_id)),
            // Nothing of a shared table is anyone's own.
            None => query.filter(Expr::value(false)),
        }
    }

    /// The actor's own row with this id; anyone else's is "not found".
    pub async fn find_mine<E: AccountOwned>(
        &self,
        conn: &impl ConnectionTrait,
        id: i32,
    ) -> Result<E::Model, AppError> {
        self.mine::<E>().filter(E::id_column().eq(id)).one(conn).await?.ok_or(AppError::NotFound)
    }

    /// Takes the account's lock, then refuses one more row of `E` when the
    /// account holds `most` already (`what` names them, plural). See
    /// `limits::Holdings`. `deleting` says which rows the actor may delete:
    /// unless any, the refusal says how many are their own and whom to ask
    /// about the others.
    pub async fn refuse_full<E: AccountOwned>(
        &self,
        txn: &DatabaseTransaction,
        most: u64,
        what: &str,
        deleting: Deleting,
    ) -> Result<(), AppError>
    where
        E::Model: Sync,
    {
        lock_account(txn, self.account_id).await?;
        let held = self.all::<E>().count(txn).await?;
        if held < most {
            return Ok(());
        }
        let full = format!("This account has {held} {what}, the most it can keep is {most}.");
        let advice = self.what_to_delete::<E>(txn, deleting).await?;
        limits::refuse_full(held, most, || format!("{full} {advice}"))
    }

    /// What a full account's refusal tells this actor to do: delete one, if
    /// they may delete any; otherwise how many are their own and whom to ask
    /// about the others (a member who holds none was told to delete one they
    /// cannot).
    pub async fn what_to_delete<E: AccountOwned>(
        &self,
        conn: &impl ConnectionTrait,
        deleting: Deleting,
    ) -> Result<String, AppError>
    where
        E::Model: Sync,
    {
        let (ask, only_owners) = match deleting {
            Deleting::Any => return Ok("One must be deleted before another is added.".into()),
            Deleting::OwnersOnly => ("a colleague to delete one they no longer need", true),
            Deleting::OwnersOrAnAdmin => ("an admin to delete one that is no longer needed", false),
        };
        Ok(match (self.mine::<E>().count(conn).await?, only_owners) {
            (0, true) => {
                format!("None of them is yours, and only its owner can delete one: ask {ask}.")
            }
            (0, false) => format!("None of them is yours: ask {ask}."),
            (yours, true) => format!(
                "You own {yours} of them: delete one of yours, or ask {ask} (only its owner can)."
            ),
            (yours, false) => {
                format!("You own {yours} of them: delete one of yours, or ask {ask}.")
            }
        })
    }

    pub fn users(&self) -> Select<user::Entity> {
        self.all()
    }

    pub fn integrations(&self) -> Select<integration::Entity> {
        self.all()
    }

    pub fn phone_numbers(&self) -> Select<phone_number::Entity> {
        self.all()
    }
}

/// Which of the rows [`Scoped::refuse_full`] counts the actor may delete.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Deleting {
    /// Any of them: an admin, where admins may delete anyone's.
    Any,
    /// Their own; the others' owners alone may delete theirs.
    OwnersOnly,
    /// Their own; an admin may delete the others.
    OwnersOrAnAdmin,
}

/// Serialises admin changes within one account: on PostgreSQL the UPDATE locks
/// the account's row until commit; on SQLite every transaction takes the
/// database's write lock at its BEGIN (`db::begin`), so the UPDATE adds
/// nothing there. Either way a second admin's change waits, then sees the
/// first one's result.
pub async fn lock_account(txn: &DatabaseTransaction, account_id: i32) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(account::Column::CompanyName, Expr::col(account::Column::CompanyName))
        .filter(account::Column::Id.eq(account_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Takes [`lock_account`] for the admin's account, then reads the admin
/// again under it: every admin change starts so. Read before the lock, a
/// demotion or disable committed while this change waited for the lock would
/// go unseen (PostgreSQL reads what was committed when each statement began)
/// and the change would land after it.
pub async fn lock_account_as(txn: &DatabaseTransaction, admin: &Admin) -> Result<(), AppError> {
    lock_account(txn, admin.account_id()).await?;
    admin.recheck(txn).await
}

/// Takes [`lock_account`] for the account of user `user_id` and returns the
/// user as read under it: for work that starts from a link or a code, which
/// knows the user but not the account. Every transaction that uses, issues or
/// expires an existing user's links (or checks their second factor) takes
/// this lock first, so those transactions queue in one order: taking the
/// link's row and the user's row in opposite orders, two of them could
/// deadlock on PostgreSQL, and a verification could commit under the
/// clean-up that was removing its account as never verified. A merge that
/// moved the user meanwhile gets "please try again".
pub async fn lock_account_of(
    txn: &DatabaseTransaction,
    user_id: i32,
) -> Result<user::Model, AppError> {
    let account_id: i32 = user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::AccountId)
        .into_tuple()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    lock_account(txn, account_id).await?;
    let user = user::Entity::find_by_id(user_id).one(txn).await?.ok_or(AppError::NotFound)?;
    if user.account_id != account_id {
        return Err(AppError::Conflict("Please try again.".into()));
    }
    Ok(user)
}
