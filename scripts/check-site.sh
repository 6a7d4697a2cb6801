#!/usr/bin/env bash
# Builds the release site twice, with scripts/build-site.sh (what the run
# command uses) and with `cargo leptos build --release --precompress` (the
# tool it stands in for), and fails unless both give the same site: the same
# files, byte for byte, and the same hash.txt. The second build reuses the
# first's compiled crates, so it costs only the steps after the compilers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
hash_file="$CARGO_TARGET_DIR/release/hash.txt"

scripts/build-site.sh
direct=$(mktemp -d)
trap 'rm -rf "$direct"' EXIT
cp -R target/site "$direct/site"
cp "$hash_file" "$direct/hash.txt"

echo "==> the same site with cargo-leptos"
cargo leptos build --release --precompress
node scripts/site.mjs compare "$direct/site" "$direct/hash.txt" target/site "$hash_file"
