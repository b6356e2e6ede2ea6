#!/usr/bin/env bash
# Retakes the screenshots of the operator console in docs/console/ (one PNG a page), with the
# Chromium of the console's browser test: that test signs in, seeds a proposal and 50 actions,
# checks every page with axe-core and, with CONSOLE_SCREENSHOTS set, writes what it saw.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/console-screenshots.sh [--help]

Runs the console's accessibility browser test against a real Postgres and Redis (started, or
installed with apt-get as root, when missing) and writes its screenshots to docs/console/.
Needs Debian's chromium and chromium-driver (installed when missing).
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
ensure_base
command -v chromedriver >/dev/null || apt_install chromium chromium-driver

export SQLX_OFFLINE=true CI=true
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
mkdir -p docs/console
CONSOLE_SCREENSHOTS="$PWD/docs/console" cargo test -p coin-tests --test console -- \
  in_chromium_every_page_has_no_serious_accessibility_violation
say "screenshots in docs/console/: $(ls docs/console | tr '\n' ' ')"
