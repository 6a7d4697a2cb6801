//! The house rules of `app/src/domain`, read from the source:
//! - imports point only down the layers (operator and jobs, then admin, then
//!   features and identity side by side, then core, then entity/migration),
//!   and no imports close a cycle;
//! - every entity with an `account_id` is reached through the one tenant
//!   scope (`core/scope.rs`), and no other module filters by an account
//!   column by hand;
//! - no service reads a permission flag itself (capabilities in
//!   `core/actor.rs` do), and only the command line makes an `Operator`.
//!
//! Each failure names the offending file and edge.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn domain_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain")
}

/// Every `.rs` file under `dir`, with its module path (`core/actor`, `core`
/// for `core/mod.rs`, `` for the domain's own `mod.rs`).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for path in rust_files(dir) {
        let rel = path.strip_prefix(dir).unwrap().with_extension("");
        let mut name = rel.to_string_lossy().replace('\\', "/");
        if name == "mod" {
            name.clear();
        } else if let Some(parent) = name.strip_suffix("/mod") {
            name = parent.to_owned();
        }
        found.insert(name, fs::read_to_string(&path).unwrap());
    }
    found
}

/// The paths of every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let (mut found, mut stack) = (Vec::new(), vec![dir.to_path_buf()]);
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// Where a module sits: its layer (higher may import lower) and its group
/// (two groups on one layer may not import each other).
fn layer(module: &str) -> (u8, &str) {
    let top = module.split('/').next().unwrap_or("");
    match top {
        "entity" | "migration" => (0, top),
        "core" => (1, top),
        "identity" | "features" => (2, top),
        "admin" => (3, top),
        "operator" | "jobs" => (4, top),
        "testing" => (5, top),
        _ => (6, "domain"),
    }
}

/// Drops comments, so a path named in prose is not an import, and a file's
/// unit tests (the item after a `#[cfg(test)]` line, to its closing brace),
/// which may use `testing` as every test does: they are not part of what
/// the layers build. Code after the test module is kept.
fn code_of(source: &str) -> String {
    let mut kept = Vec::new();
    // In a test module: how deep in its braces, once its first one is open.
    let mut skipping: Option<i32> = None;
    for line in source.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        if let Some(depth) = skipping.as_mut() {
            *depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            // Its closing brace, or the `;` of an item without braces.
            if *depth <= 0 && (line.contains('}') || line.trim_end().ends_with(';')) {
                skipping = None;
            }
            continue;
        }
        if line.trim() == "#[cfg(test)]" {
            skipping = Some(0);
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

#[test]
fn a_files_unit_tests_are_left_out_and_the_code_after_them_is_kept() {
    let source = "use crate::domain::core::a;\n#[cfg(test)]\nmod tests {\n    use crate::domain::testing::x;\n    fn f() {\n        if y { z() }\n    }\n}\n\npub fn g() {\n    crate::domain::admin::b();\n}\n";
    let code = code_of(source);
    assert!(code.contains("core::a") && code.contains("admin::b"), "{code}");
    assert!(!code.contains("testing"), "{code}");
}

/// The paths below `crate::domain::` that `source` names, brace groups
/// expanded one level (`crate::domain::{core::a, identity::b}`), plus
/// `super::x` paths resolved against `module`.
fn referenced_paths(module: &str, source: &str) -> Vec<String> {
    let code = code_of(source);
    let mut paths = Vec::new();
    let prefix = "crate::domain::";
    let mut rest = code.as_str();
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        use_tree("", rest, &mut paths);
    }
    // `super::x` from a file names a sibling module of that file.
    let parent = match module.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}::"),
        None => String::new(),
    };
    let mut rest = code.as_str();
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        paths.push(format!("{parent}{}", &rest[..end]));
    }
    paths
}

/// Reads one path at the start of `text` (`a::b::c`, or `a::{b, c::d}` with
/// groups nested to any depth) and pushes each full path after `prefix`.
fn use_tree(prefix: &str, text: &str, paths: &mut Vec<String>) -> usize {
    let text_trimmed = text.trim_start();
    let skipped = text.len() - text_trimmed.len();
    let end = text_trimmed
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text_trimmed.len());
    let head = &text_trimmed[..end];
    let path = format!("{prefix}{head}");
    if text_trimmed[end..].starts_with('{') && (head.is_empty() || head.ends_with("::")) {
        // A group: each item is a tree of its own below `path`.
        let mut at = end + 1;
        loop {
            at += use_tree(&path, &text_trimmed[at..], paths);
            let after = &text_trimmed[at..];
            let next = after.find([',', '}']).unwrap_or(after.len());
            at += next + 1;
            if after[next..].starts_with('}') || at >= text_trimmed.len() {
                return skipped + at;
            }
        }
    }
    paths.push(path.trim_end_matches(':').to_owned());
    skipped + end
}

