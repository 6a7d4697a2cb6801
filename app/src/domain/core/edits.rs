//! Forms that two admins may have open at once (Edit User, Account
//! Information): each sends the values it opened with, and only the fields
//! it changed are saved. Another admin's change since the form opened, to
//! any other field, stands; one to the same field is refused beside it
//! rather than undone unseen.
//!
//! Forms that save a thing whole, which only its owner edits (a JS library,
//! an application's settings), send the version they opened on instead: a
//! save made meanwhile, in another window, is refused rather than undone.
use chrono::{DateTime, Utc};

use crate::domain::core::validation::Errors;

/// A row's version, as a list carries it and an edit sends it back: when it
/// last changed, to the microsecond both databases keep.
pub fn version_of(changed_at: DateTime<Utc>) -> String {
    changed_at.timestamp_micros().to_string()
}

/// Whether an edit opened on `opened` (`None`: sent by a page that predates
/// versions, saved over whatever changed) was opened before the change at
/// `changed_at`.
pub fn is_stale(opened: Option<&str>, changed_at: DateTime<Utc>) -> bool {
    opened.is_some_and(|opened| opened != version_of(changed_at))
}

/// A form as sent, and the values it opened with (`None`, from a page that
/// predates them: every field is set as sent).
#[derive(Clone, Debug, Default)]
pub struct Edit<T> {
    pub form: T,
    pub was: Option<T>,
}

impl<T> From<T> for Edit<T> {
    fn from(form: T) -> Self {
        Edit { form, was: None }
    }
}

/// Said beside a field another admin changed, to something else, since the
/// form opened.
pub fn changed_meanwhile(label: &str) -> String {
    format!(
        "Another admin changed {label} since you opened this form. Reload the page to see \
         their change, then make yours."
    )
}

/// A value a form opened with, as its check reads it (`checked`), or as it
/// was shown, trimmed, when today's rules refuse it (`refused`): a stored
/// value from before a rule must still count as what the form opened with,
/// so that correcting or clearing it is this form's change, not another
/// admin's.
pub fn as_opened(refused: &Errors, field: &str, checked: String, shown: &str) -> String {
    match refused.has(field) {
        true => shown.trim().to_owned(),
        false => checked,
    }
}

/// What a field is saved as: `sent` when the form changed it from `was`,
/// otherwise the value it has `now`. Both `sent` and `was` are as checked,
/// so "Bob " and "Bob", or two spellings of one phone number, are the same.
/// A field changed here and, meanwhile, to something else by another admin
/// is refused in `errors` under `field`, named `label`.
pub fn merged<T: PartialEq + Clone>(
    errors: &mut Errors,
    (field, label): (&str, &str),
    sent: T,
    was: Option<&T>,
    now: &T,
) -> T {
    let Some(was) = was else { return sent };
    if sent == *was {
        return now.clone();
    }
    if now != was && *now != sent {
        errors.add(field, changed_meanwhile(label));
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(sent: &str, was: Option<&str>, now: &str) -> (String, bool) {
        let mut errors = Errors::default();
        let was = was.map(str::to_owned);
        let saved = merged(&mut errors, ("city", "City"), sent.into(), was.as_ref(), &now.into());
        (saved, errors.into_result().is_err())
    }

    #[test]
    fn only_what_the_form_changed_is_saved_and_a_clash_is_refused() {
        // Without what the form opened with, every field is set as sent.
        assert_eq!(merge("Oslo", None, "Bergen"), ("Oslo".into(), false));
        // Left as it opened: another admin's value stands.
        assert_eq!(merge("Oslo", Some("Oslo"), "Bergen"), ("Bergen".into(), false));
        // Changed here only.
        assert_eq!(merge("Bergen", Some("Oslo"), "Oslo"), ("Bergen".into(), false));
        // Changed to the same value by both: no clash.
        assert_eq!(merge("Bergen", Some("Oslo"), "Bergen"), ("Bergen".into(), false));
        // Changed to different values by both: refused.
        assert_eq!(merge("Bergen", Some("Oslo"), "Tromsø"), ("Bergen".into(), true));
    }
}
