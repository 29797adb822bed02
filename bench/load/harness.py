#!/usr/bin/env python3
"""The load harness of pesto: `bench/load/run` (load runs with wrk) and
`bench/load/instructions` (instructions per request under callgrind) both land here.

Run `bench/load/run --help` and `bench/load/instructions --help`; README.md beside this file
says what is measured and how.

Everything talks to 127.0.0.1 only, and every load run is bounded by wrk's `-d`.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(HERE, "target")
RELEASE = os.path.join(TARGET, "release")
DOC = os.path.join(ROOT, "docs", "performance.md")
CHART = os.path.join(HERE, "chart.svg")
RESULTS = os.path.join(HERE, "results")
LOGIN_LUA = os.path.join(HERE, "wrk", "login.lua")

BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
IBEGIN, IEND = "<!-- load:instructions:begin -->", "<!-- load:instructions:end -->"
SBEGIN, SEND = "<!-- load:server-instructions:begin -->", "<!-- load:server-instructions:end -->"

USERNAME, PASSWORD = "bench", "bench-password"
LOGIN_BODY = f"username={USERNAME}&password={PASSWORD}"
ABOUT = "pesto load bench: a page that does not touch the session\n"
REDIS_PREFIX = "pesto-bench:"
SERVER_CORE, CLIENT_CORE = "0", "1"

SCENARIOS = {
    "A": "GET /secure-area, logged in (cookie replayed)",
    "B": "GET /about (does not touch the session)",
    "C": "GET /secure-area without a cookie (302 to /login)",
    "D": "POST /login without a cookie (creates a session)",
    "E": "GET /section500/items/42, 1,000 routes, no session",
}

# The stores of scenarios A–D. `lazy` only matters to pesto: the references are lazy by design.
STORES = {
    "memory-lazy": dict(kind="memory", lazy=True),
    "memory-eager": dict(kind="memory", lazy=False),
    "file-lazy": dict(kind="file", lazy=True),
    "file-eager": dict(kind="file", lazy=False),
    "redis-lazy": dict(kind="redis", lazy=True),
    "redis-eager": dict(kind="redis", lazy=False),
    "postgres-lazy": dict(kind="postgres", lazy=True),
    "postgres-eager": dict(kind="postgres", lazy=False),
}
# The table pesto's PostgreSQL store uses in the bench (created by the server, emptied around runs).
POSTGRES_TABLE = "pesto_bench_sessions"
# The processes whose CPU a store kind adds beside the server's: the store's own server.
STORE_PROCESSES = {"redis": {"redis-server"}, "postgres": {"postgres"}}
DEFAULT_STORES = ["memory-lazy", "memory-eager", "file-lazy", "redis-lazy"]
SERVERS = ["pesto", "axum", "actix"]
# Which store kinds each reference has (pesto has all).
REFERENCE_STORES = {"axum": {"memory"}, "actix": {"memory", "redis"}}
COOKIE_NAMES = {"pesto": "pesto_session", "axum": "id", "actix": "id"}
LABELS = {
    "pesto": "pesto",
    "axum": "axum + tower-sessions",
    "actix": "actix-web + actix-session",
}
STORE_LABELS = {
    ("pesto", "memory"): "MemoryStore",
    ("pesto", "file"): "FileStore (temp dir)",
    ("pesto", "redis"): "RedisStore",
    ("pesto", "postgres"): "PostgresStore",
    ("axum", "memory"): "MemoryStore",
    ("actix", "memory"): "HashMap store (bench's)",
    ("actix", "redis"): "RedisSessionStore",
}


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Tools and build


def ensure_tool(name, package):
    """Installs `package` with apt-get when `name` is missing."""
    if shutil.which(name):
        return
    log(f"{name} is missing: apt-get install -y {package}")
    install = ["apt-get", "install", "-y", package]
    if subprocess.run(install).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(install, check=True)
    if not shutil.which(name):
        raise HarnessError(f"{name} still missing after installing {package}")


def build(skip):
    """Builds every binary in release (its own target dir), unless `skip` and they exist."""
    bins = ["pesto_server", "hyper_baseline", "axum_server", "actix_server", "instructions"]
    if skip and all(os.path.exists(os.path.join(RELEASE, b)) for b in bins):
        return
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    cmd = ["cargo", "build", "--release", "--features", "redis,postgres",
           "--manifest-path", os.path.join(HERE, "Cargo.toml")]
    log("building:", " ".join(cmd))
    if subprocess.run(cmd, env=env).returncode != 0:
        raise HarnessError("the build failed (see above)")


def pesto_revision():
    """The commit pesto was built from, and whether its sources had uncommitted changes."""
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "pesto",
                                "pesto-macros"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{rev}{' with uncommitted changes' if dirty else ''}" if rev else "unknown"


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    return dict(
        nproc=os.cpu_count(),
        cpu=model,
        memory=mem,
        kernel=platform.release(),
        rustc=version(["rustc", "--version"]),
        wrk=version(["wrk", "--version"]) if shutil.which("wrk") else "",
        valgrind=version(["valgrind", "--version"]) if shutil.which("valgrind") else "",
        redis=version(["redis-server", "--version"]) if shutil.which("redis-server") else "",
    )


# --------------------------------------------------------------------------------------------
# Redis (only 127.0.0.1, only keys under the bench prefix)


def redis_address(url):
    parsed = urllib.parse.urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in ("127.0.0.1", "localhost"):
        raise HarnessError(f"Redis must be on 127.0.0.1 for the bench, not {host}")
    return "127.0.0.1", port


def resp_command(sock_file, *args):
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock_file.write(out)
    sock_file.flush()
    return resp_read(sock_file)


def resp_read(f):
    line = f.readline()
    if not line:
        raise HarnessError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b":"):
        return rest.decode()
    if kind == b"-":
        raise HarnessError(f"Redis: {rest.decode()}")
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        return [resp_read(f) for _ in range(int(rest))]
    raise HarnessError(f"unexpected Redis reply {line!r}")


def redis_ping(url):
    try:
        with socket.create_connection(redis_address(url), timeout=2) as s:
            f = s.makefile("rwb")
            return resp_command(f, "PING") == "PONG"
    except (OSError, HarnessError):
        return False


def redis_flush_bench_keys(url):
    """Deletes the keys under the bench prefix (and nothing else); returns how many."""
    deleted = 0
    with socket.create_connection(redis_address(url), timeout=10) as s:
        f = s.makefile("rwb")
        cursor = "0"
        while True:
            cursor, keys = resp_command(f, "SCAN", cursor, "MATCH", REDIS_PREFIX + "*", "COUNT", 1000)
            cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
            if keys:
                deleted += int(resp_command(f, "UNLINK", *keys))
            if cursor == "0":
                return deleted


# --------------------------------------------------------------------------------------------
# Servers


class Server:
    """One server process pinned to the server core, on a free port of 127.0.0.1."""

    def __init__(self, name, argv, tmpdir=None):
        self.name, self.argv, self.tmpdir = name, argv, tmpdir
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE] + argv,
            stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL,
        )
        self.pid = self.proc.pid  # taskset execs the server: same pid
        line = self._read_line(timeout=15)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line or "")
        if not m:
            self.stop()
            raise HarnessError(f"{name} did not start: {line!r} {self.errors()}")
        self.port = int(m.group(1))

    def _read_line(self, timeout):
        deadline = time.time() + timeout
        buf = b""
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    return buf.split(b"\n", 1)[0].decode(errors="replace")
            elif self.proc.poll() is not None:
                break
        return buf.decode(errors="replace") or None

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-2000:]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]), int(rest[12])  # utime, stime (fields 14 and 15)

    def peak_rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def postgres_empty_bench_table(url):
    """Empties the bench's session table, if it exists (the server creates it)."""
    sql = (f"DO $$ BEGIN IF to_regclass('{POSTGRES_TABLE}') IS NOT NULL THEN "
           f"TRUNCATE {POSTGRES_TABLE}; END IF; END $$;")
    proc = subprocess.run(["psql", "-q", "-X", url, "-c", sql], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HarnessError(f"psql {url}: {proc.stderr.strip()}")


def postgres_ready(url):
    return subprocess.run(["psql", "-q", "-X", url, "-c", "SELECT 1"],
                          capture_output=True).returncode == 0


def store_server_ticks(kind):
    """utime + stime of every process of the store's own server (all PostgreSQL backends), in
    clock ticks; 0 for stores without one."""
    names = STORE_PROCESSES.get(kind, set())
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.find("(") + 1:text.rfind(")")]
        if comm in names:
            rest = text.rsplit(")", 1)[1].split()
            total += int(rest[11]) + int(rest[12])
    return total


