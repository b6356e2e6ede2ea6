#!/usr/bin/env bash
# Regenerates .sqlx/: the query data that sqlx's query!/query_as!/query_scalar! macros check
# every query against when they build offline (SQLX_OFFLINE=true, as scripts/test.sh, CI,
# scripts/run.sh and the Dockerfile build). Run it after changing a query or a migration, and
# commit .sqlx/ with the change; the sqlx_offline_data integration test fails until you do.
#
# What it does: creates the scratch database coin_sqlx_prepare on DATABASE_URL_ADMIN, applies
# migrations/*.sql in order (plain SQL, each file in one transaction, as sqlx::migrate! does),
# empties .sqlx/, touches the workspace crates' sources so every macro expands again, runs
# `cargo check --workspace --all-targets` online with SQLX_OFFLINE_DIR=.sqlx (each macro then
# writes its query-<hash>.json there), and drops the scratch database, whatever happened.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/sqlx-prepare.sh [--help]

Regenerates .sqlx/ (the offline data of the sqlx query macros) from a scratch database
migrated with migrations/*.sql. Run it after changing a query or a migration, then commit
.sqlx/.

Environment:
  DATABASE_URL_ADMIN  a server URL allowed to create databases
                      (default postgres://postgres:postgres@127.0.0.1:5432/postgres)
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
admin="${DATABASE_URL_ADMIN:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
db=coin_sqlx_prepare
# The admin URL with its database replaced, its query string (e.g. ?sslmode=) kept.
base="${admin%%\?*}"
query=""
[[ "$admin" == *\?* ]] && query="?${admin#*\?}"
url="${base%/*}/$db$query"

say() { printf 'sqlx-prepare: %s\n' "$*"; }
drop() { psql "$admin" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; }

command -v psql >/dev/null || { say "psql not found (Debian: apt-get install postgresql-client)"; exit 1; }
drop
psql "$admin" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db"
trap drop EXIT
for migration in migrations/*.sql; do
  say "applying $migration"
  psql "$url" -v ON_ERROR_STOP=1 -q -1 -f "$migration"
done

rm -rf .sqlx
mkdir .sqlx
# The macros run again only for crates cargo recompiles: touch every member's sources.
members=$(sed -n 's/^members = \[\(.*\)\]/\1/p' Cargo.toml | tr -d '",')
# shellcheck disable=SC2086 # one word per member
find $members -name '*.rs' -not -path '*/target/*' -exec touch {} +
say "checking the workspace against $db"
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$url" \
  cargo check --workspace --all-targets --locked
say "$(find .sqlx -name 'query-*.json' | wc -l) queries in .sqlx/; commit them"
