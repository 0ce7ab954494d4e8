#!/usr/bin/python3
"""A small HTTP/1.1 origin for the tests of groupcached's http: loader.

Keep-alive (ThreadingHTTPServer, protocol_version HTTP/1.1), optional TLS
(--tls-cert/--tls-key). Prints one JSON line {"port": N} on stdout when it
accepts connections, then serves until killed.

What a path asks for (the first segments; the rest only makes it unique):
  /status/CODE/...             answers CODE with a short body
  /slow/MS/...                 waits MS milliseconds, then 200
  /bytes/N/...                 200 with N bytes, byte i = (i * 31 + 7) % 256
  /chunked/N/...               the same bytes, chunked (no Content-Length)
  /cache-control/VALUE/...     200 with Cache-Control: VALUE (percent-decoded)
  /expires/SECONDS/SKEW/...    200 with Date: now + SKEW and
                               Expires: Date + SECONDS (both may be negative)
  /close-mid-body/...          promises 1000 bytes, sends 10, closes
  /close-after/...             200 (keep-alive as far as the client can tell),
                               then closes the connection while idle
  /drop-next/...               200; the next request on the same connection
                               is read and then the connection closed unanswered
  /_stats                      JSON {"connections": N, "requests": {path: N}}:
                               connections that served something other than
                               /_stats, and requests per raw path (not /_stats)
  anything else                200 with the raw request target as the body
"""

import argparse
import json
import ssl
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Origin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler):
        super().__init__(address, handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = {}


def pattern_bytes(n):
    return bytes((i * 31 + 7) % 256 for i in range(n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.counted = False
        self.drop_next = False

    def log_message(self, fmt, *args):  # quiet: stderr is the test's log
        pass

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        origin = self.server
        if self.path == "/_stats":
            with origin.lock:
                body = json.dumps({"connections": origin.connections,
                                   "requests": origin.requests}).encode()
            self.reply(200, body, [("Content-Type", "application/json")])
            return
        with origin.lock:
            if not self.counted:
                self.counted = True
                origin.connections += 1
            origin.requests[self.path] = origin.requests.get(self.path, 0) + 1
        if self.drop_next:
            self.close_connection = True
            return
        parts = self.path.split("/")[1:]
        kind = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if kind == "status":
            code = int(arg)
            self.reply(code, ("status %d\n" % code).encode())
        elif kind == "slow":
            time.sleep(int(arg) / 1000.0)
            self.reply(200, b"slow")
        elif kind == "bytes":
            self.reply(200, pattern_bytes(int(arg)))
        elif kind == "chunked":
            data = pattern_bytes(int(arg))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 65536):
                chunk = data[i:i + 65536]
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif kind == "cache-control":
            value = urllib.parse.unquote(arg)
            self.reply(200, b"cc", [("Cache-Control", value)])
        elif kind == "expires":
            seconds, skew = int(arg), int(parts[2])
            date = time.time() + skew
            # send_response adds a Date of its own; ours replaces it.
            self.send_response_only(200)
            self.send_header("Server", self.version_string())
            self.send_header("Date", formatdate(date, usegmt=True))
            self.send_header("Expires", formatdate(date + seconds, usegmt=True))
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"expires")
        elif kind == "close-mid-body":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
        elif kind == "close-after":
            self.reply(200, b"closed after")
            self.close_connection = True
        elif kind == "drop-next":
            self.reply(200, b"dropped next")
            self.drop_next = True
        else:
            self.reply(200, self.path.encode())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    server = Origin(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