def server_argv(server, scenario, store, redis_url, postgres_url=None):
    """The command line of `server` for `scenario` and `store`, and a temp dir to remove."""
    if server == "baseline":
        return [os.path.join(RELEASE, "hyper_baseline")], None
    binary = os.path.join(RELEASE, f"{server}_server")
    if scenario == "E":
        return [binary, "--app", "routes"], None
    kind, lazy = STORES[store]["kind"], STORES[store]["lazy"]
    tmpdir = None
    if kind == "memory":
        spec = "memory"
    elif kind == "file":
        tmpdir = tempfile.mkdtemp(prefix="pesto-load-sessions-")
        spec = f"file:{tmpdir}"
    elif kind == "postgres":
        spec = postgres_url
    else:
        spec = redis_url
    argv = [binary, "--app", "secure", "--store", spec]
    if server == "pesto" and lazy:
        argv.append("--lazy")
    return argv, tmpdir


# --------------------------------------------------------------------------------------------
# Checks (curl), before any measurement


def curl(url, method="GET", body=None, cookie=None):
    cmd = ["curl", "-sS", "-i", "--max-time", "5", "-X", method]
    if body is not None:
        cmd += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-raw", body]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, timeout=10)
    if out.returncode != 0:
        raise HarnessError(f"curl {method} {url}: {out.stderr.decode().strip()}")
    head, _, payload = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers, payload.decode("utf-8", errors="replace")


def header_values(headers, name):
    return [v for n, v in headers if n == name]


def scenario_request(scenario):
    """(method, path, body) of a scenario."""
    return {
        "A": ("GET", "/secure-area", None),
        "B": ("GET", "/about", None),
        "C": ("GET", "/secure-area", None),
        "D": ("POST", "/login", LOGIN_BODY),
        "E": ("GET", "/section500/items/42", None),
    }[scenario]


def expect(cond, what, context):
    if not cond:
        raise HarnessError(f"check failed: {what} ({context})")


def check_location(srv, headers, path, context):
    locations = header_values(headers, "location")
    expect(len(locations) == 1, f"one Location, got {locations}", context)
    resolved = urllib.parse.urlparse(urllib.parse.urljoin(srv.url("/"), locations[0]))
    expect(resolved.path == path and resolved.netloc in ("", f"127.0.0.1:{srv.port}"),
           f"Location to {path}, got {locations[0]!r}", context)


def check_cookie(headers, cookie_name, wanted, context):
    names = [v.split("=", 1)[0].strip() for v in header_values(headers, "set-cookie")]
    if wanted:
        expect(names == [cookie_name], f"Set-Cookie {cookie_name}=…, got {names}", context)
    else:
        expect(not names, f"no Set-Cookie, got {names}", context)


def login(srv, server):
    """Logs in once with curl, checks the answer, returns the cookie to replay."""
    context = f"{server} POST /login"
    status, headers, _ = curl(srv.url("/login"), "POST", LOGIN_BODY)
    expect(status == 302, f"302, got {status}", context)
    check_location(srv, headers, "/secure-area", context)
    cookie_name = COOKIE_NAMES[server]
    check_cookie(headers, cookie_name, True, context)
    return header_values(headers, "set-cookie")[0].split(";", 1)[0].strip()


def check(srv, server, scenario, store, cookie):
    """Checks status, body, Location and Set-Cookie of the scenario's request on `srv`."""
    method, path, body = scenario_request(scenario)
    context = f"{server} {store or ''} scenario {scenario}: {method} {path}"
    status, headers, text = curl(srv.url(path), method, body, cookie)
    if server == "baseline":
        expect(status == 200 and text == "ok", f"200 'ok', got {status} {text[:60]!r}", context)
        expect(not header_values(headers, "location"), "no Location", context)
        check_cookie(headers, "", False, context)
        return
    eager = server == "pesto" and store is not None and not STORES[store]["lazy"]
    name = COOKIE_NAMES[server]
    if scenario == "A":
        expect(status == 200, f"200, got {status}", context)
        expect(f"Welcome to the secure area, {USERNAME}" in text, "the welcome text", context)
        check_cookie(headers, name, False, context)
    elif scenario == "B":
        expect(status == 200 and text == ABOUT, f"200 with the about text, got {status}", context)
        check_cookie(headers, name, eager, context)
    elif scenario == "C":
        expect(status == 302, f"302, got {status}", context)
        check_location(srv, headers, "/login", context)
        check_cookie(headers, name, eager, context)
    elif scenario == "D":
        expect(status == 302, f"302, got {status}", context)
        check_location(srv, headers, "/secure-area", context)
        check_cookie(headers, name, True, context)
    elif scenario == "E":
        expect(status == 200 and text == "section 500 item 42\n",
               f"200 'section 500 item 42', got {status} {text[:60]!r}", context)
        check_cookie(headers, name, False, context)