/// The module a path lands in: its longest prefix that is a module.
fn target(path: &str, known: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (0..=segments.len())
        .rev()
        .map(|n| segments[..n].join("/"))
        .find(|candidate| known.contains(candidate))
}

/// What is wrong with `from` importing `to`, if anything.
fn refusal(from: &str, to: &str) -> Option<String> {
    let ((from_layer, from_group), (to_layer, to_group)) = (layer(from), layer(to));
    if to_layer > from_layer {
        Some(format!("{from_group} may not import {to_group}: it is a higher layer"))
    } else if to_layer == from_layer && from_group != to_group {
        Some(format!("{from_group} and {to_group} sit side by side and may not import each other"))
    } else {
        None
    }
}

type Edges = BTreeMap<String, BTreeSet<String>>;

fn edges(sources: &BTreeMap<String, String>) -> Edges {
    let known: BTreeSet<String> = sources.keys().cloned().collect();
    let mut edges = Edges::new();
    for (module, source) in sources {
        // Tables and migrations are generated shapes, not rules.
        if layer(module).0 == 0 {
            continue;
        }
        for path in referenced_paths(module, source) {
            if let Some(to) = target(&path, &known) {
                // A module's own children and parent are part of it.
                let related = to.starts_with(&format!("{module}/"))
                    || module.starts_with(&format!("{to}/"))
                    || to == *module;
                if !related {
                    edges.entry(module.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

fn violations(edges: &Edges) -> Vec<String> {
    let mut found = Vec::new();
    for (from, tos) in edges {
        for to in tos {
            if let Some(why) = refusal(from, to) {
                found.push(format!("domain/{from} imports domain/{to}: {why}"));
            }
        }
    }
    found
}

/// One cycle, as the modules on it, if there is any.
fn a_cycle(edges: &Edges) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &Edges,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn domain_imports_point_down_and_close_no_cycle() {
    let sources = modules(&domain_dir());
    for folder in ["core", "identity", "features", "admin", "operator", "jobs"] {
        assert!(sources.contains_key(folder), "domain/{folder} is missing");
    }
    let edges = edges(&sources);
    let wrong = violations(&edges);
    assert!(wrong.is_empty(), "imports that go the wrong way:\n{}", wrong.join("\n"));
    if let Some(cycle) = a_cycle(&edges) {
        panic!("an import cycle: {}", cycle.join(" -> "));
    }
}

/// The checks above can fail: an upward import, a sideways one and a cycle
/// written here are each found.
#[test]
fn the_layer_check_finds_what_it_looks_for() {
    let mut sources = BTreeMap::new();
    sources.insert("core".to_owned(), String::new());
    sources.insert("core/a".to_owned(), "use crate::domain::admin::users::x;".to_owned());
    sources.insert("core/b".to_owned(), "use crate::domain::core::{c::y};".to_owned());
    sources.insert("core/c".to_owned(), "use super::b; // crate::domain::jobs".to_owned());
    sources.insert("admin".to_owned(), String::new());
    sources.insert("admin/users".to_owned(), String::new());
    sources.insert("identity".to_owned(), String::new());
    sources.insert("identity/log_in".to_owned(), "crate::domain::features::f::g()".to_owned());
    sources.insert("features".to_owned(), String::new());
    sources.insert("features/f".to_owned(), String::new());
    let edges = edges(&sources);
    let wrong = violations(&edges);
    assert_eq!(
        wrong,
        vec![
            "domain/core/a imports domain/admin/users: core may not import admin: it is a higher layer",
            "domain/identity/log_in imports domain/features/f: identity and features sit side by side and may not import each other",
        ]
    );
    assert_eq!(a_cycle(&edges), Some(vec!["core/b".into(), "core/c".into(), "core/b".into()]));
}

/// The entities whose rows carry an `account_id`.
fn account_owned_entities(sources: &BTreeMap<String, String>) -> BTreeSet<String> {
    sources
        .iter()
        .filter_map(|(module, source)| {
            let name = module.strip_prefix("entity/")?;
            source.contains("pub account_id:").then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn every_account_owned_table_is_reached_through_the_scope() {
    let sources = modules(&domain_dir());
    let owned = account_owned_entities(&sources);
    assert!(owned.contains("user") && owned.contains("phone_number"), "{owned:?}");
    let scope = &sources["core/scope"];
    let start = scope.find("account_owned! {").expect("the account_owned! list in core/scope.rs");
    let list = &scope[start..start + scope[start..].find('}').unwrap()];
    let covered: BTreeSet<String> = list
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(|name| name.trim_end_matches(',').to_owned())
        .collect();
    let missing: Vec<_> = owned.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "entities with an account_id that core/scope.rs does not cover (add them to account_owned!): {missing:?}"
    );
    // Work across accounts (the operator's modules, jobs) may name the
    // column; nothing else does.
    let by_hand: Vec<_> = sources
        .iter()
        .filter(|(module, _)| {
            layer(module).0 != 0
                && module.as_str() != "core/scope"
                && !["operator", "jobs", "testing"].contains(&layer(module).1)
        })
        .filter(|(_, source)| {
            code_of(source)
                .split("Column::AccountId")
                .skip(1)
                .any(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
        .map(|(module, _)| module.clone())
        .collect();
    assert!(by_hand.is_empty(), "account filters written by hand instead of Scoped: {by_hand:?}");
}

/// Outside the domain a capability is asked for and a refusal passed on
/// (`member.admin()?`); what a role sees or may do is decided in the domain.
/// A handler that matched on `admin()` had its own rule for phone numbers.
#[test]
fn callers_of_the_domain_pass_refusals_on_and_never_branch_on_a_role() {
    let dirs = ["app/src/api", "app/src/pages", "app/src/components", "server/src"];
    let branching: Vec<String> = workspace_sources(&dirs)
        .into_iter()
        .filter(|(_, code)| code.matches(".admin()").count() != code.matches(".admin()?").count())
        .map(|(path, _)| path)
        .collect();
    assert!(branching.is_empty(), "a role decided outside the domain in {branching:?}");
}

/// Pages are built from components, never the other way: a component that
/// reached into a page (the form's session check read the My Account page's
/// user) tied every page using it to that one.
#[test]
fn components_never_reach_into_pages() {
    let reaching: Vec<String> = workspace_sources(&["app/src/components"])
        .into_iter()
        .filter(|(_, code)| code.contains("pages::"))
        .map(|(path, _)| path)
        .collect();
    assert!(reaching.is_empty(), "components that use a page: {reaching:?}");
}

/// The code (comments dropped) of every Rust file under `dirs` of the
/// workspace, by path from the workspace's root.
fn workspace_sources(dirs: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    dirs.iter()
        .flat_map(|dir| rust_files(&root.join(dir)))
        .map(|path| {
            let code = code_of(&fs::read_to_string(&path).unwrap());
            (path.strip_prefix(root).unwrap().display().to_string(), code)
        })
        .collect()
}

#[test]
fn permissions_are_proved_by_capabilities_and_only_the_cli_makes_an_operator() {
    let sources = modules(&domain_dir());
    let flag_checks: Vec<_> = sources
        .iter()
        .filter(|(module, _)| module.as_str() != "core/actor")
        .filter(|(_, source)| {
            let code = code_of(source);
            code.contains(".is_admin()")
                || code.contains(".can_create {")
                || code.contains(".can_share {")
        })
        .map(|(module, _)| module.clone())
        .collect();
    assert!(flag_checks.is_empty(), "permission flags read outside core/actor.rs: {flag_checks:?}");

    let makers: Vec<String> = workspace_sources(&["app/src", "server/src"])
        .into_iter()
        .filter(|(_, code)| code.contains("Operator::from_command_line()"))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(makers, vec!["server/src/cli.rs"], "only the command line makes an Operator");
}

/// Every transaction of the console (the domain, the server functions, the
/// server) begins through `db::begin` (or `Domain::begin`, which calls it),
/// which on SQLite takes the write lock at once: one begun with
/// sea-orm's own `begin` would fail, instead of waiting, when an operator
/// command's process writes between its first read and its first write
/// (`app/tests/database.rs`).
#[test]
fn every_transaction_begins_through_db_begin() {
    let offenders: Vec<_> = workspace_sources(&["app/src", "server/src"])
        .into_iter()
        .filter(|(path, _)| path != "app/src/domain/core/db.rs")
        .filter(|(_, code)| {
            ["TransactionTrait", ".db.begin(", ".transaction(", "begin_with_options"]
                .iter()
                .any(|call| code.contains(call))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(offenders.is_empty(), "begin transactions with `d.begin()`: {offenders:?}");
}
