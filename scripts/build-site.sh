#!/usr/bin/env bash
# The release build the run command, the browser tests and the load benchmark
# serve: the server binary, and the site (wasm, JS, CSS) with content-hashed
# file names and brotli and gzip copies beside each file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec cargo leptos build --release --precompress