# --------------------------------------------------------------------------------------------
# wrk


def parse_duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        return None
    scale = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}[m.group(2)]
    return float(m.group(1)) * scale


def wrk(srv, scenario, cookie, seconds, connections):
    """Runs wrk pinned to the client core; returns its parsed output."""
    method, path, _ = scenario_request(scenario)
    cmd = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
           "--timeout", "5s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    if method == "POST":
        cmd += ["-s", LOGIN_LUA]
    cmd.append(srv.url(path))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout
    if out.returncode != 0:
        raise HarnessError(f"wrk failed: {out.stderr.strip()} {text}")
    result = dict(non2xx3xx=0, socket_errors=0)
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if not m:
        raise HarnessError(f"cannot read wrk's output:\n{text}")
    result["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    result["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M)
        result[f"p{pct}_us"] = parse_duration_us(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        result["non2xx3xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        result["socket_errors"] = sum(int(x) for x in m.groups())
    return result


# --------------------------------------------------------------------------------------------
# One run: a fresh server, checked, warmed up, measured


def measured_run(server, scenario, store, args, cookie_for_baseline=None):
    argv, tmpdir = server_argv(server, scenario, store, args.redis, args.postgres)
    kind = STORES[store]["kind"] if server != "baseline" and store is not None else None
    redis, postgres = kind == "redis", kind == "postgres"
    if redis:
        redis_flush_bench_keys(args.redis)
    if postgres:
        postgres_empty_bench_table(args.postgres)
    srv = Server(server, argv, tmpdir)
    try:
        cookie = None
        if scenario == "A":
            cookie = cookie_for_baseline if server == "baseline" else login(srv, server)
        check(srv, server, scenario, None if server == "baseline" else store, cookie)
        wrk(srv, scenario, cookie, args.warmup, args.connections)
        u0, s0 = srv.cpu_ticks()
        store0 = store_server_ticks(kind)
        result = wrk(srv, scenario, cookie, args.duration, args.connections)
        u1, s1 = srv.cpu_ticks()
        store1 = store_server_ticks(kind)
        if not srv.alive():
            raise HarnessError(f"{server} died during the run: {srv.errors()}")
        hz = os.sysconf("SC_CLK_TCK")
        result.update(
            user_s=(u1 - u0) / hz,
            sys_s=(s1 - s0) / hz,
            peak_rss_kib=srv.peak_rss_kib(),
            cookie=cookie,
        )
        n = max(result["requests"], 1)
        result["user_us_per_req"] = result["user_s"] * 1e6 / n
        result["sys_us_per_req"] = result["sys_s"] * 1e6 / n
        # The store server's user + system CPU (Redis, all PostgreSQL backends), beside pesto's.
        result["store_us_per_req"] = (store1 - store0) / hz * 1e6 / n if kind in STORE_PROCESSES \
            else None
        return result
    finally:
        srv.stop()
        if redis:
            redis_flush_bench_keys(args.redis)
        if postgres:
            postgres_empty_bench_table(args.postgres)


def rows_to_run(args):
    """(scenario, server, store) of every row, in table order. The references are lazy by
    design: they get one row per store kind, after pesto's first row of that kind."""
    rows = []
    for scenario in args.scenarios:
        if scenario == "E":
            rows += [("E", server, None) for server in args.servers]
            continue
        for store in args.stores:
            kind = STORES[store]["kind"]
            for server in args.servers:
                if server == "pesto":
                    rows.append((scenario, server, store))
                elif kind in REFERENCE_STORES[server] and \
                        (scenario, server, f"{kind}-lazy") not in rows:
                    rows.append((scenario, server, f"{kind}-lazy"))
    return rows


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(pairs):
    """Medians over the pairs of a row, with the per-pair ratios to the baseline."""
    target = [p["target"] for p in pairs]
    base = [p["baseline"] for p in pairs]
    rps_ratios = [t["rps"] / b["rps"] for t, b in zip(target, base) if b["rps"]]
    user_multiples = [t["user_us_per_req"] / b["user_us_per_req"]
                      for t, b in zip(target, base) if b["user_us_per_req"] > 0]
    out = {}
    for key in ("rps", "p50_us", "p99_us", "peak_rss_kib", "user_us_per_req", "sys_us_per_req"):
        out[key] = median([t[key] for t in target])
        out["baseline_" + key] = median([b[key] for b in base])
    out["store_us_per_req"] = median([t.get("store_us_per_req") for t in target])
    out["rps_ratio"] = median(rps_ratios)
    out["rps_ratio_range"] = (min(rps_ratios), max(rps_ratios)) if rps_ratios else None
    out["user_multiple"] = median(user_multiples)
    out["user_multiple_range"] = (min(user_multiples), max(user_multiples)) if user_multiples else None
    out["errors"] = sum(t["non2xx3xx"] + t["socket_errors"] for t in target) + \
        sum(b["non2xx3xx"] + b["socket_errors"] for b in base)
    out["requests"] = sum(t["requests"] for t in target)
    return out


def report_only(args):
    """Rewrites the table, the chart and the docs section from the last run's results."""
    with open(os.path.join(RESULTS, "load.json")) as f:
        report = json.load(f)
    table = load_table(report)
    print(table)
    if not args.no_docs:
        with open(CHART, "w") as f:
            f.write(svg_chart(report))
        write_docs(load_section(report, table))
    return 0


def run_load(args):
    if args.report_only:
        return report_only(args)
    ensure_tool("wrk", "wrk")
    ensure_tool("taskset", "util-linux")
    ensure_tool("curl", "curl")
    if (os.cpu_count() or 1) < 2:
        raise HarnessError("needs 2 cores: the server on core 0, wrk on core 1")
    build(args.no_build)
    revision = pesto_revision()
    notes = []
    if any(STORES[s]["kind"] == "redis" for s in args.stores) and not redis_ping(args.redis):
        notes.append(f"Redis did not answer at {args.redis}: its rows were skipped.")
        log(notes[-1])
        args.stores = [s for s in args.stores if STORES[s]["kind"] != "redis"]
    if any(STORES[s]["kind"] == "postgres" for s in args.stores):
        ensure_tool("psql", "postgresql-client")
        if not postgres_ready(args.postgres):
            notes.append(f"PostgreSQL did not answer at {args.postgres}: its rows were skipped.")
            log(notes[-1])
            args.stores = [s for s in args.stores if STORES[s]["kind"] != "postgres"]
    rows = rows_to_run(args)
    log(f"{len(rows)} rows × {args.pairs} pairs (baseline + server), "
        f"{args.warmup} s warm-up + {args.duration} s each")
    results = []
    failed = False
    for scenario, server, store in rows:
        label = f"{scenario} {server} {store or ''}".strip()
        pairs = []
        try:
            cookie = None
            for i in range(args.pairs):
                # Alternate the order inside the pairs, so a drift of the machine hits both.
                order = ["target", "baseline"] if i % 2 == 0 else ["baseline", "target"]
                pair = {}
                for who in order:
                    if who == "target":
                        pair["target"] = measured_run(server, scenario, store, args)
                        cookie = pair["target"]["cookie"]
                    else:
                        pair["baseline"] = measured_run("baseline", scenario, store, args,
                                                        cookie_for_baseline=cookie)
                pairs.append(pair)
                t, b = pair["target"], pair["baseline"]
                log(f"  {label} pair {i + 1}: {t['rps']:,.0f} req/s vs {b['rps']:,.0f} "
                    f"(user {t['user_us_per_req']:.1f} vs {b['user_us_per_req']:.1f} µs/req)")
            summary = summarize(pairs)
            if summary["errors"]:
                failed = True
                log(f"  {label}: {summary['errors']} non-2xx/3xx responses or socket errors")
            results.append(dict(scenario=scenario, server=server, store=store,
                                summary=summary, pairs=pairs))
        except HarnessError as e:
            failed = True
            log(f"  {label}: {e}")
            results.append(dict(scenario=scenario, server=server, store=store, error=str(e)))
    report = dict(
        date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        quick=args.quick, duration=args.duration, warmup=args.warmup, pairs=args.pairs,
        connections=args.connections, machine=machine(), notes=notes, results=results,
        pesto=revision,
        command=" ".join(["bench/load/run"] + args.argv),
    )
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "load.json"), "w") as f:
        json.dump(report, f, indent=1)
    table = load_table(report)
    print(table)
    if not args.no_docs:
        with open(CHART, "w") as f:
            f.write(svg_chart(report))
        write_docs(load_section(report, table))
        log(f"wrote {os.path.relpath(DOC, ROOT)} (between {BEGIN} and {END}) and "
            f"{os.path.relpath(CHART, ROOT)}")
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------
# Report: markdown table, SVG chart, docs section


