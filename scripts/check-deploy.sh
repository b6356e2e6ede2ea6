#!/usr/bin/env bash
# Checks the deployment files without a cluster or a Docker engine:
#   - Prometheus scrape configs and alert rules (promtool check config / check rules),
#   - the alert rules' unit tests (promtool test rules deploy/prometheus/alerts_test.yml),
#   - the Grafana dashboard (valid JSON; every panel query parses as PromQL),
#   - k8s/ renders with kustomize (when kubectl is installed),
#   - docker-compose.yml (when a compose client is installed; no engine needed).
# promtool comes from Debian's `prometheus` package, installed here when missing and run as root.
# The manifest invariants are checked by `cargo test -p coin-tests --test manifests`.
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; }

step "promtool"
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "promtool missing: installing Debian's prometheus package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "promtool is missing: install Prometheus (Debian: apt-get install prometheus)" >&2
    exit 1
  fi
fi
promtool --version 2>&1 | head -n 1

step "Prometheus config and rules"
promtool check config deploy/prometheus/prometheus.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

# Debian's promtool is built without Kubernetes service discovery; an upstream build checks it.
if output=$(promtool check config deploy/prometheus/prometheus-kubernetes.yml 2>&1); then
  echo "$output"
elif grep -q 'field kubernetes_sd_configs not found' <<<"$output"; then
  skip "prometheus-kubernetes.yml: this promtool lacks Kubernetes service discovery"
else
  echo "$output" >&2
  exit 1
fi

step "Grafana dashboards"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dashboard in deploy/grafana/dashboards/*.json; do
  if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$dashboard" >/dev/null
    # Every query (panels and annotations) as a recording rule, so promtool parses its PromQL.
    python3 - "$dashboard" >"$tmp/dashboard-rules.json" <<'PY'
import json, sys

def exprs(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for value in node.values():
            yield from exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from exprs(value)

dashboard = json.load(open(sys.argv[1]))
rules = [
    {"record": f"dashboard:query_{i}:check",
     "expr": e.replace("$__rate_interval", "1m").replace("$__interval", "1m")}
    for i, e in enumerate(exprs(dashboard))
]
if not rules:
    sys.exit(f"{sys.argv[1]}: no queries found")
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout)
PY
    promtool check rules "$tmp/dashboard-rules.json" | sed "s|$tmp/dashboard-rules.json|$dashboard queries|"
  elif command -v jq >/dev/null 2>&1; then
    jq empty "$dashboard"
    echo "$dashboard: valid JSON (queries not checked: python3 missing)"
  else
    echo "neither python3 nor jq is installed to check $dashboard" >&2
    exit 1
  fi
done

step "Kubernetes manifests (kustomize)"
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize k8s/ >"$tmp/k8s.yaml"
  echo "k8s/ renders: $(grep -c '^kind:' "$tmp/k8s.yaml") objects"
else
  skip "kubectl is not installed"
fi

step "docker-compose.yml"
# `config` only reads the file; JWT_SECRET is required there, so give it a throwaway value.
export JWT_SECRET="${JWT_SECRET:-check-deploy-placeholder-secret}"
if docker compose version >/dev/null 2>&1; then
  docker compose -f docker-compose.yml config -q && echo "docker compose config: ok"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f docker-compose.yml config -q && echo "docker-compose config: ok"
else
  skip "no compose client (docker compose plugin or docker-compose) is installed"
fi

printf '\nAll deployment checks passed.\n'
