#!/usr/bin/python3
"""A fake Kubernetes API server for the tests: the part of the real API that
the Kubernetes discovery provider uses, plus controls to drive it.

API (HTTPS on 127.0.0.1, CA and certificates generated at start with the
openssl CLI, bearer-token or client-certificate auth):
  GET /api/v1/namespaces/{ns}/pods       list (PodList) or, with watch=true,
                                         a chunked stream of JSON event lines
  GET /api/v1/namespaces/{ns}/pods/{name}
  GET /version, /api, /healthz, /livez, /readyz

Controls (plain HTTP on 127.0.0.1, JSON bodies): see README.md next to this
file, or the CONTROL ROUTES comment below.

When ready it prints one JSON line on stdout:
  {"port", "control_port", "server", "ca", "token", "token_file", ...}
then logs only to stderr. It exits on SIGTERM/SIGINT, on POST
/control/shutdown, after --max-lifetime seconds, and (with
--exit-with-stdin) when its stdin reaches end of file.

Standard library only; run by /usr/bin/python3.
"""

import argparse
import base64
import collections
import copy
import datetime
import hmac
import http.server
import json
import os
import queue
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

APP = None  # the App, set in main()


def log(msg):
    sys.stderr.write("fake-apiserver: %s\n" % msg)
    sys.stderr.flush()


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_go_bool(s):
    """strconv.ParseBool: raises ValueError on anything else."""
    if s in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if s in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError("invalid boolean %r" % s)


def status_obj(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details is not None:
        st["details"] = details
    return st


# ---------------------------------------------------------------- selectors

_KEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)"
_VAL = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_RE_NOT_EXISTS = re.compile(r"^\s*!\s*(%s)\s*$" % _KEY)
_RE_EXISTS = re.compile(r"^\s*(%s)\s*$" % _KEY)
_RE_EQ = re.compile(r"^\s*(%s)\s*(==|=|!=)\s*(%s)\s*$" % (_KEY, _VAL))
_RE_SET = re.compile(r"^\s*(%s)\s+(in|notin)\s*\(([^()]*)\)\s*$" % _KEY)
_RE_VAL = re.compile(r"^%s$" % _VAL)


def parse_label_selector(text):
    """Returns a predicate on a labels dict; raises ValueError when invalid.
    Equality-based (a=b, a==b, a!=b) and set-based (a in (x,y), a notin (x),
    a, !a) requirements, comma separated, all must hold."""
    if text is None or text.strip() == "":
        return lambda labels: True
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parenthesis")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise ValueError("unbalanced parenthesis")
    parts.append(cur)
    reqs = []
    for p in parts:
        m = _RE_EQ.match(p)
        if m:
            key, op, val = m.group(1), m.group(2), m.group(3)
            if op == "!=":
                reqs.append(lambda l, k=key, v=val: l.get(k) != v)
            else:
                reqs.append(lambda l, k=key, v=val: k in l and l[k] == v)
            continue
        m = _RE_SET.match(p)
        if m:
            key, op = m.group(1), m.group(2)
            vals = {v.strip() for v in m.group(3).split(",")}
            if not all(_RE_VAL.match(v) for v in vals):
                raise ValueError("invalid value in %r" % p)
            if op == "in":
                reqs.append(lambda l, k=key, vs=vals: k in l and l[k] in vs)
            else:
                reqs.append(lambda l, k=key, vs=vals: l.get(k) not in vs)
            continue
        m = _RE_NOT_EXISTS.match(p)
        if m:
            reqs.append(lambda l, k=m.group(1): k not in l)
            continue
        m = _RE_EXISTS.match(p)
        if m:
            reqs.append(lambda l, k=m.group(1): k in l)
            continue
        raise ValueError("unable to parse requirement: %r" % p.strip())
    return lambda labels: all(r(labels) for r in reqs)


def pod_labels(pod):
    return ((pod or {}).get("metadata") or {}).get("labels") or {}


# ---------------------------------------------------------------- pods

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


COMPACT_KEYS = {"labels", "annotations", "podIP", "phase", "ready", "port_name", "port",
                "deleting", "env", "container", "image", "node_name", "host_ip", "uid", "merge"}


