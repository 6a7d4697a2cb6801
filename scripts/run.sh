#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs the console on the
# embedded default: a SQLite file in DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/ensure-tools.sh
cargo leptos build --release
export LEPTOS_ENV=PROD
export LEPTOS_OUTPUT_NAME=console
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export DATA_DIR="${DATA_DIR:-data}"
exec "$CONSOLE_SERVER_BIN" serve
