//! Architecture invariants of `docs/ARCHITECTURE.md`, checked on the source tree (as
//! rust-analyzer's tidy tests do): no import cycle between files of different
//! folders (stages), files that fit in a head, and executors that never call back
//! into a planner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`, relative to it.
fn rust_files(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir.join(rel)).expect("readable source dir").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = rel.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            rust_files(dir, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A crate's files: module path (`["cypher", "exec", "scan"]`) -> (file, source
/// without its test module).
fn modules(src: &Path) -> BTreeMap<Vec<String>, (String, String)> {
    let mut files = Vec::new();
    rust_files(src, Path::new(""), &mut files);
    files
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(src.join(&rel)).expect("readable source file");
            let text = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            let mut parts: Vec<String> =
                rel.with_extension("").iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            (parts, (rel.to_string_lossy().into_owned(), text))
        })
        .collect()
}

/// The paths a source names after `prefix` (`crate::a::b`, `super::c`), as segments.
fn paths_after<'t>(text: &'t str, prefix: &str) -> Vec<Vec<&'t str>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        out.push(rest[..end].split("::").filter(|s| !s.is_empty()).collect());
    }
    out
}

/// Which files each file imports from, within its crate.
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let resolve =
        |path: Vec<String>| (1..=path.len()).rev().find_map(|k| mods.get(&path[..k]).map(|(file, _)| file.clone()));
    let mut graph = BTreeMap::new();
    for (me, (file, text)) in &mods {
        let mut targets = BTreeSet::new();
        for segments in paths_after(text, "crate::") {
            targets.extend(resolve(segments.iter().map(|s| s.to_string()).collect()));
        }
        for segments in paths_after(text, "super::") {
            // `super::super::x` climbs twice; the module of `a/b.rs` is `a::b`.
            let ups = 1 + segments.iter().take_while(|s| **s == "super").count();
            let base = &me[..me.len().saturating_sub(ups)];
            let rest = segments.iter().skip_while(|s| **s == "super").map(|s| s.to_string());
            targets.extend(resolve(base.iter().cloned().chain(rest).collect()));
        }
        targets.remove(file);
        graph.insert(file.clone(), targets);
    }
    graph
}

/// The strongly connected components with more than one file (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                s.low.entry(v).and_modify(|l| *l = (*l).min(lw));
            } else if s.on_stack.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                s.low.entry(v).and_modify(|l| *l = (*l).min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name).join("src")
}

/// The folder of a file (`cypher/plan/expr.rs` -> `cypher/plan`): one stage.
fn folder(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Files of one folder may refer to each other (the plan's operators hold compiled
/// expressions, which hold subquery plans); a cycle through two folders ties two
/// stages together.
#[test]
fn no_import_cycle_between_stages() {
    for krate in ["query", "index"] {
        for cycle in cycles(&import_graph(&crate_src(krate))) {
            let folders: BTreeSet<&str> = cycle.iter().map(|f| folder(f)).collect();
            assert_eq!(folders.len(), 1, "{krate}: files of different folders import each other: {cycle:?}");
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let graph = BTreeMap::from([
        ("a.rs".to_string(), BTreeSet::from(["b.rs".to_string()])),
        ("b.rs".to_string(), BTreeSet::from(["c.rs".to_string()])),
        ("c.rs".to_string(), BTreeSet::from(["a.rs".to_string()])),
        ("d.rs".to_string(), BTreeSet::from(["a.rs".to_string()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec!["a.rs".to_string(), "b.rs".to_string(), "c.rs".to_string()]]);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("x")).expect("dir");
    std::fs::write(dir.path().join("lib.rs"), "mod x;\n").expect("write");
    std::fs::write(dir.path().join("x/mod.rs"), "mod y;\nuse y::Y;\npub struct X;\n").expect("write");
    std::fs::write(dir.path().join("x/y.rs"), "use super::X;\npub struct Y;\n").expect("write");
    let graph = import_graph(dir.path());
    assert_eq!(graph["x/y.rs"], BTreeSet::from(["x/mod.rs".to_string()]));
    assert!(cycles(&graph).is_empty(), "a child naming its parent by `super::` is not found by this check alone");
    std::fs::write(dir.path().join("x/mod.rs"), "mod y;\npub struct X(crate::x::y::Y);\n").expect("write");
    assert_eq!(cycles(&import_graph(dir.path())), vec![vec!["x/mod.rs".to_string(), "x/y.rs".to_string()]]);
    assert_eq!((folder("x/mod.rs"), folder("x/y.rs"), folder("lib.rs")), ("x", "x", ""));
}

#[test]
fn files_fit_in_a_head() {
    for krate in ["query", "index"] {
        let src = crate_src(krate);
        let mut files = Vec::new();
        rust_files(&src, Path::new(""), &mut files);
        for rel in files {
            if rel.file_name().is_some_and(|n| n == "parser.rs") {
                continue;
            }
            let lines = std::fs::read_to_string(src.join(&rel)).expect("readable").lines().count();
            assert!(
                lines <= 800,
                "{krate}/src/{}: {lines} lines (past 800 a file usually holds two jobs)",
                rel.display()
            );
        }
    }
}

#[test]
fn executors_never_call_a_planner() {
    let query = crate_src("query");
    let checks: [(&str, &[&str]); 3] = [
        (
            "xpath/exec",
            &["plan::rules", "twig::lower", "match_partitions", "partitions_of", "parents_of", "plan::plan("],
        ),
        ("cypher/exec", &["planner::", "rules::", "cypher::prepare"]),
        ("cypher/eval", &["planner::", "rules::", "cypher::prepare"]),
    ];
    for (dir, forbidden) in checks {
        let mut files = Vec::new();
        rust_files(&query.join(dir), Path::new(""), &mut files);
        assert!(!files.is_empty(), "{dir} has no files");
        for rel in files {
            // EXPLAIN reads plans; it does not run them.
            if rel.file_name().is_some_and(|n| n == "explain.rs") {
                continue;
            }
            let text = std::fs::read_to_string(query.join(dir).join(&rel)).expect("readable");
            let code: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            for f in forbidden {
                assert!(!code.contains(f), "query/src/{dir}/{} calls into planning: `{f}`", rel.display());
            }
        }
    }
}
