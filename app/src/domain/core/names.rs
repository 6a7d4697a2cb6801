//! The names people give what they make (applications, JS libraries): two
//! are the same apart from capitals and the spaces around them; lists show
//! them in the order people read ("IVR copy 2" before "IVR copy 10", "alpha"
//! beside "Alpha"), the same on either database; and a name that would be
//! taken gets a suffix that tells the two apart.
use std::cmp::Ordering;
use std::collections::HashSet;

use super::validation::NAME_MAX;

/// A name as two names are compared: capitals and the spaces around aside.
pub fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The order of names in a list: numbers by their value, letters without
/// regard to capitals or accents; names equal so are ordered as text, so
/// the order never depends on what the database returned first.
pub fn order(a: &str, b: &str) -> Ordering {
    lexical_sort::natural_lexical_cmp(a, b).then_with(|| a.cmp(b))
}

/// `base` and `suffix`, `base` cut so that the whole fits in [`NAME_MAX`].
pub fn with_suffix(base: &str, suffix: &str) -> String {
    let room = NAME_MAX.saturating_sub(suffix.chars().count());
    base.chars().take(room).collect::<String>().trim_end().to_owned() + suffix
}

/// The first of `base` + `suffix(1)`, `base` + `suffix(2)`… whose [`key`]
/// is not in `taken`.
pub fn first_free(base: &str, taken: &HashSet<String>, suffix: impl Fn(usize) -> String) -> String {
    (1..)
        .map(|n| with_suffix(base, &suffix(n)))
        .find(|name| !taken.contains(&key(name)))
        .expect("a number no name has taken")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_as_people_read_them() {
        let mut names =
            vec!["IVR copy 10", "ivr", "IVR copy 2", "Zeta", "alpha", "IVR copy", "Éclair"];
        names.sort_by(|a, b| order(a, b));
        assert_eq!(
            names,
            ["alpha", "Éclair", "ivr", "IVR copy", "IVR copy 2", "IVR copy 10", "Zeta"]
        );
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
}
