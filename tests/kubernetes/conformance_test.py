#!/usr/bin/python3
"""Conformance of the fake Kubernetes API server (fake_apiserver.py) with
Debian's official Kubernetes Python client (python3-kubernetes): what the
client sees from the fake is what it would see from a real API server, for
list, watch, bookmarks, 410 Expired, 401/403 and token rotation; plus the
fake's controls (stop/start, drop connections, injected bad input).

Prints one line per check and ends with "N passed, M failed"; exit status 0
only when nothing failed. Skips (exit 0, "0 passed, 0 failed, 1 skipped")
when the client or the openssl command is missing.
"""

import faulthandler
import http.client
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_apiserver.py")


def skip(why):
    print("SKIP: %s" % why)
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)


try:
    import urllib3
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError as e:
    skip("%s cannot import the kubernetes client (%s); install python3-kubernetes"
         % (sys.executable, e))
if shutil.which("openssl") is None:
    skip("the openssl command is missing")

faulthandler.dump_traceback_later(100, exit=True)  # never outlive ctest's timeout

NS = "gc-test"
APP = "gc"
LABELS = {"app.kubernetes.io/part-of": APP, "app.kubernetes.io/component": APP,
          "app.kubernetes.io/name": APP}
SELECTOR = ",".join("%s=%s" % kv for kv in LABELS.items())

passed = failed = 0


def check(cond, what, detail=None):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s%s" % (what, "" if detail is None else ": %s" % (detail,)))
    sys.stdout.flush()
    return cond


