use sea_orm::entity::prelude::*;
use sea_orm::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    /// Trimmed and lower-cased: the unique index makes emails unique system-wide.
    #[sea_orm(unique)]
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// argon2id PHC string; `None` for an invited user who has not set one yet.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    pub created_at: DateTimeUtc,
    /// When the user proved they receive mail at `email`; `None` until then.
    pub email_verified_at: Option<DateTimeUtc>,
    /// Derived (see `before_save`): lower-cased "first last", the name sort key.
    pub name_key: String,
    /// Derived: lower-cased name and email, what search matches.
    pub search_text: String,
    /// Derived: every piece of 1 to [`GRAM_MAX`] characters of `search_text`, as
    /// [`search_grams`] writes them: what the search index holds.
    pub search_grams: String,
    /// Derived: `invited` until the user has a password, then `active`.
    pub status: String,
    pub two_factor_enabled: bool,
    /// When an admin disabled the user; `None` while they may sign in. A
    /// disabled user's sessions and developer keys do not authenticate.
    pub disabled_at: Option<DateTimeUtc>,
    /// Derived by the database (migration 31's triggers) from
    /// `password_hash` and `disabled_at`: where "Sort By: Status" puts the
    /// user, as the Status column shows them: [`ACTIVE_ORDER`], then
    /// invited, then disabled (whatever else). Never written here; on
    /// SQLite a model returned by an insert or update holds the value from
    /// before the triggers ran, so read the row again to use it.
    pub status_order: i16,
}

pub const INVITED: &str = "invited";
pub const ACTIVE: &str = "active";

pub const ACTIVE_ORDER: i16 = 0;
pub const INVITED_ORDER: i16 = 1;
pub const DISABLED_ORDER: i16 = 2;

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Model {
    pub fn full_name(&self) -> String {
        crate::model::full_name(&self.first_name, &self.last_name)
    }
}

/// The name, search and invitation-status columns are derived here, in one
/// place, from the names, email and password every write already carries
/// (`status_order`, which needs `disabled_at` too, by the database).
#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let (Some(first), Some(last), Some(email)) =
            (self.first_name.try_as_ref(), self.last_name.try_as_ref(), self.email.try_as_ref())
        {
            let derived = Derived::of(first, last, email);
            self.name_key = Set(derived.name_key);
            self.search_text = Set(derived.search_text);
            self.search_grams = Set(derived.search_grams);
        }
        if let Some(hash) = self.password_hash.try_as_ref() {
            self.status = Set(if hash.is_some() { ACTIVE } else { INVITED }.into());
        }
        Ok(self)
    }
}

/// The columns derived from a user's names and email: what `before_save`
/// writes, and what a batch insert (which skips it) must write too, with
/// `status`.
pub struct Derived {
    pub name_key: String,
    pub search_text: String,
    pub search_grams: String,
}

impl Derived {
    pub fn of(first: &str, last: &str, email: &str) -> Derived {
        let name_key = format!("{first} {last}").to_lowercase();
        let search_text = format!("{name_key} {}", email.to_lowercase());
        Derived { search_grams: search_grams(&search_text), search_text, name_key }
    }
}

/// The longest pieces the index holds. Four characters, not three: a rare
/// term's 3-character pieces are still each held by many users of a large
/// account ("r03", "033" and "333" together by 1,028 of a million), and every
/// such user is fetched and checked; its 4-character pieces are held
/// together by 100 (the load bench's users).
pub const GRAM_MAX: usize = 4;

/// The index terms of a search text: each distinct run of 1 to [`GRAM_MAX`]
/// characters, hex-encoded so that any character (`@`, `.`, a space, an
/// accent) survives the full-text tokenizer as one plain word. A text contains
/// a search term only if it has every gram of the term ([`term_grams`]), so
/// the index narrows a search to a few rows and `LIKE` then checks them.
pub fn search_grams(search_text: &str) -> String {
    let chars: Vec<char> = search_text.chars().collect();
    let mut grams: Vec<String> = (1..=GRAM_MAX).flat_map(|n| chars.windows(n).map(gram)).collect();
    grams.sort_unstable();
    grams.dedup();
    grams.join(" ")
}

/// The pieces a text must hold to contain `term` (already lower-cased): the
/// term itself when it is at most [`GRAM_MAX`] characters, otherwise its
/// runs of that length (at most 17, spread over the term: more would only
/// narrow less), each once.
pub fn term_pieces(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() <= GRAM_MAX {
        return if chars.is_empty() { Vec::new() } else { vec![term.to_owned()] };
    }
    let windows: Vec<&[char]> = chars.windows(GRAM_MAX).collect();
    let step = windows.len().div_ceil(16);
    let mut pieces: Vec<String> =
        windows.iter().step_by(step).map(|w| w.iter().collect()).collect();
    pieces.push(windows[windows.len() - 1].iter().collect());
    pieces.sort_unstable();
    pieces.dedup();
    pieces
}

/// The index grams of [`term_pieces`].
pub fn term_grams(term: &str) -> Vec<String> {
    term_pieces(term).iter().map(|piece| gram_of(piece)).collect()
}

/// A piece of text as the index holds it (see [`search_grams`]).
pub fn gram_of(piece: &str) -> String {
    format!("g{}", hex::encode(piece))
}

fn gram(chars: &[char]) -> String {
    gram_of(&chars.iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::{search_grams, term_grams};

    #[test]
    fn a_text_has_every_gram_of_each_piece_it_contains() {
        let text = "ann o'neil ann@x.example";
        let all = search_grams(text);
        let grams: Vec<&str> = all.split(' ').collect();
        for term in ["a", "an", "n@", "o'ne", "ann@x.example", "l ann"] {
            for g in term_grams(term) {
                assert!(grams.contains(&g.as_str()), "{term}: {g}");
            }
        }
        assert!(term_grams("zq").iter().all(|g| !grams.contains(&g.as_str())));
        assert_eq!(term_grams("é"), vec!["gc3a9".to_string()]);
        assert!(term_grams(&"abcdefghij".repeat(10)).len() <= 17);
    }
}
