"""Throw-away network labs for the mDNS tests: network namespaces joined by
a bridge, processes run inside them, and a probe that reaches them.

Multicast must never leave the lab, so nothing of a lab lives in the root
namespace: the bridge sits in a namespace of its own (the "hub"), and each
member namespace has one veth leg, "eth0", whose other end is a port of
that bridge. The root namespace has no leg on it, so the tests reach the
nodes' HTTP from inside the lab, through a Probe: a small persistent agent
in a namespace on the bridge that answers batches of URLs, one JSON line
per batch (cheap enough to poll every 50 ms).

Every namespace name starts with "gcm<pid>-", the pid of the Python process
that created it. A lab removes everything it created (its processes, then
its namespaces, which takes their veths and the bridge with them) on
close(), at exit, and on SIGINT/SIGTERM/SIGHUP; sweep_leftovers() deletes
what earlier runs whose process is gone left behind. Subnets and names are
derived from the pid and a per-process lab counter, so concurrent runs do
not share anything (and, being in namespaces of their own, could not).

Not thread-safe: one thread drives a lab (the signal handlers only tear
labs down). Needs root, iproute2, veth and bridge support: lab_support()
says why not where they are missing.
"""

import atexit
import json
import os
import re
import select
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PREFIX = "gcm"
PYTHON = "/usr/bin/python3"  # Debian's, with python3-zeroconf
LEG = "eth0"  # a member namespace's leg on the bridge

_lock = threading.RLock()
_labs = []  # live labs, for the exit and signal handlers
_counter = [0]
_handlers_installed = [False]


