#!/usr/bin/env bash
# Instructions the release server spends on one signed-in GET /account,
# counted by valgrind's callgrind over N requests (default 100) after 20
# warm-up requests. Unlike req/s, the count does not depend on what else the
# machine is doing, so two builds can be compared on a busy machine.
#   scripts/instructions-bench.sh [N]   (build first: scripts/build-site.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
requests="${1:-100}"
command -v callgrind_control >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
scratch="$(mktemp -d /tmp/console-instructions.XXXX)"
port=3566
base="http://127.0.0.1:$port"
LEPTOS_ENV=PROD LEPTOS_OUTPUT_NAME=console LEPTOS_HASH_FILES=true LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" DATA_DIR="$scratch" PUBLIC_URL="$base" RUST_LOG=warn \
  setsid valgrind --tool=callgrind --callgrind-out-file="$scratch/callgrind.out" \
  "$CONSOLE_SERVER_BIN" serve > "$scratch/server.log" 2>&1 &
server=$!
trap 'kill -- -"$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break; sleep 1; done
cookie=$(curl -sS -D - -o /dev/null -X POST -H "Sec-Fetch-Site: same-origin" \
  -d "company_name=Bench&first_name=Ann&last_name=Admin&email=admin%40bench.example&password=correct-horse-battery-staple" \
  "$base/fn/sign_up" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(console_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "sign-up gave no session; see $scratch/server.log" >&2; exit 1; }
get() {
  for _ in $(seq 1 "$1"); do
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/account")
    [ "$status" = 200 ] || { echo "GET /account answered $status" >&2; exit 1; }
  done
}
get 20
callgrind_control -z "$server" > /dev/null 2>&1
get "$requests"
callgrind_control -d "$server" > /dev/null 2>&1
sleep 1
total=$(grep -h '^totals:' "$scratch"/callgrind.out.* | awk '{s += $2} END {print s}')
echo "GET /account signed in: $((total / requests)) instructions per request ($requests requests)"
# The scratch directory is kept only when something failed (its server.log says why).
kill -- -"$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rm -rf "$scratch"
