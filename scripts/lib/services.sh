#!/usr/bin/env bash
# Shared by scripts/test.sh and scripts/run.sh: make sure the toolchain, PostgreSQL and Redis
# are there and running on this machine, installing them with apt-get (as root) when missing.
# Every step prints one line saying what it found or did.

: "${DATABASE_URL:=postgres://postgres:postgres@127.0.0.1:5432/peoples_coin}"
: "${REDIS_URL:=redis://127.0.0.1:6379/0}"
export DATABASE_URL REDIS_URL

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

APT_UPDATED=0
apt_install() {
  is_root || die "missing: $* — install it with: sudo apt-get install -y $*"
  command -v apt-get >/dev/null || die "missing: $* and no apt-get here; install it by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# host and port of a URL like scheme://user:pass@host:port/db
url_host() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; u="${u%%\?*}"; echo "${u%%:*}"; }
url_port() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; u="${u%%\?*}"; [ "${u#*:}" != "$u" ] && echo "${u##*:}" || echo "$2"; }
is_local() { case "$1" in 127.0.0.1|localhost|::1|"[::1]") return 0 ;; *) return 1 ;; esac; }

wait_until() { # wait_until <seconds> <description> <command...>
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 "$((limit * 5))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up within ${limit}s"
}

ensure_rust() {
  if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
  command -v cc >/dev/null || apt_install build-essential
  command -v pkg-config >/dev/null || apt_install pkg-config
  say "rust: $(cargo --version)"
}

pg_ready() { pg_isready -q -h "$1" -p "$2" 2>/dev/null || psql "postgres://postgres@$1:$2/postgres" -tAc 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
  local host port; host=$(url_host "$DATABASE_URL"); port=$(url_port "$DATABASE_URL" 5432)
  command -v psql >/dev/null || { is_local "$host" && apt_install postgresql postgresql-client || apt_install postgresql-client; }
  if pg_ready "$host" "$port"; then say "postgres: running on $host:$port"; return; fi
  is_local "$host" || die "postgres at $host:$port does not answer (DATABASE_URL)"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "postgres: not installed"
    apt_install postgresql postgresql-client
  else
    say "postgres: installed but stopped, starting it"
  fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || service postgresql start >/dev/null 2>&1 \
    || die "could not start PostgreSQL $version"
  wait_until 30 "postgres" pg_isready -q -h "$host" -p "$port"
  # A fresh Debian cluster checks passwords on TCP: give the postgres user the one our URLs use.
  if is_root && command -v runuser >/dev/null; then
    runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 || true
  fi
  say "postgres: started on $host:$port"
}

redis_ready() { redis-cli -h "$1" -p "$2" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  local host port; host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  command -v redis-cli >/dev/null || apt_install redis-server
  if redis_ready "$host" "$port"; then say "redis: running on $host:$port"; return; fi
  is_local "$host" || die "redis at $host:$port does not answer (REDIS_URL)"
  if ! command -v redis-server >/dev/null; then
    say "redis: not installed"
    apt_install redis-server
  else
    say "redis: installed but stopped, starting it"
  fi
  local dir=/var/lib/redis; mkdir -p "$dir" 2>/dev/null || dir=/tmp
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --appendonly yes --appendfsync everysec --logfile "$dir/redis-$port.log" >/dev/null \
    || die "could not start redis-server"
  wait_until 15 "redis" redis_ready "$host" "$port"
  say "redis: started on $host:$port (AOF on, fsync every second)"
}

ensure_database() { # ensure_database <postgres url>
  local url=$1 name admin
  name="${url##*/}"; name="${name%%\?*}"
  admin="${url%/*}/postgres"
  if [ "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" = "1" ]; then
    say "database $name: exists"
  else
    psql "$admin" -q -c "CREATE DATABASE \"$name\"" || die "could not create database $name"
    say "database $name: created"
  fi
}

# What both entry points need: the toolchain, PostgreSQL and Redis.
ensure_base() {
  ensure_rust
  ensure_postgres
  ensure_redis
}