class Store:
    """Pods, the global resourceVersion, the event history and the watchers."""

    def __init__(self, history_limit, start_rv=100):
        self.lock = threading.RLock()
        self.rv = start_rv
        self.pods = {}                 # (ns, name) -> pod (never mutated once stored)
        self.history = collections.deque()  # events (rv, type, ns, obj, old)
        self.history_start = start_rv  # a watch from rv >= this can be served
        self.history_limit = history_limit
        self.watchers = set()
        self.ip_counter = 0

    def next_ip(self):
        with self.lock:
            self.ip_counter += 1
            n = self.ip_counter
        return "10.244.%d.%d" % (n // 250, n % 250 + 2)

    def base_pod(self, ns, name):
        return {
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                         "creationTimestamp": now_rfc3339(), "labels": {}},
            "spec": {"containers": [{"name": "groupcached", "image": "groupcache:test",
                                     "imagePullPolicy": "IfNotPresent", "ports": [], "env": []}],
                     "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                     "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                     "nodeName": "fake-node"},
            "status": {"phase": "Pending", "hostIP": "127.0.0.1", "conditions": [],
                       "qosClass": "BestEffort"},
        }

    def apply_compact(self, pod, f, fresh):
        unknown = set(f) - COMPACT_KEYS
        if unknown:
            raise ValueError("unknown compact pod keys: %s" % ", ".join(sorted(unknown)))
        md, spec, st = pod["metadata"], pod["spec"], pod.setdefault("status", {})
        ctr = spec["containers"][0]
        if "labels" in f:
            md["labels"] = dict(f["labels"] or {})
        if "annotations" in f:
            md["annotations"] = dict(f["annotations"] or {})
        if "uid" in f:
            md["uid"] = f["uid"]
        if "container" in f:
            ctr["name"] = f["container"]
        if "image" in f:
            ctr["image"] = f["image"]
        if "node_name" in f:
            spec["nodeName"] = f["node_name"]
        if "host_ip" in f:
            st["hostIP"] = f["host_ip"]
        if fresh or "phase" in f:
            st["phase"] = f.get("phase", "Running")
        if "podIP" in f or (fresh and st["phase"] == "Running"):
            ip = f["podIP"] if "podIP" in f else self.next_ip()
            if ip is None:
                st.pop("podIP", None)
                st.pop("podIPs", None)
            else:
                st["podIP"] = ip
                st["podIPs"] = [{"ip": ip}]
        if fresh or "port" in f or "port_name" in f:
            cur = (ctr.get("ports") or [None])[0] or {}
            number = f["port"] if "port" in f else cur.get("containerPort", 8080)
            pname = f.get("port_name", cur.get("name", "group-port"))
            ctr["ports"] = [] if number is None else [
                {"name": pname, "containerPort": int(number), "protocol": "TCP"}]
        if "env" in f:
            env = f["env"]
            if isinstance(env, dict):
                env = [{"name": k, "value": str(v)} for k, v in env.items()]
            ctr["env"] = env
        elif fresh:
            port = (ctr["ports"] or [{}])[0].get("containerPort")
            ctr["env"] = [{"name": "NODE_NAME", "value": md["name"]},
                          {"name": "NODE_IP", "value": st.get("podIP", "")}]
            if port is not None:
                ctr["env"].append({"name": "GROUP_PORT", "value": str(port)})
        if fresh or "ready" in f or "phase" in f:
            ready = bool(f.get("ready", True)) if (fresh or "ready" in f) else \
                any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in st.get("conditions", []))
            running = st["phase"] == "Running"
            t = now_rfc3339()
            rs = "True" if ready else "False"
            st["conditions"] = [
                {"type": "Initialized", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": t},
                {"type": "Ready", "status": rs, "lastProbeTime": None, "lastTransitionTime": t},
                {"type": "ContainersReady", "status": rs, "lastProbeTime": None,
                 "lastTransitionTime": t},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": t},
            ]
            st["startTime"] = st.get("startTime", t)
            st["containerStatuses"] = [{
                "name": ctr["name"], "image": ctr.get("image", ""),
                "imageID": "docker-pullable://groupcache@sha256:" + "0" * 64,
                "ready": ready, "restartCount": 0, "started": running,
                "state": {"running": {"startedAt": t}} if running else
                         {"waiting": {"reason": "ContainerCreating"}}}]
        if "deleting" in f:
            if f["deleting"]:
                md.setdefault("deletionTimestamp", now_rfc3339())
                md.setdefault("deletionGracePeriodSeconds", 30)
            else:
                md.pop("deletionTimestamp", None)
                md.pop("deletionGracePeriodSeconds", None)
        if "merge" in f:
            if not isinstance(f["merge"], dict):
                raise ValueError("merge must be a JSON object")
            merge_patch(pod, f["merge"])  # in place
        return pod

    def _record(self, etype, ns, obj, old):
        ev = (self.rv, etype, ns, obj, old)
        self.history.append(ev)
        while len(self.history) > self.history_limit:
            dropped = self.history.popleft()
            self.history_start = dropped[0]
        for w in list(self.watchers):
            w.q.put(ev)

    def put(self, ns, name, body, patch=False):
        """Create/replace (PUT) or modify (PATCH) a pod. Returns (code, pod)."""
        if not isinstance(body, dict):
            raise ValueError("pod body must be a JSON object")
        with self.lock:
            key = (ns, name)
            old = self.pods.get(key)
            if patch:
                if old is None:
                    return 404, None
                pod = self.apply_compact(copy.deepcopy(old), body, fresh=False)
            elif {"metadata", "spec", "status", "kind", "apiVersion"} & set(body):
                pod = copy.deepcopy(body)
                pod.setdefault("kind", "Pod")
                pod.setdefault("apiVersion", "v1")
                md = pod.setdefault("metadata", {})
                md.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
                md.setdefault("creationTimestamp",
                              old["metadata"].get("creationTimestamp") if old else now_rfc3339())
            else:
                pod = self.apply_compact(self.base_pod(ns, name), body, fresh=True)
                if old is not None and "uid" not in body:
                    pod["metadata"]["uid"] = old["metadata"]["uid"]
            md = pod["metadata"]
            md["name"], md["namespace"] = name, ns
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            self.pods[key] = pod
            self._record("MODIFIED" if old else "ADDED", ns, pod, old)
            return (200 if old else 201), pod

    def delete(self, ns, name):
        with self.lock:
            old = self.pods.pop((ns, name), None)
            if old is None:
                return None
            self.rv += 1
            final = copy.deepcopy(old)
            final["metadata"]["resourceVersion"] = str(self.rv)
            self._record("DELETED", ns, final, old)
            return final

    def expire_history(self):
        with self.lock:
            self.history.clear()
            self.history_start = self.rv
            return self.rv

    def list(self, ns, sel):
        with self.lock:
            items = [p for (pns, _), p in sorted(self.pods.items())
                     if pns == ns and sel(pod_labels(p))]
            return self.rv, items


class Watcher:
    def __init__(self, ns, sel):
        self.ns, self.sel = ns, sel
        self.q = queue.Queue()
        self.min_rv = 0  # events up to this resourceVersion are not sent

    def convert(self, ev):
        """The event this watcher sees for a store event, or None."""
        rv, etype, ns, obj, old = ev
        if ns != self.ns or rv <= self.min_rv:
            return None
        if etype == "ADDED":
            return ("ADDED", obj) if self.sel(pod_labels(obj)) else None
        if etype == "DELETED":
            return ("DELETED", obj) if self.sel(pod_labels(old)) else None
        now_m, old_m = self.sel(pod_labels(obj)), self.sel(pod_labels(old))
        if now_m and old_m:
            return ("MODIFIED", obj)
        if now_m:
            return ("ADDED", obj)
        if old_m:  # labels stopped matching: gone for this watcher
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(rv)
            return ("DELETED", gone)
        return None


KILL = object()


class Abort(Exception):
    """End the connection without finishing the response."""


# ---------------------------------------------------------------- connections

class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.killed = False
        self.watcher = None

    def kill(self):
        self.killed = True
        try:
            # Bypass SSLSocket.shutdown: only the TCP connection, safe while
            # the handler thread is reading or writing it.
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
        w = self.watcher
        if w is not None:
            w.q.put(KILL)


class LocalHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (getfqdn).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class ApiHTTPServer(LocalHTTPServer):
    request_queue_size = 128

    def __init__(self, addr, app):
        self.app = app
        super().__init__(addr, ApiHandler)

    def finish_request(self, request, client_address):
        conn = Conn(request)
        self.app.add_conn(conn)
        tls = None
        try:
            request.settimeout(10)
            tls = self.app.ssl_ctx.wrap_socket(request, server_side=True)
            conn.sock = tls
            if conn.killed:
                return
            ApiHandler(tls, client_address, self, conn)
        except (OSError, ssl.SSLError, Abort):
            pass
        except Exception:  # a bug: say so, keep serving
            log("handler error:\n" + traceback.format_exc())
        finally:
            self.app.remove_conn(conn)
            if tls is not None:
                try:
                    tls.close()
                except OSError:
                    pass
            else:
                try:
                    request.close()
                except OSError:
                    pass

    def shutdown_request(self, request):
        pass  # finish_request closed it

    def handle_error(self, request, client_address):
        pass


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, fmt, *args):
        if APP.verbose:
            log("%s %s" % (self.__class__.__name__, fmt % args))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, code, body, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj, headers=None):
        self.send_bytes(code, (json.dumps(obj) + "\n").encode(), headers=headers)


