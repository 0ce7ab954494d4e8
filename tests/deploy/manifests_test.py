#!/usr/bin/env python3
"""Checks deploy/kubernetes/ against the Kubernetes provider's rules.

Run:    /usr/bin/python3 tests/deploy/manifests_test.py
Prints one line per check and closes with `N passed, N failed[, N skipped]`;
exits non-zero when a check fails. Without PyYAML it prints
`0 passed, 0 failed, 1 skipped` and exits 0. With the Kubernetes Python
client (Debian: python3-kubernetes) the manifests and the pods built here are
also checked field by field against the API's types.

Importable by other tests, so that the fake API server's pods come from the
manifests and the two cannot drift apart:

    from manifests_test import pod_from_template, container_env, peer_of
    pod = pod_from_template("groupcache-0", "127.0.0.11")     # a Ready peer
    env = container_env(pod)          # NODE_NAME, NODE_IP, GROUP_PORT, ...
    peer_of(pod)                      # ("groupcache-0", "127.0.0.11", 8080)

The folder can be overridden with GROUPCACHE_DEPLOY_DIR.
"""

import copy
import functools
import importlib
import json
import os
import re
import sys
import traceback
import uuid
from pathlib import Path

try:
    import yaml
except ImportError:  # reported by main(); pod_from_template raises
    yaml = None

DEPLOY_DIR = Path(
    os.environ.get("GROUPCACHE_DEPLOY_DIR")
    or Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
)
KUSTOMIZATION = "Kustomization"  # not *.yaml: `kubectl apply -f DIR` would read it
PORT_NAME = "group-port"
CONTAINER_NAME = "groupcached"
LABEL_KEYS = (
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/component",
    "app.kubernetes.io/name",
)
EXPECTED_KINDS = ("ServiceAccount", "Role", "RoleBinding", "Service", "Deployment")


# --- loading -----------------------------------------------------------------


def _require_yaml():
    if yaml is None:
        raise RuntimeError("PyYAML is not installed (Debian: python3-yaml)")


@functools.lru_cache(maxsize=None)
def _load(directory):
    _require_yaml()
    docs = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((path.name, doc))
    return tuple(docs)


def load_manifests(directory=DEPLOY_DIR):
    """[(file name, object)] for every document of every *.yaml/*.yml file."""
    return [(name, copy.deepcopy(doc)) for name, doc in _load(str(directory))]


def manifest(kind, directory=DEPLOY_DIR):
    """The one object of that kind (a copy)."""
    found = [doc for _, doc in load_manifests(directory) if doc.get("kind") == kind]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


def pod_template(directory=DEPLOY_DIR):
    return manifest("Deployment", directory)["spec"]["template"]


def main_container(spec):
    for container in spec["containers"]:
        if container["name"] == CONTAINER_NAME:
            return container
    raise AssertionError(f"no container named {CONTAINER_NAME}")


def parse_args(args):
    """{flag: value} from ["--flag", "value", "--flag=value", "--bool", ...]."""
    flags = {}
    i = 0
    while i < len(args):
        arg = str(args[i])
        if not arg.startswith("--"):
            raise AssertionError(f"stray argument {arg!r}")
        if "=" in arg:
            key, value = arg.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
            key, value = arg, str(args[i + 1])
            i += 2
        else:
            key, value = arg, True
            i += 1
        if key in flags:
            raise AssertionError(f"{key} given twice")
        flags[key] = value
    return flags


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text):
    """Seconds in a Go duration ("10s", "1m30s", "500ms")."""
    text = str(text)
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if not match:
            raise ValueError(f"bad duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise ValueError(f"bad duration {text!r}")
    return total


def named_port(container, name=PORT_NAME):
    ports = [p for p in container.get("ports", []) if p.get("name") == name]
    if len(ports) != 1:
        raise AssertionError(f"expected one container port named {name}, found {len(ports)}")
    return ports[0]


def resolve_port(container, port):
    """An IntOrString probe/targetPort as a number."""
    if isinstance(port, int):
        return port
    if str(port).isdigit():
        return int(port)
    return named_port(container, port)["containerPort"]


def prestop_sleep_seconds(container):
    """How long the preStop hook sleeps (0 if it has none we recognise)."""
    pre_stop = container.get("lifecycle", {}).get("preStop") or {}
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = (pre_stop.get("exec") or {}).get("command") or []
    words = " ".join(str(w) for w in command)
    match = re.search(r"\bsleep\s+(\d+(?:\.\d+)?)\s*$", words)
    return float(match.group(1)) if match else 0.0


# --- pods made from the template ---------------------------------------------


def _field_values(name, ip, namespace, spec):
    return {
        "metadata.name": name,
        "metadata.namespace": namespace,
        "metadata.uid": _pod_uid(namespace, name),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "spec.nodeName": "node-1",
        "status.podIP": ip or "",
        "status.hostIP": "10.0.0.1",
    }


def _pod_uid(namespace, name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"groupcache-test-pod:{namespace}/{name}"))


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _expand(text, env):
    """Kubernetes' $(VAR) expansion: known names replaced, $$ is a literal $."""

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(replace, text)


