#!/usr/bin/env bash
# Installs wasm-bindgen-cli at the version the workspace pins, unless it is
# there. Its own script because it is the one slow install of a first start
# (about 3.5 minutes on 2 cores): scripts/build-site.sh runs it before the
# compilers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pinned in Cargo.toml
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  printf '==> installing wasm-bindgen-cli %s\n' "$WASM_BINDGEN_VERSION"
  # No --locked: its lock file names a crate version the registry lacks.
  # Not in CARGO_TARGET_DIR: a build running there holds that directory's
  # lock, and the install would wait for it. Only the `wasm-bindgen`
  # binary, and without the default TLS feature: the test runner and its
  # HTTPS client (ring, rustls) are never used here.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
    --no-default-features --bin wasm-bindgen
fi
