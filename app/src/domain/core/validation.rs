//! Input rules shared by every entry point. Each returns the cleaned value or
//! a message for the field; callers collect messages with [`Errors`].
use crate::model::{AppError, FieldError};
pub use crate::model::{COMPANY_MAX, EMAIL_MAX, NAME_MAX, PASSWORD_MAX};

pub const PASSWORD_MIN: usize = 8;
/// How many characters of a password zxcvbn judges at a time. Its cost grows
/// fast with length when the text holds many look-alike characters ("4@8(3"
/// for "abce"): a 128-character one took 700 ms, 32 characters take at most
/// about 60 ms (release build, this project's machine).
pub const PASSWORD_JUDGED: usize = 32;

/// Collects field errors so a form reports all of its problems at once.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keeps the value when valid; otherwise records the message and returns a default.
    pub fn check<T: Default>(&mut self, field: &str, result: Result<T, String>) -> T {
        result.unwrap_or_else(|message| {
            self.0.push(FieldError { field: field.into(), message });
            T::default()
        })
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// Takes back what was said about `field`, if anything.
    pub fn take(&mut self, field: &str) -> Option<String> {
        let at = self.0.iter().position(|error| error.field == field)?;
        Some(self.0.remove(at).message)
    }

    /// Whether `field` was refused.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|error| error.field == field)
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

fn bounded_text(value: &str, what: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{what} is required."));
    }
    if value.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    if value.chars().any(|c| c.is_control() || turns_or_breaks(c)) {
        return Err(format!("{what} must not contain control characters."));
    }
    // What a form body's bytes that are not UTF-8 decode to: stored, the
    // name would show as "��" and the typed letters would be lost.
    if value.contains(char::REPLACEMENT_CHARACTER) {
        return Err(format!("{what} holds characters that could not be read; type it again."));
    }
    Ok(value.to_owned())
}