def _resolve_env(container, fields):
    resolved, seen = [], {}
    for var in container.get("env", []):
        if "valueFrom" in var:
            source = var["valueFrom"]
            if "fieldRef" not in source:
                raise ValueError(f"env {var['name']}: only fieldRef can be resolved here")
            path = source["fieldRef"]["fieldPath"]
            if path not in fields:
                raise ValueError(f"env {var['name']}: unknown fieldPath {path}")
            value = fields[path]
        else:
            value = _expand(str(var.get("value", "")), seen)
        seen[var["name"]] = value
        resolved.append({"name": var["name"], "value": value})
    container["env"] = resolved


def pod_from_template(name, ip, ready=True, phase="Running", *, namespace="default"):
    """A Pod object (as the API server returns it) made from deployment.yaml.

    metadata.name/namespace, the template's labels and annotations; spec is
    the template's spec with every container's env resolved (NODE_NAME=name,
    NODE_IP=ip, fieldRefs replaced by their values, $(VAR) expanded); status
    has the phase, podIP (left out if ip is empty) and the Ready and
    ContainersReady conditions. A real API server keeps `valueFrom` in the
    spec (the kubelet resolves it); the provider reads no env, and the
    resolved values are what a test needs to start groupcached as that pod.
    No resourceVersion: the (fake) API server assigns it. Set
    metadata.deletionTimestamp on the result for a terminating pod.
    """
    template = copy.deepcopy(pod_template())
    spec = template["spec"]
    fields = _field_values(name, ip, namespace, spec)
    for key in ("initContainers", "containers"):
        for container in spec.get(key, []):
            _resolve_env(container, fields)
    spec.setdefault("nodeName", fields["spec.nodeName"])
    metadata = {
        "name": name,
        "namespace": namespace,
        "uid": fields["metadata.uid"],
        "labels": dict(template["metadata"].get("labels", {})),
    }
    if template["metadata"].get("annotations"):
        metadata["annotations"] = dict(template["metadata"]["annotations"])
    flag = "True" if ready else "False"
    transition = "2024-01-01T00:00:00Z"
    status = {
        "phase": phase,
        "hostIP": fields["status.hostIP"],
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": transition},
            {"type": "Initialized", "status": "True", "lastTransitionTime": transition},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": transition},
            {"type": "Ready", "status": flag, "lastTransitionTime": transition},
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": bool(ready),
                "restartCount": 0,
                "started": phase == "Running",
            }
            for c in spec["containers"]
        ],
    }
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def container_env(pod, container=CONTAINER_NAME):
    """{name: value} of a container of a pod from pod_from_template."""
    found = [c for c in pod["spec"]["containers"] if c["name"] == container]
    if not found:
        raise KeyError(container)
    return {var["name"]: var["value"] for var in found[0].get("env", [])}


def container_args(pod, container=CONTAINER_NAME):
    """The container's args with $(VAR) expanded from its env."""
    env = container_env(pod, container)
    found = [c for c in pod["spec"]["containers"] if c["name"] == container][0]
    return [_expand(str(arg), env) for arg in found.get("args", [])]


