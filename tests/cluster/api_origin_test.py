#!/usr/bin/python3
"""The client API and the http: origin loader end to end: three real
groupcached nodes on 127.0.0.1 (static peers, ports chosen at run time)
read through to tests/common/origin_server.py, and clients speak only the
client API (/api/v1/groups/{group}/keys/{key}).

The origin decides what a key means by the key's first segments (the loader
template is http://127.0.0.1:ORIGIN/{key}): "bytes/N/..." is N pattern
bytes, "status/CODE/..." answers CODE, "slow/MS/..." waits, and
"cache-control/VALUE/..." sets Cache-Control; anything else echoes the
request target. Its /_stats counts requests per path, which is how every
test proves how often the cluster asked the origin.

Each test gets a fresh origin and cluster; every wait has a deadline; the
run kills what it started, even on failure or SIGTERM.

Usage: api_origin_test.py GROUPCACHED   (prints "N passed, M failed")
"""

import http.client
import json
import os
import queue
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "common"))

from testlib import free_ports, wait_for  # noqa: E402

ORIGIN_SERVER = HERE.parent / "common" / "origin_server.py"
GROUPCACHED = sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "build/cmd/groupcached")
PYTHON = "/usr/bin/python3"
GROUP = "g"
SOURCES = {"hit", "hot", "peer", "load"}

_started = []  # every Popen this run made, for the cleanup on any exit


def _kill_all():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _on_signal(signum, _frame):
    _kill_all()
    sys.exit(128 + signum)


def spawn(args, **kwargs):
    proc = subprocess.Popen(args, **kwargs)
    _started.append(proc)
    return proc


