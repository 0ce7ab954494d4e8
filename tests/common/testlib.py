"""Helpers the Python process tests share (tests/cluster, tests/kubernetes):
free ports chosen at run time, and polling a condition with a deadline."""

import random
import socket
import time


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except OSError:
        return 32768


def free_port(ips=("127.0.0.1",), taken=()):
    """A port free on every address in ips and not in taken, below the
    ephemeral range: no outgoing connection takes it while a node starts,
    or while a server the test restarts on the same port is down."""
    low = _ephemeral_low()
    while True:
        port = random.randint(10000, low - 1)
        if port in taken:
            continue
        ok = True
        for ip in ips:
            s = socket.socket()
            try:
                s.bind((ip, port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return port


def free_ports(n, ips=("127.0.0.1",)):
    """n distinct ports, each as free_port gives them."""
    ports = []
    while len(ports) < n:
        ports.append(free_port(ips, taken=ports))
    return ports


def wait_for(what, cond, timeout):
    """cond()'s first truthy value within timeout seconds, polled every
    20 ms; AssertionError naming `what` if none came."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
