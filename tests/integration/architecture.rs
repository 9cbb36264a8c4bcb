//! The layout's rules, checked from the source: no import cycles between
//! modules of `src/` or of `actors/src/`; the live core names neither diesel
//! nor redis; `db/` only queries (it uses no other module of the server);
//! only `db/` knows the tables; the feature layer never reaches up into
//! `http/`; `validate` and `error` sit below the features and the edges.
//!
//! A module is a file; a folder (`db/`, `features/`, `room/` …) is one unit
//! with its `mod.rs` as its face, so a folder's files may use their parent
//! and each other only through what they name. Test code (`mod tests`,
//! `tests.rs`, `test_support.rs`) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of a crate's `src/` and the modules each one names.
struct Crate {
    uses: BTreeMap<String, BTreeSet<String>>,
    code: BTreeMap<String, String>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `db/comments.rs` → `db::comments`; `room/mod.rs` → `room`; `lib.rs` → ``.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("under the crate root");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments and without a trailing `#[cfg(test)] mod`.
fn code_only(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod ") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            // Not inside a string: the sources keep `//` out of literals
            // on lines that also hold paths, except URLs ("://").
            Some(at) if !line[..at].ends_with(':') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after `crate::` and `super::`, `{…}` groups expanded.
fn named_paths(code: &str, module: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let (base, skip) = if rest.starts_with(b"crate::") {
            (Vec::new(), "crate::".len())
        } else if rest.starts_with(b"super::") {
            let mut base: Vec<String> = module.split("::").map(String::from).collect();
            base.pop();
            (base, "super::".len())
        } else {
            i += 1;
            continue;
        };
        let before = i.checked_sub(1).map(|b| bytes[b]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            i += 1;
            continue;
        }
        let (paths, end) = parse_tree(code, i + skip, base);
        out.extend(paths);
        i = end.max(i + 1);
    }
    out
}

/// Parses `a::b::{c, d::{e}}` from `at`; returns the expanded paths and
/// where it stopped.
fn parse_tree(code: &str, mut at: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let mut path = prefix;
    loop {
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at > start {
            path.push(code[start..at].to_string());
        }
        if bytes[at..].starts_with(b"::{") {
            at += 3;
            let mut all = Vec::new();
            loop {
                while at < bytes.len() && (bytes[at] as char).is_whitespace() {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return (all, at + 1);
                }
                let (paths, end) = parse_tree(code, at, path.clone());
                all.extend(paths);
                at = end;
                while at < bytes.len() && bytes[at] != b',' && bytes[at] != b'}' {
                    at += 1;
                }
                if at < bytes.len() && bytes[at] == b',' {
                    at += 1;
                }
            }
        }
        if bytes[at..].starts_with(b"::") {
            at += 2;
            continue;
        }
        return (vec![path], at);
    }
}

fn load(root: &Path) -> Crate {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut code = BTreeMap::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if matches!(name, "tests.rs" | "test_support.rs") {
            continue;
        }
        let source = std::fs::read_to_string(file).expect("a readable source file");
        code.insert(module_of(root, file), code_only(&source));
    }
    let modules: BTreeSet<String> = code.keys().cloned().collect();
    let mut uses = BTreeMap::new();
    for (module, text) in &code {
        let mut named = BTreeSet::new();
        for path in named_paths(text, module) {
            // The longest prefix that is a module (the rest names an item).
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains(m));
            if let Some(target) = target {
                named.insert(target);
            }
        }
        uses.insert(module.clone(), named);
    }
    Crate { uses, code }
}

fn within(module: &str, folder: &str) -> bool {
    folder.is_empty() || module == folder || module.starts_with(&format!("{folder}::"))
}

impl Crate {
    /// Module → modules it names, without a folder's own files using each
    /// other or their face (one unit) and without the crate root.
    fn graph(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        self.uses
            .iter()
            .map(|(from, to)| {
                let to = to
                    .iter()
                    .filter(|t| !t.is_empty())
                    .filter(|t| !within(from, t) && !within(t, from))
                    .map(String::as_str)
                    .collect();
                (from.as_str(), to)
            })
            .collect()
    }