def fmt_us(us):
    if us is None:
        return "–"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def fmt_store_cpu(us):
    return "–" if us is None else f"{us:.1f}"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def fmt_range(value, rng, digits=2):
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    if rng and len(rng) == 2 and rng[0] != rng[1]:
        text += f" ({rng[0]:.{digits}f}–{rng[1]:.{digits}f})"
    return text


FRAMEWORKS = {"pesto": "pesto", "axum": "axum", "actix": "actix-web"}


def row_label(r):
    server, store = r["server"], r["store"]
    if store is None:
        return FRAMEWORKS[server], "–"
    kind = STORES[store]["kind"]
    name = STORE_LABELS[(server, kind)]
    if server == "pesto":
        name += ", lazy" if STORES[store]["lazy"] else ", eager"
    return LABELS[server], name


def load_table(report):
    head = ("| scenario | server | store | req/s | × baseline req/s | p50 | p99 | peak RSS "
            "| user CPU µs/req | sys CPU µs/req | **user CPU × baseline** | store server CPU µs/req "
            "| non-2xx/3xx |")
    lines = [head, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    last_scenario = None
    for r in report["results"]:
        server, store = row_label(r)
        if r["scenario"] != last_scenario and "summary" in r:
            # The baseline row of the scenario: bare hyper's medians over this scenario's pairs.
            runs = [p["baseline"] for x in report["results"] if x["scenario"] == r["scenario"]
                    and "pairs" in x for p in x["pairs"]]
            lines.append(
                f"| {r['scenario']} | bare hyper (baseline) | – | "
                f"{median([b['rps'] for b in runs]):,.0f} | 1 | "
                f"{fmt_us(median([b['p50_us'] for b in runs]))} | "
                f"{fmt_us(median([b['p99_us'] for b in runs]))} | "
                f"{fmt_mib(median([b['peak_rss_kib'] for b in runs]))} | "
                f"{median([b['user_us_per_req'] for b in runs]):.1f} | "
                f"{median([b['sys_us_per_req'] for b in runs]):.1f} | 1 | – | "
                f"{sum(b['non2xx3xx'] + b['socket_errors'] for b in runs)} |")
            last_scenario = r["scenario"]
        if "error" in r:
            lines.append(f"| {r['scenario']} | {server} | {store} | failed: {r['error'][:120]} "
                         "| | | | | | | | | |")
            continue
        s = r["summary"]
        lines.append(
            f"| {r['scenario']} | {server} | {store} | {s['rps']:,.0f} | "
            f"{fmt_range(s['rps_ratio'], s['rps_ratio_range'])} | {fmt_us(s['p50_us'])} | "
            f"{fmt_us(s['p99_us'])} | {fmt_mib(s['peak_rss_kib'])} | "
            f"{s['user_us_per_req']:.1f} | {s['sys_us_per_req']:.1f} | "
            f"**{fmt_range(s['user_multiple'], s['user_multiple_range'], 1)}** | "
            f"{fmt_store_cpu(s.get('store_us_per_req'))} | {s['errors']} |")
    return "\n".join(lines)


CAP = 20  # the chart's axis stops here (see svg_chart)
# One hue per framework, lighter for each further store: pesto green, axum blue, actix orange.
PALETTES = {
    "pesto": ["#1b5e3b", "#4f9a6a", "#8cc79a", "#c6e6c9", "#0c3320", "#a9d3b0"],
    "axum": ["#3b5ba0", "#7d9bd6", "#b8c9ea"],
    "actix": ["#b3542d", "#e08d5c", "#f1bf9c"],
}


def esc(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def svg_chart(report):
    """A grouped bar chart: per scenario, each server's user CPU per request as a multiple of
    bare hyper's (median over the pairs; the whisker spans the pairs)."""
    ok = [r for r in report["results"] if "summary" in r and r["summary"]["user_multiple"]]
    scenarios = [s for s in SCENARIOS if any(r["scenario"] == s for r in ok)]

    def series_of(r):
        server, store = row_label(r)
        return f"{server}, {store}" if r["store"] else f"{server} (no session)"

    series = list(dict.fromkeys(series_of(r) for r in ok))
    values = {(r["scenario"], series_of(r)): r["summary"] for r in ok}
    colors = {}
    for r in ok:
        key = series_of(r)
        if key not in colors:
            palette = PALETTES[r["server"]]
            if r["store"] is None:
                colors[key] = palette[0]  # scenario E: the framework's own colour
            else:
                used = sum(1 for k in colors if k.startswith(row_label(r)[0] + ","))
                colors[key] = palette[used % len(palette)]
    top = max([s["user_multiple_range"][1] if s["user_multiple_range"] else s["user_multiple"]
               for s in values.values()] + [1.0])
    # An outlier (actix-web's linear routing in E) would flatten every other bar: the axis
    # stops at CAP and taller bars are cut, with their value written above the cut.
    top = min(top, CAP)
    step = 1 if top <= 8 else 2 if top <= 16 else 5
    ymax = (int(top / step) + 1) * step
    width, left, right, top_pad, plot_h = 900, 60, 20, 40, 300
    legend_h = 18 * (len([k for k in series if not k.endswith("(no session)")]) + 1) + 10
    height = top_pad + plot_h + 40 + legend_h
    plot_w = width - left - right
    group_w = plot_w / max(len(scenarios), 1)
    bar_w = min(28, (group_w - 20) / max(len(series), 1))

    def y(v):
        return top_pad + plot_h - min(v, ymax) / ymax * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14" font-weight="bold">User CPU per request, '
           f'as a multiple of bare hyper (median of {report["pairs"]} pairs'
           f'{"; quick run, noisy" if report["quick"] else ""}'
           f'{f"; bars cut at {ymax}×" if any(v["user_multiple"] > ymax for v in values.values()) else ""})'
           '</text>']
    v = 0
    while v <= ymax:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}×</text>')
        v += step
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(1):.1f}" y2="{y(1):.1f}" '
               f'stroke="#000" stroke-dasharray="4 3"/>')
    for gi, scenario in enumerate(scenarios):
        gx = left + gi * group_w
        present = [k for k in series if (scenario, k) in values]
        start = gx + (group_w - bar_w * len(present)) / 2
        for bi, key in enumerate(present):
            s = values[(scenario, key)]
            color = colors[key]
            x = start + bi * bar_w
            out.append(f'<rect x="{x:.1f}" y="{y(s["user_multiple"]):.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{y(0) - y(s["user_multiple"]):.1f}" fill="{color}">'
                       f'<title>{esc(scenario + ": " + key)}: {s["user_multiple"]:.2f}×</title></rect>')
            if s["user_multiple_range"]:
                lo, hi = s["user_multiple_range"]
                cx = x + (bar_w - 2) / 2
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" '
                           f'stroke="#333"/>')
            if s["user_multiple"] > ymax:
                out.append(f'<path d="M{x:.1f} {y(ymax) + 8:.1f} l{(bar_w - 2) / 2:.1f} -5 '
                           f'l{(bar_w - 2) / 2:.1f} 5" stroke="white" stroke-width="2" fill="none"/>')
            label_at = max(s["user_multiple"], s["user_multiple_range"][1]
                           if s["user_multiple_range"] else 0)
            out.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y(label_at) - 3:.1f}" '
                       f'text-anchor="middle" font-size="9">{s["user_multiple"]:.1f}</text>')
        out.append(f'<text x="{gx + group_w / 2:.1f}" y="{top_pad + plot_h + 18}" '
                   f'text-anchor="middle" font-weight="bold">{scenario}</text>')
        out.append(f'<text x="{gx + group_w / 2:.1f}" y="{top_pad + plot_h + 32}" '
                   f'text-anchor="middle" font-size="10">{esc(SCENARIOS[scenario].split(",")[0].split(" (")[0])}</text>')
    ly = top_pad + plot_h + 50
    legend = [k for k in series if not k.endswith("(no session)")]
    for i, key in enumerate(legend):
        out.append(f'<rect x="{left}" y="{ly + i * 18}" width="12" height="12" '
                   f'fill="{colors[key]}"/>')
        out.append(f'<text x="{left + 18}" y="{ly + i * 18 + 10}">{esc(key)}</text>')
    e_bars = [k.replace(" (no session)", "") for k in series if k.endswith("(no session)")]
    if e_bars:
        out.append(f'<text x="{left}" y="{ly + len(legend) * 18 + 10}">E, no session: '
                   f'{esc(", ".join(e_bars))}, each in its framework\'s first colour</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


METHOD = """\
## Load: pesto against bare hyper and two references

What is measured: whole requests over loopback, by
[`bench/load/run`](../bench/load/README.md). The server is pinned to core 0 and
[wrk](https://github.com/wg/wrk) (one thread, {connections} connections, keep-alive) to core 1
with `taskset`. Every server runs on one thread: Tokio's `current_thread` runtime for bare
hyper, pesto and axum, and `workers(1)` for actix-web (whose worker is the same kind of runtime,
plus an accept thread). pesto's access-log event is off (no `tracing` subscriber installed).
Each row alternates runs of the server and of the **baseline** — a bare hyper 1 + hyper-util
server answering `200 ok` to the same request — in {pairs} pairs; every run starts a fresh
process, checks the scenario's status, body, `Location` and `Set-Cookie` with curl, warms up
for {warmup} s and then measures for {duration} s. Reported: medians over the pairs, and the
ratios to the baseline of the same pair (median, with the range over the pairs in
parentheses). The CPU columns are the server process's user and system time over the measured
run (`utime`/`stime` from `/proc/PID/stat`, all threads) divided by the requests wrk made;
peak RSS is `VmHWM` from `/proc/PID/status` at the end of the run (warm-up included);
non-2xx/3xx counts wrk's "Non-2xx or 3xx responses" plus its socket errors, in every run of
the row (it must be 0). Each scenario's first row is bare hyper itself: the medians of all
its baseline runs. CPU times come in clock ticks (1/100 s), so short runs give coarse CPU
figures; Redis's own CPU (another process, not pinned) is not counted.

**User CPU per request as a multiple of bare hyper's** is the figure to read: it does not
depend on whether wrk or the server saturates a core, and the baseline of the same pair
cancels most of the machine's drift. Req/s and latencies depend on that saturation (and p50
is mostly queueing behind {connections} connections); read them as ratios too.

The app has exactly `examples/secure_area.rs`'s semantics (its handlers and pages, plus
`/about`): `POST /login` with the form fields `username`/`password` sets the session's
username and `logged_in`, calls `cycle_id()` and answers 302 to `/secure-area`; `GET
/secure-area` answers 200 "Welcome to the secure area, NAME" when logged in, else 302 to
`/login`.

| scenario | request |
|---|---|
{scenario_rows}

Stores for A–D: pesto's `MemoryStore` in lazy mode (a session is created only once data is
written) and in eager mode (pesto's default: every client without a cookie gets a stored
session and a cookie, so B and C create one per request), its `FileStore` in a fresh temp dir
and its `RedisStore` (keys under `pesto-bench:`, deleted after each run) against Redis on
127.0.0.1. The references, with the same handlers and pages: **axum 0.8 + tower-sessions 0.14**
with its `MemoryStore`, and **actix-web 4 + actix-session 0.11** with a `HashMap` store written
in `bench/load` (actix-session ships no memory store; its `CookieSessionStore`, which keeps the
whole session in the cookie, is not comparable) and with its `RedisSessionStore`. Both are lazy
by design, so they compare with pesto's lazy rows; actix-session also insists on signing its
cookie (signed, HMAC, here), while pesto and tower-sessions send the plain id. In E,
actix-web tries its resources one after another, so its cost grows with the position of the
matched route (the 501st here); pesto's and axum's routers are trees.
"""

INSTRUCTIONS_PLACEHOLDER = """\
*Not run yet: `bench/load/instructions` writes its table here.*
"""


def load_section(report, table):
    m = report["machine"]
    quick = report["quick"]
    scenario_rows = "\n".join(f"| {k} | {v} |" for k, v in SCENARIOS.items())
    parts = [BEGIN, "", METHOD.format(connections=report["connections"], pairs=report["pairs"],
                                      warmup=report["warmup"], duration=report["duration"],
                                      scenario_rows=scenario_rows)]
    parts.append("Command (from the workspace root; it builds, installs wrk if missing, runs "
                 "everything and rewrites this section and the chart):\n")
    parts.append("```text\nbench/load/run\n```\n")
    parts.append("Options: `--duration S`, `--warmup S`, `--pairs N`, `--connections N`, "
                 "`--scenarios A,B,C,D,E`, `--stores memory-lazy,memory-eager,file-lazy,"
                 "file-eager,redis-lazy,redis-eager`, `--servers pesto,axum,actix`, "
                 "`--redis URL`, `--quick`, `--no-docs`, `--report-only` (rewrite this section from the "
                 "last run's saved results); see `bench/load/run --help`.\n")
    title = "Result"
    if quick:
        title += (" — **quick run** (`--quick`: {d} s runs after {w} s of warm-up): a smoke test "
                  "of the harness on a shared machine, noisy; do not quote it").format(
                      d=report["duration"], w=report["warmup"])
    # Brackets would be read as (broken) intra-doc links by rustdoc, which includes this file.
    machine_text = (f"{m['nproc']} cores, {m['cpu']}, {m['memory']}, Linux {m['kernel']}; "
                    f"{m['rustc']}; {m['wrk'].split(' Copyright')[0].split(' [')[0]}"
                    f"{'; ' + m['redis'].split(' sha=')[0] if m['redis'] else ''}")
    machine_text = re.sub(r"[\[\]]", "", machine_text)
    built = f"pesto at {report['pesto']}; " if report.get("pesto") else ""
    parts.append(f"{title}. Run of {report['date']}, `{report['command']}`; {built}"
                 f"machine: {machine_text}.\n")
    for note in report["notes"]:
        parts.append(f"Note: {note}\n")
    parts.append(table + "\n")
    parts.append("![User CPU per request as a multiple of bare hyper's, per scenario and "
                 "server](../bench/load/chart.svg)\n")
    parts.append("### Instructions per request (in process)\n")
    parts.append(INSTRUCTIONS_INTRO)
    parts.append(IBEGIN)
    parts.append(current_instructions_block())
    parts.append(IEND)
    parts.append("")
    parts.append(END)
    return "\n".join(parts)


INSTRUCTIONS_INTRO = """\
A measure that a busy machine does not disturb: `bench/load/instructions` serves a fixed
request mix over an in-memory `tokio::io::duplex` connection, hyper's HTTP/1.1 client on one
end and hyper's HTTP/1.1 server on the other, once with the bare-hyper service and once with
`pesto::PestoService::new(app)` — the same hyper path, so the difference is pesto's — under
`valgrind --tool=callgrind`, for N and 2N requests; it prints (Ir(2N) − Ir(N)) / N, which
cancels the start-up, the set-up (scenario A's login) and the exit. pesto's app here is the
secure-area app over a `MemoryStore` (lazy unless `--eager`) or the 1,000-route app for E.
"pesto − bare" is what pesto adds to a request; "pesto ÷ bare" has hyper's client as well as
its server in both terms, so it is smaller than the server-side multiple of the load runs.

```text
bench/load/instructions
```
"""


def current_instructions_block():
    try:
        with open(DOC) as f:
            text = f.read()
    except OSError:
        return INSTRUCTIONS_PLACEHOLDER
    if IBEGIN in text and IEND in text:
        return text.split(IBEGIN, 1)[1].split(IEND, 1)[0].strip("\n") + "\n"
    return INSTRUCTIONS_PLACEHOLDER


def write_docs(section):
    with open(DOC) as f:
        text = f.read()
    if BEGIN in text and END in text:
        before = text.split(BEGIN, 1)[0]
        after = text.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(DOC, "w") as f:
        f.write(text)


def write_block(block, begin, end, missing):
    """Writes `block` between the markers `begin` and `end` of the docs; where they are not
    there yet, `missing(text, marked)` places the marked block in the text."""
    with open(DOC) as f:
        text = f.read()
    marked = begin + "\n" + block + end
    if begin in text and end in text:
        text = text.split(begin, 1)[0] + marked + text.split(end, 1)[1]
    else:
        text = missing(text, marked)
    with open(DOC, "w") as f:
        f.write(text)


def write_instructions_block(block):
    def inside_the_load_section(text, marked):
        if BEGIN not in text:
            raise HarnessError(f"{DOC} has no {BEGIN} section yet: run bench/load/run first, "
                               "or pass --no-docs")
        before, after = text.split(END, 1)
        return before + marked + "\n\n" + END + after
    write_block(block, IBEGIN, IEND, inside_the_load_section)


# --------------------------------------------------------------------------------------------
# Instructions per request


def callgrind_ir(argv):
    with tempfile.TemporaryDirectory(prefix="pesto-load-callgrind-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               "--dump-instr=no", "--compress-strings=no"] + argv
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise HarnessError(f"{' '.join(argv)} failed under callgrind:\n{proc.stderr[-2000:]}")
        with open(out) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1])
    raise HarnessError("no totals in callgrind's output")