def peer_of(pod):
    """(name, ip, port) if the provider's rules make the pod a peer, else None.

    The rules (issue 10, shared spec "Kubernetes"): phase Running, condition
    Ready True, no deletionTimestamp; the address is status.podIP and the
    containerPort of the first container port named group-port.
    """
    metadata, status = pod.get("metadata", {}), pod.get("status", {})
    if status.get("phase") != "Running" or metadata.get("deletionTimestamp"):
        return None
    ready = [c for c in status.get("conditions", []) if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True" or not status.get("podIP"):
        return None
    for container in pod.get("spec", {}).get("containers", []):
        for port in container.get("ports", []):
            if port.get("name") == PORT_NAME:
                return (metadata["name"], status["podIP"], port["containerPort"])
    return None


def matches_selector(labels, selector):
    """A LabelSelector (matchLabels and matchExpressions) against labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# --- the Kubernetes client's types, when it is installed ----------------------


class Skip(Exception):
    pass


def _kube_client():
    try:
        return importlib.import_module("kubernetes.client")
    except ImportError:
        raise Skip("the Kubernetes Python client is not installed (python3-kubernetes)") from None


_PRIMITIVES = {"str", "int", "float", "bool", "object", "date", "datetime"}


def unknown_fields(client, data, type_name, path="$"):
    """Paths of keys in data that the client's type does not have."""
    if type_name.startswith("list["):
        inner = type_name[5:-1]
        if not isinstance(data, list):
            return [f"{path}: expected a list"]
        return [p for i, item in enumerate(data) for p in unknown_fields(client, item, inner, f"{path}[{i}]")]
    if type_name.startswith("dict("):
        inner = type_name[5:-1].split(",", 1)[1].strip()
        if not isinstance(data, dict):
            return [f"{path}: expected a mapping"]
        return [p for k, v in data.items() for p in unknown_fields(client, v, inner, f"{path}.{k}")]
    if type_name in _PRIMITIVES:
        return []
    cls = getattr(client, type_name)
    if not isinstance(data, dict):
        return [f"{path}: expected a {type_name} mapping"]
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    problems = []
    for key, value in data.items():
        if key not in by_json:
            problems.append(f"{path}.{key}")
        else:
            problems += unknown_fields(client, value, cls.openapi_types[by_json[key]], f"{path}.{key}")
    return problems


def check_against_client_types(obj):
    """Unknown fields and missing required fields, per the client's models."""
    client = _kube_client()
    type_name = "V1" + obj["kind"]
    problems = unknown_fields(client, obj, type_name)
    assert not problems, f"{obj['kind']}: unknown fields {problems}"
    api = client.ApiClient()
    api._ApiClient__deserialize(json.loads(json.dumps(obj)), type_name)  # raises if invalid


# --- checks --------------------------------------------------------------------


def _deployment_parts():
    deployment = manifest("Deployment")
    template = deployment["spec"]["template"]
    container = main_container(template["spec"])
    flags = parse_args(container.get("args", []))
    return deployment, template, container, flags


def _env(container):
    return {var["name"]: var for var in container.get("env", [])}


def test_every_file_loads_and_the_kinds_are_there():
    docs = load_manifests()
    assert docs, f"no manifests in {DEPLOY_DIR}"
    for name, doc in docs:
        assert isinstance(doc, dict), f"{name}: not a mapping"
        assert doc.get("kind") != "Kustomization", (
            f"{name}: a Kustomization in a *.yaml file breaks `kubectl apply -f {DEPLOY_DIR.name}/`;"
            f" it belongs in {KUSTOMIZATION}"
        )
        for key in ("apiVersion", "kind"):
            assert doc.get(key), f"{name}: no {key}"
        assert doc.get("metadata", {}).get("name"), f"{name}: no metadata.name"
        assert "namespace" not in doc["metadata"], f"{name}: hard-coded namespace"
    kinds = sorted(doc["kind"] for _, doc in docs)
    assert kinds == sorted(EXPECTED_KINDS), f"kinds {kinds}, expected {sorted(EXPECTED_KINDS)}"


def test_kustomization_lists_every_manifest():
    _require_yaml()
    path = DEPLOY_DIR / KUSTOMIZATION
    assert path.exists(), f"{path} is missing"
    with open(path, encoding="utf-8") as f:
        kustomization = yaml.safe_load(f)
    assert kustomization["kind"] == "Kustomization"
    files = sorted(p.name for p in DEPLOY_DIR.glob("*.y*ml"))
    assert sorted(kustomization["resources"]) == files, (
        f"resources {kustomization['resources']} != files {files}"
    )


def test_role_grants_exactly_get_list_watch_on_pods():
    role = manifest("Role")
    rules = role["rules"]
    assert len(rules) == 1, f"expected one rule, got {rules}"
    rule = rules[0]
    assert rule["apiGroups"] == [""], rule
    assert rule["resources"] == ["pods"], rule
    assert sorted(rule["verbs"]) == ["get", "list", "watch"], rule
    assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule


def test_rolebinding_binds_the_role_to_the_service_account():
    binding, role, account = manifest("RoleBinding"), manifest("Role"), manifest("ServiceAccount")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }, binding["roleRef"]
    subjects = binding["subjects"]
    assert len(subjects) == 1, subjects
    assert subjects[0]["kind"] == "ServiceAccount", subjects
    assert subjects[0]["name"] == account["metadata"]["name"], subjects
    # No namespace: the binding's own, wherever the manifests are applied.
    assert subjects[0].get("namespace") in (None, ""), subjects
    _, template, _, _ = _deployment_parts()
    assert template["spec"]["serviceAccountName"] == account["metadata"]["name"]
    # The provider needs the token: the pod must not opt out, and if the
    # account opts out the pod must opt back in.
    pod_mount = template["spec"].get("automountServiceAccountToken")
    assert pod_mount is not False, "the pod must mount its service-account token"
    if account.get("automountServiceAccountToken") is False:
        assert pod_mount is True, "the account opts out of the token: the pod must opt in"


