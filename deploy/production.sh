#!/usr/bin/env bash
# hubspot-deals in production: one subcommand per process, and `up` for all of them on one machine.
# The Dockerfile and compose.yaml run these same subcommands, and a test runs this file as it is
# (hubspot_deals_tests/test_production_recipe.py), so the recipe cannot drift from what works.
#
#   deploy/production.sh install      a virtualenv with the project and its extras [all] in it
#                                     ($HUBSPOT_DEALS_VENV)
#   deploy/production.sh init         $DAGSTER_HOME/dagster.yaml, Dagster's tables, the encryption
#                                     key, and the first API key when the API has none
#   deploy/production.sh code-server  the code location over gRPC (a redeploy restarts only this)
#   deploy/production.sh webserver    Dagster's UI and GraphQL: NO authentication, private interface
#   deploy/production.sh viewer       a --read-only webserver for people who only look
#   deploy/production.sh daemon       run queue, schedules, sensors, run monitoring and retries
#   deploy/production.sh api          the REST API, with API keys
#   deploy/production.sh sandbox      the HubSpot sandbox (demos and checks; never real data)
#   deploy/production.sh sandbox-scan one scan of the sandbox into this deployment's storage
#   deploy/production.sh up           init, then code server, webserver, daemon and API (and the
#                                     viewer when HUBSPOT_DEALS_VIEWER_PORT is set) until SIGTERM
#                                     or Ctrl-C, which stops every process it started
# Anything else is run as a command in this environment (the image's entrypoint: run workers).
#
# Required: HUBSPOT_DEALS_HOME (local state: key files, dlt working folders, logs) and
# DAGSTER_PG_URL (Dagster's storage, postgresql+psycopg2://...); with the PostgreSQL destination
# (the default here) HUBSPOT_DEALS_POSTGRES_DSN. Every other setting is in README "Production".
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$REPO/deploy/production.sh"
WORKSPACE="$REPO/workspace.grpc.yaml"

: "${HUBSPOT_DEALS_VENV:=$REPO/.venv-production}"
if [ -x "$HUBSPOT_DEALS_VENV/bin/hubspot-deals" ]; then
  PATH="$HUBSPOT_DEALS_VENV/bin:$PATH"
fi
export PATH

# Where each process listens. Dagster's webserver has no authentication: whoever reaches it can
# launch, terminate and delete runs and read every tenant's run config. It stays on loopback (in
# compose: on the stack's internal network) and the REST API is the only public door.
export HUBSPOT_DEALS_CODE_SERVER_HOST="${HUBSPOT_DEALS_CODE_SERVER_HOST:-127.0.0.1}"
export HUBSPOT_DEALS_CODE_SERVER_PORT="${HUBSPOT_DEALS_CODE_SERVER_PORT:-4000}"
WEBSERVER_HOST="${HUBSPOT_DEALS_WEBSERVER_HOST:-127.0.0.1}"
WEBSERVER_PORT="${HUBSPOT_DEALS_WEBSERVER_PORT:-3000}"
VIEWER_HOST="${HUBSPOT_DEALS_VIEWER_HOST:-127.0.0.1}"
VIEWER_PORT="${HUBSPOT_DEALS_VIEWER_PORT:-}"
API_HOST="${HUBSPOT_DEALS_API_HOST:-0.0.0.0}"
API_PORT="${HUBSPOT_DEALS_API_PORT:-5000}"
SANDBOX_HOST="${HUBSPOT_SANDBOX_HOST:-127.0.0.1}"
SANDBOX_PORT="${HUBSPOT_SANDBOX_PORT:-8765}"

die() {
  echo "production.sh: $*" >&2
  exit 2
}