def run_instructions(args):
    ensure_tool("valgrind", "valgrind")
    build(args.no_build)
    revision = pesto_revision()
    binary = os.path.join(RELEASE, "instructions")
    n = args.requests
    rows = []
    for scenario in args.scenarios:
        per = {}
        for server in ("bare", "pesto"):
            argv = [binary, "--server", server, "--scenario", scenario.lower(),
                    "--store", "memory"] + (["--eager"] if args.eager else [])
            ir_n = callgrind_ir(argv + ["--requests", str(n)])
            ir_2n = callgrind_ir(argv + ["--requests", str(2 * n)])
            per[server] = (ir_2n - ir_n) / n
            log(f"  {scenario} {server}: Ir({n}) = {ir_n:,}, Ir({2 * n}) = {ir_2n:,}, "
                f"{per[server]:,.0f} per request")
        rows.append((scenario, per["bare"], per["pesto"]))
    mode = "eager" if args.eager else "lazy"
    lines = [f"Run of {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, N = {n}, "
             f"pesto's `MemoryStore` {mode}, pesto at {revision}; "
             f"{machine()['valgrind']}.\n",
             "| scenario | bare hyper, Ir/request | pesto, Ir/request | pesto ÷ bare | "
             "pesto − bare |",
             "|---|--:|--:|--:|--:|"]
    for scenario, bare, pesto in rows:
        lines.append(f"| {scenario}: {SCENARIOS[scenario]} | {bare:,.0f} | {pesto:,.0f} | "
                     f"{pesto / bare:.2f} | {pesto - bare:,.0f} |")
    block = "\n".join(lines) + "\n"
    print(block)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "instructions.json"), "w") as f:
        json.dump(dict(requests=n, eager=args.eager,
                       rows=[dict(scenario=s, bare=b, pesto=p) for s, b, p in rows]), f, indent=1)
    if not args.no_docs:
        write_instructions_block(block)
        log(f"wrote {os.path.relpath(DOC, ROOT)} (between {IBEGIN} and {IEND})")
    return 0


