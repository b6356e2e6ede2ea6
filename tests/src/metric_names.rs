//! Finds the `coin_…` metric names a file (dashboard, alert rules, `/metrics` output) mentions.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// Every `coin_…` name in `text` (a token starting with `coin_` not preceded by a name character).
pub fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("coin_") {
        let preceded = start > 0 && {
            let b = bytes[start - 1];
            b.is_ascii_alphanumeric() || b == b'_' || b == b':'
        };
        if preceded {
            continue;
        }
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |n| start + n);
        names.insert(text[start..end].to_owned());
    }
    names
}

/// A histogram series' family name (`x_bucket`, `x_sum`, `x_count` → `x`); others unchanged.
pub fn family(series: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| series.strip_suffix(suffix))
        .unwrap_or(series)
}

/// The JSON and YAML files under `dir`, recursively.
pub fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, &mut found);
    found.sort();
    found
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e == "json" || e == "yml" || e == "yaml")
        {
            found.push(path);
        }
    }
}

/// The repository root (the tests crate's parent).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
