#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with schemathesis: the
# release server on a scratch SQLite database, an admin of an account of four
# users, and up to N generated requests per operation (default 300) with the
# admin's developer key. It fails on a 5xx, on an answer the document does
# not describe (a status, header, content type or field), or on an operation
# that answers without the key or with a wrong one. Not checked here: that each value the schema allows is taken and
# every other refused. The API takes an empty parameter as an absent one and
# refuses a `to` before `from`, which a schema cannot say;
# server/tests/openapi.rs checks the values the document lists.
#   scripts/api-fuzz.sh [N]   (build first: scripts/build-site.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
examples="${1:-300}"
scripts/ensure-tools.sh fuzz
schemathesis="$CONSOLE_TOOLS_DIR/schemathesis/bin/schemathesis"

scratch="$(mktemp -d /tmp/console-api-fuzz.XXXX)"
port=3588
base="http://127.0.0.1:$port"
# Anything listening there, whatever it answers, would keep the server from
# binding.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "something already listens on port $port; stop it first" >&2
  exit 1
fi
# Every generated request counts against the API's per-minute limits (a
# wrong key against its own).
export LIMITS='api_request.actor=100000/1,api_request.account=100000/1,api_request.client=100000/1,wrong_api_key.client=100000/1,wrong_api_key.total=100000/1'
export LEPTOS_ENV=PROD LEPTOS_OUTPUT_NAME=console LEPTOS_HASH_FILES=true LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" DATA_DIR="$scratch" PUBLIC_URL="$base" RUST_LOG=warn
setsid "$CONSOLE_SERVER_BIN" serve > "$scratch/server.log" 2>&1 &
server=$!
trap 'kill -- -"$server" 2>/dev/null || true' EXIT
ready=
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && { ready=1; break; }
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done
[ -n "$ready" ] || { echo "the server did not start; see $scratch/server.log" >&2; exit 1; }

password=correct-horse-battery-staple
post() { curl -fsS -X POST -H "Sec-Fetch-Site: same-origin" "$@"; }
post -o /dev/null -d "company_name=Fuzz&first_name=Ann&last_name=Owner&email=owner%40fuzz.example&password=$password" \
  "$base/fn/sign_up"
# The operator adds the admin the key is made for: a verified address, as a
# developer key needs, without reading the mail folder.
for who in admin bob carol; do
  flags=(); [ "$who" = admin ] && flags=(--admin)
  echo "$password" | "$CONSOLE_SERVER_BIN" user add --account-of owner@fuzz.example \
    --email "$who@fuzz.example" --first-name "${who^}" --last-name Tester "${flags[@]}" \
    --password-stdin > /dev/null
done
cookie=$(post -D - -o /dev/null -d "email=admin%40fuzz.example&password=$password" "$base/fn/log_in" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(console_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "the log-in gave no session; see $scratch/server.log" >&2; exit 1; }
key=$(post -H "Cookie: $cookie" -d "name=Fuzz&password=$password" "$base/fn/generate_developer_key" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')

# Every check but the two that take the schema as the whole rule (above).
"$schemathesis" run "$base/api/v1/openapi.json" -H "Authorization: Bearer $key" \
  --checks all --exclude-checks negative_data_rejection,positive_data_acceptance \
  --max-examples "$examples" --workers 1 --no-color
if grep -E "ERROR|panicked" "$scratch/server.log"; then
  echo "the server logged errors (above); see $scratch/server.log" >&2
  exit 1
fi
kill -- -"$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rm -rf "$scratch"
