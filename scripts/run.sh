#!/usr/bin/env bash
# Sets up and runs DermAI locally on its embedded defaults (SQLite file, committed int8 bundle):
# open http://127.0.0.1:8000/ . DEBUG is on here only because this is a local, plain-HTTP run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements.txt
export DEBUG=${DEBUG:-true}
.venv/bin/python manage.py migrate --no-input
exec .venv/bin/python manage.py runserver "${ADDRESS:-127.0.0.1:8000}"
