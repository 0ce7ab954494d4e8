#!/usr/bin/python3
"""mDNS discovery end to end: real groupcached processes find each other
through multicast DNS-SD (`--discovery mdns`), each in a network namespace
of its own on a bridge (netns.py); an independent implementation
(python3-zeroconf, zeroconf_peer.py) checks that what they publish and
what they accept is standard DNS-SD.

Multicast never touches the root namespace: the bridge lives in a lab
namespace and the nodes are reached through a probe agent on it. Each test
gets a fresh lab, torn down after it (and at exit, and on SIGINT/SIGTERM),
so one failure does not stop the others. Every wait has a deadline; times
are printed as measured. A failed check prints what it expected, what it
saw (every node's /peers) and the tail of the nodes' logs.

Usage: cluster_test.py [GROUPCACHED]   (prints "N passed, M failed")
  MDNS_TEST=substring runs only the matching tests; MDNS_LOG_LEVEL=debug
  gives the nodes --log-level debug.
Skips (exit 0, "0 passed, 0 failed, 1 skipped") where namespaces cannot
be made (not root, no veth or bridge) or groupcached has no mDNS.
"""

import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import netns  # noqa: E402

GROUPCACHED = sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "build/cmd/groupcached")
ZEROCONF_PEER = str(HERE / "zeroconf_peer.py")
PORT = 8080
SERVICE = "_groupcache._tcp.local."
POLL = 0.05  # seconds between polls of the nodes
LOG_LEVEL = os.environ.get("MDNS_LOG_LEVEL", "info")  # the nodes' --log-level


class CheckFailed(AssertionError):
    pass


class Skipped(Exception):
    pass


def need_zeroconf():
    import importlib.util
    if importlib.util.find_spec("zeroconf") is None:
        raise Skipped("python3-zeroconf is not installed for %s" % sys.executable)


def ms(seconds):
    return "%.2f s" % seconds