# ---------------------------------------------------------------- the API

class ApiHandler(QuietHandler):
    timeout = 120  # idle keep-alive connections and blocked writes

    def __init__(self, request, client_address, server, conn):
        self.conn = conn
        self.app = server.app
        super().__init__(request, client_address, server)

    def handle_one_request(self):
        if self.conn.killed:
            self.close_connection = True
            return
        super().handle_one_request()

    def do_GET(self):
        self.app.api_request(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class App:
    def __init__(self, args):
        self.args = args
        self.verbose = args.verbose
        self.store = Store(args.history_limit)
        self.lock = threading.RLock()
        self.conns = set()
        self.forbidden = set()
        self.injections = []
        self.settings = {"bookmark_interval": args.bookmark_interval,
                         "gone_as": "event",
                         "default_watch_timeout": args.default_watch_timeout}
        self.reset_stats()
        self.api_server = None
        self.api_thread = None
        self.port = args.port
        self.stop_event = threading.Event()

    # -------------------------------------------------------- bookkeeping
    def reset_stats(self):
        with self.lock:
            self.stats = {"requests_total": 0, "list_requests": 0, "watch_requests": 0,
                          "watches_open": 0, "events_sent": 0, "bookmarks_sent": 0,
                          "connections_total": 0, "requests_by_code": {},
                          "list_requests_by_namespace": {}, "watch_requests_by_namespace": {}}
            self.recent = collections.deque(maxlen=200)

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def count_code(self, handler, code, what):
        with self.lock:
            c = self.stats["requests_by_code"]
            c[str(code)] = c.get(str(code), 0) + 1
            self.recent.append({"time": time.time(), "method": handler.command,
                                "path": handler.path, "code": code, "what": what,
                                "user": getattr(handler, "user", None)})

    def add_conn(self, conn):
        with self.lock:
            self.conns.add(conn)
            self.stats["connections_total"] += 1

    def remove_conn(self, conn):
        with self.lock:
            self.conns.discard(conn)

    def drop_connections(self):
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.kill()
        return len(conns)

    def take_kind(self, kinds, target, ns):
        with self.lock:
            for inj in self.injections:
                if inj["kind"] in kinds and inj["_target"] in (target, "any") \
                        and inj.get("namespace") in (None, ns):
                    inj["count"] -= 1
                    if inj["count"] <= 0:
                        self.injections.remove(inj)
                    return dict(inj)
        return None

    # -------------------------------------------------------- auth
    def read_token(self):
        try:
            with open(self.token_file) as f:
                return f.read().strip()
        except OSError:
            return None

    def authenticate(self, handler):
        try:
            peer = handler.connection.getpeercert()
        except (OSError, ValueError, AttributeError):
            peer = None
        if peer:  # verified against our CA by the TLS layer
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
            return "cert"
        auth = (handler.headers.get("Authorization") or "").strip()
        parts = auth.split(" ", 2)
        if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
            return None
        want = self.read_token()
        if want and hmac.compare_digest(parts[1].encode(), want.encode()):
            return "token"
        return None

    # -------------------------------------------------------- API requests
    def api_request(self, h):
        self.bump("requests_total")
        h.user = None
        if h.command not in ("GET", "HEAD"):
            h.read_body()
        url = urllib.parse.urlsplit(h.path)
        path = url.path
        q = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            q.setdefault(k, v)  # Go's Query().Get: the first value
        if path in ("/healthz", "/livez", "/readyz"):
            self.count_code(h, 200, "health")
            h.send_bytes(200, b"ok", "text/plain; charset=utf-8")
            return
        h.user = self.authenticate(h)
        if h.user is None:
            self.error(h, 401, "Unauthorized", "Unauthorized", "auth")
            return
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?/?$", path)
        if not m:
            if path == "/version" and h.command == "GET":
                self.count_code(h, 200, "version")
                h.send_json(200, {"major": "1", "minor": "29", "gitVersion": "v1.29.0-fake",
                                  "platform": "linux/amd64"})
            elif path == "/api" and h.command == "GET":
                self.count_code(h, 200, "api")
                h.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": [
                                      {"clientCIDR": "0.0.0.0/0",
                                       "serverAddress": "127.0.0.1:%d" % self.port}]})
            else:
                self.error(h, 404, "NotFound", "the server could not find the requested resource",
                           "other")
            return
        ns, name = urllib.parse.unquote(m.group(1)), m.group(2)
        if h.command not in ("GET", "HEAD"):
            self.error(h, 405, "MethodNotAllowed",
                       "the fake API server only serves get, list and watch", "other")
            return
        try:
            watch = parse_go_bool(q["watch"]) if "watch" in q else False
            bookmarks = parse_go_bool(q["allowWatchBookmarks"]) \
                if "allowWatchBookmarks" in q else False
            initial = parse_go_bool(q["sendInitialEvents"]) if "sendInitialEvents" in q else False
            timeout = int(q.get("timeoutSeconds") or 0)
            if timeout < 0:
                raise ValueError("timeoutSeconds must not be negative")
            if "limit" in q and q["limit"] != "":
                int(q["limit"])
            sel = parse_label_selector(q.get("labelSelector"))
            rv = q.get("resourceVersion", "")
            if rv not in ("",) and not re.match(r"^[0-9]+$", rv):
                raise ValueError("invalid resourceVersion %r" % rv)
        except ValueError as e:
            self.error(h, 400, "BadRequest", str(e), "watch" if q.get("watch") else "list")
            return
        verb = "watch" if watch else ("get" if name else "list")
        if ns in self.forbidden:
            self.error(h, 403, "Forbidden",
                       'pods is forbidden: User "system:serviceaccount:%s:default" cannot %s '
                       'resource "pods" in API group "" in the namespace "%s"' % (ns, verb, ns),
                       verb, details={"kind": "pods"})
            return
        inj = self.take_kind(("http-error",), "watch" if watch else "list", ns)
        if inj:
            code = int(inj.get("code", 500))
            reason = inj.get("reason") or {410: "Expired", 429: "TooManyRequests",
                                           500: "InternalError", 503: "ServiceUnavailable",
                                           504: "Timeout"}.get(code, "InternalError")
            headers = {"Retry-After": "1"} if code in (429, 503) else None
            self.error(h, code, reason, inj.get("message", "injected error %d" % code), verb,
                       headers=headers)
            return
        if name:
            with self.store.lock:
                pod = self.store.pods.get((ns, urllib.parse.unquote(name)))
            if pod is None:
                self.error(h, 404, "NotFound", 'pods "%s" not found' % name, "get",
                           details={"name": name, "kind": "pods"})
            else:
                self.count_code(h, 200, "get")
                h.send_json(200, pod)
            return
        if watch:
            self.watch(h, ns, sel, rv, bookmarks, initial, timeout)
        else:
            self.list(h, ns, sel)

    def error(self, h, code, reason, message, what, details=None, headers=None):
        self.count_code(h, code, what)
        if what == "list":
            self.bump("list_requests")
        elif what == "watch":
            self.bump("watch_requests")
        h.send_json(code, status_obj(code, reason, message, details), headers=headers)

    def list(self, h, ns, sel):
        self.bump("list_requests")
        with self.lock:
            d = self.stats["list_requests_by_namespace"]
            d[ns] = d.get(ns, 0) + 1
        rv, items = self.store.list(ns, sel)
        body = {"kind": "PodList", "apiVersion": "v1",
                "metadata": {"resourceVersion": str(rv)}, "items": items}
        inj = self.take_kind(("huge-list",), "list", ns)
        self.count_code(h, 200, "list")
        if not inj:
            h.send_json(200, body)
            return
        # A valid PodList of about inj["bytes"] bytes: the real items plus one
        # Pending pod carrying a huge annotation.
        size = int(inj.get("bytes", 50 * 1024 * 1024))
        filler = self.store.base_pod(ns, "fake-apiserver-huge-list-filler")
        filler["metadata"]["annotations"] = {"fake-apiserver/padding": "@@PAD@@"}
        filler["metadata"]["resourceVersion"] = str(rv)
        body["items"] = items + [filler]
        head, tail = json.dumps(body).encode().split(b"@@PAD@@")
        pad = max(0, size - len(head) - len(tail))
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(head) + pad + len(tail)))
        h.end_headers()
        h.wfile.write(head)
        piece = b"x" * (1 << 20)
        while pad > 0:
            n = min(pad, len(piece))
            h.wfile.write(piece[:n])
            pad -= n
        h.wfile.write(tail)

    def watch(self, h, ns, sel, rv, bookmarks, initial, timeout):
        self.bump("watch_requests")
        with self.lock:
            d = self.stats["watch_requests_by_namespace"]
            d[ns] = d.get(ns, 0) + 1
        store = self.store
        w = Watcher(ns, sel)
        first = []  # (type, obj) to send before live events
        gone = None
        with store.lock:
            start_rv = store.rv
            if rv in ("", "0") or initial:
                # Kubernetes: unset/"0" (and sendInitialEvents) first sends a
                # synthetic ADDED for every current object, then live events.
                first = [("ADDED", p) for (pns, _), p in
                         sorted(store.pods.items(), key=lambda kv: int(
                             kv[1]["metadata"]["resourceVersion"]))
                         if pns == ns and sel(pod_labels(p))]
                if initial and bookmarks:
                    first.append(("BOOKMARK", {
                        "kind": "Pod", "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(start_rv),
                                     "annotations": {"k8s.io/initial-events-end": "true"}}}))
            else:
                w.min_rv = int(rv)
                if w.min_rv < store.history_start:
                    gone = (w.min_rv, store.history_start)
                else:
                    for ev in store.history:
                        if ev[0] > w.min_rv:
                            w.q.put(ev)
            if gone is None:
                store.watchers.add(w)
        inj = None if gone else self.take_kind(("error-event",), "watch", ns)
        if inj:  # the real server's answer to a watch it cannot serve: 200, one ERROR
            with store.lock:
                store.watchers.discard(w)
            code = int(inj.get("code", 500))
            self.count_code(h, 200, "watch")
            self.start_chunked(h)
            self.write_line(h, {"type": "ERROR", "object": status_obj(
                code, inj.get("reason", "InternalError"),
                inj.get("message", "injected watch error %d" % code))})
            self.end_chunked(h)
            return
        if gone:
            msg = "too old resource version: %d (%d)" % gone
            if self.settings["gone_as"] == "http":
                self.error(h, 410, "Gone", msg, "other")
                return
            self.count_code(h, 200, "watch")
            self.start_chunked(h)
            self.write_line(h, {"type": "ERROR", "object": status_obj(410, "Expired", msg)})
            self.end_chunked(h)
            return
        self.count_code(h, 200, "watch")
        self.bump("watches_open")
        h.conn.watcher = w
        if h.conn.killed:
            w.q.put(KILL)
        try:
            self.start_chunked(h)
            for etype, obj in first:
                self.send_event(h, etype, obj)
            if timeout == 0:
                timeout = self.settings["default_watch_timeout"]
            deadline = time.monotonic() + timeout
            interval = self.settings["bookmark_interval"]
            next_bm = time.monotonic() + interval if bookmarks and interval > 0 else None
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                if next_bm is not None and now >= next_bm:
                    with store.lock:
                        idle = w.q.empty()
                        cur = max(store.rv, w.min_rv)
                    if idle:
                        self.send_event(h, "BOOKMARK", {
                            "kind": "Pod", "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(cur)}})
                        next_bm = now + self.settings["bookmark_interval"]
                        continue
                wait = deadline - now
                if next_bm is not None:
                    wait = min(wait, max(0.0, next_bm - now))
                try:
                    ev = w.q.get(timeout=max(0.001, min(wait, 0.1)))
                except queue.Empty:
                    if self.client_gone(h):
                        raise Abort()
                    continue
                if ev is KILL:
                    raise Abort()
                out = w.convert(ev)
                if out:
                    self.send_event(h, *out)
            self.end_chunked(h)
        finally:
            with store.lock:
                store.watchers.discard(w)
            h.conn.watcher = None
            self.bump("watches_open", -1)

    def client_gone(self, h):
        """Whether the client closed its end (the real server cancels the
        watch then); checked while the watch is idle."""
        if getattr(h, "peer_talks", False):
            return False
        sock = h.connection
        try:
            if not select.select([sock], [], [], 0)[0]:
                return False
            data = socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True
        if data:
            h.peer_talks = True  # bytes, not end of file: stop looking
            return False
        return True

    def start_chunked(self, h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Cache-Control", "no-cache, private")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()

    def write_chunk(self, h, data):
        if h.conn.killed:
            raise Abort()
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()

    def end_chunked(self, h):
        self.write_chunk(h, b"")  # "0\r\n\r\n"

    def write_line(self, h, event):
        self.write_chunk(h, (json.dumps(event, separators=(",", ":")) + "\n").encode())

    def send_event(self, h, etype, obj):
        event = {"type": etype, "object": obj}
        if etype in ("ADDED", "MODIFIED", "DELETED"):
            inj = self.take_kind(("truncated-line", "unknown-type"), "watch",
                                 obj["metadata"].get("namespace"))
            if inj:
                if inj["kind"] == "truncated-line":
                    line = json.dumps(event, separators=(",", ":")).encode()
                    self.write_chunk(h, line[:max(1, len(line) // 2)] + b"\n")
                else:
                    self.write_line(h, {"type": inj.get("type", "SURPRISE"), "object": obj})
                after = inj.get("after", "resend")
                if after == "close":
                    raise Abort()
                if after == "drop":
                    return
        self.write_line(h, event)
        self.bump("bookmarks_sent" if etype == "BOOKMARK" else "events_sent")

    # -------------------------------------------------------- listener
    def start_api(self):
        with self.lock:
            if self.api_server is not None:
                return False
            last = None
            for _ in range(100):
                try:
                    srv = ApiHTTPServer(("127.0.0.1", self.port), self)
                    break
                except OSError as e:  # the old socket may linger briefly
                    last = e
                    time.sleep(0.05)
            else:
                raise last
            self.port = srv.server_address[1]
            self.api_server = srv
            self.api_thread = threading.Thread(
                target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self.api_thread.start()
            return True

    def stop_api(self):
        with self.lock:
            srv, self.api_server = self.api_server, None
        if srv is None:
            return False
        srv.shutdown()
        srv.server_close()
        self.drop_connections()
        return True

    # -------------------------------------------------------- controls
    # CONTROL ROUTES (plain HTTP, JSON):
    #   GET    /control/stats                  counters, open watches, codes, recent requests
    #   POST   /control/reset-stats
    #   GET    /control/pods[/{ns}/{name}]
    #   PUT    /control/pods/{ns}/{name}       full pod JSON or compact form -> 201/200
    #   PATCH  /control/pods/{ns}/{name}       compact fields (and "merge") -> 200 / 404
    #   DELETE /control/pods/{ns}/{name}       -> 200 / 404
    #   POST   /control/expire-history         older resourceVersions get 410 from now on
    #   POST   /control/drop-connections       abruptly close every API connection
    #   POST   /control/stop | /control/start  close / reopen the HTTPS listener (same port)
    #   POST   /control/forbid {namespace}     403 for that namespace; /control/allow undoes
    #   PUT    /control/token {token}          rewrite the token file (old token -> 401)
    #   POST   /control/inject {kind, ...}     truncated-line | unknown-type | huge-list |
    #                                          http-error | error-event (a watch answered
    #                                          200 with one ERROR event {code}); "count"
    #                                          uses; DELETE /control/inject clears
    #   GET/POST /control/settings             bookmark_interval, gone_as, default_watch_timeout
    #   POST   /control/shutdown               exit
    def control(self, h):
        url = urllib.parse.urlsplit(h.path)
        path, method = url.path.rstrip("/"), h.command
        raw = h.read_body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            h.send_json(400, {"error": "bad JSON body: %s" % e})
            return
        try:
            code, out = self.control_route(method, path, body)
        except OSError as e:
            code, out = 500, {"error": "%s: %s" % (type(e).__name__, e)}
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            code, out = 400, {"error": "%s: %s" % (type(e).__name__, e)}
        h.send_json(code, out)

    def control_route(self, method, path, body):
        store = self.store
        m = re.match(r"^/control/pods/([^/]+)/([^/]+)$", path)
        if m:
            ns, name = urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2))
            if method == "PUT":
                code, pod = store.put(ns, name, body)
                return code, pod
            if method == "PATCH":
                code, pod = store.put(ns, name, body, patch=True)
                return (code, pod) if pod else (404, {"error": "no pod %s/%s" % (ns, name)})
            if method == "DELETE":
                pod = store.delete(ns, name)
                return (200, pod) if pod else (404, {"error": "no pod %s/%s" % (ns, name)})
            if method == "GET":
                with store.lock:
                    pod = store.pods.get((ns, name))
                return (200, pod) if pod else (404, {"error": "no pod %s/%s" % (ns, name)})
        if path == "/control/pods" and method == "GET":
            with store.lock:
                return 200, {"resourceVersion": str(store.rv),
                             "items": [p for _, p in sorted(store.pods.items())]}
        if path == "/control/stats" and method == "GET":
            return 200, self.stats_snapshot()
        if path == "/control/reset-stats" and method == "POST":
            self.reset_stats()
            return 200, {"ok": True}
        if path == "/control/expire-history" and method == "POST":
            return 200, {"history_start": store.expire_history()}
        if path == "/control/drop-connections" and method == "POST":
            return 200, {"dropped": self.drop_connections()}
        if path == "/control/stop" and method == "POST":
            return 200, {"stopped": self.stop_api()}
        if path == "/control/start" and method == "POST":
            return 200, {"started": self.start_api(), "port": self.port}
        if path in ("/control/forbid", "/control/allow") and method == "POST":
            ns = body["namespace"]
            with self.lock:
                (self.forbidden.add if path.endswith("forbid") else self.forbidden.discard)(ns)
                return 200, {"forbidden": sorted(self.forbidden)}
        if path == "/control/token" and method == "PUT":
            token = body["token"]
            if not isinstance(token, str) or not token.strip():
                raise ValueError("token must be a non-empty string")
            self.write_token(token.strip())
            return 200, {"token": token.strip(), "token_file": self.token_file}
        if path == "/control/inject":
            if method == "DELETE":
                with self.lock:
                    self.injections.clear()
                return 200, {"injections": []}
            if method == "POST":
                kind = body.get("kind")
                targets = {"truncated-line": "watch", "unknown-type": "watch",
                           "error-event": "watch",
                           "huge-list": "list", "http-error": body.get("target", "any")}
                if kind not in targets:
                    raise ValueError("kind must be one of %s" % ", ".join(sorted(targets)))
                if targets[kind] not in ("list", "watch", "any"):
                    raise ValueError("target must be list, watch or any")
                if body.get("after", "resend") not in ("resend", "drop", "close"):
                    raise ValueError("after must be resend, drop or close")
                inj = dict(body)
                inj["_target"] = targets[kind]
                inj["count"] = int(body.get("count", 1))
                with self.lock:
                    self.injections.append(inj)
                    return 200, {"injections": list(self.injections)}
        if path == "/control/settings":
            if method == "POST":
                for k, v in body.items():
                    if k not in self.settings:
                        raise ValueError("unknown setting %s" % k)
                    if k == "gone_as" and v not in ("event", "http"):
                        raise ValueError("gone_as must be event or http")
                    self.settings[k] = v if k == "gone_as" else float(v)
            if method in ("GET", "POST"):
                return 200, dict(self.settings)
        if path == "/control/shutdown" and method == "POST":
            self.stop_event.set()
            return 200, {"ok": True}
        return 404, {"error": "no control %s %s" % (method, path)}

    def stats_snapshot(self):
        with self.lock:
            out = copy.deepcopy(self.stats)
            out["connections_open"] = len(self.conns)
            out["api_listening"] = self.api_server is not None
            out["forbidden"] = sorted(self.forbidden)
            out["pending_injections"] = copy.deepcopy(self.injections)
            out["recent"] = list(self.recent)
        with self.store.lock:
            out["resourceVersion"] = self.store.rv
            out["history_start"] = self.store.history_start
            out["history_len"] = len(self.store.history)
            out["pods"] = len(self.store.pods)
        return out

    # -------------------------------------------------------- files
    def write_token(self, token):
        tmp = self.token_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(token)
        os.replace(tmp, self.token_file)
        self.write_kubeconfigs(token)

    def write_kubeconfigs(self, token):
        d = self.dir
        server = "https://127.0.0.1:%d" % self.port

        def b64(path):
            with open(path, "rb") as f:
                return base64.b64encode(f.read()).decode()

        def config(cluster_lines, user_lines):
            return "\n".join([
                "apiVersion: v1", "kind: Config", "clusters:", "- cluster:"]
                + ["    " + l for l in cluster_lines] + [
                "    server: " + server, "  name: fake", "contexts:", "- context:",
                "    cluster: fake", "    namespace: " + self.args.namespace, "    user: fake",
                "  name: fake", "current-context: fake", "preferences: {}", "users:",
                "- name: fake", "  user:"] + ["    " + l for l in user_lines]) + "\n"

        files = {
            "kubeconfig": config(["certificate-authority: " + self.paths["ca"]],
                                 ["token: " + token]),
            "kubeconfig-token-file": config(["certificate-authority: " + self.paths["ca"]],
                                            ["tokenFile: " + self.token_file]),
            "kubeconfig-cert": config(
                ["certificate-authority-data: " + b64(self.paths["ca"])],
                ["client-certificate-data: " + b64(self.paths["client_cert"]),
                 "client-key-data: " + b64(self.paths["client_key"])]),
        }
        for name, text in files.items():
            path = os.path.join(d, name)
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)


class ControlHandler(QuietHandler):
    timeout = 60

    def do_GET(self):
        APP.control(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class ControlServer(LocalHTTPServer):
    pass


# ---------------------------------------------------------------- certificates

def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.strip()))


def make_pki(d, key_type):
    """ca.crt/key, server.crt/key (IP 127.0.0.1, DNS localhost) and
    client.crt/key, all signed by the CA."""
    newkey = ["-newkey", "rsa:2048"] if key_type == "rsa" else \
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    openssl("req", "-x509", *newkey, "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "3", "-subj", "/CN=fake-kubernetes-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash", cwd=d)
    exts = {
        "server": ("/CN=kube-apiserver",
                   "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
                   "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
                   "extendedKeyUsage=serverAuth\n"),
        "client": ("/O=system:masters/CN=groupcache-test", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subj, ext) in exts.items():
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n" + ext)
        openssl("req", "-new", *newkey, "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-set_serial", str(secrets.randbits(63)), "-days", "3", "-sha256",
                "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    for name in os.listdir(d):
        if name.endswith(".key"):
            os.chmod(os.path.join(d, name), 0o600)
    return {k: os.path.join(d, v) for k, v in {
        "ca": "ca.crt", "ca_key": "ca.key", "cert": "server.crt", "key": "server.key",
        "client_cert": "client.crt", "client_key": "client.key"}.items()}


# ---------------------------------------------------------------- main

def main(argv=None):
    global APP
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0, help="HTTPS port (0: pick one)")
    p.add_argument("--control-port", type=int, default=0, help="control port (0: pick one)")
    p.add_argument("--dir", help="directory for certificates, token and kubeconfigs "
                   "(default: a temporary one, removed on exit)")
    p.add_argument("--token", help="initial token (default: random)")
    p.add_argument("--token-file", help="file holding the accepted token (default: "
                   "DIR/serviceaccount/token; read on every request)")
    p.add_argument("--namespace", default="default",
                   help="namespace written to DIR/serviceaccount/namespace and the kubeconfigs")
    p.add_argument("--bookmark-interval", type=float, default=1.0,
                   help="seconds between BOOKMARK events on watches that allow them")
    p.add_argument("--default-watch-timeout", type=float, default=1800.0,
                   help="watch length when timeoutSeconds is absent or 0")
    p.add_argument("--history-limit", type=int, default=10000,
                   help="events kept for resuming watches")
    p.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    p.add_argument("--max-lifetime", type=float, default=600.0,
                   help="exit after this many seconds whatever happens")
    p.add_argument("--exit-with-stdin", action="store_true",
                   help="exit when stdin reaches end of file (the parent died)")
    p.add_argument("--inject", action="append", default=[],
                   help="a JSON body for POST /control/inject, applied at start")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)

    if shutil.which("openssl") is None:
        log("the openssl command is missing")
        return 3
    app = APP = App(args)
    own_dir = args.dir is None
    d = app.dir = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="fake-apiserver-"))
    os.makedirs(d, exist_ok=True)

    def cleanup_dir():
        if own_dir:
            shutil.rmtree(d, ignore_errors=True)

    try:
        app.paths = make_pki(d, args.key_type)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(app.paths["cert"], app.paths["key"])
        ctx.load_verify_locations(app.paths["ca"])
        ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates are one way in
        app.ssl_ctx = ctx

        sa = os.path.join(d, "serviceaccount")
        os.makedirs(sa, exist_ok=True)
        shutil.copy(app.paths["ca"], os.path.join(sa, "ca.crt"))
        with open(os.path.join(sa, "namespace"), "w") as f:
            f.write(args.namespace)
        app.token_file = os.path.abspath(args.token_file or os.path.join(sa, "token"))
        token = args.token
        if token is None and args.token_file and os.path.exists(args.token_file):
            token = app.read_token()
        token = token or secrets.token_hex(24)

        for spec in args.inject:
            code, out = app.control_route("POST", "/control/inject", json.loads(spec))
            if code != 200:
                raise ValueError("--inject %s: %s" % (spec, out))
        app.start_api()
        app.write_token(token)
        control = ControlServer(("127.0.0.1", args.control_port), ControlHandler)
        threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
    except Exception as e:
        log("cannot start: %s" % e)
        cleanup_dir()
        return 1

    def on_signal(signum, frame):
        app.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_with_stdin:
        def stdin_watch():
            try:  # the raw descriptor: a reader blocked in sys.stdin would
                # hold its lock at interpreter shutdown
                while os.read(0, 4096):
                    pass
            except (OSError, ValueError):
                pass
            app.stop_event.set()
        threading.Thread(target=stdin_watch, daemon=True).start()

    ready = {"port": app.port, "control_port": control.server_address[1],
             "server": "https://127.0.0.1:%d" % app.port,
             "control": "http://127.0.0.1:%d" % control.server_address[1],
             "ca": app.paths["ca"], "cert": app.paths["cert"], "key": app.paths["key"],
             "client_cert": app.paths["client_cert"], "client_key": app.paths["client_key"],
             "token": token, "token_file": app.token_file,
             "serviceaccount_dir": sa, "namespace": args.namespace,
             "kubeconfig": os.path.join(d, "kubeconfig"),
             "kubeconfig_token_file": os.path.join(d, "kubeconfig-token-file"),
             "kubeconfig_cert": os.path.join(d, "kubeconfig-cert"),
             "dir": d, "pid": os.getpid()}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()

    deadline = time.monotonic() + args.max_lifetime
    while not app.stop_event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            log("max lifetime (%gs) reached, exiting" % args.max_lifetime)
            break
        app.stop_event.wait(min(left, 0.5))
    app.stop_api()
    control.shutdown()
    control.server_close()
    app.drop_connections()
    cleanup_dir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
