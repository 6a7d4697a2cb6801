#!/usr/bin/env python3
"""Load benchmark over real HTTP (see the README, "Load benchmark over HTTP"). Started by
scripts/load-bench.sh, which builds the release server first.

For each size it starts the release server on a scratch database (SQLite, or
PostgreSQL when DATABASE_URL names a server), signs up one admin, seeds the
account with that many users straight into the database, and measures with wrk:
the signed-in page (uncompressed, as wrk asks, and compressed, as a browser
asks), the users tab (first page, a page 90% deep, a search for a
common, a rare and an absent term, for one a tenth of the users hold a third
of the way along the name order, and for a first name a tenth of them have)
and the signed-out log-in page. It prints req/s and p50/p99 under load, p50
one request at a time, the requests that got no answer within wrk's 2 s (a
stalled request: see the README's development notes), and the server's
memory.
"""
import argparse, base64, csv, io, json, os, re, shutil, signal, socket, sqlite3
import subprocess, sys, tempfile, time, urllib.request

FIRST_NAMES = ["Ann", "Bob", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "José"]


def search_grams(text):
    """What entity::user::search_grams writes; checked by the search test below."""
    grams = {text[i:i + n] for n in (1, 2, 3, 4) for i in range(len(text) - n + 1)}
    return " ".join(sorted("g" + g.encode().hex() for g in grams))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, proc):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit("the server stopped; see its log")
        try:
            if urllib.request.urlopen(base + "/readyz", timeout=1).status == 200:
                return
        except Exception:
            time.sleep(0.1)
    sys.exit("the server did not become ready")