require_environment() {
  [ -n "${HUBSPOT_DEALS_HOME:-}" ] || die "set HUBSPOT_DEALS_HOME (the deployment's state folder)"
  [ -n "${DAGSTER_PG_URL:-}" ] ||
    die "set DAGSTER_PG_URL (Dagster's storage, postgresql+psycopg2://user:password@host/db)"
  export HUBSPOT_DEALS_HOME DAGSTER_PG_URL
  export DAGSTER_HOME="${DAGSTER_HOME:-$HUBSPOT_DEALS_HOME/dagster_home}"
  # DuckDB takes one writer at a time; production runs several scans at once.
  export HUBSPOT_DEALS_DESTINATION="${HUBSPOT_DEALS_DESTINATION:-postgres}"
  if [ "$HUBSPOT_DEALS_DESTINATION" = postgres ] && [ -z "${HUBSPOT_DEALS_POSTGRES_DSN:-}" ]; then
    die "set HUBSPOT_DEALS_POSTGRES_DSN (the destination, postgresql://user:password@host/db)"
  fi
  command -v hubspot-deals >/dev/null ||
    die "hubspot-deals is not installed: run '$SELF install' or set HUBSPOT_DEALS_VENV"
}

# Local address to reach a server that listens on $1 (a wildcard bind is reached on loopback).
reach() {
  case "$1" in
    0.0.0.0 | "" | "::" | "[::]") echo 127.0.0.1 ;;
    *) echo "$1" ;;
  esac
}

cmd_install() {
  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null || python=python3
  [ -x "$HUBSPOT_DEALS_VENV/bin/python" ] || "$python" -m venv "$HUBSPOT_DEALS_VENV"
  # Every role runs from this one environment: the code location, Dagster's webserver and
  # daemon ([dagster]), the REST API ([api]) and the sandbox ([sandbox]).
  "$HUBSPOT_DEALS_VENV/bin/python" -m pip install --no-cache-dir --quiet "${REPO}[all]"
  echo "installed into $HUBSPOT_DEALS_VENV"
}

cmd_init() {
  require_environment
  umask 077
  mkdir -p "$HUBSPOT_DEALS_HOME" "$DAGSTER_HOME"
  if [ ! -f "$DAGSTER_HOME/dagster.yaml" ]; then
    cp "$REPO/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
    echo "init: $DAGSTER_HOME/dagster.yaml copied from the repository"
  elif ! cmp -s "$REPO/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"; then
    echo "init: $DAGSTER_HOME/dagster.yaml differs from the repository's; kept as it is"
  fi
  # Dagster's tables, created (or migrated after an upgrade) once, before any process races to.
  dagster instance migrate >/dev/null
  echo "init: Dagster's storage is ready"
  # Made once here: the API encrypts scan tokens with it and run workers decrypt them.
  python -c "from hubspot_deals.crypto import TokenCipher; TokenCipher.from_settings()"
  if [ -n "${HUBSPOT_DEALS_ENCRYPTION_KEY:-}" ]; then
    echo "init: encryption key from HUBSPOT_DEALS_ENCRYPTION_KEY"
  else
    echo "init: encryption key in $HUBSPOT_DEALS_HOME/encryption.key (every process and run" \
      "worker needs the same: set HUBSPOT_DEALS_ENCRYPTION_KEY where they do not share the folder)"
  fi
  init_api_key
}

# The API serves nothing without a key: the first one is created here, unless the key file (its
# own, or one mounted from a secret through HUBSPOT_DEALS_API_API_KEYS_FILE) has any key at all.
init_api_key() {
  local keys
  keys="$(hubspot-deals api keys list --json)"
  if [ "$keys" != "[]" ]; then
    echo "init: the API has its keys (hubspot-deals api keys list)"
    return
  fi
  local key_file="${HUBSPOT_DEALS_FIRST_API_KEY_FILE:-$HUBSPOT_DEALS_HOME/first-api-key}"
  local tenants=() tenant
  for tenant in ${HUBSPOT_DEALS_FIRST_API_KEY_TENANTS:-${HUBSPOT_DEALS_DEFAULT_ORGANIZATION_ID:-default}}; do
    tenants+=(--tenant "$tenant")
  done
  hubspot-deals api keys create --name first-key "${tenants[@]}" --json |
    python -c 'import json, sys; print(json.load(sys.stdin)["key"])' >"$key_file"
  echo "init: API key created for tenants ${HUBSPOT_DEALS_FIRST_API_KEY_TENANTS:-${HUBSPOT_DEALS_DEFAULT_ORGANIZATION_ID:-default}};" \
    "it is in $key_file (mode 0600): keep it in your secret store, then delete the file"
}