/// The formatting characters that reorder the text after them (U+202E
/// shows what follows backwards) or break its line: a one-line name holding
/// one could make a list or an email read other than it is. The marks
/// right-to-left text needs (U+200E, U+200F) are kept.
pub fn turns_or_breaks(c: char) -> bool {
    reorders(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The embeddings, overrides and isolates of Unicode's bidirectional
/// algorithm: each changes the order the text after it is shown in.
fn reorders(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name on one line (a person's, an application's, a key's, a library's,
/// an integration's), at most `NAME_MAX` characters.
pub fn one_line_name(value: &str, what: &str) -> Result<String, String> {
    bounded_text(value, what, NAME_MAX)
}

pub fn company_name(value: &str) -> Result<String, String> {
    bounded_text(value, "Company Name", COMPANY_MAX)
}

/// Emails compare case-insensitively after trimming, so they are stored that way.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The most bytes before an address's @ that mail servers must accept
/// (RFC 5321, 4.5.3.1.1), and that the mailer takes.
const LOCAL_PART_MAX: usize = 64;

/// The most characters of a domain's part between dots (RFC 1035).
const DOMAIN_PART_MAX: usize = 63;

pub fn email(value: &str) -> Result<String, String> {
    email_as(value, "Email Address")
}

/// [`email`] for a field labelled `label` ("New Email Address").
pub fn email_as(value: &str, label: &str) -> Result<String, String> {
    let email = normalize_email(value);
    if email.is_empty() {
        return Err(format!("{label} is required."));
    }
    // Mail servers count bytes; the form's `maxlength` (and the message)
    // characters: an address in letters beyond A to Z may be short enough
    // for the one and not the other, and is told which.
    if email.chars().count() > EMAIL_MAX {
        return Err(format!("{label} must be at most {EMAIL_MAX} characters."));
    }
    if email.len() > EMAIL_MAX {
        return Err(format!(
            "{label} is too long: mail servers take at most {EMAIL_MAX} bytes, and a letter \
             beyond A to Z takes two or more."
        ));
    }
    let malformed = || "Enter an email address like name@example.com.".to_string();
    let (local, domain) = email.split_once('@').ok_or_else(malformed)?;
    // Mail servers count this part in bytes, so a shorter one in letters
    // beyond A to Z may be over too: said so, or the user could not see why.
    if local.len() > LOCAL_PART_MAX {
        let before = format!("The part of {label} before the @");
        return Err(if local.chars().count() > LOCAL_PART_MAX {
            format!("{before} must be at most {LOCAL_PART_MAX} characters.")
        } else {
            format!(
                "{before} is too long: mail servers take at most {LOCAL_PART_MAX} bytes, and \
                 a letter beyond A to Z takes two or more."
            )
        });
    }
    // Counted in characters, so a part in letters beyond A to Z, which the
    // mailer takes as its longer ASCII form (punycode), is over for sure.
    if domain.split('.').any(|part| part.chars().count() > DOMAIN_PART_MAX) {
        return Err(format!(
            "Each part of {label} after the @ between dots must be at most {DOMAIN_PART_MAX} \
             characters."
        ));
    }
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = !local.is_empty()
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c));
    // What the mailer can address, too: `.ann@`, `a..b@` or `ann.@` pass the
    // checks above, and the user would be told a link was sent that the
    // mailer then refuses for good.
    if domain_ok && local_ok && email.parse::<lettre::Address>().is_ok() {
        Ok(email)
    } else {
        Err(malformed())
    }
}

/// Refuses the control characters of text whose lines and tabs are part of
/// it (code, a description of several lines): no editor types the others,
/// and PostgreSQL cannot store NUL, which would fail the write after the
/// check had passed (and SQLite would keep it). And the characters that
/// reorder the text after them, as names refuse them: in a description
/// every member reads, or in code another user attaches and runs ("Trojan
/// Source"), they make the text read other than it is.
pub fn lines_only_control(value: &str, what: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(format!(
            "{what} must not contain control characters other than line breaks and tabs."
        ));
    }
    if value.chars().any(reorders) {
        return Err(format!(
            "{what} must not contain characters that reorder the text after them \
             (U+202A to U+202E, U+2066 to U+2069)."
        ));
    }
    Ok(())
}

/// Text that may be left empty, with a length limit.
pub fn optional_text(value: &str, what: &str, max: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    bounded_text(value, what, max)
}

/// An international phone number as people type it (`+44 20 7946 0958`,
/// `+1 (415) 555-0100`, `0044…`), as E.164. Empty stays empty.
pub fn international_phone(value: &str, what: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let invalid = || {
        format!(
            "{what} must be an international number with its country code, e.g. +1 (415) 555-0100."
        )
    };
    // The national trunk prefix, written beside the country code (common
    // for UK, German and Swiss numbers): kept, the number cannot be dialled.
    if value.contains("(0)") {
        return Err(format!(
            "{what}: leave out the (0), which is not dialled from abroad, e.g. +44 20 7946 0958."
        ));
    }
    // Separators as numbers are pasted: spaces (also no-break), hyphens and
    // dashes, dots, brackets and slashes.
    let separator = |c: char| " -.()/\u{a0}\u{202f}\u{2010}\u{2011}\u{2013}\u{2212}".contains(c);
    let compact: String = value.chars().filter(|c| !separator(*c)).collect();
    let digits =
        compact.strip_prefix('+').or_else(|| compact.strip_prefix("00")).ok_or_else(invalid)?;
    // E.164: a country code (never starting with 0) and at most 15 digits in all.
    let well_formed = (7..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if !well_formed {
        return Err(invalid());
    }
    // North America: area code and exchange both start with 2-9.
    if let Some(national) = digits.strip_prefix('1') {
        let nanp = national.len() == 10
            && !matches!(national.as_bytes()[0], b'0' | b'1')
            && !matches!(national.as_bytes()[3], b'0' | b'1');
        if !nanp {
            return Err(invalid());
        }
    }
    Ok(format!("+{digits}"))
}

/// The length limits alone, without the guessability check: what may be
/// checked before the check's own count is taken. `label` is the field's
/// ("Password", "New Password").
pub fn password_length(password: &str, label: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length == 0 {
        return Err(format!("{label} is required."));
    }
    if length < PASSWORD_MIN {
        return Err(format!("{label} must be at least {PASSWORD_MIN} characters."));
    }
    if length > PASSWORD_MAX {
        return Err(format!("{label} must be at most {PASSWORD_MAX} characters."));
    }
    Ok(())
}

/// `text` as a sentence of its own: ended by a full stop if it has no end.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Length limits plus a guessability check (zxcvbn), no composition rules.
/// `context` holds the user's own name, email and company, which make weak
/// passwords. zxcvbn judges the first [`PASSWORD_JUDGED`] characters and,
/// when those are weak, the last as many: a password is at least as hard to
/// guess as any part of it, so either part being strong is enough.
pub fn new_password(password: &str, context: &[&str], label: &str) -> Result<String, String> {
    password_length(password, label)?;
    let first = |text: &str| text.chars().take(PASSWORD_JUDGED).collect::<String>();
    let last = |text: &str| {
        let chars: Vec<char> = text.chars().collect();
        chars[chars.len().saturating_sub(PASSWORD_JUDGED)..].iter().collect::<String>()
    };
    // zxcvbn finds a context entry only whole: a long email or company name
    // is also given as the two ends a judged part of the password can hold.
    let context: Vec<String> =
        context.iter().flat_map(|entry| [entry.to_string(), first(entry), last(entry)]).collect();
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    let mut estimate = zxcvbn::zxcvbn(&first(password), &context);
    if u8::from(estimate.score()) < 3 && password.chars().count() > PASSWORD_JUDGED {
        estimate = zxcvbn::zxcvbn(&last(password), &context);
    }
    if u8::from(estimate.score()) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" {}", sentence(&w.to_string())))
            .unwrap_or_default();
        return Err(format!(
            "This password is too easy to guess.{hint} Try a longer phrase of unrelated words."
        ));
    }
    Ok(password.to_owned())
}