def sign_up(base):
    body = ("company_name=Bench&first_name=Ann&last_name=Admin"
            "&email=admin%40bench.example&password=correct-horse-battery-staple").encode()
    req = urllib.request.Request(base + "/fn/sign_up", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        resp = urllib.request.build_opener(NoRedirect).open(req)
        headers = resp.headers
    except urllib.error.HTTPError as e:
        headers = e.headers
    for value in headers.get_all("Set-Cookie") or []:
        if "session=" in value:
            return value.split(";")[0]
    sys.exit("sign-up gave no session cookie")


def person(i):
    first = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = f"Last{i:07d}"
    email = f"user{i:07d}@bench.example"
    name_key = f"{first} {last}".lower()
    text = f"{name_key} {email}"
    return email, first, last, name_key, text, search_grams(text)


def seed(db, account_id, users):
    """`users` rows besides the admin, every tenth invited."""
    if db["kind"] == "sqlite":
        conn = sqlite3.connect(db["path"], timeout=30)
        hash_, created = conn.execute(
            "SELECT password_hash, created_at FROM users WHERE account_id = ?", (account_id,)).fetchone()
        rows = ((account_id, e, f, l, None if i % 10 == 9 else hash_, created, created, n, t,
                 "invited" if i % 10 == 9 else "active", 1 if i % 10 == 9 else 0, g)
                for i, (e, f, l, n, t, g) in ((i, person(i)) for i in range(1, users)))
        conn.executemany(
            "INSERT INTO users (account_id, email, first_name, last_name, password_hash, is_admin,"
            " can_create, can_share, created_at, email_verified_at, name_key, search_text, status,"
            " status_order, two_factor_enabled, search_grams) VALUES (?,?,?,?,?,0,0,0,?,?,?,?,?,?,0,?)",
            rows)
        conn.commit()
        conn.execute("PRAGMA optimize")
        conn.close()
    else:
        out = io.StringIO()
        w = csv.writer(out)
        now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
        for i in range(1, users):
            e, f, l, n, t, g = person(i)
            invited = i % 10 == 9
            w.writerow([account_id, e, f, l, "" if invited else "x", "f", "f", "f", now, now, n, t,
                        "invited" if invited else "active", 1 if invited else 0, "f", g])
        copy = ("\\copy users (account_id, email, first_name, last_name, password_hash, is_admin,"
                " can_create, can_share, created_at, email_verified_at, name_key, search_text,"
                " status, status_order, two_factor_enabled, search_grams)"
                " FROM STDIN WITH (FORMAT csv, NULL '')")
        psql(db, copy, stdin=out.getvalue())
        psql(db, "ANALYZE users")


def psql(db, sql, stdin=None):
    return subprocess.run(["psql", "-qAt", db["url"], "-c", sql], input=stdin, text=True,
                          check=True, capture_output=True).stdout.strip()


def query_one(db, sql):
    if db["kind"] == "sqlite":
        conn = sqlite3.connect(db["path"], timeout=30)
        row = conn.execute(sql).fetchone()
        conn.close()
        return row
    return tuple(psql(db, sql).split("|"))


def wrk(url, cookie, connections, seconds, body=None, headers=()):
    args = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
            "--latency", "-H", "Sec-Fetch-Site: same-origin"]
    for header in headers:
        args += ["-H", header]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    script = None
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write('wrk.method = "POST"\nwrk.body = %s\n'
                     'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                     % json.dumps(body))
        script.close()
        args += ["-s", script.name]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    if script:
        os.unlink(script.name)
    if "Non-2xx" in out:
        sys.exit(f"{url} answered with errors:\n{out}")

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if rps == 0:
        sys.exit(f"{url} answered nothing:\n{out}")
    errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    return rps, ms("50"), ms("99"), int(errors.group(1)) if errors else 0


def memory(proc):
    """The server's resident and peak memory in MB, from /proc."""
    status = open(f"/proc/{proc.pid}/status").read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024
    return rss, peak


def cursor(name_key, id_):
    raw = json.dumps({"Name": {"name_key": name_key, "id": int(id_)}}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def run_size(args, users, server_bin):
    scratch = tempfile.mkdtemp(prefix="console-load-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LEPTOS_ENV="PROD", LEPTOS_OUTPUT_NAME="console", LEPTOS_HASH_FILES="true",
               LEPTOS_SITE_ROOT=os.environ.get("LEPTOS_SITE_ROOT", "target/site"),
               LEPTOS_SITE_ADDR=f"127.0.0.1:{port}", DATA_DIR=scratch, PUBLIC_URL=base,
               RUST_LOG="warn", SHUTDOWN_GRACE_SECONDS=str(STOP_GRACE))
    if args.postgres:
        name = f"load_bench_{users}_{os.getpid()}"
        server = os.environ["DATABASE_URL"]
        subprocess.run(["psql", "-qAt", server, "-c", f"CREATE DATABASE {name}"], check=True)
        db = {"kind": "postgres", "url": server.rsplit("/", 1)[0] + "/" + name}
        env["DATABASE_URL"] = db["url"]
    else:
        env.pop("DATABASE_URL", None)
        db = {"kind": "sqlite", "path": os.path.join(scratch, "console.db")}
    log = open(os.path.join(scratch, "server.log"), "w")
    proc = subprocess.Popen([server_bin, "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_ready(base, proc)
        cookie = sign_up(base)
        account_id = int(query_one(db, "SELECT account_id FROM users")[0])
        started = time.time()
        seed(db, account_id, users)
        seeded = time.time() - started
        deep = query_one(db, "SELECT name_key, id FROM users ORDER BY name_key, id "
                             f"LIMIT 1 OFFSET {int(users * 0.9)}")
        rare = f"user{users // 3:07d}"
        # A tenth of the users (user03… of a million), a third of the way
        # along the name order: far past the rows a search checks first.
        clustered = rare[:4 + 7 - len(str(users - 1)) + 1]
        cases = [
            ("GET /account (signed in)", base + "/account", None, 16),
            # wrk asks for no compression; a browser always does.
            ("GET /account (signed in, compressed as a browser asks)", base + "/account", None,
             16, BROWSER_ENCODINGS),
            ("users tab, first page", base + "/fn/list_users", "sort=name", 8),
            ("users tab, page at 90%", base + "/fn/list_users",
             f"sort=name&after={cursor(deep[0], deep[1])}", 8),
            ('search "last" (common)', base + "/fn/list_users", "search=last&sort=name", 8),
            (f'search "{rare}" (rare)', base + "/fn/list_users", f"search={rare}&sort=name", 8),
            (f'search "{clustered}" (a tenth, past the first rows)', base + "/fn/list_users",
             f"search={clustered}&sort=name", 8),
            ('search "hiro" (a first name: a tenth)', base + "/fn/list_users",
             "search=hiro&sort=name", 8),
            ('search "zzzz" (none)', base + "/fn/list_users", "search=zzzz&sort=name", 8),
            ("GET /login, signed out (reference)", base + "/login", None, 16),
        ]
        print(f"\n{users} users, {db['kind']}, seeded in {seeded:.1f} s; "
              f"server at {memory(proc)[0]} MB")
        print("| request | req/s | p50 ms | p99 ms | 1 at a time p50 ms | no answer in 2 s "
              "| server MB after |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, url, body, conns, *headers in cases:
            headers = headers[0] if headers else ()
            session = None if url.endswith("/login") else cookie
            _, single, _, stalled_alone = wrk(url, session, 1, max(1, args.seconds // 2), body,
                                              headers)
            rps, p50, p99, stalled = wrk(url, session, conns, args.seconds, body, headers)
            rss, _ = memory(proc)
            print(f"| {label} ({conns} conn.) | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {single:.2f} "
                  f"| {stalled + stalled_alone} | {rss} |", flush=True)
        rss, peak = memory(proc)
        print(f"server memory: {rss} MB resident now, {peak} MB at most")
    finally:
        stop(proc, os.path.join(scratch, "server.log"))
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


# What Chromium sends.
BROWSER_ENCODINGS = ("Accept-Encoding: gzip, deflate, br, zstd",)

# The bench's server gets a short grace: a request that stalled near the end
# of a run would otherwise hold the stop for the default 30 s.
STOP_GRACE = 5


def stop(proc, log_path):
    """SIGTERM, then wait for the exit the server promises: within the grace
    plus 5 s to close the database. Says so when it took longer than a moment."""
    signalled = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE + 15)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit(f"the server did not stop within {STOP_GRACE + 15} s of SIGTERM; its log ends:\n"
                 + open(log_path).read()[-3000:])
    took = time.time() - signalled
    if took > 1:
        warnings = [line for line in open(log_path) if "WARN" in line]
        said = re.sub(r"\x1b\[[0-9;]*m", "", "".join(warnings[-3:]))
        print(f"the server took {took:.1f} s to stop: {said}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated user counts (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per case")
    parser.add_argument("--postgres", action="store_true",
                        help="use the PostgreSQL server in DATABASE_URL")
    args = parser.parse_args()
    assert search_grams("ab") == "g61 g6162 g62"
    server_bin = os.environ.get("CONSOLE_SERVER_BIN", "target/release/server")
    for size in args.sizes.split(","):
        run_size(args, int(size), server_bin)


if __name__ == "__main__":
    main()