def test_selector_labels_and_app_name_agree():
    deployment, template, _, flags = _deployment_parts()
    assert deployment["metadata"]["name"] == "groupcache"
    assert deployment["spec"]["replicas"] == 3
    assert flags.get("--discovery") == "kubernetes", flags
    app = flags.get("--app-name")
    assert app, "no --app-name in the args"
    labels = template["metadata"]["labels"]
    selector = deployment["spec"]["selector"]
    assert matches_selector(labels, selector), f"selector {selector} does not match {labels}"
    for key in LABEL_KEYS:
        assert labels.get(key) == app, f"template label {key}={labels.get(key)}, --app-name {app}"
        assert selector["matchLabels"].get(key) == app, f"selector lacks {key}={app}"
    service_selector = manifest("Service")["spec"]["selector"]
    assert service_selector == {key: app for key in LABEL_KEYS}, service_selector
    assert "--kube-namespace" not in flags, "the namespace should come from the pod's namespace file"


def test_group_port_env_and_service_agree():
    _, _, container, _ = _deployment_parts()
    port = named_port(container)
    assert port.get("protocol", "TCP") == "TCP", port
    env = _env(container)
    assert "value" in env["GROUP_PORT"], "GROUP_PORT must be a literal"
    assert isinstance(env["GROUP_PORT"]["value"], str), "env values are strings in the API"
    assert int(env["GROUP_PORT"]["value"]) == port["containerPort"], (env["GROUP_PORT"], port)
    service = manifest("Service")
    assert service["spec"].get("clusterIP") == "None", "the Service must be headless"
    ports = service["spec"]["ports"]
    assert len(ports) == 1 and ports[0]["name"] == PORT_NAME, ports
    assert ports[0]["port"] == port["containerPort"], ports
    target = ports[0].get("targetPort", ports[0]["port"])
    assert resolve_port(container, target) == port["containerPort"], ports