cmd_code_server() {
  require_environment
  local image=()
  # The image run workers start from, for the Docker and Kubernetes run launchers.
  [ -z "${HUBSPOT_DEALS_IMAGE:-}" ] || image=(--container-image "$HUBSPOT_DEALS_IMAGE")
  # The scans' lean allocator settings from the first allocation (hubspot_deals/source/memory.py):
  # the code server's run workers inherit them. Importing the definitions sets nothing itself.
  export ARROW_DEFAULT_MEMORY_POOL="${ARROW_DEFAULT_MEMORY_POOL:-system}"
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
  exec dagster code-server start -m hubspot_deals.defs.definitions -a defs \
    --location-name hubspot_deals "${image[@]}" \
    -h "$HUBSPOT_DEALS_CODE_SERVER_HOST" -p "$HUBSPOT_DEALS_CODE_SERVER_PORT" "$@"
}

cmd_webserver() {
  require_environment
  exec dagster-webserver -h "$WEBSERVER_HOST" -p "$WEBSERVER_PORT" -w "$WORKSPACE" "$@"
}

cmd_viewer() {
  require_environment
  exec dagster-webserver --read-only -h "$VIEWER_HOST" -p "${VIEWER_PORT:-3001}" \
    -w "$WORKSPACE" "$@"
}

cmd_daemon() {
  require_environment
  exec dagster-daemon run -w "$WORKSPACE" "$@"
}

cmd_api() {
  require_environment
  export HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL="${HUBSPOT_DEALS_API_DAGSTER_GRAPHQL_URL:-http://$(reach "$WEBSERVER_HOST"):$WEBSERVER_PORT/graphql}"
  exec hubspot-deals api --host "$API_HOST" --port "$API_PORT" "$@"
}

cmd_sandbox() {
  exec hubspot-deals sandbox --host "$SANDBOX_HOST" --port "$SANDBOX_PORT" "$@"
}

# A scan of the sandbox, run in this process into the deployment's Dagster storage and
# destination: it shows in the UI and the REST API, while the code server keeps its own HubSpot.
cmd_sandbox_scan() {
  require_environment
  local token="${HUBSPOT_SANDBOX_TOKENS%% *}"
  [ -n "$token" ] || die "set HUBSPOT_SANDBOX_TOKENS (a token the sandbox accepts)"
  HUBSPOT_API_BASE_URL="${HUBSPOT_SANDBOX_URL:-http://$(reach "$SANDBOX_HOST"):$SANDBOX_PORT}" \
    HUBSPOT_ACCESS_TOKEN="${token%%:*}" \
    exec hubspot-deals scan "${1:-sandbox-$(date -u +%Y%m%d-%H%M%S)}" --include-archived \
    --organization-id "${HUBSPOT_DEALS_DEFAULT_ORGANIZATION_ID:-default}" "${@:2}"
}

