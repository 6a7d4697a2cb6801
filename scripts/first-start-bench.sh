#!/usr/bin/env bash
# Times the README's run command as a fresh machine runs it: a fresh clone
# with empty Cargo, npm and tool caches and an empty target directory, until
# the server answers /readyz. It downloads every crate and builds every
# tool, so it takes as long as it measures (about 20 minutes on 2 cores).
# The rustup toolchain and its wasm32 target are the machine's and are kept.
#   scripts/first-start-bench.sh [SCRATCH_DIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d /tmp/first-start.XXXX)}"
mkdir -p "$scratch"
git clone -q "$repo" "$scratch/clone"
export CARGO_HOME="$scratch/cargo-home" CARGO_TARGET_DIR="$scratch/target" \
  CONSOLE_TOOLS_DIR="$scratch/tools" npm_config_cache="$scratch/npm-cache" \
  LEPTOS_SITE_ADDR=127.0.0.1:3999 DATA_DIR="$scratch/data"
# A fresh CARGO_HOME holds only rustup's proxies, as after a rustup install;
# the machine's own ~/.cargo/bin (with its installed tools) leaves PATH.
mkdir -p "$CARGO_HOME/bin"
for proxy in cargo rustc rustdoc rustup rustfmt cargo-fmt; do
  ln -sf "$HOME/.cargo/bin/$proxy" "$CARGO_HOME/bin/$proxy"
done
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx "$HOME/.cargo/bin" | paste -sd:)
export PATH="$CARGO_HOME/bin:$PATH"

started=$(date +%s)
# Each line of the run command's output, stamped with the seconds since start.
setsid bash -c 'cd "$1/clone" && bash scripts/run.sh 2>&1 | while IFS= read -r line; do
  printf "%5ds %s\n" "$(( $(date +%s) - $2 ))" "$line"; done' _ "$scratch" "$started" \
  > "$scratch/run.log" 2>&1 &
run=$!
trap 'kill -- -"$run" 2>/dev/null || true' EXIT
until curl -fsS http://127.0.0.1:3999/readyz >/dev/null 2>&1; do
  if ! kill -0 "$run" 2>/dev/null; then
    echo "the run command stopped before serving; see $scratch/run.log" >&2
    exit 1
  fi
  sleep 2
done
elapsed=$(( $(date +%s) - started ))
echo "==> steps (seconds since the start):"
grep -E '^ *[0-9]+s (==>|   Compiling (server|frontend|cargo-leptos|wasm-bindgen-cli) |    Finished|  Installed)' "$scratch/run.log" || true
printf 'first start: %d min %02d s (%d s) until /readyz answered\n' $((elapsed / 60)) $((elapsed % 60)) "$elapsed"
