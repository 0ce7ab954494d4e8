#!/usr/bin/python3
"""An independent DNS-SD implementation (python3-zeroconf) for the mDNS
interop tests, run inside a lab namespace (netns.py). IPv4 only, on the
interface that has --address.

  zeroconf_peer.py publish --name NAME --port PORT --address ADDR
                   [--type _groupcache._tcp.local.] [--ttl SECONDS]
                   [--txt k=v ...] [--host HOSTNAME] [--record-address ADDR]
      Publishes NAME.<type> (SRV port PORT, A record ADDR, TXT txtv=0 lo=1
      la=2 unless --txt is given), prints {"event": "published", ...} and
      runs until SIGTERM or SIGINT; then unregisters (goodbye packets with
      TTL 0), prints {"event": "unpublished"} and exits 0.

  zeroconf_peer.py browse [--seconds S] [--expect N] [--address ADDR]
                   [--type _groupcache._tcp.local.]
      Browses and resolves instances of <type> for S seconds (or until N
      are resolved), printing one JSON line per resolved instance:
      {"name", "server", "addresses", "port", "properties"}; then a line
      {"event": "done", "seen": [...names browsed...]}.

Exit status 2 on bad arguments, 1 if zeroconf fails.
"""

import argparse
import json
import queue
import signal
import subprocess
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE = "_groupcache._tcp.local."


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def own_address():
    """The first global IPv4 address of this namespace."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    sys.exit("zeroconf_peer: no IPv4 address here; give --address")


def decode(props):
    return {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k):
            (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
            for k, v in (props or {}).items()}


def publish(args):
    props = {"txtv": "0", "lo": "1", "la": "2"}
    if args.txt is not None:
        props = dict(kv.split("=", 1) if "=" in kv else (kv, None) for kv in args.txt)
    host = args.host or "zc-%s" % args.address.replace(".", "-")
    info = ServiceInfo(args.type, "%s.%s" % (args.name, args.type), port=args.port,
                       properties=props, server="%s.local." % host,
                       parsed_addresses=[args.record_address or args.address],
                       host_ttl=args.ttl, other_ttl=args.ttl)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    zc = Zeroconf(interfaces=[args.address], ip_version=IPVersion.V4Only)
    try:
        zc.register_service(info, allow_name_change=True)
        emit({"event": "published", "name": info.name, "address": args.address,
              "port": args.port, "properties": props, "ttl": args.ttl})
        while not stop.wait(0.1):
            pass
        t0 = time.monotonic()
        zc.unregister_service(info)  # three goodbyes, 125 ms apart; returns after the first
        emit({"event": "unpublished", "name": info.name,
              "ms": round((time.monotonic() - t0) * 1e3, 1)})
    finally:
        zc.close()


def browse(args):
    address = args.address or own_address()
    zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
    names = queue.Queue()
    seen = []

    def on_change(zeroconf, service_type, name, state_change):
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            names.put(name)

    resolved = {}
    try:
        ServiceBrowser(zc, args.type, handlers=[on_change])
        end = time.monotonic() + args.seconds
        while time.monotonic() < end and (args.expect is None or len(resolved) < args.expect):
            try:
                name = names.get(timeout=min(0.1, max(0.0, end - time.monotonic())))
            except queue.Empty:
                continue
            if name not in seen:
                seen.append(name)
            left = end - time.monotonic()
            if left <= 0:
                break
            # Resolved here, not in the callback: get_service_info must not
            # run on zeroconf's own thread.
            info = zc.get_service_info(args.type, name, timeout=int(min(3.0, left) * 1000))
            if info is None or not info.parsed_addresses(IPVersion.V4Only):
                names.put(name)  # try again while there is time
                continue
            record = {"name": info.name, "server": info.server,
                      "addresses": sorted(info.parsed_addresses(IPVersion.V4Only)),
                      "port": info.port, "properties": decode(info.properties)}
            if resolved.get(name) != record:
                resolved[name] = record
                emit(record)
        emit({"event": "done", "seen": seen})
    finally:
        zc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--type", default=SERVICE)
    p.add_argument("--ttl", type=int, default=10)
    p.add_argument("--host", help="host name (default zc-ADDRESS with dashes)")
    p.add_argument("--record-address",
                   help="the A record's address, if not --address (a broken responder)")
    p.add_argument("--txt", nargs="*", help="TXT entries k=v (default txtv=0 lo=1 la=2)")
    b = sub.add_parser("browse")
    b.add_argument("--seconds", type=float, default=5.0)
    b.add_argument("--expect", type=int, help="stop once this many instances are resolved")
    b.add_argument("--address", help="this namespace's address (default: its first global one)")
    b.add_argument("--type", default=SERVICE)
    args = ap.parse_args()
    if args.cmd == "publish" and not 0 < args.port < 65536:
        ap.error("--port must be 1-65535")
    try:
        publish(args) if args.cmd == "publish" else browse(args)
    except Exception as e:  # zeroconf's own errors: say so, exit 1
        sys.stderr.write("zeroconf_peer: %s: %r\n" % (args.cmd, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
