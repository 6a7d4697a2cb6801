#!/usr/bin/env bash
# Bytes and time to interactive of a first visit, per route (see the README's
# "First visit"): builds the release site unless SKIP_BUILD=1, then runs
# end2end/bench/first-visit.mjs. `--check` fails when a budget is exceeded.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/ensure-tools.sh test
[ "${SKIP_BUILD:-}" = 1 ] || scripts/build-site.sh
exec node end2end/bench/first-visit.mjs "$@"
