#!/usr/bin/env bash
# Instructions the release server spends on one signed-in GET /account (as
# it is and as a browser asks for it, compressed) and on one search server
# function (POST /fn/list_users), counted by valgrind's
# callgrind over N requests each (default 100) after 20 warm-up requests.
# Unlike req/s, the count does not depend on what else the machine is doing,
# so two builds can be compared on a busy machine.
#   scripts/instructions-bench.sh [N]   (build first: scripts/build-site.sh)
#   scripts/instructions-bench.sh N PATH...   a signed-in GET of each PATH
#     instead, e.g. 50 /account /account/certificates /login
# CONSOLE_SERVER_BIN=<path> measures another build (hash.txt beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
requests="${1:-100}"
shift $(($# > 0 ? 1 : 0))
paths=("$@")
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
for _ in $(seq 1 120); do curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break; sleep 1; done
cookie=$(curl -sS -D - -o /dev/null -X POST -H "Sec-Fetch-Site: same-origin" \
  -d "company_name=Bench&first_name=Ann&last_name=Admin&email=admin%40bench.example&password=correct-horse-battery-staple" \
  "$base/fn/sign_up" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(console_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "sign-up gave no session; see $scratch/server.log" >&2; exit 1; }
# count LABEL CURL-ARGS...: instructions per request for that request.
count() {
  local label="$1"; shift
  request() {
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$@")
    [ "$status" = 200 ] || { echo "$label answered $status" >&2; exit 1; }
  }
  for _ in $(seq 1 20); do request "$@"; done
  callgrind_control -z "$server" > /dev/null 2>&1
  for _ in $(seq 1 "$requests"); do request "$@"; done
  callgrind_control -d "$server" > /dev/null 2>&1
  sleep 1
  total=$(grep -h '^totals:' "$scratch"/callgrind.out.* | awk '{s += $2} END {print s}')
  rm -f "$scratch"/callgrind.out.*
  echo "$label: $((total / requests)) instructions per request ($requests requests)"
}
if [ ${#paths[@]} -gt 0 ]; then
  for path in "${paths[@]}"; do count "GET $path signed in" "$base$path"; done
  kill -- -"$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$scratch"
  exit 0
fi
count "GET /account signed in" "$base/account"
# The same page as a browser asks for it: compressed on the fly (zstd).
count "GET /account signed in, as a browser asks" -H "Accept-Encoding: gzip, deflate, br, zstd" "$base/account"
# A search nobody matches, in an account of one: the session check, the
# window and its count (too few users to need the index).
count "POST /fn/list_users, search \"zzzz\"" -H "Sec-Fetch-Site: same-origin" \
  -d "search=zzzz&sort=name" "$base/fn/list_users"
# The scratch directory is kept only when something failed (its server.log says why).
kill -- -"$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rm -rf "$scratch"
