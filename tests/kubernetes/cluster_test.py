#!/usr/bin/python3
"""Kubernetes discovery end to end: real groupcached processes find each
other through the fake API server (fake_apiserver.py), whose pods are made
from deploy/kubernetes/deployment.yaml's pod template (so the manifests and
the provider cannot drift apart).

Each "pod" is a groupcached on its own loopback address (127.0.0.N), all on
one port, as pods share a port on different IPs. Every check has a
deadline; the whole run is bounded and kills what it started.

Usage: cluster_test.py GROUPCACHED   (prints "N passed, M failed")
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "deploy"))
sys.path.insert(0, str(HERE.parent / "common"))

from testlib import free_port, wait_for  # noqa: E402

try:
    import manifests_test as manifests  # pod_from_template, container_args
except ImportError as e:  # no yaml
    print("kubernetes cluster test skipped: %s" % e)
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

GROUPCACHED = sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "build/cmd/groupcached")
NS = "default"


# Every address a node of this test listens on: its port must be free on all.
NODE_ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")


def http(url, method="GET", body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


class Cluster:
    """The fake API server and the groupcached "pods"."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="k8s-cluster-")
        self.port = free_port(NODE_ADDRESSES)
        self.fake = subprocess.Popen(
            ["/usr/bin/python3", str(HERE / "fake_apiserver.py"), "--exit-with-stdin",
             "--max-lifetime", "300", "--dir", self.dir, "--bookmark-interval", "0.5"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(self.dir, "fake.log"), "w"), text=True)
        self.ready = json.loads(self.fake.stdout.readline())
        self.control = self.ready["control"]
        self.nodes = {}  # pod name -> (ip, Popen)

    def close(self):
        for name in list(self.nodes):
            self.stop_node(name)
        try:
            self.fake.stdin.close()
            self.fake.wait(timeout=10)
        except Exception:
            self.fake.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- pods, through the fake's controls -------------------------------
    def pod(self, name, ip, ready=True, phase="Running", deleting=False, port=None):
        pod = manifests.pod_from_template(name, ip, ready=ready, phase=phase, namespace=NS)
        for c in pod["spec"]["containers"]:
            for p in c.get("ports", []):
                if p.get("name") == "group-port":
                    p["containerPort"] = self.port if port is None else port
        if deleting:
            pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        code, body = http("%s/control/pods/%s/%s" % (self.control, NS, name), "PUT", pod)
        assert code in (200, 201), (code, body[:300])
        return pod

    def delete_pod(self, name):
        code, body = http("%s/control/pods/%s/%s" % (self.control, NS, name), "DELETE")
        assert code == 200, (code, body)

    def ctl(self, path, body=None, method="POST"):
        code, out = http(self.control + path, method, body if body is not None else {})
        assert code == 200, (path, code, out)
        return json.loads(out or b"{}")

    # --- groupcached processes -------------------------------------------
    def start_node(self, name, ip, kubeconfig=None, loader="synthetic:64:20"):
        pod = manifests.pod_from_template(name, ip, namespace=NS)
        args = manifests.container_args(pod)
        env = dict(os.environ)
        env.update(manifests.container_env(pod))
        env["GROUP_PORT"] = str(self.port)
        # As the pod runs it, but off-cluster: the fake's kubeconfig, a
        # loader that needs no volume, short retries.
        out = []
        skip = False
        for a in args:
            if skip:
                skip = False
                continue
            if a in ("--loader", "--drain-timeout", "--shutdown-timeout"):
                skip = True
                continue
            out.append(a)
        out += ["--loader", loader, "--kubeconfig", kubeconfig or self.ready["kubeconfig_token_file"],
                "--kube-namespace", NS, "--kube-backoff-max", "1s", "--kube-watch-timeout", "5s",
                "--drain-timeout", "0s", "--shutdown-timeout", "1s", "--log-level", "info"]
        log = open(os.path.join(self.dir, "%s.log" % name), "w")
        proc = subprocess.Popen([GROUPCACHED] + out, env=env, stdout=subprocess.DEVNULL,
                                stderr=log)
        self.nodes[name] = (ip, proc)
        wait_for("%s to listen" % name, lambda: http("http://%s:%d/healthz" % (ip, self.port))[0]
                 == 200 or proc.poll() is not None, 10)
        assert proc.poll() is None, self.log(name)
        return proc

    def stop_node(self, name):
        ip, proc = self.nodes.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, name):
        return open(os.path.join(self.dir, "%s.log" % name)).read()[-3000:]

    def peers(self, name):
        ip, _ = self.nodes[name]
        code, body = http("http://%s:%d/peers" % (ip, self.port))
        return sorted(json.loads(body)) if code == 200 else None

    def url(self, ip):
        return "http://%s:%d" % (ip, self.port)

    def rings_are(self, ips, names=None):
        want = sorted(self.url(ip) for ip in ips)
        return all(self.peers(n) == want for n in (names or list(self.nodes)))

    def metric(self, name, sample):
        ip, _ = self.nodes[name]
        code, body = http("http://%s:%d/metrics" % (ip, self.port))
        for line in body.decode().splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
        return None

    def get(self, name, key):
        ip, _ = self.nodes[name]
        return http("http://%s:%d/_groupcache/default/%s" % (ip, self.port, key))

    def loads(self):
        total = {}
        for name, (ip, _) in self.nodes.items():
            code, body = http("http://%s:%d/loads" % (ip, self.port))
            for k, v in (json.loads(body) if code == 200 else {}).items():
                total[k] = total.get(k, 0) + v
        return total


