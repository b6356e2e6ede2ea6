//! The crate's files must not import each other in a cycle: each module only uses modules
//! below it. Checked from the `crate::` and `super::` paths (nested `{…}` groups expanded) in the
//! non-comment, non-test lines of every file under `src/`, each path resolved to the longest
//! module it names (`crate::jobs::apply_once::Claim` → `jobs::apply_once`).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Module path (`jobs::governance::proposals`) → the file's code, for every file below `dir`.
fn files(dir: &Path, module: &[String], out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        if path.is_dir() {
            let mut inner = module.to_vec();
            inner.push(stem);
            files(&path, &inner, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut name = module.to_vec();
            match stem.as_str() {
                "lib" | "main" if module.is_empty() => continue,
                "mod" => {}
                _ => name.push(stem),
            }
            let source = std::fs::read_to_string(&path)?;
            // Unit tests (`use super::*`) sit at the end of a file; they are not its imports.
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name.join("::"), code);
        }
    }
    Ok(())
}

/// The identifier at the start of `s` and the rest.
fn ident(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// The comma-separated items of a `{…}` group up to its closing brace.
fn top_level_items(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0usize, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// Every full path a `use`-like path starting at `rest` names, `{…}` groups expanded.
fn paths(rest: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut rest = rest;
    loop {
        if let Some(group) = rest.trim_start().strip_prefix('{') {
            return top_level_items(group)
                .into_iter()
                .flat_map(paths)
                .map(|tail| prefix.iter().cloned().chain(tail).collect())
                .collect();
        }
        let (id, after) = ident(rest);
        if id.is_empty() {
            return vec![prefix];
        }
        prefix.push(id.to_owned());
        let Some(after) = after.strip_prefix("::") else {
            return vec![prefix];
        };
        rest = after;
    }
}

/// Module → the crate modules its code refers to.
fn graph() -> std::io::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut sources = BTreeMap::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut sources,
    )?;
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let resolve = |path: &[String]| -> Option<String> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let mut graph = BTreeMap::new();
    for (name, code) in &sources {
        let here: Vec<String> = name.split("::").map(str::to_owned).collect();
        let mut deps = BTreeSet::new();
        for (base, marker) in [
            (Vec::new(), "crate::"),
            (here[..here.len() - 1].to_vec(), "super::"),
        ] {
            for (i, _) in code.match_indices(marker) {
                // `super::super::x` is met twice; the first match (the outer one) counts.
                if marker == "super::" && code[..i].ends_with("super::") {
                    continue;
                }
                let mut base = base.clone();
                let mut rest = &code[i + marker.len()..];
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
                for path in paths(rest) {
                    let full: Vec<String> = base.iter().cloned().chain(path).collect();
                    if let Some(m) = resolve(&full).filter(|m| m != name) {
                        deps.insert(m);
                    }
                }
            }
        }
        graph.insert(name.clone(), deps);
    }
    Ok(graph)
}

#[test]
fn module_imports_are_acyclic() -> std::io::Result<()> {
    let graph = graph()?;
    assert!(
        graph["context"].contains("jobs::goodwill_batch"),
        "the parser sees crate:: groups: {graph:?}"
    );
    assert!(
        graph["jobs::cast_vote"].contains("jobs::prelude"),
        "the parser sees super:: paths: {graph:?}"
    );
    assert!(
        graph["jobs::prelude"].contains("jobs::apply_once"),
        "the parser sees nested super:: groups: {graph:?}"
    );
    assert!(
        graph["jobs::governance::proposals"].contains("jobs::prelude"),
        "the parser sees crate:: paths in submodules: {graph:?}"
    );
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = stack.iter().position(|s| *s == m) {
            panic!("import cycle: {} -> {m}", stack[at..].join(" -> "));
        }
        stack.push(m);
        for d in &graph[m] {
            visit(d, graph, stack, done);
        }
        stack.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
    for (m, deps) in &graph {
        println!(
            "{m} -> {}",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
