#!/usr/bin/env bash
# Load benchmark over real HTTP: builds the release server, then runs
# scripts/load_bench.py (options: --sizes 10000,100000 --seconds 5 --postgres).
# For PostgreSQL: scripts/with-postgres.sh scripts/load-bench.sh --postgres
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/ensure-tools.sh bench
[ "${SKIP_BUILD:-}" = 1 ] || scripts/build-site.sh
exec python3 scripts/load_bench.py "$@"