def test_identity_comes_from_the_right_fields():
    _, _, container, _ = _deployment_parts()
    env = _env(container)
    for name, path in (("NODE_NAME", "metadata.name"), ("NODE_IP", "status.podIP")):
        assert name in env, f"no {name}"
        ref = env[name].get("valueFrom", {}).get("fieldRef", {})
        assert ref.get("fieldPath") == path, f"{name} from {env[name]}, expected fieldRef {path}"
        assert "value" not in env[name]


def test_probes_hit_readyz_and_healthz_on_the_group_port():
    _, _, container, _ = _deployment_parts()
    group_port = named_port(container)["containerPort"]
    # Readiness (ring membership) on /readyz, which fails while the node
    # drains; liveness on /healthz, which only says the process answers.
    for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        probe = container.get(probe_name)
        assert probe, f"no {probe_name}"
        get = probe["httpGet"]
        assert get["path"] == path, (probe_name, get)
        assert resolve_port(container, get["port"]) == group_port, (probe_name, get)
        assert get.get("scheme", "HTTP") == "HTTP", (probe_name, get)


def test_grace_period_covers_the_drain():
    _, template, container, flags = _deployment_parts()
    grace = template["spec"]["terminationGracePeriodSeconds"]
    assert "--shutdown-timeout" in flags, "pass --shutdown-timeout explicitly"
    assert "--drain-timeout" in flags, "pass --drain-timeout explicitly"
    # After SIGTERM: the drain, then the wait for requests in flight.
    drain = parse_duration(flags["--drain-timeout"]) + parse_duration(flags["--shutdown-timeout"])
    assert grace > drain, f"grace {grace}s <= drain + shutdown timeout {drain}s"
    sleep = prestop_sleep_seconds(container)
    assert sleep > 0, "no preStop sleep"
    # The grace period counts from deletion, so the preStop sleep spends it too.
    assert grace > sleep + drain, f"grace {grace}s <= preStop {sleep}s + drain {drain}s"


def test_security_and_resources():
    _, template, container, flags = _deployment_parts()
    pod_sc, sc = template["spec"].get("securityContext", {}), container.get("securityContext", {})
    assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True
    assert sc.get("readOnlyRootFilesystem") is True
    assert sc.get("allowPrivilegeEscalation") is False
    resources = container["resources"]
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources.get(part, {})), f"resources.{part}: {resources}"
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    limit = resources["limits"]["memory"]
    limit_bytes = int(limit[:-2]) * units[limit[-2:]] if limit[-2:] in units else int(limit)
    assert limit_bytes > int(flags["--cache-bytes"]), "the memory limit must exceed --cache-bytes"
    loader = flags.get("--loader", "")
    if loader.startswith("dir:"):
        mounts = [m["mountPath"].rstrip("/") for m in container.get("volumeMounts", [])]
        assert loader[4:].rstrip("/") in mounts, f"{loader}: no volume mounted there"


def test_manifests_fit_the_api_types():
    for name, doc in load_manifests():
        check_against_client_types(doc)


def test_pod_from_template_is_a_ready_peer():
    app = parse_args(main_container(pod_template()["spec"])["args"])["--app-name"]
    pod = pod_from_template("groupcache-7d9f-abcde", "10.1.2.3", namespace="cache")
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["name"] == "groupcache-7d9f-abcde"
    assert pod["metadata"]["namespace"] == "cache"
    assert pod["metadata"]["labels"] == pod_template()["metadata"]["labels"]
    assert all(pod["metadata"]["labels"][key] == app for key in LABEL_KEYS)
    assert matches_selector(pod["metadata"]["labels"], manifest("Deployment")["spec"]["selector"])
    assert matches_selector(pod["metadata"]["labels"], {"matchLabels": manifest("Service")["spec"]["selector"]})
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] == "10.1.2.3"
    ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"]
    assert ready == [{"type": "Ready", "status": "True", "lastTransitionTime": ready[0]["lastTransitionTime"]}]
    assert "deletionTimestamp" not in pod["metadata"]
    container = main_container(pod["spec"])
    assert all("valueFrom" not in var for var in container["env"])
    env = container_env(pod)
    assert env["NODE_NAME"] == "groupcache-7d9f-abcde", env
    assert env["NODE_IP"] == "10.1.2.3", env
    assert env["GROUP_PORT"] == "8080", env
    assert peer_of(pod) == ("groupcache-7d9f-abcde", "10.1.2.3", int(env["GROUP_PORT"])), (
        f"not the expected peer: {peer_of(pod)}"
    )
    assert named_port(container)["containerPort"] == int(env["GROUP_PORT"])
    assert container_args(pod) == [str(a) for a in main_container(pod_template()["spec"])["args"]]
    json.dumps(pod)  # what the fake API server sends


