//! No crate's files import each other in a cycle: in every crate of the workspace, each module
//! only uses modules below it. Read from the non-comment lines of every file under `src/` (`main.rs`, a crate of
//! its own, and `lib.rs`, which only declares, aside): `crate::…` and `super::…` paths, and in a
//! `mod.rs` the paths through the child modules it declares. A `mod child;` declaration is not
//! an import; a child's `super::…` is.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Module path (`routes::goodwill`) → source, for every file under `dir`.
fn sources(
    dir: &Path,
    prefix: &[String],
    out: &mut BTreeMap<String, String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(stem);
            sources(&path, &inner, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            if prefix.is_empty() && (stem == "lib" || stem == "main") {
                continue;
            }
            let mut module = prefix.to_vec();
            if stem != "mod" {
                module.push(stem);
            }
            out.insert(module.join("::"), std::fs::read_to_string(&path)?);
        }
    }
    Ok(())
}

fn spaces(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// Parses the `use` tree (or plain path) at the start of `s` under `prefix`, expanding
/// `{a::b, c::{d, e}}` groups; pushes each path's segments; returns the bytes it read.
fn tree(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut i = 0;
    let mut segments = prefix.to_vec();
    loop {
        i += spaces(&s[i..]);
        if s[i..].starts_with('{') {
            i += 1;
            loop {
                i += spaces(&s[i..]);
                if s[i..].starts_with('}') {
                    return i + 1;
                }
                i += tree(&s[i..], &segments, out);
                i += spaces(&s[i..]);
                if s[i..].starts_with(',') {
                    i += 1;
                } else {
                    return i + usize::from(s[i..].starts_with('}'));
                }
            }
        }
        let ident: usize = s[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        if ident == 0 {
            out.push(segments);
            return i;
        }
        match &s[i..i + ident] {
            "super" => {
                segments.pop();
            }
            "self" => {}
            name => segments.push(name.to_owned()),
        }
        i += ident;
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            out.push(segments);
            // `name as alias`
            let rest = &s[i..];
            if let Some(alias) = rest.trim_start().strip_prefix("as ") {
                let skipped = rest.len() - alias.trim_start().len();
                let name: usize = alias
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .map(char::len_utf8)
                    .sum();
                return i + skipped + name;
            }
            return i;
        }
    }
}

/// Module → the crate modules its code refers to, for the crate in folder `krate`.
fn graph(krate: &str) -> std::io::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut files = BTreeMap::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(krate)
            .join("src"),
        &[],
        &mut files,
    )?;
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (name, source) in &files {
        let own: Vec<String> = name.split("::").map(str::to_owned).collect();
        let is_mod_rs = modules.iter().any(|m| m.starts_with(&format!("{name}::")));
        let parent: Vec<String> = own[..own.len() - 1].to_vec();
        let code: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let children: Vec<&str> = modules
            .iter()
            .filter_map(|m| m.strip_prefix(&format!("{name}::")))
            .filter(|c| !c.contains("::"))
            .collect();
        let mut named = Vec::new();
        let starts = |needle: &str| {
            code.match_indices(needle)
                .filter(|(i, _)| {
                    !code[..*i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                })
                .map(|(i, _)| i + needle.len())
                .collect::<Vec<_>>()
        };
        for at in starts("crate::") {
            tree(&code[at..], &[], &mut named);
        }
        for at in starts("super::") {
            tree(&code[at..], &parent, &mut named);
        }
        if is_mod_rs || name.is_empty() {
            for child in &children {
                for at in starts(&format!("{child}::")) {
                    tree(
                        &code[at..],
                        &[own.clone(), vec![(*child).to_owned()]].concat(),
                        &mut named,
                    );
                }
            }
        }
        let mut deps = BTreeSet::new();
        for segments in named {
            let segments: Vec<String> = segments
                .join("::")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            // The longest prefix that is a module of the crate.
            if let Some(module) = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|m| modules.contains(m))
                && module != *name
            {
                deps.insert(module);
            }
        }
        graph.insert(name.clone(), deps);
    }
    Ok(graph)
}

#[test]
fn module_imports_are_acyclic_in_every_crate() -> std::io::Result<()> {
    // What the parser must see, per crate: plain, grouped, `super::` and submodule paths.
    let seen: &[(&str, &[(&str, &str)])] = &[
        (
            "api",
            &[
                ("state", "idempotency"),
                ("routes::users", "routes::wallets"),
                ("routes::goodwill", "commands"),
                ("commands", "auth"),
                ("routes", "routes::goodwill"),
            ],
        ),
        (
            "worker",
            &[
                ("context", "jobs::goodwill_batch"),
                ("jobs::cast_vote", "jobs::prelude"),
                ("jobs::prelude", "jobs::apply_once"),
                ("jobs::governance::proposals", "jobs::prelude"),
            ],
        ),
        ("queue", &[("scripts", "config")]),
        ("shared", &[("queue", "config")]),
        ("controller", &[("control_loop", "export")]),
    ];
    for (krate, expected) in seen {
        let graph = graph(krate)?;
        for (module, dep) in *expected {
            assert!(
                graph[*module].contains(*dep),
                "{krate}: the parser sees that {module} uses {dep}: {graph:?}"
            );
        }
        acyclic(&graph);
    }
    Ok(())
}

/// Panics with the cycle if `graph` has one.
fn acyclic(graph: &BTreeMap<String, BTreeSet<String>>) {
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
        visit(m, graph, &mut Vec::new(), &mut done);
    }
}
