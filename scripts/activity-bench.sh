#!/usr/bin/env bash
# The Activity tab at scale, over HTTP on the release build and the embedded
# SQLite default: it starts the server on a scratch data directory, signs up
# one account, seeds N events into it by SQL (a year's worth, ten users,
# twenty kinds, one rare kind), and prints the best of five for each kind of
# page the tab asks for (`/fn/list_activity`, the server function the tab
# calls): first page, a deep page, each filter, and an old day.
#   scripts/activity-bench.sh [N]      (default 1000000; CI-sized: 2000)
# With DATABASE_URL set to a PostgreSQL database it runs there instead:
#   scripts/with-postgres.sh scripts/activity-bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-1000000}"
port="${ACTIVITY_BENCH_PORT:-3777}"
scratch="$(mktemp -d /tmp/activity-bench.XXXX)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
if curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
  echo "something already answers on port $port; set ACTIVITY_BENCH_PORT" >&2
  exit 1
fi

DATA_DIR="$scratch/data" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
  LEPTOS_OUTPUT_NAME=console RUST_LOG=warn "$CONSOLE_SERVER_BIN" serve >"$scratch/server.log" 2>&1 &
server=$!
started() {
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { cat "$scratch/server.log" >&2; exit 1; }
    sleep 0.5
  done
}
started

origin="Origin: http://127.0.0.1:$port"
call() {
  local endpoint=$1
  shift
  curl -s -b "$scratch/jar" -c "$scratch/jar" -H "$origin" -H 'Accept: application/json' \
    -X POST "http://127.0.0.1:$port/fn/$endpoint" "$@"
}
password=Velvet-Otter-Sunrise-42
call sign_up -o /dev/null --data-urlencode company_name=Bench --data-urlencode first_name=Ada \
  --data-urlencode last_name=Admin --data-urlencode email=admin@example.com \
  --data-urlencode "password=$password"

# Stopped while seeding: SQLite has one writer, and the server's worker writes too.
kill "$server"
wait "$server" 2>/dev/null || true
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  # The same events as below, written by the database itself.
  psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -v n="$n" <<'EOF'
\timing on
insert into activity_events (account_id, at, actor_user_id, actor, kind, target, client_address)
select (select min(id) from accounts),
       now() - interval '365 days' + i * interval '365 days' / :n,
       i % 10 + 1, 'user' || (i % 10) || '@example.com',
       case when i % 997 = 0 then 'sign_in.locked'
            else (array['sign_in.succeeded', 'sign_in.succeeded', 'sign_in.succeeded',
                        'sign_in.succeeded', 'sign_in.succeeded', 'sign_in.succeeded',
                        'sign_in.succeeded', 'sign_in.succeeded', 'sign_in.failed',
                        'sign_in.failed', 'user.edited', 'phone_number.requested',
                        'js_library.added', 'developer_key.created', 'two_factor.enabled',
                        'integration.added', 'application.created', 'certificate.added',
                        'oauth_token.added', 'password.changed'])[i % 20 + 1] end,
       'target ' || i, '10.0.0.' || (i % 250)
from generate_series(0, :n - 1) as i;
analyze activity_events;
EOF
else
python3 - "$scratch/data/console.db" "$n" <<'EOF'
import datetime, sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
account = c.execute("select id from accounts").fetchone()[0]
kinds = ['sign_in.succeeded'] * 8 + ['sign_in.failed'] * 2 + [
    'user.edited', 'phone_number.requested', 'js_library.added', 'developer_key.created',
    'two_factor.enabled', 'integration.added', 'application.created', 'certificate.added',
    'oauth_token.added', 'password.changed']
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=365)
def rows():
    for i in range(n):
        at = start + datetime.timedelta(seconds=365 * 86400 * i / n)
        kind = 'sign_in.locked' if i % 997 == 0 else kinds[i % len(kinds)]
        yield (account, at.strftime('%Y-%m-%dT%H:%M:%S.%f000+00:00'), i % 10 + 1,
               f'user{i % 10}@example.com', kind, f'target {i}', f'10.0.0.{i % 250}')
began = time.time()
c.executemany("insert into activity_events (account_id, at, actor_user_id, actor, kind, target,"
              " client_address) values (?, ?, ?, ?, ?, ?, ?)", rows())
c.commit()
print(f"seeded {n:,} events in {time.time() - began:.0f} s")
EOF
fi

DATA_DIR="$scratch/data" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
  LEPTOS_OUTPUT_NAME=console RUST_LOG=warn "$CONSOLE_SERVER_BIN" serve >"$scratch/server.log" 2>&1 &
server=$!
started
call log_in -o /dev/null --data-urlencode email=admin@example.com \
  --data-urlencode "password=$password" --data-urlencode next=

day() { date -u -d "$1 days ago" +%F; }
middle=$((n / 2))
measure() {
  local name=$1 best=""
  shift
  for _ in 1 2 3 4 5; do
    local t
    t=$(call list_activity -o "$scratch/page.json" -w '%{time_total}' "$@")
    best=$(python3 -c "print(min(float('$t'), float('${best:-$t}')))")
  done
  local rows
  rows=$(python3 -c "import json; print(len(json.load(open('$scratch/page.json'))['rows']))")
  printf '%-34s %7.1f ms  %3s rows\n' "$name" "$(python3 -c "print($best * 1000)")" "$rows"
}
printf 'Activity tab, %s events in one account (best of 5, over HTTP):\n' "$n"
measure "first page"
measure "a deep page (halfway)" --data-urlencode "before=$middle"
measure "kind: a common one" --data-urlencode kind=sign_in.failed
measure "kind: a rare one" --data-urlencode kind=sign_in.locked
measure "one user" --data-urlencode user=3
measure "yesterday" --data-urlencode "from=$(day 1)" --data-urlencode "to=$(day 1)"
measure "a day 300 days ago" --data-urlencode "from=$(day 300)" --data-urlencode "to=$(day 300)"
measure "rare kind, a day 300 days ago" --data-urlencode kind=sign_in.locked \
  --data-urlencode "from=$(day 300)" --data-urlencode "to=$(day 300)"
