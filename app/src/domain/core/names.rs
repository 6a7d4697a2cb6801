//! The names people give what they make (applications, JS libraries): two
//! are the same apart from capitals and the spaces around them; lists show
//! them in the order people read ("IVR copy 2" before "IVR copy 10", "alpha"
//! beside "Alpha"), the same on either database; and a name that would be
//! taken gets a suffix that tells the two apart.
use std::cmp::Ordering;
use std::collections::HashSet;

use super::validation::NAME_MAX;

/// How much of where a name came from its suffix keeps (" (from …)"), so
/// the name itself keeps most of [`NAME_MAX`].
const SOURCE_MAX: usize = 40;

/// A name as two names are compared: capitals and the spaces around aside.
pub fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The order of names in a list: runs of digits by their value, the rest
/// without regard to capitals or accents (`lexical_sort`'s folding), and
/// names equal so by their text. Not `lexical_sort`'s own natural order: it
/// adds digits up in a `u64`, which overflows (a panic in a debug build) on
/// a name with twenty digits in a row.
pub fn order(a: &str, b: &str) -> Ordering {
    let (mut left, mut right) = (runs(a), runs(b));
    loop {
        let by_run = match (left.next(), right.next()) {
            (Some(l), Some(r)) => run_order(l, r),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => return a.cmp(b),
        };
        if by_run != Ordering::Equal {
            return by_run;
        }
    }
}

fn run_order(l: &str, r: &str) -> Ordering {
    let digits = |run: &str| run.starts_with(|c: char| c.is_ascii_digit());
    if digits(l) && digits(r) {
        // By value, however long: fewer digits first, then digit by digit.
        let (l, r) = (l.trim_start_matches('0'), r.trim_start_matches('0'));
        l.len().cmp(&r.len()).then_with(|| l.cmp(r))
    } else {
        lexical_sort::iter::iterate_lexical(l).cmp(lexical_sort::iter::iterate_lexical(r))
    }
}

/// `name` cut where digits start or stop: "IVR copy 10" gives "IVR copy ",
/// "10".
fn runs(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = name;
    std::iter::from_fn(move || {
        let digit = rest.chars().next()?.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

/// `base` and `suffix`, `base` cut so that the whole fits in [`NAME_MAX`].
fn with_suffix(base: &str, suffix: &str) -> String {
    let room = NAME_MAX.saturating_sub(suffix.chars().count());
    let name = base.trim().chars().take(room).collect::<String>().trim_end().to_owned() + suffix;
    name.trim().chars().take(NAME_MAX).collect()
}

/// The first of `base` + `suffix(1)`, `base` + `suffix(2)`… whose [`key`]
/// is not in `taken`.
pub fn first_free(base: &str, taken: &HashSet<String>, suffix: impl Fn(usize) -> String) -> String {
    (1..)
        .map(|n| with_suffix(base, &suffix(n)))
        .find(|name| !taken.contains(&key(name)))
        .expect("a number no name has taken")
}

/// The suffixes of a name brought from elsewhere: " (from Bob Lee)", then
/// " (from Bob Lee, 2)"…, `source` cut to [`SOURCE_MAX`] characters.
fn from(source: &str) -> impl Fn(usize) -> String {
    let source: String = source.trim().chars().take(SOURCE_MAX).collect();
    let source = source.trim_end().to_owned();
    move |n| match n {
        1 => format!(" (from {source})"),
        n => format!(" (from {source}, {n})"),
    }
}

/// New names for `joining` (in the order given: the callers' id order), the
/// names of things that join a list already holding `kept` (their names).
/// Each whose key `kept` or an earlier one of `joining` already has becomes
/// "IVR (from `source`)", avoiding every name of both lists. Returns the
/// positions in `joining` of those renamed, with their new names.
pub fn joining<'a>(
    kept: impl IntoIterator<Item = &'a str>,
    joining: &[&str],
    source: &str,
) -> Vec<(usize, String)> {
    let suffix = from(source);
    let mut listed: HashSet<String> = kept.into_iter().map(key).collect();
    let mut avoided: HashSet<String> = listed.iter().cloned().collect();
    avoided.extend(joining.iter().map(|name| key(name)));
    let mut renamed = Vec::new();
    for (at, name) in joining.iter().enumerate() {
        if listed.insert(key(name)) {
            continue;
        }
        let new = first_free(name, &avoided, &suffix);
        listed.insert(key(&new));
        avoided.insert(key(&new));
        renamed.push((at, new));
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_as_people_read_them() {
        let mut names = vec![
            "IVR copy 10",
            "ivr",
            "IVR copy 2",
            "Zeta",
            "alpha",
            "IVR copy",
            "Éclair",
            "ivr 10",
            "IVR 9",
        ];
        names.sort_by(|a, b| order(a, b));
        let read = [
            "alpha",
            "Éclair",
            "ivr",
            "IVR 9",
            "ivr 10",
            "IVR copy",
            "IVR copy 2",
            "IVR copy 10",
            "Zeta",
        ];
        assert_eq!(names, read);
        // Twenty digits and more are compared, not added up.
        let long = "Test 99999999999999999999999";
        assert_eq!(order(long, "Test 100000000000000000000000"), Ordering::Less);
        assert_eq!(order(long, &format!("{long} copy")), Ordering::Less);
        assert_eq!(order("Lib 007", "Lib 7"), "Lib 007".cmp("Lib 7"), "equal values: as text");
    }

    #[test]
    fn a_free_name_skips_the_taken_ones_and_fits() {
        let taken: HashSet<String> = ["ivr copy", "ivr copy 2"].map(String::from).into();
        let numbered = |n: usize| if n == 1 { " copy".into() } else { format!(" copy {n}") };
        assert_eq!(first_free("IVR", &taken, numbered), "IVR copy 3");
        let long = "x".repeat(NAME_MAX);
        let named = first_free(&long, &taken, numbered);
        assert_eq!(named.chars().count(), NAME_MAX);
        assert!(named.ends_with("x copy"));
    }

    #[test]
    fn names_joining_a_list_are_told_apart_from_it_and_from_each_other() {
        let kept = ["IVR", "Hotline"];
        let joining = ["ivr", "IVR (from Bob Lee)", "Fax", "FAX"];
        let renamed = super::joining(kept, &joining, " Bob Lee ");
        // The first takes no name the second already has; the second keeps
        // its own; the legacy pair of one name is parted too.
        assert_eq!(
            renamed,
            [(0, "ivr (from Bob Lee, 2)".into()), (3, "FAX (from Bob Lee)".into())]
        );

        // A long source and a long name still fit, the name first.
        let source = "S".repeat(200);
        let name = "N".repeat(NAME_MAX);
        let renamed = super::joining([name.as_str()], &[name.as_str()], &source);
        let new = &renamed[0].1;
        assert_eq!(new.chars().count(), NAME_MAX);
        assert!(new.starts_with(&"N".repeat(50)) && new.ends_with(&format!("{})", "S".repeat(40))));
    }
}
