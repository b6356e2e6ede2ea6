#!/usr/bin/env bash
# Runs every test of People's Coin: formatting, lints, unit and integration tests against a
# real PostgreSQL and Redis (started, or installed with apt-get as root, when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

ensure_base
command -v promtool >/dev/null || apt_install prometheus
say "promtool: $(promtool --version 2>&1 | head -n 1)"
# The console's browser test drives Debian's Chromium through chromedriver (skipped without it,
# except under CI, where it fails).
command -v chromedriver >/dev/null || apt_install chromium chromium-driver
say "chromedriver: $(chromedriver --version 2>&1 | head -n 1)"

# The sqlx query macros check against the committed .sqlx/, never a live database: a query
# without its data there fails the build (scripts/sqlx-prepare.sh writes it).
export SQLX_OFFLINE=true
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
# Databases left behind by interrupted test runs.
for db in $(psql "$TEST_DATABASE_URL" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'coin\_test\_%'"); do
  psql "$TEST_DATABASE_URL" -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
done

step() { printf '\n== %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
if [ -x scripts/check-deploy.sh ]; then
  step "deployment files"
  scripts/check-deploy.sh
fi
step "cargo build (the binaries the process tests run)"
cargo build --workspace --bins --locked
step "cargo test"
cargo test --workspace --locked