def _ip(*args, check=True, timeout=10):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise LabError("ip %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


class LabError(Exception):
    """The lab could not be built (or torn down)."""


def _pid_alive(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    # A pid reused by something that is not a Python process is not ours.
    return b"python" in cmdline


def _netns_list():
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _kill_pids_in(ns):
    """SIGKILLs whatever still runs in namespace ns (all of it ours)."""
    r = _ip("netns", "pids", ns, check=False)
    pids = [int(p) for p in r.stdout.split() if p.isdigit()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def sweep_leftovers():
    """Deletes the namespaces of earlier runs whose creating process is
    gone ("gcm<deadpid>-..."), killing what still runs in them. Returns the
    names deleted."""
    gone = []
    for ns in _netns_list():
        m = re.match(r"^%s(\d+)-" % PREFIX, ns)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        _kill_pids_in(ns)
        _ip("netns", "del", ns, check=False)
        gone.append(ns)
    return gone


def lab_support():
    """None where labs can be built here, else a sentence saying why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (running as uid %d)" % os.geteuid()
    if shutil.which("ip") is None:
        return "no ip(8) (iproute2)"
    probe = "%s%d-check" % (PREFIX, os.getpid())
    try:
        r = _ip("netns", "add", probe, check=False)
        if r.returncode != 0:
            return "ip netns add failed: %s" % r.stderr.strip()
        try:
            r = _ip("-n", probe, "link", "add", "b0", "type", "bridge", check=False)
            if r.returncode != 0:
                return "no bridge support: %s" % r.stderr.strip()
            r = _ip("-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
                    check=False)
            if r.returncode != 0:
                return "no veth support: %s" % r.stderr.strip()
        finally:
            _ip("netns", "del", probe, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return "cannot run ip: %s" % e
    return None


def cleanup_all():
    """Tears down every live lab of this process (idempotent)."""
    with _lock:
        for lab in list(_labs):
            lab.close()


def _on_signal(signum, frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    if _handlers_installed[0]:
        return
    _handlers_installed[0] = True
    atexit.register(cleanup_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if threading.current_thread() is threading.main_thread():
            signal.signal(sig, _on_signal)


class Proc:
    """A process run in a namespace: its Popen, when it was started
    (time.monotonic() just before the exec) and its log file."""

    def __init__(self, name, ns, popen, started, log):
        self.name, self.ns, self.popen, self.started, self.log = name, ns, popen, started, log

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def send(self, sig):
        if self.alive():
            try:
                self.popen.send_signal(sig)
            except OSError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits for the exit (SIGKILL after timeout). Returns
        the exit status."""
        self.send(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()

    def log_tail(self, lines=40):
        if not self.log:
            return ""
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return "(no log: %s)" % e


class Namespace:
    """A member of a lab: a namespace with lo up and an address on its leg
    (eth0) on the lab's bridge."""

    def __init__(self, lab, short, name, addr):
        self.lab, self.short, self.name, self.addr = lab, short, name, addr

    def ip(self, *args, check=True):
        return _ip("-n", self.name, *args, check=check)

    def run(self, argv, check=True, timeout=20, **kw):
        """Runs argv inside the namespace to completion."""
        r = subprocess.run(["ip", "netns", "exec", self.name] + list(argv), capture_output=True,
                           text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise LabError("in %s: %s: exit %d: %s" % (self.name, " ".join(argv), r.returncode,
                                                        (r.stderr or r.stdout).strip()[-500:]))
        return r

    def spawn(self, name, argv, stdin=None, stdout=None, log=True, text=True):
        """Starts argv inside the namespace, owned by the lab (killed on
        close). stderr (and stdout unless given) go to the log file
        <lab dir>/<name>.log when log is true."""
        return self.lab._spawn(self, name, argv, stdin=stdin, stdout=stdout, log=log, text=text)

    def addresses(self):
        """The IPv4 addresses on the leg, in order."""
        r = self.ip("-4", "-o", "addr", "show", "dev", LEG)
        return [line.split()[3].split("/")[0] for line in r.stdout.splitlines()]


class Lab:
    """A bridge (in its own namespace) and member namespaces on it, with
    addresses in 10.A.B.0/24 where A.B come from the pid and a counter."""

    def __init__(self):
        with _lock:
            _install_handlers()
            _counter[0] += 1
            self.serial = _counter[0]
            key = (os.getpid() * 16 + self.serial) & 0xFFFF
            self.net = "10.%d.%d" % (key >> 8, key & 0xFF)
            self.base = "%s%d-%d" % (PREFIX, os.getpid(), self.serial)
            self.dir = tempfile.mkdtemp(prefix="%s-" % self.base)
            self.namespaces = []  # every namespace created, hub first
            self.members = {}  # short -> Namespace
            self.procs = []
            self.closed = False  # no new namespaces or processes
            self.done = False  # torn down
            self._probe = None
            _labs.append(self)
        self.hub = "%s-hub" % self.base
        self._add_netns(self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0",
            "stp_state", "0", "forward_delay", "0")
        _ip("-n", self.hub, "link", "set", "br0", "up")

    def _add_netns(self, name):
        with _lock:
            if self.closed:
                raise LabError("lab closed")
            self.namespaces.append(name)
        _ip("netns", "add", name)

    def add(self, short, host):
        """Creates member namespace <base>-<short> with address 10.A.B.host
        on its leg. short: a few letters/digits, unique in the lab."""
        assert re.match(r"^[a-z0-9]{1,8}$", short), short
        name = "%s-%s" % (self.base, short)
        addr = "%s.%d" % (self.net, host)
        self._add_netns(name)
        port = "v" + short  # the hub's side, at most 9 characters
        _ip("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", LEG, "netns", name)
        _ip("-n", self.hub, "link", "set", port, "master", "br0")
        _ip("-n", self.hub, "link", "set", port, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", addr + "/24", "dev", LEG)
        _ip("-n", name, "link", "set", LEG, "up")
        ns = Namespace(self, short, name, addr)
        self.members[short] = ns
        return ns

    def _spawn(self, ns, name, argv, stdin, stdout, log, text):
        path = os.path.join(self.dir, "%s.log" % name) if log else None
        err = open(path, "w") if path else subprocess.DEVNULL
        out = stdout if stdout is not None else (err if path else subprocess.DEVNULL)
        with _lock:
            if self.closed:
                raise LabError("lab closed")
            started = time.monotonic()
            # ip netns exec execs argv (no fork): the Popen is the process.
            popen = subprocess.Popen(["ip", "netns", "exec", ns.name] + list(argv), stdin=stdin,
                                     stdout=out, stderr=err, text=text, close_fds=True)
            proc = Proc(name, ns, popen, started, path)
            self.procs.append(proc)
        if path:
            err.close()
        return proc

    def probe(self):
        """The lab's Probe (created on first use, in namespace "probe" at
        10.A.B.250)."""
        if self._probe is None:
            ns = self.add("probe", 250)
            self._probe = Probe(ns)
        return self._probe

    def close(self):
        """Kills the lab's processes, deletes its namespaces (their veths
        and the bridge go with them) and its directory. Idempotent."""
        # Not skipped when closed is already set: a signal handler may
        # re-enter close() half way through, and every step is idempotent.
        with _lock:
            if self.done:
                return
            self.closed = True
            procs, namespaces = list(self.procs), list(self.namespaces)
        for p in procs:
            if p.popen.poll() is None:
                try:
                    p.popen.kill()
                except OSError:
                    pass
        for p in procs:
            try:
                p.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for ns in reversed(namespaces):
            try:
                _kill_pids_in(ns)
                _ip("netns", "del", ns, check=False)
            except Exception as e:  # keep deleting the others
                sys.stderr.write("netns: could not delete %s: %s\n" % (ns, e))
        shutil.rmtree(self.dir, ignore_errors=True)
        with _lock:
            self.done = True
            if self in _labs:
                _labs.remove(self)


# The probe agent: reads one JSON array of requests per line
# ([{"url": ..., "method": "GET", "timeout": 1.0}, ...]) and answers one
# JSON array of results in the same order ({"status": N, "body": TEXT},
# status 0 and "error" where there was no HTTP answer). Bodies are decoded
# as latin-1, so any bytes survive. Exits at end of input.
_AGENT = r'''
import http.client, json, sys, urllib.parse
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(48)
def one(req):
    u = urllib.parse.urlsplit(req["url"])
    try:
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=req.get("timeout", 1.0))
        try:
            c.request(req.get("method", "GET"), u.path + ("?" + u.query if u.query else ""))
            r = c.getresponse()
            return {"status": r.status, "body": r.read().decode("latin-1")}
        finally:
            c.close()
    except Exception as e:
        return {"status": 0, "error": repr(e)}
for line in sys.stdin:
    out = list(pool.map(one, json.loads(line)))
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
'''


class Probe:
    """Reaches HTTP servers in the lab from namespace ns, in batches."""

    def __init__(self, ns):
        self.ns = ns
        self.proc = ns.spawn("probe-agent", [PYTHON, "-u", "-c", _AGENT], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        self._buf = b""

    def get_many(self, urls, timeout=1.0, method="GET"):
        """[(status, body)] for each URL, fetched concurrently; status 0
        where the server could not be reached within timeout."""
        if not urls:
            return []
        reqs = [{"url": u, "method": method, "timeout": timeout} for u in urls]
        self.proc.popen.stdin.write(json.dumps(reqs) + "\n")
        self.proc.popen.stdin.flush()
        line = self._readline(timeout + 5)
        return [(r["status"], r.get("body", r.get("error", ""))) for r in json.loads(line)]

    def get(self, url, timeout=1.0):
        return self.get_many([url], timeout)[0]

    def _readline(self, timeout):
        out = self.proc.popen.stdout
        fd = out.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise LabError("probe agent: no answer within %.1fs" % timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise LabError("probe agent exited: %s" % self.proc.log_tail())
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()


# Sends UDP datagrams given as JSON on stdin: {"iface_addr": A, "packets":
# [{"dst": ADDR, "port": P, "sport": S (0: any), "hex": DATA}, ...]}, with
# IP TTL 255 (as mDNS wants) and multicast out of the interface that has
# address A. Prints the number sent.
_SENDER = r'''
import json, socket, sys
job = json.load(sys.stdin)
socks = {}
def sock(sport):
    if sport not in socks:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(job["iface_addr"]))
        s.bind(("0.0.0.0", sport))
        socks[sport] = s
    return socks[sport]
sent = 0
for p in job["packets"]:
    try:
        sock(p.get("sport", 0)).sendto(bytes.fromhex(p["hex"]), (p["dst"], p["port"]))
        sent += 1
    except OSError as e:
        sys.stderr.write("send to %s:%d (%d bytes): %s\n" % (p["dst"], p["port"], len(p["hex"]) // 2, e))
print(sent)
'''


def send_udp(ns, packets, timeout=30):
    """Sends packets ([(dst, port, sport, bytes)]) from namespace ns.
    Returns how many were sent."""
    job = {"iface_addr": ns.addr,
           "packets": [{"dst": d, "port": p, "sport": s, "hex": data.hex()}
                       for d, p, s, data in packets]}
    r = ns.run([PYTHON, "-c", _SENDER], input=json.dumps(job), timeout=timeout)
    return int(r.stdout.strip() or 0), r.stderr