/// A person's names and address as a form gives them, checked (each refusal
/// beside its field); what failed is empty.
pub struct PersonFields {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// Checks the names and address of a user an admin or an operator adds or
/// edits, so both say the same beside the same fields.
pub fn person_fields(first_name: &str, last_name: &str, email: &str) -> (Errors, PersonFields) {
    let mut errors = Errors::default();
    let first_name = errors.check("first_name", one_line_name(first_name, "First Name"));
    let last_name = errors.check("last_name", one_line_name(last_name, "Last Name"));
    let email = errors.check("email", self::email(email));
    (errors, PersonFields { first_name, last_name, email })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_refuse_what_would_turn_or_break_them() {
        for name in ["Backup\u{202e}txt.exe", "a\u{2066}b", "two\u{2028}lines", "tab\there"] {
            let refused = one_line_name(name, "Key Name").unwrap_err();
            assert_eq!(refused, "Key Name must not contain control characters.", "{name:?}");
        }
        assert_eq!(one_line_name("שלום\u{200f} Ann", "Name").unwrap(), "שלום\u{200f} Ann");
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(email("  Ann@Example.COM ").unwrap(), "ann@example.com");
        for good in ["ann.lee+voice@example.co.uk", "o'brien@example.com", "ñandú@example.com"] {
            assert_eq!(email(good).as_deref(), Ok(good), "{good:?} should be taken");
        }
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@-x.com",
            "ann@x..com",
            ".ann@example.com",
            "a..b@example.com",
            "ann.@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert_eq!(email(&long).unwrap_err(), "Email Address must be at most 254 characters.");
        // Fewer characters than that, but more bytes: told so.
        let wide = format!("{}@{}.com", "ñ".repeat(32), vec!["b".repeat(50); 4].join("."));
        assert!(wide.len() > 254 && wide.chars().count() <= 254);
        assert!(email(&wide).unwrap_err().contains("at most 254 bytes"));
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            email_as(&long_local, "New Email Address").unwrap_err(),
            "The part of New Email Address before the @ must be at most 64 characters."
        );
        assert!(email(&format!("{}@example.com", "a".repeat(64))).is_ok());
        let said = email(&format!("ann@{}.com", "b".repeat(64))).unwrap_err();
        assert_eq!(
            said,
            "Each part of Email Address after the @ between dots must be at most 63 characters."
        );
        assert!(email(&format!("ann@{}.com", "b".repeat(63))).is_ok());
        let said = email(&format!("{}@example.com", "ñ".repeat(33))).unwrap_err();
        assert!(said.contains("at most 64 bytes"), "{said}");
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(one_line_name("  Ann ", "First Name").unwrap(), "Ann");
        assert_eq!(one_line_name("   ", "First Name").unwrap_err(), "First Name is required.");
        assert!(one_line_name(&"x".repeat(101), "First Name").unwrap_err().contains("at most 100"));
        assert!(one_line_name("a\u{0}b", "First Name").is_err());
    }