    /// The cycles, each as a path of modules, one per strongly connected part.
    fn cycles(&self) -> Vec<Vec<String>> {
        let graph = self.graph();
        let mut cycles = Vec::new();
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        for &start in graph.keys() {
            if reported.contains(start) {
                continue;
            }
            // Depth-first search for a way back to `start`.
            let mut stack = vec![(start, vec![start])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                for &next in graph.get(at).into_iter().flatten() {
                    if next == start {
                        reported.extend(path.iter().copied());
                        let mut cycle: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                        cycle.push(start.to_string());
                        cycles.push(cycle);
                        stack.clear();
                        break;
                    }
                    if seen.insert(next) {
                        let mut longer = path.clone();
                        longer.push(next);
                        stack.push((next, longer));
                    }
                }
            }
        }
        cycles
    }

    /// Modules under `folder` that name a module under one of `forbidden`.
    fn reaching(&self, folder: &str, forbidden: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (from, to) in &self.uses {
            if !within(from, folder) {
                continue;
            }
            for t in to {
                if forbidden.iter().any(|f| within(t, f)) {
                    found.push(format!("{from} → {t}"));
                }
            }
        }
        found
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_module_of_the_server_or_the_live_core_imports_in_a_circle() {
    for root in ["src", "actors/src"] {
        let krate = load(&workspace().join(root));
        assert!(krate.uses.len() > 10, "{root}: modules were read");
        assert_eq!(
            krate.cycles(),
            Vec::<Vec<String>>::new(),
            "import cycles in {root}/"
        );
    }
}

#[test]
fn the_cycle_check_sees_a_cycle_when_there_is_one() {
    let krate = Crate {
        uses: [
            ("a", vec!["b"]),
            ("b", vec!["c::d"]),
            ("c::d", vec!["a"]),
            ("c", vec!["c::d"]),
        ]
        .into_iter()
        .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
        .collect(),
        code: BTreeMap::new(),
    };
    let cycles = krate.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(cycles[0].first(), cycles[0].last());
    // And paths are read the way `use` writes them.
    let paths = named_paths(
        "use crate::db::{self, comments::{view, Row}, Db};\nfn f() { super::x::y(); }",
        "features::comments",
    );
    let paths: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "db::self",
            "db::comments::view",
            "db::comments::Row",
            "db::Db",
            "features::x::y"
        ]
    );
}

#[test]
fn each_layer_calls_only_downwards() {
    let server = load(&workspace().join("src"));
    // db/ only queries: it knows no other part of the server.
    let db = server.reaching(
        "db",
        &[
            "auth", "features", "http", "live", "push", "state", "server",
        ],
    );
    assert_eq!(db, Vec::<String>::new(), "db/ reaches up");
    // The features are called by the edges, never the other way.
    let features = server.reaching("features", &["http", "server", "cli"]);
    assert_eq!(
        features,
        Vec::<String>::new(),
        "features/ reaches into the edges"
    );
    // Validation and errors sit below the features and the edges.
    let below = [
        server.reaching(
            "validate",
            &["features", "http", "live", "push", "state", "auth"],
        ),
        server.reaching(
            "error",
            &["features", "http", "live", "push", "state", "auth"],
        ),
    ]
    .concat();
    assert_eq!(below, Vec::<String>::new(), "validate/error reach up");
    // Only db/ knows the tables.
    let schema: Vec<String> = server
        .reaching("", &["db::schema"])
        .into_iter()
        .filter(|u| !u.starts_with("db::") && !u.starts_with("db "))
        .collect();
    assert_eq!(schema, Vec::<String>::new(), "the schema outside db/");
    // The live machinery serves the features; it does not call them.
    let live = server.reaching("live", &["features", "http"]);
    assert_eq!(live, Vec::<String>::new(), "live/ reaches up");
}

#[test]
fn the_live_core_never_names_diesel_or_redis() {
    let core = load(&workspace().join("actors/src"));
    for (module, code) in &core.code {
        for word in ["diesel", "redis"] {
            assert!(!code.contains(word), "actors/src/{module} names {word}");
        }
    }
    let manifest =
        std::fs::read_to_string(workspace().join("actors/Cargo.toml")).expect("actors/Cargo.toml");
    assert!(!manifest.contains("diesel") && !manifest.contains("redis"));
}
