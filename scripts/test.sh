#!/usr/bin/env bash
# Sets up a fresh machine and runs every test, each stage timed (CI runs this):
#   scripts/test.sh           everything: every test once with the labelled sets hidden (as on a clone without
#                             ../shared), the tests that read them with them, and hidden again to prove each
#                             skips cleanly; the database tests again on a real PostgreSQL; the pre-deploy proof
#   scripts/test.sh --quick   the inner loop: the unit-level tests of every module (no servers, no browser, no
#                             TensorFlow, no labelled sets), about a minute once set up
#   scripts/test.sh --repeat N PATH...   the tests at PATH (pytest's own selection: files, folders, -k, -m) run N times,
#                             each a fresh two-worker session as in the suite, stopping at the first failure: every new
#                             browser or real-server test passes 20 runs with it before it lands
# Real Gunicorn, PostgreSQL (Debian's) and headless Chromium (Debian's) are started by the tests that need them.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
stage() {  # stage NAME COMMAND...: announced, run, and timed
  local name=$1 started=$SECONDS
  shift
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - started)) s"
}
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider --durations=20)  # where the time goes
hidden=$(mktemp -d)  # DERMAI_DATA_ROOT for the runs without the labelled sets
trap 'rm -rf "$hidden"' EXIT

if [ "${1:-}" = --quick ]; then
  stage "set up (.venv)" scripts/setup.sh requirements-dev.txt
  stage "quick: unit-level tests, no servers" env DERMAI_DATA_ROOT="$hidden" "${pytest[@]}" -n 2 -m "not slow and not needs_data"
  exit
fi

if [ "${1:-}" = --repeat ]; then
  [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] && [ $# -ge 3 ] || { echo "usage: scripts/test.sh --repeat N PATH..." >&2; exit 2; }
  runs=$2
  shift 2
  stage "set up (.venv)" scripts/setup.sh requirements-dev.txt
  for run in $(seq "$runs"); do
    stage "run $run of $runs" "${pytest[@]}" -n 2 "$@" || { echo "== repeat: run $run of $runs failed"; exit 1; }
  done
  echo "== repeat: $runs of $runs runs passed"
  exit
fi

setup() {
  # Chromium for the browser tests; GNU gettext for the test that the catalogue holds every marked string.
  if [ ! -x /usr/bin/chromium ] || ! command -v xgettext >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium gettext >/dev/null
  fi
  database_url=$(scripts/postgres.sh)
  scripts/setup.sh requirements-dev.txt
  mkdir -p artifacts
}
labelled_sets_here() {  # whether any labelled set is where the tests look (../shared, or DERMAI_DATA_ROOT)
  .venv/bin/python -c 'import sys; from conftest import LABELLED_SETS
sys.exit(not any((found / "images").is_dir() for found in LABELLED_SETS.values()))'
}
with_the_sets() {  # on a clone without them, the stage after this one is the same run: it shows each test skips
  if labelled_sets_here; then "${pytest[@]}" -n 2 -m needs_data; else echo "no labelled sets here: not run twice"; fi
}
all_skip() {  # the tests that read the labelled sets, with the sets hidden: every one skips, with its reason
  local out
  out=$(DERMAI_DATA_ROOT="$hidden" "${pytest[@]}" -m needs_data -rs) || { echo "$out"; return 1; }
  echo "$out"
  tail -n 1 <<<"$out" | grep -qE '^[0-9]+ skipped' || { echo "a test that needs the labelled sets did not skip"; return 1; }
}

total=$SECONDS
stage "set up (Chromium, gettext, PostgreSQL, .venv)" setup
stage "the suite without ../shared (every test but those that read the labelled sets)" \
  env DERMAI_DATA_ROOT="$hidden" "${pytest[@]}" -n 2 -m "not needs_data"
stage "the tests that read the labelled sets of ../shared" with_the_sets
stage "the same with the sets hidden: each skips" all_skip
# Not the browser tests: what they store goes through the same views the web tests post to here, and on PostgreSQL
# they would repeat Chromium's work (a third of this stage), not the database's.
stage "the database tests again on PostgreSQL" \
  env DERMAI_DATA_ROOT="$hidden" DATABASE_URL="$database_url" "${pytest[@]}" -n 2 -m "database and not needs_data" \
  --ignore=Dermal/tests/browser
stage "the pre-deploy proof (render.yaml's Gunicorn line, PostgreSQL as on Render)" \
  .venv/bin/python test_before_deploy.py --database-url "$database_url" \
  --json artifacts/before_deploy.json --markdown artifacts/before_deploy.md
echo "== all stages: $((SECONDS - total)) s"
