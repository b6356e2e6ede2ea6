//! The offline query data in `.sqlx/` (what the sqlx query macros check every query against
//! when the build is offline, as CI's is) against the schema the migrations make now.
//!
//! The offline build already fails for a macro whose query has no data. What it cannot see is
//! data gone stale: a migration that changes a column while `.sqlx/` still records the old one
//! builds fine and fails at run time. So here Postgres describes every stored query again, on a
//! freshly migrated database, and its parameter types, column names and types and column
//! nullability must be the ones stored; and every stored query must still be in the sources (a
//! query changed or removed without regenerating leaves its old file behind). Either way the
//! fix is `scripts/sqlx-prepare.sh`. No recompilation: the files are read as JSON.

use std::path::{Path, PathBuf};

use anyhow::Context;
use coin_tests::TestDatabase;
use serde_json::Value;
use sqlx::{
    Column, Either, Executor, TypeInfo,
    postgres::{PgTypeInfo, PgTypeKind},
};

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the macros check a query against: its parameters' types, its columns' names and types,
/// and whether each column may be NULL (`None`: unknown).
#[derive(Debug, PartialEq)]
struct Shape {
    parameters: Vec<String>,
    columns: Vec<(String, String)>,
    nullable: Vec<Option<bool>>,
}

impl Shape {
    /// The shape recorded in a `query-*.json` file's `describe`.
    fn stored(describe: &Value) -> anyhow::Result<Self> {
        let parameters = describe["parameters"]["Left"]
            .as_array()
            .context("no parameters.Left")?
            .iter()
            .map(stored_type)
            .collect();
        let columns = describe["columns"]
            .as_array()
            .context("no columns")?
            .iter()
            .map(|c| {
                let name = c["name"].as_str().context("a column without a name")?;
                Ok((name.to_owned(), stored_type(&c["type_info"])))
            })
            .collect::<anyhow::Result<_>>()?;
        let nullable = describe["nullable"]
            .as_array()
            .context("no nullable")?
            .iter()
            .map(Value::as_bool)
            .collect();
        Ok(Self {
            parameters,
            columns,
            nullable,
        })
    }

    /// The shape Postgres describes now.
    fn live(describe: &sqlx::Describe<sqlx::Postgres>) -> Self {
        let parameters = match describe.parameters() {
            Some(Either::Left(types)) => types.iter().map(live_type).collect(),
            Some(Either::Right(n)) => vec![format!("{n} untyped")],
            None => Vec::new(),
        };
        let columns = describe
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), live_type(c.type_info())))
            .collect();
        let nullable = (0..describe.columns().len())
            .map(|i| describe.nullable(i))
            .collect();
        Self {
            parameters,
            columns,
            nullable,
        }
    }
}

/// A type as the stored data spells it (sqlx's `PgType` variant, e.g. `Timestamptz`,
/// `TextArray`, or `{"Custom": {"name", "kind"}}`), in Postgres' name for it as
/// [`PgTypeInfo::name`] gives it (`TIMESTAMPTZ`, `TEXT[]`, `proposal_status`), enum labels
/// appended.
fn stored_type(ty: &Value) -> String {
    if let Some(custom) = ty.get("Custom") {
        let name = custom["name"].as_str().unwrap_or("?");
        return match custom["kind"]["Enum"].as_array() {
            Some(labels) => {
                let labels: Vec<&str> = labels.iter().filter_map(Value::as_str).collect();
                enum_type(name, &labels)
            }
            None => name.to_owned(),
        };
    }
    let Some(variant) = ty.as_str() else {
        return ty.to_string();
    };
    // The only variants whose name is not their upper-cased spelling.
    match variant {
        "Char" => return r#""CHAR""#.to_owned(),
        "CharArray" => return r#""CHAR"[]"#.to_owned(),
        "Bpchar" => return "CHAR".to_owned(),
        "BpcharArray" => return "CHAR[]".to_owned(),
        _ => {}
    }
    match variant.strip_suffix("Array") {
        Some(element) => format!("{}[]", element.to_uppercase()),
        None => variant.to_uppercase(),
    }
}

/// A type as Postgres describes it, enum labels appended.
fn live_type(ty: &PgTypeInfo) -> String {
    match ty.kind() {
        PgTypeKind::Enum(labels) => {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            enum_type(ty.name(), &labels)
        }
        _ => ty.name().to_owned(),
    }
}

fn enum_type(name: &str, labels: &[&str]) -> String {
    format!("{name} (enum {})", labels.join(", "))
}

/// Every `.sqlx/query-*.json`, in name order.
fn query_files() -> anyhow::Result<Vec<PathBuf>> {
    let dir = root().join(".sqlx");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}: run scripts/sqlx-prepare.sh", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("query-") && n.ends_with(".json"))
    });
    files.sort();
    Ok(files)
}

/// The text of every Rust source of the crates whose queries are macros.
fn product_sources() -> anyhow::Result<Vec<String>> {
    fn walk(dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path)?);
            }
        }
        Ok(())
    }
    let mut sources = Vec::new();
    for krate in ["api", "worker", "controller", "shared", "bench"] {
        walk(&root().join(krate), &mut sources)?;
    }
    Ok(sources)
}

/// How a failure names a query: its file and its first line.
fn label(path: &Path, sql: &str) -> String {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    format!("{file} ({})", sql.lines().next().unwrap_or("").trim())
}

#[tokio::test]
async fn every_stored_query_is_described_by_the_migrated_schema_as_stored() -> anyhow::Result<()> {
    let files = query_files()?;
    assert!(
        !files.is_empty(),
        ".sqlx/ holds no query data: run scripts/sqlx-prepare.sh"
    );
    let sources = product_sources()?;
    let db = TestDatabase::create().await?;
    let mut conn = db.pool.acquire().await?;
    let mut stale = Vec::new();
    for path in &files {
        let stored: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let sql = stored["query"]
            .as_str()
            .with_context(|| format!("{} has no query", path.display()))?;
        let name = label(path, sql);
        if !sources.iter().any(|source| source.contains(sql)) {
            stale.push(format!(
                "{name}: no source of api/, worker/, controller/, shared/ or bench/ holds this \
                 query any more (or its literal has escapes: write it as a raw string)"
            ));
            continue;
        }
        let expected = Shape::stored(&stored["describe"])
            .with_context(|| format!("{} has an unreadable describe", path.display()))?;
        match (&mut *conn).describe(sql).await {
            Ok(describe) => {
                let now = Shape::live(&describe);
                if now != expected {
                    stale.push(format!(
                        "{name}:\n    stored: {expected:?}\n    now:    {now:?}"
                    ));
                }
            }
            Err(e) => stale.push(format!("{name}: Postgres cannot prepare it any more: {e}")),
        }
    }
    drop(conn);
    db.drop_database().await?;
    assert!(
        stale.is_empty(),
        "{} of {} queries in .sqlx/ no longer match the migrated schema or the sources; run \
         scripts/sqlx-prepare.sh and commit .sqlx/:\n  {}",
        stale.len(),
        files.len(),
        stale.join("\n  ")
    );
    Ok(())
}