def test_pod_from_template_not_ready_pending_terminating():
    not_ready = pod_from_template("gc-1", "10.1.2.4", ready=False)
    assert [c["status"] for c in not_ready["status"]["conditions"] if c["type"] == "Ready"] == ["False"]
    assert not_ready["status"]["containerStatuses"][0]["ready"] is False
    assert peer_of(not_ready) is None
    pending = pod_from_template("gc-2", "", ready=False, phase="Pending")
    assert pending["status"]["phase"] == "Pending" and "podIP" not in pending["status"]
    assert container_env(pending)["NODE_IP"] == ""
    assert peer_of(pending) is None
    running_not_ready_phase = pod_from_template("gc-3", "10.1.2.5", phase="Succeeded")
    assert peer_of(running_not_ready_phase) is None
    terminating = pod_from_template("gc-4", "10.1.2.6")
    assert peer_of(terminating) is not None
    terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:30Z"
    assert peer_of(terminating) is None
    renamed = pod_from_template("gc-5", "10.1.2.7")
    named_port(main_container(renamed["spec"]))["name"] = "http"
    assert peer_of(renamed) is None, "a pod without group-port is no peer"


def test_pod_from_template_returns_independent_copies():
    first = pod_from_template("gc-a", "10.0.0.1")
    first["metadata"]["labels"]["extra"] = "x"
    main_container(first["spec"])["ports"][0]["containerPort"] = 1
    second = pod_from_template("gc-b", "10.0.0.2")
    assert "extra" not in second["metadata"]["labels"]
    assert "extra" not in pod_template()["metadata"]["labels"]
    assert named_port(main_container(second["spec"]))["containerPort"] == 8080
    assert first["metadata"]["uid"] != second["metadata"]["uid"]
    assert pod_from_template("gc-a", "10.0.0.1")["metadata"]["uid"] == first["metadata"]["uid"]
    env = _env(main_container(pod_template()["spec"]))
    assert "valueFrom" in env["NODE_IP"], "the loaded template must stay unresolved"


def test_env_resolution_rules():
    container = {
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$(MISSING)-$$(A)"},
            {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ]
    }
    _resolve_env(container, _field_values("p", "1.2.3.4", "ns", {}))
    assert container["env"] == [
        {"name": "A", "value": "x"},
        {"name": "B", "value": "x-$(MISSING)-$(A)"},
        {"name": "C", "value": "ns"},
    ], container["env"]
    bad = {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}
    try:
        _resolve_env(bad, _field_values("p", "1.2.3.4", "ns", {}))
    except ValueError:
        pass
    else:
        raise AssertionError("a secretKeyRef cannot be resolved and must say so")
    assert parse_duration("10s") == 10 and parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_args(["--a", "1", "--b=2", "--c"]) == {"--a": "1", "--b": "2", "--c": True}


def test_pods_fit_the_api_types():
    client = _kube_client()
    pod = pod_from_template("gc-x", "10.9.8.7")
    check_against_client_types(pod)
    model = client.ApiClient()._ApiClient__deserialize(json.loads(json.dumps(pod)), "V1Pod")
    assert model.status.pod_ip == "10.9.8.7"
    assert model.spec.containers[0].ports[0].name == PORT_NAME


# --- runner ----------------------------------------------------------------------


def main():
    if yaml is None:
        print("SKIP manifests: PyYAML is not installed (Debian: python3-yaml)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_") and callable(fn)]
    passed = failed = skipped = 0
    for name, fn in tests:
        try:
            fn()
        except Skip as e:
            skipped += 1
            print(f"SKIP {name}: {e}")
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name}")
    summary = f"{passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