# Waits until $2 answers HTTP 200 while the process $1 runs.
wait_http() {
  local pid=$1 url=$2 deadline=$((SECONDS + ${HUBSPOT_DEALS_START_TIMEOUT:-300}))
  until python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
    "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

wait_grpc() {
  local pid=$1 deadline=$((SECONDS + ${HUBSPOT_DEALS_START_TIMEOUT:-300}))
  until dagster api grpc-health-check -h "$(reach "$HUBSPOT_DEALS_CODE_SERVER_HOST")" \
    -p "$HUBSPOT_DEALS_CODE_SERVER_PORT" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

PIDS=()
NAMES=()

# Starts `production.sh <role>` in a process group of its own, its output in $LOGS/<role>.log.
start_role() {
  set -m # job control for this fork only: it puts the role in a process group of its own
  "$SELF" "$1" >>"$LOGS/$1.log" 2>&1 &
  set +m
  PIDS+=("$!")
  NAMES+=("$1")
  echo "up: $1 started (pid $!, log $LOGS/$1.log)"
}

# Stops the roles in reverse order: SIGTERM to each process group, SIGKILL what is left after
# HUBSPOT_DEALS_STOP_TIMEOUT seconds.
stop_all() {
  local i pid deadline
  trap - TERM INT
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -TERM -- "-$pid" 2>/dev/null || continue
    deadline=$((SECONDS + ${HUBSPOT_DEALS_STOP_TIMEOUT:-30}))
    while kill -0 -- "-$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    if kill -KILL -- "-$pid" 2>/dev/null; then
      echo "up: ${NAMES[i]} killed (still running after ${HUBSPOT_DEALS_STOP_TIMEOUT:-30}s)"
    else
      echo "up: ${NAMES[i]} stopped"
    fi
    wait "$pid" 2>/dev/null || true
  done
}

failed() {
  echo "up: $1; the end of its log:" >&2
  tail -n 40 "$LOGS/$2.log" >&2 || true
  stop_all
  exit 1
}

cmd_up() {
  require_environment
  cmd_init
  LOGS="${HUBSPOT_DEALS_LOG_DIR:-$HUBSPOT_DEALS_HOME/logs}"
  mkdir -p "$LOGS"
  trap 'echo "up: stopping"; stop_all; exit 0' TERM INT
  start_role code-server
  wait_grpc "${PIDS[-1]}" || failed "the code server did not start" code-server
  start_role webserver
  wait_http "${PIDS[-1]}" "http://$(reach "$WEBSERVER_HOST"):$WEBSERVER_PORT/server_info" ||
    failed "the webserver did not start" webserver
  start_role daemon
  start_role api
  wait_http "${PIDS[-1]}" "http://$(reach "$API_HOST"):$API_PORT/api/v1/health" ||
    failed "the API did not become healthy" api
  if [ -n "$VIEWER_PORT" ]; then
    start_role viewer
    wait_http "${PIDS[-1]}" "http://$(reach "$VIEWER_HOST"):$VIEWER_PORT/server_info" ||
      failed "the read-only webserver did not start" viewer
  fi
  echo "up: ready; REST API on http://$API_HOST:$API_PORT/api/v1, Dagster UI on" \
    "http://$WEBSERVER_HOST:$WEBSERVER_PORT (private); SIGTERM or Ctrl-C stops everything"
  local status=0
  wait -n || status=$?
  failed "a process exited (status $status)" "$(exited_role)"
}

exited_role() {
  local i
  for i in "${!PIDS[@]}"; do
    kill -0 "${PIDS[i]}" 2>/dev/null || {
      echo "${NAMES[i]}"
      return
    }
  done
  echo "${NAMES[0]}"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF" >&2
  exit 2
}

role="${1:-}"
[ $# -eq 0 ] || shift
case "$role" in
  install) cmd_install "$@" ;;
  init) cmd_init "$@" ;;
  code-server) cmd_code_server "$@" ;;
  webserver) cmd_webserver "$@" ;;
  viewer) cmd_viewer "$@" ;;
  daemon) cmd_daemon "$@" ;;
  api) cmd_api "$@" ;;
  sandbox) cmd_sandbox "$@" ;;
  sandbox-scan) cmd_sandbox_scan "$@" ;;
  up) cmd_up "$@" ;;
  "" | -h | --help | help) usage ;;
  *)
    command -v "$role" >/dev/null || {
      echo "production.sh: no subcommand or command '$role'" >&2
      usage
    }
    exec "$role" "$@"
    ;;
esac
