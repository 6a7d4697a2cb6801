#!/usr/bin/env bash
# Installs what is missing and runs every test: the Rust tests on SQLite, the
# same test binaries against a real PostgreSQL server, and the browser tests
# against the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/ensure-tools.sh test
start=$(date +%s)
scripts/prune-target.py

# One build of the test binaries serves both databases. One test at a time,
# as since a render stall was blamed on parallel renders; its cause was a
# router built beside renders (leptos #4773, README's development notes).
export RUST_TEST_THREADS=1
rust_tests=(cargo test --locked -p app -p server --features app/ssr,app/testing)
echo "==> Rust tests on SQLite"
DATABASE_URL= "${rust_tests[@]}"
echo "==> The same Rust tests on PostgreSQL"
scripts/with-postgres.sh "${rust_tests[@]}"

echo "==> Benchmarks at a tiny size, to keep them working (full size: see the README)"
cargo run --locked -q -p server --features app/ssr,app/testing --example user_table_bench -- --users 300 --samples 3
cargo run --locked -q -p server --features app/ssr,app/testing --example login_flood_bench -- --flooders 2 --samples 5
cargo run --locked -q -p server --features app/ssr,app/testing --example limits_flood -- --attempts 12

echo "==> Release build, by the run command's script and by cargo-leptos: the same site"
scripts/check-site.sh
echo "==> The HTTP load benchmark at a tiny size, on both databases (full size: see the README)"
SKIP_BUILD=1 scripts/load-bench.sh --sizes 300 --seconds 1
SKIP_BUILD=1 scripts/with-postgres.sh scripts/load-bench.sh --postgres --sizes 300 --seconds 1
echo "==> The Activity tab benchmark at a tiny size (full size: see the README)"
scripts/activity-bench.sh 2000
echo "==> The JSON API fuzzed against its OpenAPI document (schemathesis; more examples: see the README)"
scripts/api-fuzz.sh 100
echo "==> Browser tests"
(cd end2end && npx playwright test)
echo "==> What a first visit downloads, per route (see the README's \"First visit\")"
node end2end/bench/first-visit.mjs
echo "==> All tests passed in $(( $(date +%s) - start ))s"
