#!/usr/bin/env bash
# Creates .venv and installs a requirements file into it: scripts/setup.sh [requirements.txt|requirements-dev.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r "$requirements"
if [ "$requirements" != requirements.txt ]; then
  # The source model, for quantize_model.py and the reference checks: its own pins clash with ours.
  .venv/bin/python -m pip install -q --no-deps sklesion==0.2.2
fi