# --------------------------------------------------------------------------------------------
# Instructions per request of the real servers


def callgrind_control(pid, command):
    out = subprocess.run(["callgrind_control", command, str(pid)], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise HarnessError(f"callgrind_control {command} {pid}: {out.stderr.strip()}")


def callgrind_totals(path):
    """The events of a callgrind dump and their totals: {"Ir": .., "I1mr": .., ..}."""
    events, totals = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith(("summary:", "totals:")):
                totals = [int(x) for x in line.split()[1:]]
                break
    return dict(zip(events, totals))


def server_instructions_run(server, scenario, args, tmp, baseline_cookie=None):
    """Instructions per request of `server` answering `scenario`, one connection: the server
    runs under callgrind; after a check and a warm-up the counters are zeroed, wrk sends requests
    for `args.duration` seconds, the counters are dumped: Ir of the dump ÷ requests."""
    argv, tmpdir = server_argv(server, scenario, "memory-lazy", args.redis)
    out = os.path.join(tmp, f"{server}-{scenario}.out")
    cache = ["--cache-sim=yes"] if args.cache else []
    srv = Server(server, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          "--dump-instr=no"] + cache + argv, tmpdir)
    try:
        cookie = None
        if scenario == "A":
            cookie = baseline_cookie if server == "baseline" else login(srv, server)
        check(srv, server, scenario, None if server == "baseline" else "memory-lazy", cookie)
        wrk(srv, scenario, cookie, 1, 1)
        callgrind_control(srv.pid, "-z")
        result = wrk(srv, scenario, cookie, args.duration, 1)
        callgrind_control(srv.pid, "-d")
        if result["non2xx3xx"] or result["socket_errors"]:
            raise HarnessError(f"{server} {scenario}: {result['non2xx3xx']} non-2xx/3xx, "
                               f"{result['socket_errors']} socket errors")
        dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
        if not dumps:
            raise HarnessError(f"{server} {scenario}: callgrind wrote no dump")
        counts = callgrind_totals(dumps[-1])
        if "Ir" not in counts:
            raise HarnessError(f"{server} {scenario}: no totals in {dumps[-1]}")
        per = {event: count / max(result["requests"], 1) for event, count in counts.items()}
        return per, result["requests"], cookie
    finally:
        srv.stop()


