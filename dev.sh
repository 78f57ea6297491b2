#!/usr/bin/env bash
# The project's two commands, on a fresh machine with only Python 3.11:
#   ./dev.sh demo   set up, start the HubSpot sandbox and scan it through Dagster into DuckDB
#   ./dev.sh test   set up and run the whole test suite
# Anything after the command is passed on (e.g. ./dev.sh demo --deals 50000, ./dev.sh test -k scan).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating $VENV with $PYTHON ..."
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ]; then
    echo "Installing hubspot-deals with every extra (dlt and DuckDB, Dagster, the REST API, the" \
      "sandbox) and the test tools into $VENV: 1-3 minutes, once per change of pyproject.toml ..."
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # all: the code location, the REST API and the sandbox that the demo runs; test: the suite's.
    "$VENV/bin/python" -m pip install --quiet -e ".[all,test]"
    echo "Installed."
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  demo)
    setup
    exec "$VENV/bin/hubspot-deals" demo "$@"
    ;;
  test)
    setup
    set +e
    # Two workers, each taking whole modules (their servers start once per module);
    # PYTEST_WORKERS=0 runs everything in this process.
    "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
    rc=$?
    set -e
    # pytest's 5 means no test ran: never a success.
    if [ "$rc" -eq 5 ]; then
      echo "no tests were collected" >&2
      exit 1
    fi
    exit "$rc"
    ;;
  *)
    echo "usage: ./dev.sh demo [options] | ./dev.sh test [pytest options]" >&2
    exit 2
    ;;
esac