def pattern_bytes(n):
    """origin_server.py's /bytes/N body: byte i = (i * 31 + 7) % 256."""
    period = bytes((i * 31 + 7) % 256 for i in range(256))
    return (period * (n // 256 + 1))[:n]


def key_path(key):
    """The path the loader asks the origin for (it keeps unreserved and '/')."""
    return "/" + urllib.parse.quote(key, safe="/-._~")


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "HTTP %d %s body[%d]=%r (%.0f ms)" % (
            self.status, {k: v for k, v in self.headers.items()
                          if k in ("x-groupcache-source", "cache-control", "expires",
                                   "content-length", "content-type", "allow")},
            len(self.body), self.body[:200], self.elapsed * 1e3)


def do(conn, method, target, body=None):
    t0 = time.monotonic()
    conn.request(method, target, body=body)
    r = conn.getresponse()
    data = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    return Response(r.status, headers, data, time.monotonic() - t0)


def api_target(key, group=GROUP, query=""):
    return "/api/v1/groups/%s/keys/%s%s" % (group, urllib.parse.quote(key, safe="/"),
                                            "?" + query if query else "")


def max_age(resp):
    for part in (resp.header("cache-control") or "").split(","):
        part = part.strip()
        if part.startswith("max-age="):
            return int(part[len("max-age="):])
    return None


class Origin:
    """origin_server.py as a child process; restartable on the same port."""

    def __init__(self, logdir, port=0):
        self.logdir = logdir
        self.port = port
        self.proc = None
        self.start()

    def start(self):
        self.proc = spawn([PYTHON, str(ORIGIN_SERVER), "--port", str(self.port)],
                          stdout=subprocess.PIPE,
                          stderr=open(os.path.join(self.logdir, "origin.log"), "a"))
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready, "origin_server.py printed no ready line within 10 s"
        line = self.proc.stdout.readline()
        assert line, "origin_server.py exited: %s" % self.proc.poll()
        self.port = json.loads(line)["port"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def all_stats(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            return json.loads(do(conn, "GET", "/_stats").body)
        finally:
            conn.close()

    def stats(self):
        return self.all_stats()["requests"]

    def count(self, key):
        return self.stats().get(key_path(key), 0)


class Cluster:
    """An origin and three groupcached nodes with static peers."""

    def __init__(self, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="api-origin-")
        # Below the ephemeral range: no outgoing connection takes one while
        # a node starts or the origin is down (test 5 restarts it on the
        # same port).
        origin_port, *self.ports = free_ports(4)
        self.origin = Origin(self.dir, origin_port)
        self.urls = ["http://127.0.0.1:%d" % p for p in self.ports]
        self.procs = []
        try:
            for i, port in enumerate(self.ports):
                args = [GROUPCACHED, "--listen", "127.0.0.1:%d" % port, "--peers"] + self.urls + [
                    "--group", GROUP, "--cache-bytes", str(256 << 20),
                    "--loader", "http:http://127.0.0.1:%d/{key}" % self.origin.port,
                    "--shutdown-timeout", "1s", "--log-level", "info"] + list(extra_args)
                log = open(os.path.join(self.dir, "node%d.log" % i), "w")
                self.procs.append(spawn(args, stdout=subprocess.DEVNULL, stderr=log))
            for i in range(3):
                wait_for("node%d to answer /healthz" % i,
                         lambda: self.procs[i].poll() is not None or self.healthy(i), 10)
                assert self.procs[i].poll() is None, "node%d exited:\n%s" % (i, self.log(i))
        except BaseException:
            self.close()
            raise

    def healthy(self, i):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.ports[i], timeout=2)
            try:
                return do(conn, "GET", "/healthz").status == 200
            finally:
                conn.close()
        except OSError:
            return False

    def conn(self, i, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.ports[i], timeout=timeout)

    def call(self, i, method, target, body=None, timeout=30):
        conn = self.conn(i, timeout)
        try:
            return do(conn, method, target, body)
        finally:
            conn.close()

    def get(self, i, key, query=""):
        return self.call(i, "GET", api_target(key, query=query))

    def metric_lines(self, i, prefix):
        body = self.call(i, "GET", "/metrics").body.decode()
        return [l for l in body.splitlines() if l.startswith(prefix)]

    def loads(self):
        total = {}
        for i in range(3):
            for k, v in json.loads(self.call(i, "GET", "/loads").body).items():
                total[k] = total.get(k, 0) + v
        return total

    def log(self, i):
        with open(os.path.join(self.dir, "node%d.log" % i), errors="replace") as f:
            return f.read()[-3000:]

    def dump_logs(self):
        for i in range(3):
            print("  --- node%d (%s) log tail ---\n%s" % (i, self.urls[i], self.log(i)))

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.origin.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the tests --------------------------------------------------------------

N_KEYS = 1000
N_CLIENTS = 64
READS_PER_NODE = 3


def test1_keys():
    """Deterministic, key-dependent values of varied sizes: echoes of the
    key's own path, and pattern bytes of a size unique to the key (one in
    ten over 64 KiB)."""
    keys = {}
    for i in range(N_KEYS):
        if i % 4 == 0:
            key = "objects/k%d" % i
            keys[key] = key_path(key).encode()
        else:
            if i % 10 == 1:
                size = 65537 + (i * 7919) % 200000
            else:
                size = 1 + (i * 2654435761) % 16384
            key = "bytes/%d/k%d" % (size, i)
            keys[key] = pattern_bytes(size)
    return keys


def test_1000_keys_by_64_clients_through_3_nodes_load_once_each(c):
    keys = test1_keys()
    names = list(keys)
    random.shuffle(names)
    # Batches of 16 keys whose 16 x 9 reads are shuffled together: the 64
    # clients hit the same key through different nodes at the same time.
    tasks = queue.Queue()
    for b in range(0, len(names), 16):
        batch = [(k, n) for k in names[b:b + 16] for n in range(3) for _ in range(READS_PER_NODE)]
        random.shuffle(batch)
        for t in batch:
            tasks.put(t)
    total = tasks.qsize()
    lock = threading.Lock()
    sources = {}
    failures = []
    nbytes = [0]

    def client():
        conns = [c.conn(i) for i in range(3)]
        try:
            while True:
                try:
                    key, node = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    r = do(conns[node], "GET", api_target(key))
                except (OSError, http.client.HTTPException) as e:
                    conns[node].close()
                    conns[node] = c.conn(node)
                    with lock:
                        failures.append("GET %s via node%d: %r" % (key, node, e))
                    continue
                src = r.header("x-groupcache-source")
                with lock:
                    sources[src] = sources.get(src, 0) + 1
                    nbytes[0] += len(r.body)
                    if r.status != 200 or r.body != keys[key] or src not in SOURCES:
                        failures.append("GET %s via node%d: %r (want %d bytes)"
                                        % (key, node, r, len(keys[key])))
        finally:
            for conn in conns:
                conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(N_CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    deadline = t0 + 120
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "reads not done within 120 s"
    print("  %d GETs (%d keys x 3 nodes x %d) by %d keep-alive clients in %.2f s: %.0f req/s, "
          "%.1f MB/s" % (total, N_KEYS, READS_PER_NODE, N_CLIENTS, elapsed, total / elapsed,
                         nbytes[0] / elapsed / 1e6))
    print("  sources: %s" % dict(sorted(sources.items())))
    assert not failures, "%d bad replies, first: %s" % (len(failures), failures[:5])
    all_stats = c.origin.all_stats()
    stats = all_stats["requests"]
    want = {key_path(k) for k in keys}
    counts = {}
    for path in want:
        counts[stats.get(path, 0)] = counts.get(stats.get(path, 0), 0) + 1
    print("  origin requests per path: %s (paths: %d, requests: %d, over %d connections)"
          % (dict(sorted(counts.items())), len(stats), sum(stats.values()),
             all_stats["connections"]))
    wrong = {p: stats.get(p, 0) for p in want if stats.get(p, 0) != 1}
    assert not wrong, "origin saw %d paths not exactly once, e.g. %s" % (
        len(wrong), sorted(wrong.items())[:5])
    extra = set(stats) - want
    assert not extra, "origin saw unexpected paths %s" % sorted(extra)[:5]
    loads = c.loads()
    assert all(loads.get(k) == 1 for k in keys), \
        "loader calls (/loads) not 1 per key: %s" % [(k, loads.get(k)) for k in keys
                                                      if loads.get(k) != 1][:5]
    for s in ("load", "peer", "hit"):
        assert sources.get(s, 0) > 0, "no X-Groupcache-Source: %s among %s" % (s, sources)
    origin_200 = sum(float(l.split()[-1]) for i in range(3)
                     for l in c.metric_lines(i, 'groupcached_origin_requests_total{code="200"}'))
    assert origin_200 == N_KEYS, "groupcached_origin_requests_total{code=200} sums to %s" % origin_200


def test_put_on_a_is_read_on_b_and_c(c):
    key = "objects/put-me"
    r = c.get(0, key)
    assert r.status == 200 and r.body == key_path(key).encode(), r
    assert c.origin.count(key) == 1
    value = b"the new value \x00\xff" + os.urandom(70000)
    r = c.call(0, "PUT", api_target(key, query="ttl=30s"), body=value)
    assert r.status == 204 and r.body == b"", "PUT: %r" % r
    print("  PUT ?ttl=30s on node0: %d in %.1f ms" % (r.status, r.elapsed * 1e3))
    for i in (1, 2, 0):
        r = c.get(i, key)
        assert r.status == 200, "node%d: %r" % (i, r)
        assert r.body == value, "node%d returned %r, not the PUT value" % (i, r)
        age = max_age(r)
        assert age is not None and 0 < age <= 30 and r.header("expires"), \
            "node%d: Cache-Control %r, Expires %r" % (i, r.header("cache-control"),
                                                      r.header("expires"))
        print("  node%d: %d bytes, source %s, Cache-Control %s, Expires %s"
              % (i, len(r.body), r.header("x-groupcache-source"), r.header("cache-control"),
                 r.header("expires")))
    assert c.origin.count(key) == 1, "the origin was asked again: %d" % c.origin.count(key)
    r = c.call(1, "PUT", api_target(key, query="ttl=soon"), body=b"x")
    assert r.status == 400, "PUT ?ttl=soon: %r" % r


def test_delete_on_b_reloads_once_cluster_wide(c):
    loaded = "objects/delete-me"
    put = "objects/delete-my-put"
    for i in range(3):
        for _ in range(2):
            r = c.get(i, loaded)
            assert r.status == 200 and r.body == key_path(loaded).encode(), r
    r = c.call(0, "PUT", api_target(put), body=b"put value")
    assert r.status == 204, r
    for i in range(3):
        assert c.get(i, put).body == b"put value"
    assert c.origin.count(loaded) == 1 and c.origin.count(put) == 0
    for key in (loaded, put):
        r = c.call(1, "DELETE", api_target(key))
        assert r.status == 204 and r.body == b"", "DELETE %s on node1: %r" % (key, r)
        print("  DELETE %s on node1: %d in %.1f ms" % (key, r.status, r.elapsed * 1e3))
    for i in (0, 1, 2, 0, 1, 2):
        for key in (loaded, put):
            r = c.get(i, key)
            assert r.status == 200 and r.body == key_path(key).encode(), \
                "node%d %s after DELETE: %r" % (i, key, r)
    counts = (c.origin.count(loaded), c.origin.count(put))
    print("  origin requests after DELETE and 6 reads each: %s=%d, %s=%d"
          % (loaded, counts[0], put, counts[1]))
    assert counts == (2, 1), "want one reload each cluster-wide (2, 1), origin saw %s" % (counts,)


def test_max_age_2_expires_and_reloads_once(c):
    key = "cache-control/max-age=2/t4"
    assert key_path(key) == "/cache-control/max-age%3D2/t4"
    t0 = time.monotonic()
    r = c.get(0, key)
    assert r.status == 200 and r.body == b"cc", r
    age = max_age(r)
    assert age is not None and age <= 2 and r.header("expires"), r
    assert c.origin.count(key) == 1
    for i in range(3):
        r = c.get(i, key)
        assert r.status == 200 and r.body == b"cc" and max_age(r) <= 2, "node%d: %r" % (i, r)
    within = time.monotonic() - t0
    assert within < 1.0, "the re-reads took %.2f s, not within 1 s" % within
    n = c.origin.count(key)
    print("  load, then 3 reads within %.0f ms: origin requests %d" % (within * 1e3, n))
    assert n == 1, "origin asked again before max-age passed: %d" % n
    # The expiry is the behaviour under test: wait it out.
    time.sleep(max(0, t0 + 2.5 - time.monotonic()))
    for i in (0, 1, 2, 1):
        r = c.get(i, key)
        assert r.status == 200 and r.body == b"cc", "node%d after expiry: %r" % (i, r)
        print("  node%d at +%.2f s: source %s, %s" % (i, time.monotonic() - t0,
                                                      r.header("x-groupcache-source"),
                                                      r.header("cache-control")))
    n = c.origin.count(key)
    print("  origin requests after the expiry: %d" % n)
    assert n == 2, "want exactly one reload after max-age, origin saw %d requests in all" % n


def test_origin_failures_give_502_then_recover_and_not_found_is_not_cached(c):
    # An origin that answers 500.
    key = "status/500/t5"
    for i in range(3):
        r = c.get(i, key)
        assert r.status == 502, "node%d: %r" % (i, r)
        assert b"500" in r.body, "node%d: the 502 does not name the origin's 500: %r" % (i, r)
    print("  origin 500: 502 %r; origin requests for 3 reads (one per node): %d"
          % (r.body.strip(), c.origin.count(key)))
    # An origin that is down (connection refused) for 5 s.
    keys = ["objects/down-%d" % i for i in range(6)]
    c.origin.stop()
    t0 = time.monotonic()
    n = 0
    worst = 0.0
    while time.monotonic() - t0 < 5:
        for j, key in enumerate(keys):
            node = (j + n) % 3
            r = c.get(node, key)
            n += 1
            worst = max(worst, r.elapsed)
            assert r.status == 502, "origin down, %s via node%d: %r" % (key, node, r)
            assert r.body.strip() and (b"refused" in r.body.lower() or
                                       b"127.0.0.1:%d" % c.origin.port in r.body), \
                "the 502 does not name the failure: %r" % r
        time.sleep(0.1)
    print("  origin down 5 s: %d reads, all 502 (slowest %.0f ms), e.g. %r"
          % (n, worst * 1e3, r.body.strip()))
    c.origin.start()  # on the same port
    t1 = time.monotonic()

    def all_back():
        return all(c.get(i, key).status == 200 for key in keys for i in range(3))

    wait_for("the keys to load after the origin came back", all_back, 3)
    print("  origin back: every key 200 through every node %.0f ms after its restart"
          % ((time.monotonic() - t1) * 1e3))
    for key in keys:
        for i in range(3):
            r = c.get(i, key)
            assert r.status == 200 and r.body == key_path(key).encode(), r
    stats = c.origin.stats()  # the restarted origin counts from zero
    assert all(stats.get(key_path(k)) == 1 for k in keys), \
        "after recovery, not one load per key: %s" % {k: stats.get(key_path(k)) for k in keys}
    # Not found (404 and 410): 404 through every node, and not cached, so
    # each read asks the origin again, exactly once.
    for code in (404, 410):
        key = "status/%d/t5-missing" % code
        seen = []
        for i in (0, 0, 1, 1, 2, 2):
            r = c.get(i, key)
            assert r.status == 404, "origin %d, node%d: %r" % (code, i, r)
            seen.append(c.origin.count(key))
        print("  origin %d: 404 %r; origin requests after each of 6 reads: %s"
              % (code, r.body.strip(), seen))
        assert seen == [1, 2, 3, 4, 5, 6], \
            "origin %d: want each read to ask the origin once (not cached), saw %s" % (code, seen)


def test_timeout_head_and_request_errors(c):
    # ?timeout on a slow origin: 504 at the deadline, through every node.
    for i in range(3):
        key = "slow/2000/t6-%d" % i
        r = c.get(i, key, query="timeout=200ms")
        print("  ?timeout=200ms, origin 2 s, via node%d: %d in %.0f ms, %r"
              % (i, r.status, r.elapsed * 1e3, r.body.strip()))
        assert r.status == 504 and r.elapsed < 0.5, "node%d: %r" % (i, r)
    # HEAD: headers and Content-Length, no body; the next reply on the same
    # connection parses, so none was sent.
    key = "bytes/100000/t6-head"
    for i in range(3):
        conn = c.conn(i)
        try:
            h = do(conn, "HEAD", api_target(key))
            g = do(conn, "GET", api_target(key))
        finally:
            conn.close()
        assert h.status == 200 and h.body == b"", "HEAD via node%d: %r" % (i, h)
        assert h.header("content-length") == "100000", "HEAD via node%d: %r" % (i, h)
        assert h.header("x-groupcache-source") in SOURCES, "HEAD via node%d: %r" % (i, h)
        assert g.status == 200 and g.body == pattern_bytes(100000), "GET after HEAD: %r" % g
        print("  HEAD via node%d: %d, Content-Length %s, source %s; GET after it on the same "
              "connection: %d bytes" % (i, h.status, h.header("content-length"),
                                        h.header("x-groupcache-source"), len(g.body)))
    assert c.origin.count(key) == 1, "HEADs and GETs asked the origin %d times" % \
        c.origin.count(key)
    # An error answer to a HEAD has no body either (unknown group, bad
    # query, unknown path, the peer protocol's base path, and the requests
    # refused before they are read: a body over --max-body-bytes, a header
    # over --max-header-bytes). Read on a raw socket: http.client drops
    # whatever it buffered after a HEAD's head, so it cannot see a stray body.
    for target, extra in ((api_target("objects/x", group="nope"), ""),
                          (api_target("objects/x", query="timeout=soon"), ""),
                          ("/no/such/path", ""), ("/_groupcache/", ""),
                          (api_target("objects/x"), "Content-Length: 99999999999\r\n"),
                          (api_target("objects/x"), "X-Big: %s\r\n" % ("b" * 300000))):
        sock = socket.create_connection(("127.0.0.1", c.ports[1]), timeout=5)
        try:
            sock.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (target, extra)).encode())
            got = b""
            deadline = time.monotonic() + 0.5  # the whole answer, and a little time for more
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                got += chunk
        finally:
            sock.close()
        head, sep, rest = got.partition(b"\r\n\r\n")
        status = head.split(b" ")[1] if head.startswith(b"HTTP/1.1 ") else b"?"
        assert sep and int(status) >= 400 and rest == b"", \
            "HEAD %s: %r (a body after the head)" % (target, got[:2000])
        print("  HEAD %s%s: %s, no body after the head"
              % (target, " + " + extra[:20].strip() + "..." if extra else "", status.decode()))
    # A key over --max-key-bytes (default 65536): 414.
    r = c.get(1, "objects/" + "k" * 65536)
    print("  key of %d bytes: %r" % (65544, r))
    assert r.status == 414, r
    r = c.call(2, "GET", api_target("objects/x", group="nope"))
    print("  unknown group: %r" % r)
    assert r.status == 404, r
    r = c.call(0, "POST", api_target("objects/x"), body=b"v")
    print("  POST: %r" % r)
    assert r.status == 405, r
    r = c.get(0, "objects/x", query="timeout=soon")
    print("  ?timeout=soon: %r" % r)
    assert r.status == 400, r
    assert c.origin.count("objects/" + "k" * 65536) == 0 and c.origin.count("objects/x") == 0


def test_a_put_queued_behind_a_slow_load_gets_its_own_timeout(c):
    """An API PUT runs on a worker thread. Queued behind a slow load (one
    worker), it is answered within its ?timeout=, not cut off at the
    server's request timeout (before: 503 after 1 s)."""
    cli = str(Path(GROUPCACHED).parent / "groupcache-cli")
    if not os.path.exists(cli):
        print("  no groupcache-cli next to groupcached (to place keys): skipped")
        return
    d = Cluster(["--worker-threads", "1", "--request-timeout", "1s"])
    try:
        # Everything through the slow key's owner, whose one worker loads it.
        slow_key = "slow/2500/queued"
        out = subprocess.run([cli, "owner", "--peers", ",".join(d.urls), slow_key],
                             capture_output=True, timeout=20, check=True).stdout.decode()
        node = d.urls.index(out.split()[1])
        slow = []
        t = threading.Thread(target=lambda: slow.append(d.get(node, slow_key, query="timeout=6s")))
        t.start()
        wait_for("the slow load to reach the origin", lambda: d.origin.count(slow_key) == 1, 5)
        t0 = time.monotonic()
        r = d.call(node, "PUT", api_target("objects/queued", query="timeout=6s"), body=b"v")
        elapsed = time.monotonic() - t0
        t.join()
        print("  PUT behind a 2.5 s load, --request-timeout 1s, ?timeout=6s: %d after %.1f s"
              % (r.status, elapsed))
        assert r.status == 204 and elapsed > 1.2, r
        assert slow and slow[0].status == 200, slow
        assert d.call((node + 1) % 3, "GET", api_target("objects/queued")).body == b"v"
    finally:
        d.close()


def test_groupcache_cli_cluster_commands(c):
    """groupcache-cli get|set|remove --cluster: the same operations through the
    client API, with the CLI's exit statuses."""
    cli = str(Path(GROUPCACHED).parent / "groupcache-cli")
    if not os.path.exists(cli):
        print("  no groupcache-cli next to groupcached: skipped")
        return

    def run(*args, node=0, data=None):
        p = subprocess.run([cli] + list(args[:1]) + ["--cluster", "--peer", c.urls[node],
                                                     "--group", "g"] + list(args[1:]),
                           capture_output=True, timeout=20)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    key = "objects/cli key"
    rc, out, err = run("get", "-v", key, node=0)
    assert rc == 0 and out == key_path(key).encode(), (rc, out, err)
    assert "source: " in err, err
    rc, out, err = run("get", "-v", key, node=1)
    assert rc == 0 and out == key_path(key).encode(), (rc, out, err)
    assert c.origin.count(key) == 1, c.origin.count(key)
    rc, out, err = run("set", key, "set by the cli", "--ttl", "30s", node=2)
    assert rc == 0, (rc, err)
    for i in range(3):
        rc, out, err = run("get", key, node=i)
        assert rc == 0 and out == b"set by the cli", (i, rc, out, err)
    rc, out, err = run("remove", key, node=1)
    assert rc == 0, (rc, err)
    rc, out, err = run("get", key, node=0)
    assert rc == 0 and out == key_path(key).encode(), (rc, out, err)
    assert c.origin.count(key) == 2, c.origin.count(key)
    rc, out, err = run("get", "status/404/cli-missing", node=0)
    assert rc == 3 and "404" in err, (rc, err)
    p = subprocess.run([cli, "get", "--cluster", "--peer", "http://127.0.0.1:1", "--group", "g",
                        "k"], capture_output=True, timeout=20)
    assert p.returncode == 1 and b"connecting" in p.stderr, p
    print("  get/set/remove --cluster through the API: exit statuses 0, 3 (404), 1 (no node)")


def main():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_")]
    if len(sys.argv) > 2:
        tests = [(n, f) for n, f in tests if any(a in n for a in sys.argv[2:])]
    passed = failed = 0
    try:
        for name, fn in tests:
            print("%s ..." % name, flush=True)
            t0 = time.monotonic()
            cluster = None
            try:
                cluster = Cluster()
                fn(cluster)
                passed += 1
                print("  ok (%.1f s)" % (time.monotonic() - t0), flush=True)
            except Exception:
                failed += 1
                print("  FAILED (%.1f s)" % (time.monotonic() - t0))
                traceback.print_exc(file=sys.stdout)
                if cluster:
                    cluster.dump_logs()
                sys.stdout.flush()
            finally:
                if cluster:
                    cluster.close()
    finally:
        _kill_all()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
