#!/usr/bin/env bash
# Installs what the build needs and is missing; with `test`, what the test
# suite needs too, with `dev`, cargo-leptos for `cargo leptos watch`, and
# with `fuzz`, schemathesis for scripts/api-fuzz.sh.
# wasm-bindgen-cli is scripts/ensure-wasm-bindgen.sh's: the release build
# installs it beside the compilers. Tools are checked by version, not
# presence: /usr/bin/wasm-opt exists on these machines and is the broken one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

CARGO_LEPTOS_VERSION=0.3.10
BINARYEN_VERSION=132.0.0
LIGHTNINGCSS_VERSION=1.32.0    # lightningcss 1.0.0-alpha.71 in cargo-leptos 0.3.10
SWC_VERSION=1.16.12            # swc 55 in cargo-leptos 0.3.10 (1.16.22 minifies differently)

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt)"
    as_root apt-get install -y "${missing[@]}" >/dev/null \
      || { as_root apt-get update >/dev/null && as_root apt-get install -y "${missing[@]}" >/dev/null; }
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The site's build steps after the compilers (scripts/build-site.sh), from
# npm's prebuilt packages: wasm-opt, the CSS minifier and the JS minifier
# cargo-leptos builds in (lightningcss, swc), at versions that give its bytes.
npm_tools=("binaryen@$BINARYEN_VERSION" "lightningcss-cli@$LIGHTNINGCSS_VERSION" "@swc/core@$SWC_VERSION")
npm_missing=()
for tool in "${npm_tools[@]}"; do
  package="${tool%@*}"
  installed=$(node -p "require('$CONSOLE_TOOLS_DIR/node_modules/$package/package.json').version" 2>/dev/null || true)
  [ "$installed" = "${tool##*@}" ] || npm_missing+=("$tool")
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  say "installing ${npm_missing[*]} (npm)"
  mkdir -p "$CONSOLE_TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$CONSOLE_TOOLS_DIR" "${npm_tools[@]}" >/dev/null
fi

# cargo-leptos is for development (`cargo leptos watch`) and for the test
# that it and scripts/build-site.sh build the same site; the run command
# does without it.
if [ "${1:-}" = test ] || [ "${1:-}" = dev ]; then
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
  "$here/ensure-wasm-bindgen.sh"
fi

if [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
  apt_install wrk
fi

# schemathesis for scripts/api-fuzz.sh, in a virtual environment of its own:
# Debian's Python refuses `pip install` outside one (PEP 668).
SCHEMATHESIS_VERSION=4.32.5
if [ "${1:-}" = test ] || [ "${1:-}" = fuzz ]; then
  apt_install python3-venv
  venv="$CONSOLE_TOOLS_DIR/schemathesis"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION (pip, in $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
fi

if [ "${1:-}" = test ]; then
  apt_install chromium postgresql openssl
  if [ ! -d "$here/../end2end/node_modules/@playwright/test" ] || [ ! -d "$here/../end2end/node_modules/@axe-core/playwright" ]; then
    say "installing the browser-test packages (npm ci)"
    (cd "$here/../end2end" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
fi