def run_server_instructions(args):
    ensure_tool("valgrind", "valgrind")
    ensure_tool("wrk", "wrk")
    build(args.no_build)
    revision = pesto_revision()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pesto-load-callgrind-") as tmp:
        for scenario in args.scenarios:
            per, cookie = {}, None
            for server in ["pesto"] + [s for s in args.servers if s != "pesto"] + ["baseline"]:
                counts, requests, got = server_instructions_run(server, scenario, args, tmp,
                                                                cookie)
                cookie = cookie or got
                per[server] = counts
                misses = f", {counts['I1mr']:,.0f} I1 misses" if args.cache else ""
                log(f"  {scenario} {server}: {requests:,} requests, {counts['Ir']:,.0f} Ir"
                    f"{misses} per request")
            rows.append((scenario, per))
    others = [s for s in args.servers if s != "pesto"]
    lines = [f"Run of {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
             f"{args.duration} s per server and scenario on one connection, pesto's `MemoryStore` "
             f"lazy, pesto at {revision}; {machine()['valgrind']}. Instructions per request of "
             "the whole server process (the multiple of bare hyper's in brackets)"
             + ("; after the dot, misses of callgrind's simulated level-1 instruction cache per "
                "request (the host's cache geometry)" if args.cache else "") + ".\n",
             "| " + " | ".join(["scenario", "bare hyper", "pesto"] + [LABELS[s] for s in others])
             + " |",
             "|---|--:|--:|" + "--:|" * len(others)]
    for scenario, per in rows:
        def cell(counts, bare=None):
            text = f"{counts['Ir']:,.0f}"
            if bare is not None:
                text += f" ({counts['Ir'] / bare['Ir']:.2f}×)"
            if args.cache:
                text += f" · {counts['I1mr']:,.0f}"
            return text
        bare = per["baseline"]
        cells = [cell(per[s], bare) for s in ["pesto"] + others]
        lines.append(f"| {scenario}: {SCENARIOS[scenario]} | {cell(bare)} | " + " | ".join(cells)
                     + " |")
    block = "\n".join(lines) + "\n"
    print(block)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "server-instructions.json"), "w") as f:
        json.dump(dict(duration=args.duration, cache=args.cache,
                       rows=[dict(scenario=s, **p) for s, p in rows]), f, indent=1)
    if not args.no_docs:
        write_block(block, SBEGIN, SEND,
                    lambda text, marked: text.replace(END, END + "\n\n" + marked, 1))
        log(f"wrote {os.path.relpath(DOC, ROOT)} (between {SBEGIN} and {SEND})")
    return 0


