#!/usr/bin/env bash
# Installs (apt) and starts a local PostgreSQL with a `dermai` role, then prints its DATABASE_URL.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
read -r version cluster _ status _ < <(pg_lsclusters -h | head -n 1)
[ "$status" = online ] || as_root pg_ctlcluster "$version" "$cluster" start >&2
for _ in $(seq 30); do as_root su postgres -c "pg_isready -q" && break; sleep 1; done
as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='dermai'\"" | grep -q 1 \
  || as_root su postgres -c "psql -qc \"CREATE ROLE dermai LOGIN PASSWORD 'dermai' CREATEDB\"" >&2
as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='dermai'\"" | grep -q 1 \
  || as_root su postgres -c "createdb -O dermai dermai" >&2
echo "postgres://dermai:dermai@127.0.0.1:5432/dermai"