    #[test]
    fn a_readable_phone_reads_back_as_the_same_number() {
        use crate::model::readable_international_phone as readable;
        assert_eq!(readable("+14155550100"), "+1 (415) 555-0100");
        assert_eq!(readable("+442079460958"), "+442079460958");
        assert_eq!(readable(""), "");
        for e164 in ["+14155550100", "+442079460958"] {
            assert_eq!(international_phone(&readable(e164), "Phone").unwrap(), e164);
        }
    }

    #[test]
    fn phone_numbers_become_e164() {
        assert_eq!(international_phone(" +1 (415) 555-0100 ", "Phone").unwrap(), "+14155550100");
        assert_eq!(international_phone("+44 20 7946 0958", "Phone").unwrap(), "+442079460958");
        assert_eq!(international_phone("0049 30 1234567", "Phone").unwrap(), "+49301234567");
        assert_eq!(international_phone("  ", "Phone").unwrap(), "");
        // As pasted: a no-break space, an en dash, a slash.
        assert_eq!(
            international_phone("+44\u{a0}20 7946\u{2013}0958", "Phone").unwrap(),
            "+442079460958"
        );
        assert_eq!(international_phone("+49 30/1234567", "Phone").unwrap(), "+49301234567");
        let trunk = international_phone("+44 (0)20 7946 0958", "Phone Number").unwrap_err();
        assert!(trunk.starts_with("Phone Number: leave out the (0)"), "{trunk}");
        for bad in [
            "415 555 0100",
            "+1 415 555 010",
            "+1 015 555 0100",
            "+0 123 456 789",
            "+44 20 7946 095a",
            "+1234567890123456",
            "+12",
        ] {
            let err = international_phone(bad, "Phone Number").unwrap_err();
            assert!(err.starts_with("Phone Number must be an international number"), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_length_limits_and_must_not_be_guessable() {
        assert!(new_password("short", &[], "Password").unwrap_err().contains("at least 8"));
        // An empty one is missing, not short.
        assert_eq!(new_password("", &[], "Password").unwrap_err(), "Password is required.");
        // Each refusal names the field it stands beside.
        assert_eq!(
            new_password("short", &[], "New Password").unwrap_err(),
            "New Password must be at least 8 characters."
        );
        assert_eq!(
            email_as(" ", "New Email Address").unwrap_err(),
            "New Email Address is required."
        );
        assert!(new_password(&"x".repeat(129), &[], "Password")
            .unwrap_err()
            .contains("at most 128"));
        // zxcvbn's warning is a sentence of its own, between the two of ours.
        assert_eq!(
            new_password("password1", &[], "Password").unwrap_err(),
            "This password is too easy to guess. This is a very common password. Try a longer \
             phrase of unrelated words."
        );
        // The user's own details make a weak password.
        assert!(new_password("gracehopper@example.com", &["gracehopper@example.com"], "Password")
            .is_err());
        assert!(new_password("Velvet-Otter-Sunrise-42", &[], "Password").is_ok());
        // No composition rules: a long lower-case phrase is fine.
        assert!(new_password("purple elephants juggle quietly", &[], "Password").is_ok());
        // Past the judged length, a strong end makes up for a weak start, and
        // a weak password stays weak however long.
        let weak_start = format!("{}Velvet-Otter-Sunrise-42", "a".repeat(40));
        assert!(new_password(&weak_start, &[], "Password").is_ok());
        assert!(new_password(&"ab".repeat(50), &[], "Password").unwrap_err().contains("too easy"));
        // One's own email is weak however long, though longer than a judged part.
        let email = "grace.brewster.hopper@navy-archives.example";
        assert!(new_password(email, &[email], "Password").unwrap_err().contains("too easy"));
    }
}
