#!/usr/bin/env bash
# Installs tools/site-split (the wasm split of `cargo leptos build --split`,
# for scripts/build-site.sh) unless the installed one has the version in its
# Cargo.toml. About a minute on 2 cores; build-site.sh runs it beside the
# compilers, since the split is needed only once the wasm is compiled.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
crate="$here/../tools/site-split"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$crate/Cargo.toml" | head -1)
if [ "$(site-split --version 2>/dev/null)" != "site-split $version" ]; then
  printf '==> installing site-split %s\n' "$version"
  # Not in CARGO_TARGET_DIR, whose lock the compilers hold (see
  # ensure-wasm-bindgen.sh); --locked keeps cargo-leptos's versions.
  env -u CARGO_TARGET_DIR cargo install --quiet --path "$crate" --locked
fi
