#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs the console on the
# embedded default: a SQLite file in DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/ensure-tools.sh
scripts/build-site.sh
export LEPTOS_ENV=PROD
export LEPTOS_OUTPUT_NAME=console
# The build names its files by content hash (hash.txt beside the binary).
export LEPTOS_HASH_FILES=true
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export DATA_DIR="${DATA_DIR:-data}"
exec "$CONSOLE_SERVER_BIN" serve
