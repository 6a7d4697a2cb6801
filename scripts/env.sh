# Sourced by the run and test scripts: where builds and tools live.
# Builds go outside the clone so a fresh clone on a warm machine reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/voice-console/target}"
export CONSOLE_TOOLS_DIR="${CONSOLE_TOOLS_DIR:-$HOME/.cache/voice-console/tools}"
# wasm-opt from npm's binaryen comes first: Debian's (v108) emits wasm that fails to load.
export PATH="$CONSOLE_TOOLS_DIR/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# The server binary the release build produces, run by the run command and the browser tests.
export CONSOLE_SERVER_BIN="${CONSOLE_SERVER_BIN:-$CARGO_TARGET_DIR/release/server}"
# Incremental caches grow by gigabytes per change and do not help a fresh clone.
export CARGO_INCREMENTAL=0
