#!/usr/bin/env bash
# The release build the run command, the browser tests and the load benchmark
# serve: the server binary, and the site (wasm, JS, CSS) with content-hashed
# file names and brotli and gzip copies beside each file.
#
# It does what `cargo leptos build --release --precompress` does with the
# workspace's [workspace.metadata.leptos], step by step, so a first start
# does not compile cargo-leptos (about 12 minutes on 2 cores). The tests
# build the site with cargo-leptos as well and check that both are the same
# (scripts/check-site.sh); `cargo leptos watch` stays the development loop.
# If you change the metadata, change the matching value here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

site=target/site                          # site-root
pkg="$site/pkg"                           # site-pkg-dir
front_target="$CARGO_TARGET_DIR/front"    # where cargo-leptos builds the lib
front_wasm="$front_target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
hash_file="$CARGO_TARGET_DIR/release/hash.txt"   # beside the server binary

# cargo-leptos gives both compilers these; leptos and the server functions
# read some while compiling, so equal values keep the builds of both paths
# the same (and shared in the target directory).
export LEPTOS_OUTPUT_NAME=console LEPTOS_SITE_ROOT="$site" LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=true \
  LEPTOS_HASH_FILE_NAME=hash.txt
# `always-erase-components` in the metadata: leptos erases component types
# (dynamic views instead of one monomorphised type per page), which cuts
# the release compile of the `app` and `server` crates by minutes. Server
# and wasm must agree, or hydration finds other markers than it expects.
export RUSTFLAGS="--cfg erase_components"

started=$SECONDS
step() { printf '==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }

# Both compilers side by side, after the install: on this 2-core machine
# every extra job slows the others about as much as it gains, so total work
# decides (README, development notes: installing beside the compilers took
# about 26 minutes, the server first with the rest niced behind it 24). The
# wasm is ready minutes before the server, so the site is written while the
# server still compiles.
write_site() {
  rm -rf "$site"
  mkdir -p "$pkg"
  wasm-bindgen --target=web --out-name=console --out-dir="$pkg" "$front_wasm"
  mv "$pkg/console_bg.wasm" "$pkg/console.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$pkg/console.wasm" -o "$pkg/console.wasm"
  node scripts/site.mjs minify "$pkg/console.js"
  lightningcss --minify --targets defaults style/main.css -o "$pkg/console.css"
  cp -R public/. "$site/"
  # The hash file goes beside the server binary, where the server reads it.
  mkdir -p "$(dirname "$hash_file")"
  node scripts/site.mjs hash "$pkg" console.js console.wasm console.css "$hash_file"
  node scripts/site.mjs precompress "$site"
  step "site written"
}

step "installing what the site steps need"
scripts/ensure-wasm-bindgen.sh
step "compiling the wasm and the server"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
cargo build --package=frontend --lib --target-dir="$front_target" \
  --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release &
front=$!
cargo build --package=server --bin=server --no-default-features --release &
server=$!
wait "$front"
step "writing the site"
write_site &
writing=$!
wait "$server"
wait "$writing"
trap - EXIT
step "built $CONSOLE_SERVER_BIN and $site ($(tr '\n' ' ' < "$hash_file"))"