class LineReader:
    """Reads lines from a pipe with a deadline (select, own buffer)."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""
        self.eof = False

    def readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                self.buf += chunk
        if b"\n" not in self.buf:
            line, self.buf = self.buf, b""
            return line.decode(errors="replace") or None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")


class Cluster:
    """A lab with groupcached nodes "n<i>", each in namespace n<i> at
    10.A.B.<i>, all on port 8080."""

    def __init__(self):
        self.lab = netns.Lab()
        self.probe = self.lab.probe()
        self.nodes = {}  # name -> netns.Proc (.ns.addr is the node's address)
        self.others = []  # other processes started by the test, for the logs

    def close(self):
        self.lab.close()

    # --- nodes ----------------------------------------------------------
    def start(self, i, extra=(), name=None, node_ip=None):
        """Starts node n<i> in a new namespace (or in the lab's member
        n<i> if it exists already), as NODE_IP node_ip (default: the
        namespace's address); returns its Proc (whose .started is when it
        was exec'd)."""
        name = name or "n%d" % i
        ns = self.lab.members.get("n%d" % i) or self.lab.add("n%d" % i, i)
        argv = [GROUPCACHED, "--discovery", "mdns", "--node-name", name,
                "--node-ip", node_ip or ns.addr,
                "--group-port", str(PORT), "--listen", "0.0.0.0:%d" % PORT,
                "--loader", "synthetic:64", "--group", "default", "--log-level", LOG_LEVEL]
        proc = ns.spawn(name, argv + list(extra))
        self.nodes[name] = proc
        return proc

    def url(self, name_or_addr):
        addr = self.nodes[name_or_addr].ns.addr if name_or_addr in self.nodes else name_or_addr
        return "http://%s:%d" % (addr, PORT)

    def live(self):
        return [n for n, p in self.nodes.items() if p.alive()]

    def peers(self, names):
        """{name: sorted peer URLs, or a string saying why not}."""
        got = self.probe.get_many([self.url(n) + "/peers" for n in names])
        out = {}
        for n, (status, body) in zip(names, got):
            if status != 200:
                out[n] = "HTTP %s %s" % (status, body[:200])
                continue
            try:
                out[n] = sorted(json.loads(body))
            except ValueError:
                out[n] = "not JSON: %r" % body[:200]
        return out

    def wait_rings(self, what, want, names=None, timeout=5.0, since=None):
        """Polls /peers of `names` (default: every live node) until each
        equals want (a list of URLs, or {name: list}); returns the seconds
        from `since` (default: now) to the first poll that saw it. The
        deadline is since + timeout."""
        since = time.monotonic() if since is None else since
        names = list(names or self.live())
        wants = {n: sorted(want[n] if isinstance(want, dict) else want) for n in names}
        end = since + timeout
        while True:
            seen = self.peers(names)
            now = time.monotonic()
            if all(seen[n] == wants[n] for n in names):
                return now - since
            dead = [n for n in names if not self.nodes[n].alive()]
            if dead or now >= end:
                self.fail(what, wants, seen, dead=dead, waited=now - since)
            time.sleep(POLL)

    def fail(self, what, wants, seen, dead=(), waited=None, extra=""):
        lines = ["%s%s" % (what, " (not within %s)" % ms(waited) if waited is not None else "")]
        for n in sorted(seen, key=lambda n: (len(n), n)):
            ok = seen[n] == wants.get(n)
            lines.append("  %s %s /peers: %s" % ("ok  " if ok else "BAD ", n, seen[n]))
            if not ok:
                lines.append("       expected: %s" % wants.get(n))
        for n in dead:
            lines.append("  %s exited with status %s" % (n, self.nodes[n].popen.poll()))
        if extra:
            lines.append(extra)
        bad = [n for n in seen if seen[n] != wants.get(n)] + list(dead)
        lines.append(self.logs(bad or list(seen)))
        raise CheckFailed("\n".join(lines))

    def logs(self, names, lines=30):
        out = []
        for n in dict.fromkeys(names):
            p = self.nodes.get(n)
            if p:
                out.append("--- tail of %s's log (%s):\n%s" % (n, p.ns.name, p.log_tail(lines)))
        return "\n".join(out)

    def all_logs(self, lines=30):
        out = [self.logs(list(self.nodes), lines)]
        for p in self.others:
            out.append("--- tail of %s's log:\n%s" % (p.name, p.log_tail(lines)))
        return "\n".join(out)

    def converge(self, n, timeout=5.0):
        """Starts n1..n<n> and waits until every ring has all of them."""
        for i in range(1, n + 1):
            self.start(i)
        last = self.nodes["n%d" % n].started
        return self.wait_rings("%d nodes converge" % n, [self.url("n%d" % i) for i in
                                                         range(1, n + 1)], timeout=timeout,
                               since=last)

    def healthz(self, names):
        got = self.probe.get_many([self.url(n) + "/healthz" for n in names])
        return {n: s for n, (s, _) in zip(names, got)}

    # --- the zeroconf peer ---------------------------------------------
    def zeroconf(self, short, host, *args):
        """Starts zeroconf_peer.py with args in a new namespace; returns
        (Proc, LineReader of its stdout)."""
        ns = self.lab.add(short, host)
        proc = ns.spawn("zeroconf-" + short, [netns.PYTHON, ZEROCONF_PEER] +
                        [a.replace("{addr}", ns.addr) for a in args],
                        stdout=subprocess.PIPE, text=False)
        self.others.append(proc)
        return proc, LineReader(proc.popen.stdout)


def publish_zeroconf(c, short, host, name, port, *extra):
    """Starts a zeroconf_peer.py instance NAME on PORT in a new namespace and
    waits until it says it is published; returns (Proc, its reader, the
    "published" line, its URL)."""
    proc, out = c.zeroconf(short, host, "publish", "--name", name, "--port", str(port),
                           "--address", "{addr}", *extra)
    published = expect_event(out, proc, "published", 10)
    return proc, out, published, "http://%s:%d" % (proc.ns.addr, port)


def expect_event(reader, proc, event, timeout):
    end = time.monotonic() + timeout
    while True:
        line = reader.readline(max(0.0, end - time.monotonic()))
        if line is None:
            raise CheckFailed("zeroconf peer: no %r line within %.1f s (exit %s)\n%s" % (
                event, timeout, proc.popen.poll(), proc.log_tail()))
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("event") == event:
            return obj


def browse(c, short, host, seconds, expect):
    """Runs zeroconf_peer.py browse in a new namespace; returns the list of
    resolved instances (dicts) and the names it saw."""
    ns = c.lab.add(short, host)
    r = ns.run([netns.PYTHON, ZEROCONF_PEER, "browse", "--seconds", str(seconds), "--expect",
                str(expect), "--address", ns.addr], check=False, timeout=seconds + 20)
    if r.returncode != 0:
        raise CheckFailed("zeroconf browse exited %d:\n%s" % (r.returncode, r.stderr[-2000:]))
    found, seen = {}, []
    for line in r.stdout.splitlines():
        obj = json.loads(line)
        if obj.get("event") == "done":
            seen = obj["seen"]
        else:
            found[obj["name"]] = obj  # the last resolution of each name
    return list(found.values()), seen


# --- tests -----------------------------------------------------------------


def test_01_three_nodes_converge_within_2s_of_the_last_start(c):
    for i in (1, 2, 3):
        c.start(i)
    last = c.nodes["n3"].started
    took = c.wait_rings("3 peers in every ring", [c.url(n) for n in ("n1", "n2", "n3")],
                        timeout=2.0, since=last)
    print("  converged %s after the last node's process started" % ms(took))


def test_02_a_clean_stop_leaves_every_ring_within_1s(c):
    c.converge(3)
    t0 = time.monotonic()
    c.nodes["n3"].send(signal.SIGTERM)
    took = c.wait_rings("n3 gone after SIGTERM", [c.url("n1"), c.url("n2")], ["n1", "n2"],
                        timeout=1.0, since=t0)
    print("  SIGTERMed node left every ring in %s" % ms(took))
    status = c.nodes["n3"].popen.wait(timeout=10)
    print("  it exited with status %d %s after the signal" % (status, ms(time.monotonic() - t0)))
    assert status == 0, "SIGTERMed node exited %d\n%s" % (status, c.logs(["n3"]))


def test_02b_a_clean_stop_from_a_vip_leaves_every_ring_within_1s(c):
    """NODE_IP a second address on the interface (a VIP added after the
    first): the node publishes it, and Avahi sends from it (the newest
    address), so its goodbye counts at once. (With NODE_IP the older
    address, packets would leave from the VIP and the goodbye, not from
    the published address, would take Avahi's slower path: see README.)"""
    c.start(1)
    c.start(2)
    ns = c.lab.add("n3", 3)
    vip = "%s.%d" % (c.lab.net, 103)
    ns.ip("addr", "add", vip + "/24", "dev", netns.LEG)
    assert ns.addresses() == [ns.addr, vip], ns.addresses()
    c.start(3, node_ip=vip)
    vip_url = "http://%s:%d" % (vip, PORT)
    c.wait_rings("3 peers in every ring, n3 as %s" % vip, [c.url("n1"), c.url("n2"), vip_url],
                 timeout=5.0)
    t0 = time.monotonic()
    c.nodes["n3"].send(signal.SIGTERM)
    took = c.wait_rings("n3 (%s) gone after SIGTERM" % vip, [c.url("n1"), c.url("n2")],
                        ["n1", "n2"], timeout=1.0, since=t0)
    print("  SIGTERMed node on a VIP left every ring in %s" % ms(took))


def test_03_a_killed_node_leaves_every_ring_within_15s(c):
    c.converge(3)
    t0 = time.monotonic()
    c.nodes["n3"].send(signal.SIGKILL)
    took = c.wait_rings("n3 gone after SIGKILL", [c.url("n1"), c.url("n2")], ["n1", "n2"],
                        timeout=15.0, since=t0)
    print("  SIGKILLed node left every ring in %s" % ms(took))


def test_04_a_fourth_node_joins_within_2s(c):
    c.converge(3)
    p = c.start(4)
    took = c.wait_rings("4 peers in every ring", [c.url("n%d" % i) for i in range(1, 5)],
                        timeout=2.0, since=p.started)
    print("  n4 in all 4 rings %s after its process started" % ms(took))


def test_05_reads_through_every_node_load_each_key_once(c):
    c.converge(3)
    keys = ["key-%d" % i for i in range(60)]
    names = ["n1", "n2", "n3"]
    urls = [c.url(n) + "/_groupcache/default/" + k for k in keys for n in names]
    t0 = time.monotonic()
    got = c.probe.get_many(urls, timeout=5.0)
    bad = [(u, s, b[:100]) for u, (s, b) in zip(urls, got) if s != 200 or len(b) == 0]
    assert not bad, "reads that failed (%d of %d): %s\n%s" % (len(bad), len(urls), bad[:10],
                                                             c.all_logs())
    print("  %d reads (%d keys x %d nodes) in %s" % (len(urls), len(keys), len(names),
                                                      ms(time.monotonic() - t0)))
    loads = {}
    per_node = {}
    for n, (s, body) in zip(names, c.probe.get_many([c.url(n) + "/loads" for n in names])):
        assert s == 200, (n, s, body[:200])
        per_node[n] = json.loads(body)
        for k, v in per_node[n].items():
            loads[k] = loads.get(k, 0) + v
    wrong = {k: loads.get(k) for k in keys if loads.get(k) != 1}
    assert not wrong, "keys not loaded exactly once (key: loads): %s\nper node: %s\nrings: %s" % (
        wrong, per_node, c.peers(names))
    print("  every key loaded exactly once; loads per node: %s" %
          {n: sum(v.values()) for n, v in per_node.items()})


def test_06_interop_with_python_zeroconf(c):
    need_zeroconf()
    c.converge(3)
    ours = [c.url(n) for n in ("n1", "n2", "n3")]
    # (a) A zeroconf instance joins our rings.
    zport = 9000 + random.randint(0, 999)
    zc, out, published, zurl = publish_zeroconf(c, "z1", 101, "zc-peer", zport, "--ttl", "10")
    t_pub = time.monotonic()
    print("  zeroconf published %s (%s after its start)" % (published["name"],
                                                            ms(t_pub - zc.started)))
    took = c.wait_rings("the zeroconf instance in every ring", ours + [zurl], timeout=5.0,
                        since=zc.started)
    print("  %s in every ring %s after zeroconf started (%s after it said published)" % (
        zurl, ms(took), ms(time.monotonic() - t_pub)))
    # (b) zeroconf browses and resolves ours.
    found, seen = browse(c, "z2", 102, 10, 4)
    by_name = {f["name"]: f for f in found}
    for f in found:
        print("  zeroconf resolved %s -> %s port %s TXT %s" % (f["name"], f["addresses"],
                                                                f["port"], f["properties"]))
    for n in ("n1", "n2", "n3"):
        inst = "%s.%s" % (n, SERVICE)
        f = by_name.get(inst)
        assert f is not None, "zeroconf did not resolve %s (resolved %s, browsed %s)\n%s" % (
            inst, sorted(by_name), seen, c.logs([n]))
        want = {"addresses": [c.nodes[n].ns.addr], "port": PORT}
        assert f["addresses"] == want["addresses"] and f["port"] == PORT, (
            "%s resolved to %s port %s, expected %s port %d" % (inst, f["addresses"], f["port"],
                                                                want["addresses"], PORT))
        for k, v in (("txtv", "0"), ("lo", "1"), ("la", "2")):
            assert f["properties"].get(k) == v, "%s TXT %s=%r, expected %r (TXT %s)" % (
                inst, k, f["properties"].get(k), v, f["properties"])
    # (c) Its goodbye takes it out of our rings.
    t0 = time.monotonic()
    zc.send(signal.SIGTERM)
    bye = expect_event(out, zc, "unpublished", 5)
    took = c.wait_rings("the zeroconf instance gone after its goodbye", ours, timeout=1.0,
                        since=t0)
    print("  zeroconf unregistered (goodbye sent %s ms after SIGTERM); gone from every ring %s "
          "after SIGTERM" % (bye.get("ms"), ms(took)))
    assert zc.popen.wait(timeout=10) == 0, zc.log_tail()


def test_06b_an_instance_resolved_to_loopback_is_not_a_peer(c):
    need_zeroconf()
    c.converge(3)
    ours = [c.url(n) for n in ("n1", "n2", "n3")]
    # A broken (or hostile) responder: its A record says 127.0.0.1, which in
    # every ring would be each node itself. A sane one next to it joins.
    port = 9000 + random.randint(0, 999)
    publish_zeroconf(c, "z3", 103, "zc-loopback", port, "--record-address", "127.0.0.1")
    good, _, _, sane = publish_zeroconf(c, "z4", 104, "zc-sane", port)
    c.wait_rings("the sane zeroconf instance in every ring", ours + [sane], timeout=5.0,
                 since=good.started)
    time.sleep(1.0)  # the loopback one was resolved by now too
    seen = c.peers(["n1", "n2", "n3"])
    for n, ring in seen.items():
        assert ring == sorted(ours + [sane]), "%s's ring: %s\n%s" % (n, ring, c.logs([n]))
    logs = c.logs(["n1"], lines=200)
    assert "address no peer has" in logs, logs
    print("  the instance resolved to 127.0.0.1 stayed out of every ring; the sane one joined")


def test_07_the_same_instance_name_on_two_nodes_both_published(c):
    need_zeroconf()
    c.start(1, ["--mdns-name", "same"])
    c.start(2, ["--mdns-name", "same"])
    p3 = c.start(3)
    all3 = [c.url(n) for n in ("n1", "n2", "n3")]
    took = c.wait_rings("both 'same' nodes in n3's ring", all3, ["n3"], timeout=10.0,
                        since=p3.started)
    print("  n3's ring has both nodes named 'same' %s after the last start" % ms(took))
    took = c.wait_rings("3 peers in every ring", all3, timeout=10.0, since=p3.started)
    print("  all 3 rings agree %s after the last start" % ms(took))
    found, seen = browse(c, "z1", 101, 10, 3)
    same = sorted((f["name"], f["addresses"]) for f in found if f["name"].startswith("same"))
    print("  zeroconf sees: %s" % [(f["name"], f["addresses"], f["port"]) for f in found])
    names = [s[0] for s in same]
    addrs = sorted(a for s in same for a in s[1])
    ok = (len(same) == 2 and ("same." + SERVICE) in names and
          addrs == sorted([c.nodes["n1"].ns.addr, c.nodes["n2"].ns.addr]))
    assert ok, ("expected two instances, 'same.%s' and a renamed one, at %s and %s; zeroconf "
                "resolved %s (browsed %s)\n%s" % (SERVICE, c.nodes["n1"].ns.addr,
                                                  c.nodes["n2"].ns.addr, same, seen,
                                                  c.logs(["n1", "n2"])))


def test_08_an_address_change_is_followed_within_15s(c):
    c.converge(3)
    ns = c.nodes["n3"].ns
    old, new = ns.addr, "%s.%d" % (c.lab.net, 153)
    # With the new address in the same subnet it is a secondary one: without
    # promote_secondaries, deleting the primary would delete it too.
    ns.run(["sysctl", "-qw", "net.ipv4.conf.%s.promote_secondaries=1" % netns.LEG])
    ns.ip("addr", "add", new + "/24", "dev", netns.LEG)
    ns.ip("addr", "del", old + "/24", "dev", netns.LEG)
    t0 = time.monotonic()
    addrs = ns.addresses()
    assert addrs == [new], "n3's addresses after the change: %s, expected [%s]" % (addrs, new)
    want = [c.url("n1"), c.url("n2"), "http://%s:%d" % (new, PORT)]
    # n3's own ring keeps its configured NODE_IP (known limitation): only
    # the others are checked.
    took = c.wait_rings("n3 followed to its new address %s" % new, want, ["n1", "n2"],
                        timeout=15.0, since=t0)
    print("  the others' rings moved from %s to %s in %s" % (old, new, ms(took)))
    assert c.nodes["n3"].alive(), c.logs(["n3"])


def test_09_twenty_nodes_converge_within_10s(c):
    n = 20
    for i in range(1, n + 1):
        c.lab.add("n%d" % i, i)  # the namespaces first: only the nodes are timed
    for i in range(1, n + 1):
        c.start(i)
    first = c.nodes["n1"].started
    last = c.nodes["n%d" % n].started
    took = c.wait_rings("%d peers in every ring" % n, [c.url("n%d" % i) for i in
                                                       range(1, n + 1)], timeout=10.0, since=last)
    print("  %d nodes started in %s; every ring had all %d %s after the last start" % (
        n, ms(last - first), n, ms(took)))


# --- malformed packets ---------------------------------------------------

QUERY, RESPONSE = 0x0000, 0x8400
T_A, T_PTR, T_TXT, T_SRV, C_IN = 1, 12, 16, 33, 1


def header(flags, qd=0, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", 0, flags, qd, an, ns, ar)


def name(*labels):
    out = b""
    for label in labels:
        label = label.encode() if isinstance(label, str) else label
        out += bytes([len(label)]) + label
    return out + b"\0"


SVC = ("_groupcache", "_tcp", "local")


def rr(owner, rtype, rdata, ttl=120, rdlength=None, cls=C_IN):
    return owner + struct.pack("!HHIH", rtype, cls, ttl,
                               len(rdata) if rdlength is None else rdlength) + rdata


def question(qname, qtype=T_PTR):
    return qname + struct.pack("!HH", qtype, C_IN)


def srv(port, target):
    return struct.pack("!HHH", 0, 0, port) + target


def malformed_packets(rng):
    """(label, bytes) of DNS messages that a parser must reject, plus
    fuzzed variants of a well-formed announcement that resolves to no
    reachable host (so no variant may add a peer)."""
    out = []
    tail_q = struct.pack("!HH", T_PTR, C_IN)
    tail_rr = struct.pack("!HHIH", T_PTR, C_IN, 120, 2) + b"\xc0\x0c"
    # Names over 255 bytes made of pointers: question i is a 63-byte label
    # and a pointer to question i-1's name.
    chained, offsets = b"", []
    for i in range(6):
        offsets.append(12 + len(chained))
        tail = b"\0" if i == 0 else struct.pack("!H", 0xC000 | offsets[i - 1])
        chained += b"\x3f" + (b"a" if i == 0 else b"b") * 63 + tail + tail_q
    for kind, flags in (("query", QUERY), ("response", RESPONSE)):
        out.append(("%s: empty datagram" % kind, b""))
        out.append(("%s: 5-byte header" % kind, header(flags)[:5]))
        out.append(("%s: 11-byte header" % kind, header(flags, qd=1)[:11]))
        out.append(("%s: counts 65535 and no data" % kind,
                    header(flags, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF)))
        for label, nm in (
                ("name pointing to itself", b"\xc0\x0c"),
                ("pointer loop A->B->A", b"\xc0\x0e\xc0\x0c"),
                ("label then pointer back to its start", b"\x03abc\xc0\x0c"),
                ("pointer past the end", b"\xc0\xff"),
                ("name over 255 bytes", name(*(["a" * 63] * 5) + list(SVC))),
                ("64-byte label", bytes([64]) + b"x" * 64 + name(*SVC)),
                ("label type 0x80", b"\x80abc" + name(*SVC)),
                ("label longer than the packet", b"\x3fabc"),
                ("name with no terminator", b"\x0b_groupcache\x04_tcp\x05local")):
            out.append(("%s: %s (question)" % (kind, label), header(flags, qd=1) + nm + tail_q))
            out.append(("%s: %s (answer)" % (kind, label), header(flags, an=1) + nm + tail_rr))
        out.append(("%s: names over 255 bytes through pointers" % kind,
                    header(flags, qd=len(offsets)) + chained))
    inst = name("evil", *SVC)
    host = name("evil-host", "local")
    ptr = rr(name(*SVC), T_PTR, inst)
    bad = [
        ("rdlength past the end", header(RESPONSE, an=1) + rr(name(*SVC), T_PTR, inst[:4],
                                                               rdlength=500)),
        ("SRV rdlength 3", header(RESPONSE, an=2) + ptr + rr(inst, T_SRV, b"\0\0\0",
                                                              ttl=120)),
        ("SRV target pointer loop", header(RESPONSE, an=2) + ptr + rr(inst, T_SRV, struct.pack(
            "!HHH", 0, 0, PORT) + b"\xc0\x0c")),
        ("TXT string longer than rdlength", header(RESPONSE, an=3) + ptr +
         rr(inst, T_SRV, srv(PORT, host)) + rr(inst, T_TXT, b"\x40txtv=0")),
        ("A rdlength 3", header(RESPONSE, an=3, ar=1) + ptr + rr(inst, T_SRV, srv(PORT, host)) +
         rr(inst, T_TXT, b"\x06txtv=0") + rr(host, T_A, b"\x0a\x00\x00")),
        ("A rdlength 5", header(RESPONSE, an=3, ar=1) + ptr + rr(inst, T_SRV, srv(PORT, host)) +
         rr(inst, T_TXT, b"\x06txtv=0") + rr(host, T_A, b"\x0a\x00\x00\x01\x02")),
        ("an count past the records", header(RESPONSE, an=9) + ptr),
        ("record cut in its fixed part", header(RESPONSE, an=1) + name(*SVC) + b"\x00\x0c\x00"),
    ]
    out += bad
    for i in range(150):
        out.append(("random bytes #%d" % i, bytes(rng.getrandbits(8) for _ in
                                                   range(rng.randint(1, 1400)))))
    out.append(("9000 random bytes", bytes(rng.getrandbits(8) for _ in range(9000))))
    # Fuzzed announcements of an instance whose host has no address record:
    # even a variant that parses resolves to nothing.
    fz_inst, fz_host = name("fuzz", *SVC), name("fuzz-host", "local")
    base = (header(RESPONSE, an=3) + rr(name(*SVC), T_PTR, fz_inst) +
            rr(fz_inst, T_SRV, srv(PORT, fz_host)) + rr(fz_inst, T_TXT, b"\x06txtv=0\x04lo=1"))
    for i in range(300):
        b = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(12, len(b))] = rng.getrandbits(8)
        if rng.random() < 0.3:
            b = b[:rng.randrange(12, len(b))]
        out.append(("fuzzed announcement #%d" % i, bytes(b)))
    return out


def goodbyes_in_malformed_packets(instance):
    """Well-formed TTL-0 PTR records for `instance` (a live node), each in a
    message that is malformed elsewhere: a parser that rejects the message
    must not act on the goodbye."""
    bye = rr(name(*SVC), T_PTR, name(instance, *SVC), ttl=0)
    return [
        ("goodbye, then a record whose rdlength runs past the end",
         header(RESPONSE, an=2) + bye + rr(name(*SVC), T_PTR, b"\x04evil", rdlength=300)),
        ("goodbye, then an answer count past the records", header(RESPONSE, an=5) + bye),
        ("goodbye, then a name pointing to itself",
         header(RESPONSE, an=2) + bye + b"\xc0" + bytes([12 + len(bye)]) +
         struct.pack("!HHIH", T_PTR, C_IN, 0, 2) + b"\xc0\x0c"),
        ("goodbye, then a truncated header-sized tail", header(RESPONSE, an=2) + bye + b"\0\0\0"),
    ]


def send_burst(c, sender, packets, repeat=1):
    """Sends every packet to the mDNS group and to each node's port 5353,
    from port 5353 (as responses must come) and from an ephemeral port
    (legacy unicast queries), `repeat` times. Returns how many were sent."""
    dests = [("224.0.0.251", 5353)] + [(p.ns.addr, 5353) for p in c.nodes.values()]
    batch = [(d, port, sport, data) for _ in range(repeat) for _, data in packets
             for d, port in dests for sport in (5353, 0)]
    sent, errors = netns.send_udp(sender, batch, timeout=60)
    return sent, len(batch), errors


def watch_rings(c, want, seconds):
    """Polls every ring for `seconds`; returns the deviations seen as
    {name: [(from, to, peers seen)]}, times in seconds since the call."""
    names = list(c.nodes)
    t0 = time.monotonic()
    spans = {}
    while time.monotonic() - t0 < seconds:
        for n, seen in c.peers(names).items():
            now = round(time.monotonic() - t0, 2)
            if seen == want:
                continue
            runs = spans.setdefault(n, [])
            if runs and runs[-1][2] == seen and now - runs[-1][1] < 3 * POLL + 0.1:
                runs[-1] = (runs[-1][0], now, seen)
            else:
                runs.append((now, now, seen))
        time.sleep(POLL)
    return spans


def describe(spans):
    return "\n".join("  %s: %s" % (n, "; ".join("%.2f-%.2f s: %s" % r for r in runs))
                     for n, runs in sorted(spans.items()))


def test_10_malformed_packets_leave_nodes_up_and_rings_unchanged(c):
    c.converge(3)
    names = ["n1", "n2", "n3"]
    want = sorted(c.url(n) for n in names)
    sender = c.lab.add("x", 200)
    seed = random.randrange(1 << 30)
    packets = malformed_packets(random.Random(seed))
    t0 = time.monotonic()
    sent, total, errors = send_burst(c, sender, packets, repeat=2)
    print("  sent %d of %d malformed datagrams (%d kinds, seed %d) in %s%s" % (
        sent, total, len(packets), seed, ms(time.monotonic() - t0),
        ("; send errors: " + errors[:300]) if errors else ""))
    dead = [n for n in names if not c.nodes[n].alive()]
    assert not dead, "nodes died after malformed packets: %s\n%s" % (
        [(n, c.nodes[n].popen.poll()) for n in dead], c.logs(dead, 60))
    health = c.healthz(names)
    assert all(s == 200 for s in health.values()), "/healthz after the burst: %s\n%s" % (
        health, c.all_logs())
    spans = watch_rings(c, want, 2.0)
    assert not spans, ("rings changed after the malformed burst (expected %s everywhere; "
                       "seconds after the burst):\n%s\n%s" % (want, describe(spans),
                                                               c.all_logs()))
    # And a new node still joins.
    p = c.start(4)
    took = c.wait_rings("a new node joins after the burst", want + [c.url("n4")], timeout=2.0,
                        since=p.started)
    print("  all nodes up, rings unchanged; a new node joined in %s" % ms(took))


def test_11_a_goodbye_inside_a_malformed_message_changes_nothing(c):
    # A message that fails to parse is dropped whole: a well-formed TTL-0
    # record for a live node ahead of the bad part must not take it out.
    # One kind at a time (to the group and to every node), each followed by
    # a 2.5 s watch: the effect, if any, shows about 1 s after.
    c.converge(3)
    names = ["n1", "n2", "n3"]
    want = sorted(c.url(n) for n in names)
    sender = c.lab.add("x", 200)
    failures = []
    for kind, data in goodbyes_in_malformed_packets("n1"):
        send_burst(c, sender, [(kind, data)])
        spans = watch_rings(c, want, 2.5)
        if spans:
            back = c.wait_rings("rings whole again after: %s" % kind, want, timeout=20.0)
            failures.append("%s:\n%s\n  (whole again %s after the 2.5 s watch)" % (
                kind, describe(spans), ms(back)))
        print("  %s: %s" % (kind, "rings changed" if spans else "rings unchanged for 2.5 s"))
    dead = [n for n in names if not c.nodes[n].alive()]
    assert not dead, c.logs(dead, 60)
    if failures:
        raise CheckFailed(
            "goodbyes for n1 inside malformed messages changed the rings (expected %s "
            "everywhere); deviations, seconds after sending:\n%s\n%s" % (
                want, "\n".join(failures), c.logs(names, 12)))


def test_12_bad_mdns_settings_exit_2_naming_the_setting(c):
    # Inside a namespace: a setting wrongly accepted must not start
    # multicasting in the root namespace.
    ns = c.lab.add("b", 90)
    base = [GROUPCACHED, "--discovery", "mdns", "--node-name", "b", "--node-ip", ns.addr,
            "--group-port", str(PORT), "--listen", "0.0.0.0:%d" % PORT, "--loader", "synthetic:8",
            "--group", "default"]
    cases = [
        (["--mdns-ttl", "0s"], "ttl"),
        (["--mdns-ttl", "2h"], "ttl"),
        (["--mdns-ttl", "soon"], "ttl"),
        (["--mdns-service", "groupcache"], "service"),
        (["--mdns-service", "_groupcache._sctp"], "service"),
        (["--mdns-name", "x" * 64], "name"),
    ]
    for extra, says in cases:
        try:
            r = ns.run(base + extra, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            raise CheckFailed("%s: still running after 10 s, expected exit 2" % extra)
        print("  %s -> exit %d: %s" % (" ".join(extra)[:40], r.returncode,
                                       r.stderr.strip().splitlines()[-1:] if r.stderr else ""))
        assert r.returncode == 2 and says in r.stderr, (
            "%s: expected exit 2 and a message naming %r; got exit %d, stderr %r" % (
                extra, says, r.returncode, r.stderr[-500:]))


def mdns_unsupported():
    """A reason to skip where this groupcached was built without mDNS."""
    if not os.access(GROUPCACHED, os.X_OK):
        return "no groupcached at %s" % GROUPCACHED
    r = subprocess.run([GROUPCACHED, "--help"], capture_output=True, text=True, timeout=20)
    if "--mdns-name" not in r.stdout:
        return "%s has no --discovery mdns" % GROUPCACHED
    return None


def main():
    reason = netns.lab_support() or mdns_unsupported()
    if reason is None:
        gone = netns.sweep_leftovers()
        if gone:
            print("removed leftovers of earlier runs: %s" % gone)
        # A groupcached built without libavahi-core says so at start.
        lab = netns.Lab()
        try:
            ns = lab.add("c", 1)
            r = ns.run([GROUPCACHED, "--discovery", "mdns", "--node-ip", ns.addr, "--group-port",
                        "1", "--loader", "synthetic:8", "--group", "g", "--mdns-ttl", "0s"],
                       check=False, timeout=20)
            if "without libavahi-core" in r.stderr:
                reason = r.stderr.strip()
        finally:
            lab.close()
    if reason:
        print("mdns cluster test skipped: %s" % reason)
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    only = os.environ.get("MDNS_TEST")
    passed = failed = skipped = 0
    t_all = time.monotonic()
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        c = None
        try:
            c = Cluster()
            fn(c)
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Skipped as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            if isinstance(e, AssertionError):
                where = traceback.extract_tb(e.__traceback__)[-1]
                print("%s (%s line %d)" % (e, os.path.basename(where.filename), where.lineno))
            else:
                traceback.print_exc()
                if c is not None:
                    print(c.all_logs())
        finally:
            if c is not None:
                c.close()
        sys.stdout.flush()
    print("(%.0f s in all)" % (time.monotonic() - t_all))
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
