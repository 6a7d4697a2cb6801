//! The most characters each form field takes. The forms' `maxlength` and the
//! domain's checks read these same numbers, so a browser never lets through
//! what the server would refuse, nor stops what it would take.

/// A one-line name: a person's, an application's, a key's, a library's, an
/// integration's.
pub const NAME_MAX: usize = 100;
pub const COMPANY_MAX: usize = 200;
pub const EMAIL_MAX: usize = 254;
/// The one limit the forms do not set as `maxlength`: a browser cuts a
/// longer paste without a word, and the user would then hold a password
/// other than the one they pasted (or saved in a password manager). The
/// server refuses it instead, beside the field.
pub const PASSWORD_MAX: usize = 128;
pub const ADDRESS_MAX: usize = 200;
pub const CITY_MAX: usize = 100;
pub const STATE_MAX: usize = 100;
pub const ZIP_MAX: usize = 10;
/// An integration's or a JS library's description.
pub const DESCRIPTION_MAX: usize = 500;

/// A search of users by name or email address.
pub const SEARCH_MAX: usize = 100;

/// What a search box sends for what was typed: control characters (a tab
/// pasted from a spreadsheet), which no name or address holds and the server
/// refuses, as spaces, and at most [`SEARCH_MAX`] characters. So the server
/// takes every search the box shows, or one in the page's address.
pub fn searchable(typed: &str) -> String {
    typed.chars().map(|c| if c.is_control() { ' ' } else { c }).take(SEARCH_MAX).collect()
}
