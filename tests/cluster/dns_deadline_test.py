#!/usr/bin/python3
"""A peer named by a host name whose DNS server never answers: the peer
client's call must end at its own deadline, not when getaddrinfo gives up.

The slow DNS lives in a network namespace this test creates: `ip netns exec`
bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf, which points
at a UDP socket on the namespace's own loopback that reads queries and never
answers. Nothing leaves the namespace. Without root or `ip netns`, the test
skips and says why.

Usage: dns_deadline_test.py GROUPCACHE_CLI DNS_CLIENT_PROBE
(prints "N passed, M failed")
"""

import os
import select
import shutil
import subprocess
import sys
import time

CLI = sys.argv[1] if len(sys.argv) > 1 else "build/cmd/groupcache-cli"
PROBE = sys.argv[2] if len(sys.argv) > 2 else "build/tests/dns_client_probe"
NS = "gcdns%d" % os.getpid()
ETC = "/etc/netns/" + NS
LOOKUP_TIMEOUT = 3  # resolv.conf: how long getaddrinfo waits for the silent server

SILENT_DNS = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recvfrom(4096)
    print("query", flush=True)
"""


def skip(why):
    print("dns deadline test skipped: %s" % why)
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)


def ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10)


def in_ns(argv):
    return ["ip", "netns", "exec", NS] + argv


def read_line(pipe, timeout):
    """The pipe's next line, or "" if none comes within timeout seconds."""
    if not select.select([pipe], [], [], timeout)[0]:
        return ""
    return pipe.readline()


def run_timed(argv, timeout):
    """(exit code, stderr, seconds until stderr's first line, seconds to exit)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = read_line(p.stderr, timeout)
    said = time.monotonic() - t0
    try:
        rest = p.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        rest = p.communicate()[1]
    return p.returncode, first + rest, said, time.monotonic() - t0


def main():
    if os.geteuid() != 0:
        skip("network namespaces need root (running as uid %d)" % os.geteuid())
    if shutil.which("ip") is None:
        skip("no ip(8) (iproute2)")
    r = ip("netns", "add", NS)
    if r.returncode != 0:
        skip("ip netns add failed: %s" % r.stderr.strip())
    dns = None
    passed = failed = 0
    try:
        os.makedirs(ETC, exist_ok=True)
        with open(ETC + "/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:%d attempts:1\n" % LOOKUP_TIMEOUT)
        r = ip("-n", NS, "link", "set", "lo", "up")
        assert r.returncode == 0, r.stderr
        dns = subprocess.Popen(in_ns(["/usr/bin/python3", "-c", SILENT_DNS]),
                               stdout=subprocess.PIPE, text=True)
        assert read_line(dns.stdout, 10).strip() == "ready", "the silent DNS server did not start"

        # The lab is what it claims: a lookup there takes the whole timeout.
        t0 = time.monotonic()
        subprocess.run(in_ns(["getent", "hosts", "slow-peer.test"]), capture_output=True,
                       timeout=LOOKUP_TIMEOUT * 4)
        lookup = time.monotonic() - t0
        if read_line(dns.stdout, 1).strip() != "query":
            # Lookups go elsewhere here (nscd, systemd-resolved's NSS module):
            # the lab cannot make a slow DNS.
            skip("getent hosts did not ask the namespace's DNS server (took %.1fs)" % lookup)
        assert lookup >= LOOKUP_TIMEOUT - 0.5, "the lookup took only %.1fs" % lookup
        print("  a lookup in the lab takes %.1fs" % lookup)

        cases = [
            ("peer get", ["get", "--peer", "http://slow-peer.test:8080", "--group", "g",
                          "--timeout", "500ms", "key"], "connect http://slow-peer.test:8080"),
        ]
        for name, args, want in cases:
            try:
                code, err, said, took = run_timed(in_ns([CLI] + args), LOOKUP_TIMEOUT * 4)
                assert code == 1, "exit %d, want 1: %s" % (code, err)
                assert want in err and ("deadline" in err or "timed out" in err), err
                # The call ends at its deadline (0.5 s), not with the lookup (3 s).
                assert said < 1.5, "the error came after %.1fs: %s" % (said, err)
                print("PASS %s: error after %.2fs, exit after %.2fs: %s"
                      % (name, said, took, err.strip()))
                passed += 1
            except AssertionError as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
        # The deadline, a cancellation and the pool's destruction, each
        # during the lookup, from the library (dns_client_main.cc).
        r = subprocess.run(in_ns([PROBE, "http://slow-peer.test:8080"]), capture_output=True,
                           text=True, timeout=LOOKUP_TIMEOUT * 10)
        for line in r.stdout.splitlines():
            if line.startswith("PASS ") or line.startswith("FAIL "):
                print("%s (probe)" % line)
                passed += line.startswith("PASS ")
                failed += line.startswith("FAIL ")
        if r.returncode not in (0, 1) or "passed" not in r.stdout:
            print("FAIL probe: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
            failed += 1
    finally:
        if dns is not None:
            dns.kill()
            dns.wait()
        ip("netns", "del", NS)
        shutil.rmtree(ETC, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