IPS = {"pod-a": "127.0.0.2", "pod-b": "127.0.0.3", "pod-c": "127.0.0.4"}


def three_nodes(c):
    for name, ip in IPS.items():
        c.pod(name, ip, ready=False)
    for name, ip in IPS.items():
        c.start_node(name, ip)


def test_three_nodes_converge_within_a_second_of_the_last_ready(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip, ready=True)
    t0 = time.monotonic()
    wait_for("3 peers everywhere", lambda: c.rings_are(IPS.values()), 1.0)
    print("  converged %.0f ms after the last pod turned Ready" % ((time.monotonic() - t0) * 1e3))


def test_not_ready_terminating_deleted_and_a_new_ip_leave_within_a_second(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    ab = ["127.0.0.2", "127.0.0.3"]
    for change in ("not-ready", "terminating", "deleted"):
        if change == "not-ready":
            c.pod("pod-c", IPS["pod-c"], ready=False)
        elif change == "terminating":
            c.pod("pod-c", IPS["pod-c"], deleting=True)
        else:
            c.delete_pod("pod-c")
        t0 = time.monotonic()
        wait_for("pod-c gone after %s" % change, lambda: c.rings_are(ab, ["pod-a", "pod-b"]), 1.0)
        print("  %s: left every ring in %.0f ms" % (change, (time.monotonic() - t0) * 1e3))
        c.pod("pod-c", IPS["pod-c"])
        wait_for("pod-c back", lambda: c.rings_are(IPS.values()), 2)
    # The pod's IP changes: the ring follows (old address out, new one in).
    c.pod("pod-c", "127.0.0.5")
    wait_for("new address", lambda: c.rings_are(ab + ["127.0.0.5"], ["pod-a", "pod-b"]), 1.0)


def test_a_410_and_an_expired_history_relist_to_the_right_membership(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    lists = c.metric("pod-a", "groupcache_discovery_lists_total")
    # While the nodes cannot watch, the membership changes and the history
    # they would resume from is dropped: they must list again.
    c.ctl("/control/stop")
    c.pod("pod-c", IPS["pod-c"], ready=False)
    c.ctl("/control/expire-history")
    c.ctl("/control/start")
    ab = ["127.0.0.2", "127.0.0.3"]
    wait_for("relisted membership", lambda: c.rings_are(ab, ["pod-a", "pod-b"]), 4)
    assert c.metric("pod-a", "groupcache_discovery_lists_total") > lists
    # And a 410 on a live watch (history expired under it, connection dropped).
    c.ctl("/control/expire-history")
    c.ctl("/control/drop-connections")
    c.pod("pod-c", IPS["pod-c"])
    wait_for("pod-c back after a 410", lambda: c.rings_are(IPS.values()), 4)


def test_the_api_server_gone_for_30s_changes_nothing_and_is_caught_up(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    c.ctl("/control/stop")
    c.pod("pod-c", IPS["pod-c"], ready=False)  # not seen until it is back
    end = time.monotonic() + 30
    reads = 0
    while time.monotonic() < end:
        assert c.rings_are(IPS.values()), "a ring changed while the API server was down"
        for name in IPS:
            code, _ = c.get(name, "during-outage-%d" % reads)
            assert code == 200, (name, code)
            reads += 1
        time.sleep(1)
    assert all(p.poll() is None for _, p in c.nodes.values())
    c.ctl("/control/start")
    t0 = time.monotonic()
    ab = ["127.0.0.2", "127.0.0.3"]
    wait_for("catch-up", lambda: c.rings_are(ab, ["pod-a", "pod-b"]), 1.0 + 2.0)  # backoff cap 1s
    print("  %d reads during the outage; caught up %.0f ms after the API server returned"
          % (reads, (time.monotonic() - t0) * 1e3))


def requests_while_every_watch_fails(c, event, stat, started):
    """One node; then every watch is answered with 200 and one ERROR event
    `event` (a dict: code, reason). Returns how many `stat` requests
    ("watch_requests", "list_requests") the fake counted in 4 s, once
    started(c) says the failures have begun; then lets the watch work again
    and checks that the node catches up within the backoff cap."""
    c.pod("pod-a", IPS["pod-a"])
    c.start_node("pod-a", IPS["pod-a"])
    wait_for("1 peer", lambda: c.rings_are([IPS["pod-a"]]), 5)
    c.ctl("/control/inject", dict(event, kind="error-event", count=100000))
    c.ctl("/control/drop-connections")  # the running watch ends; the next one fails
    wait_for("the failures to begin", lambda: started(c), 5)
    before = c.ctl("/control/stats", method="GET")[stat]
    time.sleep(4)
    count = c.ctl("/control/stats", method="GET")[stat] - before
    c.ctl("/control/inject", method="DELETE")
    c.pod("pod-b", IPS["pod-b"])
    c.start_node("pod-b", IPS["pod-b"])
    wait_for("caught up", lambda: c.rings_are([IPS["pod-a"], IPS["pod-b"]]), 1.0 + 2.0)
    return count


def test_a_watch_answered_with_an_error_event_keeps_backing_off(c):
    # Every watch says ERROR 500 at once: the node must back off (250 ms
    # doubling to the 1 s cap), not resume every 125-250 ms because the
    # stream had a first line.
    watches = requests_while_every_watch_fails(
        c, {"code": 500}, "watch_requests",
        lambda c: (c.metric("pod-a", 'groupcache_discovery_api_errors_total{code="500"}')
                   or 0) >= 1)
    # Backing off: about 6 in 4 s (0.125-0.25, 0.25-0.5, then 0.5-1 s apart;
    # at most 10 with the shortest jitter); reset every time, 16-32.
    assert watches <= 12, "%d watches in 4 s: the backoff was reset by an ERROR event" % watches
    assert watches >= 2, "%d watches in 4 s: the node stopped watching" % watches
    print("  %d watches in 4 s while every watch was an ERROR event" % watches)


def test_a_watch_that_only_ever_says_410_does_not_relist_in_a_loop(c):
    # A proxy or an API server with a stale cache: every watch, even right
    # after a fresh list, says ERROR 410. The node must back off between
    # list-and-watch rounds, not list as fast as it can.
    lists = requests_while_every_watch_fails(
        c, {"code": 410, "reason": "Expired"}, "list_requests",
        lambda c: "too old" in c.log("pod-a"))
    assert lists <= 12, "%d lists in 4 s: a 410 after every fresh list is a tight loop" % lists
    assert lists >= 2, "%d lists in 4 s: the node stopped trying" % lists
    print("  %d lists in 4 s while every watch said 410" % lists)


def test_a_token_rotated_on_disk_is_used_after_a_401(c):
    # The nodes' own token file (the fake keeps the token it accepts in
    # another), named by a kubeconfig of their own.
    client_token = os.path.join(c.dir, "client-token")
    with open(client_token, "w") as f:
        f.write(c.ready["token"])
    kubeconfig = os.path.join(c.dir, "client-kubeconfig")
    with open(c.ready["kubeconfig_token_file"]) as f:
        text = f.read().replace(c.ready["token_file"], client_token)
    with open(kubeconfig, "w") as f:
        f.write(text)
    for name, ip in IPS.items():
        c.pod(name, ip, ready=False)
    for name, ip in IPS.items():
        c.start_node(name, ip, kubeconfig=kubeconfig)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    ab = ["127.0.0.2", "127.0.0.3"]

    def rotate_server(token):
        c.ctl("/control/token", {"token": token}, "PUT")
        c.ctl("/control/drop-connections")

    # A rotation the nodes can see coming (their file changed): used at once.
    second = "second-%d" % random.randint(0, 1 << 30)
    with open(client_token, "w") as f:
        f.write(second)
    rotate_server(second)
    c.pod("pod-c", IPS["pod-c"], ready=False)
    wait_for("change seen with the new token", lambda: c.rings_are(ab, ["pod-a", "pod-b"]), 4)
    assert not c.metric("pod-a", 'groupcache_discovery_api_errors_total{code="401"}')

    # The server moves on first: 401s, and the nodes keep their membership.
    third = "third-%d" % random.randint(0, 1 << 30)
    rotate_server(third)
    wait_for("401s", lambda: (c.metric("pod-a", 'groupcache_discovery_api_errors_total{code="401"}')
                              or 0) > 0, 6)
    assert c.rings_are(ab, ["pod-a", "pod-b"])
    # The file changes without its time moving: only the re-read after a
    # 401 can find the new token.
    stamp = os.stat(client_token)
    with open(client_token, "w") as f:
        f.write(third)
    os.utime(client_token, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    c.pod("pod-c", IPS["pod-c"])
    wait_for("change seen after the 401", lambda: c.rings_are(IPS.values(), ["pod-a", "pod-b"]), 5)
    logs = c.log("pod-a")
    assert "401 Unauthorized" in logs, logs[-1500:]


def test_reads_load_every_key_once_while_pods_come_and_go(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    keys = ["k-%d" % i for i in range(150)]

    def read_all(batch):
        with ThreadPoolExecutor(32) as pool:
            futures = [pool.submit(c.get, name, k) for k in batch for name in IPS]
            for f in futures:
                assert f.result()[0] == 200
    read_all(keys[:50])
    # A fourth pod joins and leaves; reads go on around it.
    c.pod("pod-d", "127.0.0.6", ready=False)
    c.start_node("pod-d", "127.0.0.6")
    c.pod("pod-d", "127.0.0.6")
    wait_for("4 peers", lambda: c.rings_are(list(IPS.values()) + ["127.0.0.6"]), 2)
    read_all(keys[50:100])
    c.pod("pod-d", "127.0.0.6", ready=False)
    wait_for("3 peers", lambda: c.rings_are(IPS.values(), list(IPS)), 2)
    read_all(keys[100:])
    loads = c.loads()
    for k in keys:
        assert loads.get(k) == 1, (k, loads.get(k))


def test_bad_input_from_the_api_is_skipped_and_the_node_stays_up(c):
    three_nodes(c)
    for name, ip in IPS.items():
        c.pod(name, ip)
    wait_for("3 peers", lambda: c.rings_are(IPS.values()), 5)
    for kind in ("truncated-line", "unknown-type"):
        c.ctl("/control/inject", {"kind": kind})
        c.pod("pod-c", IPS["pod-c"], ready=False)  # the event that carries it
        c.pod("pod-c", IPS["pod-c"])
        wait_for("membership after %s" % kind, lambda: c.rings_are(IPS.values()), 4)
    # A pod without a group-port is not a peer.
    c.pod("pod-x", "127.0.0.6", port=None)
    pod = manifests.pod_from_template("pod-y", "127.0.0.6", namespace=NS)
    for cont in pod["spec"]["containers"]:
        cont["ports"] = [p for p in cont.get("ports", []) if p.get("name") != "group-port"]
    http("%s/control/pods/%s/pod-y" % (c.control, NS), "PUT", pod)
    c.delete_pod("pod-x")
    time.sleep(0.5)
    assert c.rings_are(IPS.values())
    # A 50 MB list is refused (over max-list-bytes), the node stays up and
    # lists again once the list is sane.
    c.ctl("/control/inject", {"kind": "huge-list"})
    c.ctl("/control/expire-history")
    c.ctl("/control/drop-connections")
    c.pod("pod-c", IPS["pod-c"], ready=False)
    wait_for("relisted after the huge list",
             lambda: c.rings_are(["127.0.0.2", "127.0.0.3"], ["pod-a", "pod-b"]), 6)
    assert all(p.poll() is None for _, p in c.nodes.values())
    logs = "".join(c.log(n) for n in IPS)
    assert "skipping a watch line" in logs, logs[-2000:]


def test_bad_configuration_exits_2_naming_the_setting(c):
    env = dict(os.environ, NODE_IP="127.0.0.2", GROUP_PORT=str(c.port))
    no_namespace = os.path.join(c.dir, "kubeconfig-without-namespace")
    with open(c.ready["kubeconfig"]) as f:
        text = f.read().replace("namespace: default", "")
    with open(no_namespace, "w") as f:
        f.write(text)
    cases = [
        (["--kubeconfig", "/nonexistent/kubeconfig"], "kubeconfig"),
        (["--kubeconfig", c.ready["kubeconfig"], "--app-name", ""], "app_name"),
        ([], "KUBERNETES_SERVICE_HOST"),  # not in a pod, no kubeconfig
        (["--kubeconfig", no_namespace], "namespace"),
    ]
    for extra, says in cases:
        e = dict(env)
        e.pop("KUBECONFIG", None)
        e.pop("KUBERNETES_SERVICE_HOST", None)
        r = subprocess.run([GROUPCACHED, "--discovery", "kubernetes", "--group", "g", "--loader",
                            "synthetic:8"] + extra, env=e, capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 2, (extra, r.returncode, r.stderr[-500:])
        assert says in r.stderr, (says, r.stderr[-500:])


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    only = os.environ.get("K8S_TEST")
    passed = failed = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        c = Cluster()
        t0 = time.monotonic()
        try:
            fn(c)
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc()
            for n in list(c.nodes):
                print("--- log of %s:\n%s" % (n, c.log(n)))
        finally:
            c.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