class Fake:
    """The fake as a subprocess; killed when the test ends, however it ends."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--max-lifetime", "110", "--exit-with-stdin"] + list(extra),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = b""
        deadline = time.monotonic() + 20
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.kill()
                raise RuntimeError("the fake did not print its ready line in 20 s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.kill()
                raise RuntimeError("the fake exited before it was ready (status %s)"
                                   % self.proc.wait())
            line += chunk
        self.ready = json.loads(line.decode())

    def ctl(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.ready["control_port"], timeout=30)
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            c.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


fakes = []


def cleanup(*_):
    for f in fakes:
        f.kill()


def on_term(signum, frame):
    cleanup()
    sys.exit(1)


signal.signal(signal.SIGTERM, on_term)


def api_for(fake, token=None):
    conf = client.Configuration()
    conf.host = fake.ready["server"]
    conf.ssl_ca_cert = fake.ready["ca"]
    if token is not None:
        conf.api_key = {"authorization": token}
        conf.api_key_prefix = {"authorization": "Bearer"}
    return client.CoreV1Api(client.ApiClient(conf))


def api_error(fn, *args, **kwargs):
    """The ApiException fn raises, or None."""
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return e
    return None


def names(pods):
    return sorted(p.metadata.name for p in pods)


def ready_status(pod):
    return [c.status for c in pod.status.conditions or [] if c.type == "Ready"]


def collect(stream, w, until, deadline_s=6):
    """Events from a watch stream until until(events) holds; then stop."""
    events = []
    start = time.monotonic()
    for ev in stream:
        events.append(ev)
        if until(events) or time.monotonic() - start > deadline_s:
            w.stop()
    return events


def later(delay, fn):
    t = threading.Thread(target=lambda: (time.sleep(delay), fn()), daemon=True)
    t.start()
    return t


def raw_get(fake, path, token, read=True):
    ctx = ssl.create_default_context(cafile=fake.ready["ca"])
    c = http.client.HTTPSConnection("127.0.0.1", fake.ready["port"], context=ctx, timeout=10)
    c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
    r = c.getresponse()
    body = r.read() if read else None
    c.close()
    return r, body


def wait_for(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def run():
    t0 = time.monotonic()
    fake = Fake("--bookmark-interval", "0.3")
    fakes.append(fake)
    short = Fake("--max-lifetime", "1")  # must exit by itself
    fakes.append(short)
    r = fake.ready
    print("fake API server on %s (control %s), started in %.2f s"
          % (r["server"], r["control"], time.monotonic() - t0))
    token = r["token"]
    api = api_for(fake, token)

    # ------------------------------------------------------------ setup
    for i in range(3):
        code, pod = fake.ctl("PUT", "/control/pods/%s/gc-%d" % (NS, i),
                             {"labels": LABELS, "podIP": "10.1.0.%d" % (i + 1), "port": 7000})
        check(code == 201 and pod["metadata"]["resourceVersion"].isdigit(),
              "control: create pod gc-%d" % i, (code, pod))
    fake.ctl("PUT", "/control/pods/%s/pending-3" % NS,
             {"labels": LABELS, "phase": "Pending", "podIP": None, "ready": False})
    fake.ctl("PUT", "/control/pods/%s/other" % NS,
             {"labels": dict(LABELS, **{"app.kubernetes.io/component": "cache"})})
    fake.ctl("PUT", "/control/pods/other-ns/elsewhere", {"labels": LABELS})
    code, _ = fake.ctl("PATCH", "/control/pods/%s/nope" % NS, {"ready": True})
    check(code == 404, "control: PATCH of a missing pod is 404", code)
    code, body = fake.ctl("PUT", "/control/pods/%s/typo" % NS, {"lables": {}})
    check(code == 400 and "lables" in body["error"], "control: unknown compact key is 400", body)

    # ------------------------------------------------------------ list
    lst = api.list_namespaced_pod(NS, label_selector=SELECTOR)
    check(names(lst.items) == ["gc-0", "gc-1", "gc-2", "pending-3"],
          "list: label selector picks the matching pods", names(lst.items))
    _, state = fake.ctl("GET", "/control/pods")
    check(lst.metadata.resource_version == state["resourceVersion"],
          "list: metadata.resourceVersion is the current one",
          (lst.metadata.resource_version, state["resourceVersion"]))
    gc0 = [p for p in lst.items if p.metadata.name == "gc-0"][0]
    ports = [p for c in gc0.spec.containers for p in (c.ports or [])]
    env = {e.name: e.value for c in gc0.spec.containers for e in (c.env or [])}
    check(gc0.status.pod_ip == "10.1.0.1" and gc0.status.phase == "Running"
          and ready_status(gc0) == ["True"] and gc0.metadata.deletion_timestamp is None,
          "list: pod status (podIP, phase, Ready condition)", gc0.status)
    check([(p.name, p.container_port, p.protocol) for p in ports] == [("group-port", 7000, "TCP")],
          "list: container port group-port", ports)
    check(env.get("GROUP_PORT") == "7000" and env.get("NODE_NAME") == "gc-0",
          "list: container env", env)
    check(gc0.metadata.namespace == NS and gc0.metadata.uid and gc0.metadata.labels == LABELS
          and gc0.metadata.resource_version.isdigit(), "list: pod metadata", gc0.metadata)
    pend = [p for p in lst.items if p.metadata.name == "pending-3"][0]
    check(pend.status.pod_ip is None and pend.status.phase == "Pending"
          and ready_status(pend) == ["False"], "list: a pending pod", pend.status)
    for sel, want in [
            ("app.kubernetes.io/name==gc", ["gc-0", "gc-1", "gc-2", "other", "pending-3"]),
            ("app.kubernetes.io/name=gc,app.kubernetes.io/component!=gc", ["other"]),
            ("app.kubernetes.io/component in (cache,x)", ["other"]),
            ("app.kubernetes.io/component notin (gc)", ["other"]),
            ("!app.kubernetes.io/component", []),
            ("", ["gc-0", "gc-1", "gc-2", "other", "pending-3"])]:
        got = names(api.list_namespaced_pod(NS, label_selector=sel).items)
        check(got == want, "list: selector %r" % sel, got)
    got = names(api.list_namespaced_pod("other-ns", label_selector=SELECTOR,
                                        resource_version="0", limit=500).items)
    check(got == ["elsewhere"], "list: another namespace, resourceVersion and limit accepted", got)
    e = api_error(api.list_namespaced_pod, NS, label_selector="a=b=c")
    check(e is not None and e.status == 400, "list: a bad selector is 400",
          e and (e.status, e.body))
    one = api.read_namespaced_pod("gc-1", NS)
    check(one.metadata.name == "gc-1" and one.status.pod_ip == "10.1.0.2", "get: one pod")

    # a full pod JSON, as made from a Deployment's pod template
    full = {"metadata": {"labels": LABELS},
            "spec": {"containers": [{
                "name": "groupcached", "image": "groupcached:dev",
                "ports": [{"name": "group-port", "containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {
                    "fieldPath": "metadata.name"}}},
                    {"name": "GROUP_PORT", "value": "8080"}]}]},
            "status": {"phase": "Running", "podIP": "10.2.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}]}}
    code, _ = fake.ctl("PUT", "/control/pods/full-ns/from-template", full)
    code2, _ = fake.ctl("PATCH", "/control/pods/full-ns/from-template",
                        {"merge": {"metadata": {"annotations": {"a": "b"}}}})
    got = api.list_namespaced_pod("full-ns", label_selector=SELECTOR).items
    check(code == 201 and code2 == 200 and names(got) == ["from-template"]
          and got[0].metadata.uid and got[0].metadata.annotations == {"a": "b"}
          and got[0].spec.containers[0].env[0].value_from.field_ref.field_path
          == "metadata.name" and ready_status(got[0]) == ["True"],
          "control: a full pod JSON is stored as given, plus metadata; merge patches it",
          got and got[0].metadata)

    # ------------------------------------------------------------ raw protocol
    for v in ("1", "t", "T", "true", "TRUE", "True"):
        resp, _ = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=%s&timeoutSeconds=1" % (NS, v),
                          token, read=False)
        check(resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked",
              "raw: watch=%s is a watch" % v, resp.status)
    for v in ("0", "f", "false", "False"):
        resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=%s" % (NS, v), token)
        check(resp.status == 200 and json.loads(body)["kind"] == "PodList",
              "raw: watch=%s is a list" % v, resp.status)
    resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=yes" % NS, token)
    check(resp.status == 400 and json.loads(body)["reason"] == "BadRequest",
          "raw: watch=yes is 400", (resp.status, body))
    start = time.monotonic()
    resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=1&timeoutSeconds=1&labelSelector=%s"
                         % (NS, SELECTOR.replace("/", "%2F")), token)
    took = time.monotonic() - start
    lines = body.decode().splitlines()
    evs = [json.loads(l) for l in lines]
    check(resp.getheader("Content-Type") == "application/json" and all(l for l in lines)
          and body.endswith(b"\n"), "raw: watch body is JSON lines", body[:200])
    check([(e["type"], e["object"]["metadata"]["name"]) for e in evs]
          == [("ADDED", n) for n in ("gc-0", "gc-1", "gc-2", "pending-3")],
          "raw: watch without resourceVersion starts with ADDED for current pods",
          [e["type"] for e in evs])
    check(0.8 < took < 3, "raw: watch ends cleanly after timeoutSeconds", "%.2f s" % took)
    resp, body = raw_get(fake, "/healthz", None)
    check(resp.status == 200 and body == b"ok", "raw: /healthz needs no token")
    ctx = ssl.create_default_context(cafile=r["ca"])
    c = http.client.HTTPSConnection("localhost", r["port"], context=ctx, timeout=10)
    c.request("GET", "/version", headers={"Authorization": "Bearer " + token})
    check(c.getresponse().status == 200, "raw: certificate valid for DNS name localhost")
    c.close()

    # ------------------------------------------------------------ watch
    rv = lst.metadata.resource_version

    def changes():
        fake.ctl("PATCH", "/control/pods/%s/gc-0" % NS, {"ready": False})
        fake.ctl("PUT", "/control/pods/%s/gc-4" % NS, {"labels": LABELS, "podIP": "10.1.0.5"})
        fake.ctl("DELETE", "/control/pods/%s/gc-1" % NS)
        fake.ctl("PATCH", "/control/pods/%s/gc-2" % NS, {"labels": {"app": "else"}})
        fake.ctl("PATCH", "/control/pods/%s/other" % NS, {"labels": LABELS})
        fake.ctl("PATCH", "/control/pods/other-ns/elsewhere", {"podIP": "10.9.9.9"})
        fake.ctl("PATCH", "/control/pods/%s/gc-0" % NS, {"deleting": True})

    want = [("MODIFIED", "gc-0"), ("ADDED", "gc-4"), ("DELETED", "gc-1"), ("DELETED", "gc-2"),
            ("ADDED", "other"), ("MODIFIED", "gc-0")]

    def real(events):
        return [e for e in events if e["type"] != "BOOKMARK"]

    def done(events):
        n = len(want)
        return len(real(events)) >= n and any(
            e["type"] == "BOOKMARK" for e in events[events.index(real(events)[n - 1]):])

    w = watch.Watch()
    later(0.2, changes)
    start = time.monotonic()
    events = collect(w.stream(api.list_namespaced_pod, NS, label_selector=SELECTOR,
                              resource_version=rv, timeout_seconds=5,
                              allow_watch_bookmarks=True), w, done)
    got = [(e["type"], e["object"].metadata.name) for e in real(events)]
    check(got == want, "watch: ADDED/MODIFIED/DELETED for changes, label moves included", got)
    objs = [e["object"] for e in real(events)]
    check(all(isinstance(o, client.V1Pod) for o in objs), "watch: objects decode as V1Pod")
    rvs = [int(o.metadata.resource_version) for o in objs]
    check(rvs == sorted(rvs) and len(set(rvs)) == len(rvs) and rvs[0] > int(rv),
          "watch: resourceVersions increase past the list's", rvs)
    check(len(objs) == 6 and ready_status(objs[0]) == ["False"]
          and objs[5].metadata.deletion_timestamp is not None,
          "watch: NotReady and terminating pods arrive as MODIFIED")
    bms = [e for e in events if e["type"] == "BOOKMARK"]
    check(bms and all(b["raw_object"]["kind"] == "Pod" and set(b["raw_object"]["metadata"])
                      == {"resourceVersion"} for b in bms),
          "watch: BOOKMARK objects carry only metadata.resourceVersion",
          bms and bms[-1]["raw_object"])
    check(bms and int(bms[-1]["raw_object"]["metadata"]["resourceVersion"]) >= rvs[-1],
          "watch: the last bookmark is at or past the last event",
          bms and bms[-1]["raw_object"])
    check(time.monotonic() - start < 4, "watch: stopping the stream early works")

    # replay from history, then a clean end at timeoutSeconds
    _, st = fake.ctl("GET", "/control/stats")
    rv1 = str(st["resourceVersion"])
    fake.ctl("PATCH", "/control/pods/%s/gc-0" % NS, {"deleting": False, "ready": True})
    fake.ctl("PATCH", "/control/pods/%s/gc-4" % NS, {"podIP": "10.1.0.55"})
    start = time.monotonic()
    evs = list(watch.Watch().stream(api.list_namespaced_pod, NS, label_selector=SELECTOR,
                                    resource_version=rv1, timeout_seconds=1))
    took = time.monotonic() - start
    got = [(e["type"], e["object"].metadata.name) for e in evs]
    check(got == [("MODIFIED", "gc-0"), ("MODIFIED", "gc-4")] and
          evs[1]["object"].status.pod_ip == "10.1.0.55",
          "watch: events after resourceVersion are replayed from history", got)
    check(0.8 < took < 3, "watch: the stream ends by itself after timeoutSeconds",
          "%.2f s" % took)

    # no resourceVersion: synthetic ADDED for what exists
    now = names(api.list_namespaced_pod(NS, label_selector=SELECTOR).items)
    w = watch.Watch()
    evs = collect(w.stream(api.list_namespaced_pod, NS, label_selector=SELECTOR,
                           timeout_seconds=5), w, lambda ev: len(ev) >= len(now))
    check(sorted((e["type"], e["object"].metadata.name) for e in evs)
          == [("ADDED", n) for n in now], "watch: no resourceVersion starts with ADDED events",
          [(e["type"], e["object"].metadata.name) for e in evs])

    # ------------------------------------------------------------ 410
    code, body = fake.ctl("POST", "/control/expire-history")
    check(code == 200, "control: expire history", body)
    e = None
    try:
        list(watch.Watch().stream(api.list_namespaced_pod, NS, label_selector=SELECTOR,
                                  resource_version=rv, timeout_seconds=5))
    except ApiException as ex:
        e = ex
    # python3-kubernetes turns an ERROR event into ApiException(status=code)
    # when timeout_seconds is given (and retries once without it).
    check(e is not None and e.status == 410 and "Expired" in (e.reason or ""),
          "watch: too old resourceVersion -> ERROR 410 Expired -> ApiException 410",
          e and (e.status, e.reason))
    resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s"
                         % (NS, rv), token)
    evs = [json.loads(l) for l in body.decode().splitlines()]
    check(resp.status == 200 and len(evs) == 1 and evs[0]["type"] == "ERROR"
          and evs[0]["object"]["kind"] == "Status" and evs[0]["object"]["code"] == 410
          and evs[0]["object"]["reason"] == "Expired",
          "raw: a too old resourceVersion is 200 with one ERROR event, then the end", body)
    _, st = fake.ctl("GET", "/control/stats")
    evs = list(watch.Watch().stream(api.list_namespaced_pod, NS, label_selector=SELECTOR,
                                    resource_version=str(st["resourceVersion"]),
                                    timeout_seconds=1))
    check(evs == [], "watch: the current resourceVersion is fine after an expiry", evs)
    fake.ctl("POST", "/control/settings", {"gone_as": "http"})
    e = None
    try:
        list(watch.Watch().stream(api.list_namespaced_pod, NS, resource_version=rv,
                                  timeout_seconds=5))
    except ApiException as ex:
        e = ex
    check(e is not None and e.status == 410, "watch: gone_as=http answers HTTP 410",
          e and e.status)
    fake.ctl("POST", "/control/settings", {"gone_as": "event"})

    # ------------------------------------------------------------ auth
    e = api_error(api_for(fake, "wrong-token").list_namespaced_pod, NS)
    body = json.loads(e.body) if e is not None and e.body else {}
    check(e is not None and e.status == 401 and body.get("kind") == "Status"
          and body.get("code") == 401 and body.get("reason") == "Unauthorized",
          "auth: a wrong token is 401 with a Status body", e and (e.status, e.body))
    e = api_error(api_for(fake, None).list_namespaced_pod, NS)
    check(e is not None and e.status == 401, "auth: no token is 401", e and e.status)
    e = api_error(lambda: list(watch.Watch().stream(
        api_for(fake, "wrong-token").list_namespaced_pod, NS, timeout_seconds=1)))
    check(e is not None and e.status == 401, "auth: a watch with a wrong token is 401")

    code, body = fake.ctl("PUT", "/control/token", {"token": "rotated-token-2"})
    check(code == 200, "control: token rotated", body)
    e = api_error(api.list_namespaced_pod, NS)
    check(e is not None and e.status == 401, "auth: the old token is 401 after rotation",
          e and e.status)
    check(len(api_for(fake, "rotated-token-2").list_namespaced_pod(NS).items) == 5,
          "auth: the new token works")
    kc = config.new_client_from_config(config_file=r["kubeconfig"])
    check(len(client.CoreV1Api(kc).list_namespaced_pod(NS).items) == 5,
          "auth: the generated kubeconfig (CA file, token) follows the rotation")
    tmp = r["token_file"] + ".new"  # rotate on disk, the kubelet way
    with open(tmp, "w") as f:
        f.write("rotated-token-3")  # no newline: the Python client sends tokenFile verbatim
    os.replace(tmp, r["token_file"])
    check(api_error(api_for(fake, "rotated-token-2").list_namespaced_pod, NS).status == 401
          and len(api_for(fake, "rotated-token-3").list_namespaced_pod(NS).items) == 5,
          "auth: a token file rewritten on disk is used at once")
    kc = config.new_client_from_config(config_file=r["kubeconfig_token_file"])
    check(len(client.CoreV1Api(kc).list_namespaced_pod(NS).items) == 5,
          "auth: the generated kubeconfig with tokenFile works")
    kc = config.new_client_from_config(config_file=r["kubeconfig_cert"])
    check(len(client.CoreV1Api(kc).list_namespaced_pod(NS).items) == 5,
          "auth: client certificate (kubeconfig with embedded CA, cert and key) works")
    token = "rotated-token-3"
    api = api_for(fake, token)

    fake.ctl("POST", "/control/forbid", {"namespace": NS})
    e = api_error(api.list_namespaced_pod, NS)
    body = json.loads(e.body) if e is not None and e.body else {}
    check(e is not None and e.status == 403 and body.get("reason") == "Forbidden"
          and "cannot list resource \"pods\"" in body.get("message", ""),
          "auth: a forbidden namespace is 403 naming the verb and resource", body)
    e = api_error(lambda: list(watch.Watch().stream(api.list_namespaced_pod, NS,
                                                    timeout_seconds=1)))
    check(e is not None and e.status == 403, "auth: a watch there is 403 too")
    check(api.list_namespaced_pod("other-ns").items, "auth: other namespaces still served")
    fake.ctl("POST", "/control/allow", {"namespace": NS})
    check(len(api.list_namespaced_pod(NS).items) == 5, "auth: allowed again")

    # ------------------------------------------------------------ many watches at once
    _, st = fake.ctl("GET", "/control/stats")
    rvm = st["resourceVersion"]
    results = []

    def one_watch():
        resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=1&timeoutSeconds=2"
                             "&resourceVersion=%d" % (NS, rvm), token)
        results.append([json.loads(l)["type"] for l in body.decode().splitlines()])
    threads = [threading.Thread(target=one_watch, daemon=True) for _ in range(20)]
    for t in threads:
        t.start()
    check(wait_for(lambda: fake.ctl("GET", "/control/stats")[1]["watches_open"] >= 20),
          "watch: 20 watches open at once")
    start = time.monotonic()
    n = len(api.list_namespaced_pod(NS).items)
    fake.ctl("PATCH", "/control/pods/%s/gc-0" % NS, {"annotations": {"seen": "all"}})
    check(n == 5 and time.monotonic() - start < 0.5, "watch: lists are not blocked by watches",
          "%.2f s" % (time.monotonic() - start))
    for t in threads:
        t.join(5)
    check(results == [["MODIFIED"]] * 20, "watch: one change reaches every watcher", results)

    # ------------------------------------------------------------ connections
    box = {}

    def watch_until_dropped():
        try:
            for _ in watch.Watch().stream(api.list_namespaced_pod, NS, timeout_seconds=10):
                pass
            box["ended"] = "cleanly"
        except Exception as ex:  # what the client raises for a broken stream
            box["ended"] = type(ex).__name__
    t = threading.Thread(target=watch_until_dropped, daemon=True)
    t.start()
    check(wait_for(lambda: fake.ctl("GET", "/control/stats")[1]["watches_open"] >= 1),
          "stats: the open watch is counted")
    start = time.monotonic()
    code, body = fake.ctl("POST", "/control/drop-connections")
    t.join(5)
    check(code == 200 and body["dropped"] >= 1 and box.get("ended") not in (None, "cleanly")
          and time.monotonic() - start < 2,
          "control: drop-connections breaks an open watch", (body, box))
    check(len(api.list_namespaced_pod(NS).items) == 5, "list: works again after a drop")

    code, body = fake.ctl("POST", "/control/stop")
    check(code == 200 and body["stopped"], "control: stop", body)
    try:
        api.list_namespaced_pod(NS, _request_timeout=3)
        refused = None
    except urllib3.exceptions.HTTPError as ex:
        refused = ex
    check(refused is not None and "refused" in str(refused).lower(),
          "control: a stopped server refuses connections", repr(refused))
    code, body = fake.ctl("POST", "/control/start")
    check(code == 200 and body["started"] and body["port"] == r["port"],
          "control: start again on the same port", body)
    check(len(api.list_namespaced_pod(NS).items) == 5, "list: served again after a restart")

    # ------------------------------------------------------------ bad input
    _, st = fake.ctl("GET", "/control/stats")
    rvx = str(st["resourceVersion"])
    fake.ctl("POST", "/control/inject", {"kind": "unknown-type", "type": "SURPRISE"})
    later(0.1, lambda: fake.ctl("PATCH", "/control/pods/%s/gc-4" % NS, {"ready": False}))
    w = watch.Watch()
    evs = collect(w.stream(api.list_namespaced_pod, NS, resource_version=rvx,
                           timeout_seconds=5), w, lambda ev: len(ev) >= 2)
    check([e["type"] for e in evs] == ["SURPRISE", "MODIFIED"],
          "inject: an unknown event type, then the real event", [e["type"] for e in evs])

    fake.ctl("POST", "/control/inject", {"kind": "truncated-line"})
    later(0.1, lambda: fake.ctl("PATCH", "/control/pods/%s/gc-4" % NS, {"ready": True}))
    try:
        list(watch.Watch().stream(api.list_namespaced_pod, NS, resource_version=rvx,
                                  timeout_seconds=5))
        broke = None
    except ValueError as ex:  # json.JSONDecodeError
        broke = ex
    check(broke is not None, "inject: a truncated JSON line breaks the client's decoding",
          repr(broke))
    resp, body = raw_get(fake, "/api/v1/namespaces/%s/pods?watch=1&timeoutSeconds=1"
                         "&resourceVersion=%s" % (NS, rvx), token)
    check(len(body.decode().splitlines()) == 2, "inject: consumed once, later watches are clean")

    fake.ctl("POST", "/control/inject", {"kind": "http-error", "code": 500, "target": "list"})
    e = api_error(api.list_namespaced_pod, NS)
    check(e is not None and e.status == 500 and len(api.list_namespaced_pod(NS).items) == 5,
          "inject: one list answered 500, the next one fine", e and e.status)

    fake.ctl("POST", "/control/inject", {"kind": "huge-list"})
    start = time.monotonic()
    resp = api.list_namespaced_pod(NS, _preload_content=False)
    data = resp.data
    took = time.monotonic() - start
    doc = json.loads(data)
    check(len(data) >= 50 * 1024 * 1024 and doc["kind"] == "PodList" and len(doc["items"]) == 6,
          "inject: a ~50 MB PodList (valid JSON), %.1f MB in %.2f s"
          % (len(data) / 1048576.0, took), len(data))

    # ------------------------------------------------------------ stats
    check(wait_for(lambda: fake.ctl("GET", "/control/stats")[1]["watches_open"] == 0),
          "stats: no watch left open")
    _, st = fake.ctl("GET", "/control/stats")
    codes = st["requests_by_code"]
    check(st["list_requests"] >= 20 and st["watch_requests"] >= 15
          and all(codes.get(c, 0) > 0 for c in ("200", "400", "401", "403", "410", "500")),
          "stats: list/watch requests and answers by status code",
          {k: st[k] for k in ("list_requests", "watch_requests", "requests_by_code")})

    # ------------------------------------------------------------ lifetime
    check(wait_for(lambda: short.proc.poll() is not None, 5) and short.proc.returncode == 0
          and not os.path.exists(short.ready["dir"]),
          "lifetime: --max-lifetime ends the fake, and its temporary directory goes",
          short.proc.poll())
    fake.proc.send_signal(signal.SIGTERM)
    try:
        code = fake.proc.wait(5)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 0 and not os.path.exists(r["dir"]),
          "lifetime: SIGTERM stops it cleanly and removes its directory", code)
    print("conformance run took %.1f s" % (time.monotonic() - t0))


def main():
    try:
        run()
    except Exception:
        import traceback
        traceback.print_exc()
        check(False, "the test ran to the end")
    finally:
        cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
