#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: the suite on SQLite, the suite again with the labelled sets
# hidden (as on a clone without ../shared), the web suite again on a real PostgreSQL, a real headless Chromium
# (Debian's), and the pre-deploy memory proof (a failing budget fails the run).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
database_url=$(scripts/postgres.sh)
scripts/setup.sh requirements-dev.txt
mkdir -p artifacts
echo "== full suite on SQLite"
.venv/bin/python -m pytest -q -p no:cacheprovider
echo "== the suite without ../shared (a plain clone: only the committed photos of tests/data)"
# All but the endurance runs (soak and overload: minutes of uploads, about time and memory, not data; the
# proof's and bench's end-to-end tests cover the same fallback to tests/data without ../shared).
no_data=$(mktemp -d)
DERMAI_DATA_ROOT=$no_data .venv/bin/python -m pytest -q -p no:cacheprovider --ignore tests/test_endurance.py
rmdir "$no_data"
echo "== web suite on PostgreSQL"
DATABASE_URL=$database_url .venv/bin/python -m pytest -q -p no:cacheprovider Dermal/tests/web
echo "== pre-deploy proof (render.yaml's Gunicorn line, PostgreSQL as on Render)"
.venv/bin/python test_before_deploy.py --database-url "$database_url" \
  --json artifacts/before_deploy.json --markdown artifacts/before_deploy.md