# --------------------------------------------------------------------------------------------
# Command lines


def csv_list(allowed):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        expanded = []
        for item in items:
            key = item.upper() if all(k.isupper() for k in allowed) else item
            if key in allowed:
                expanded.append(key)
            elif item in ("memory", "file", "redis", "postgres") and f"{item}-lazy" in allowed:
                expanded += [k for k in allowed if k.startswith(item + "-")]
            else:
                raise argparse.ArgumentTypeError(f"{item!r}: expected some of {', '.join(allowed)}")
        return list(dict.fromkeys(expanded))
    return parse


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("load", "instructions", "server-instructions"):
        print("usage: harness.py load|instructions|server-instructions [options] (use "
              "bench/load/run, bench/load/instructions or bench/load/server-instructions)",
              file=sys.stderr)
        return 2
    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "server-instructions":
        p = argparse.ArgumentParser(
            prog="bench/load/server-instructions",
            description="Instructions per request of the real server processes under callgrind, "
                        "driven by wrk over one connection: bare hyper, pesto and the references, "
                        "for each scenario on the memory store (lazy); rewrites its block of "
                        "docs/performance.md.")
        p.add_argument("--duration", type=int, default=5, help="seconds of requests (5)")
        p.add_argument("--scenarios", type=csv_list(list(SCENARIOS)), default=list(SCENARIOS),
                       help="some of A,B,C,D,E (all)")
        p.add_argument("--servers", type=csv_list(SERVERS), default=SERVERS,
                       help="some of pesto,axum,actix (all; bare hyper always runs)")
        p.add_argument("--redis", default="redis://127.0.0.1:6379", help=argparse.SUPPRESS)
        p.add_argument("--cache", action="store_true",
                       help="also simulate the caches and report level-1 instruction-cache "
                            "misses per request (how much code a request runs through, beside "
                            "how many instructions)")
        p.add_argument("--no-docs", action="store_true", help="print the table only")
        p.add_argument("--no-build", action="store_true", help="use the binaries already built")
        args = p.parse_args(argv)
        if args.duration < 1:
            p.error("--duration must be at least 1")
        return run_server_instructions(args)
    if mode == "load":
        p = argparse.ArgumentParser(
            prog="bench/load/run",
            description="Load runs of pesto against bare hyper (and axum, actix-web) with wrk; "
                        "rewrites the load section of docs/performance.md and bench/load/chart.svg.")
        p.add_argument("--duration", type=int, default=10, help="seconds per measured run (10)")
        p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run (2)")
        p.add_argument("--pairs", type=int, default=3, help="baseline/server pairs per row (3)")
        p.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
        p.add_argument("--scenarios", type=csv_list(list(SCENARIOS)), default=list(SCENARIOS),
                       help="some of A,B,C,D,E (all)")
        p.add_argument("--stores", type=csv_list(list(STORES)), default=DEFAULT_STORES,
                       help="stores for A-D: memory-lazy, memory-eager, file-lazy, file-eager, "
                            "redis-lazy, redis-eager, postgres-lazy, postgres-eager, or "
                            "memory/file/redis/postgres for both modes "
                            f"({','.join(DEFAULT_STORES)})")
        p.add_argument("--servers", type=csv_list(SERVERS), default=SERVERS,
                       help="some of pesto,axum,actix (all; bare hyper always runs)")
        p.add_argument("--redis", default="redis://127.0.0.1:6379",
                       help="Redis URL for the redis stores, on 127.0.0.1 (redis://127.0.0.1:6379)")
        p.add_argument("--postgres", default="postgres://127.0.0.1/test",
                       help="PostgreSQL URL for the postgres stores, on 127.0.0.1 "
                            "(postgres://127.0.0.1/test; the table is pesto_bench_sessions)")
        p.add_argument("--quick", action="store_true",
                       help="a smoke test: 1 s runs after 1 s of warm-up, 3 pairs")
        p.add_argument("--no-docs", action="store_true",
                       help="print the table only; leave docs/performance.md and the chart alone")
        p.add_argument("--no-build", action="store_true", help="use the binaries already built")
        p.add_argument("--report-only", action="store_true",
                       help="measure nothing: rewrite the table, chart and docs from the last "
                            "run's results (bench/load/results/load.json)")
        args = p.parse_args(argv)
        args.argv = argv
        if args.quick:
            args.duration, args.warmup = 1, 1
        if args.pairs < 1 or args.duration < 1 or args.warmup < 1:
            p.error("--pairs, --duration and --warmup must be at least 1")
        return run_load(args)
    p = argparse.ArgumentParser(
        prog="bench/load/instructions",
        description="Instructions per request, in process, under callgrind: bare hyper against "
                    "pesto for each scenario; rewrites its block of docs/performance.md.")
    p.add_argument("--requests", type=int, default=2000, help="N (2000): runs N and 2N requests")
    p.add_argument("--scenarios", type=csv_list(list(SCENARIOS)), default=list(SCENARIOS),
                   help="some of A,B,C,D,E (all)")
    p.add_argument("--eager", action="store_true", help="pesto's store in eager mode (lazy)")
    p.add_argument("--quick", action="store_true", help="N = 200")
    p.add_argument("--no-docs", action="store_true", help="print the table only")
    p.add_argument("--no-build", action="store_true", help="use the binaries already built")
    args = p.parse_args(argv)
    if args.quick:
        args.requests = 200
    return run_instructions(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        log(f"error: {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
