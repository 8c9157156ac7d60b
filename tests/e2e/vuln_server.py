# SPDX-License-Identifier: BSD-2-Clause
"""A vulnerable-by-design API for tests/e2e/test_test_runner, on python3's
http.server. Bearer tokens name two users; every answer echoes the
Authorization header back (raw, base64, hex, inside a JWT) so the test can
prove that no credential reaches a result.

    python3 vuln_server.py PORT TOKEN_ALICE TOKEN_BOB [LOG DELAY_MS]

With LOG, each request is held DELAY_MS and then appended to LOG as a JSON
line (start and end time, method, path, user), so a test can see how many
were in flight at once and in which order they came.

    GET /api/orders            the caller's orders
    GET /api/orders/<id>       any order: broken object-level authorization
    GET /api/accounts          the caller's accounts
    GET /api/accounts/<id>     the caller's account, else 404 (correct)
    GET /api/status            answers without auth (the flaw)
    GET /api/search?limit=N    500 when limit is not an integer
    GET /api/profile           leaks an email address
    other methods              405
"""
import base64
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse

ORDERS = {101: ("alice", "book"), 102: ("alice", "lamp"), 201: ("bob", "desk")}
ACCOUNTS = {11: ("alice", "basic"), 21: ("bob", "gold")}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    users = {}
    log = None
    delay = 0.0
    lock = threading.Lock()

    def tracked(self, fn):
        start = time.time()
        time.sleep(self.delay)
        fn()
        if self.log:
            entry = {"start": start, "end": time.time(), "method": self.command,
                     "path": urllib.parse.urlsplit(self.path).path, "user": self.user()}
            with self.lock:
                with open(self.log, "a") as f:
                    f.write(json.dumps(entry) + "\n")

    def log_message(self, *a):
        pass

    def reply(self, status, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        auth = self.headers.get("Authorization", "")
        self.send_response(status)
        self.send_header("X-Echo-Auth", auth)
        self.send_header("X-Echo-B64", base64.b64encode(auth.encode()).decode())
        self.send_header("X-Echo-Hex", auth.encode().hex())
        jwt = "%s.%s.%s" % (b64url(b'{"alg":"HS256","typ":"JWT"}'),
                            b64url(json.dumps({"sub": auth}).encode()), b64url(b"sig" * 11))
        self.send_header("X-Session", jwt)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def user(self):
        auth = self.headers.get("Authorization", "")
        return self.users.get(auth[7:]) if auth.startswith("Bearer ") else None

    def get(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/api/status":
            return self.reply(200, {"ok": True})
        who = self.user()
        if not who:
            return self.reply(401, {"error": "unauthorized"})
        if u.path == "/api/orders":
            return self.reply(200, [{"id": k, "item": v[1]} for k, v in ORDERS.items() if v[0] == who])
        m = re.match(r"^/api/orders/(\d+)$", u.path)
        if m and int(m.group(1)) in ORDERS:
            return self.reply(200, {"id": int(m.group(1)), "item": ORDERS[int(m.group(1))][1]})
        if u.path == "/api/accounts":
            return self.reply(200, [{"id": k, "plan": v[1]} for k, v in ACCOUNTS.items() if v[0] == who])
        m = re.match(r"^/api/accounts/(\d+)$", u.path)
        if m and ACCOUNTS.get(int(m.group(1)), ("",))[0] == who:
            return self.reply(200, {"id": int(m.group(1)), "plan": ACCOUNTS[int(m.group(1))][1]})
        if u.path == "/api/search":
            try:
                limit = int(q.get("limit", ["10"])[0])
            except ValueError:
                return self.reply(500, {"error": "internal error"})
            return self.reply(200, {"results": [], "limit": limit})
        if u.path == "/api/profile":
            return self.reply(200, {"name": who, "contact": who + ".canary@example.org",
                                    "seen": self.headers.get("Authorization", "")[:6]})
        return self.reply(404, {"error": "not found"})

    def other(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.reply(405)

    def do_GET(self):
        self.tracked(self.get)

    def do_HEAD(self):
        self.tracked(self.other)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD


def main():
    port = int(sys.argv[1])
    Handler.users = {sys.argv[2]: "alice", sys.argv[3]: "bob"}
    if len(sys.argv) > 5:
        Handler.log, Handler.delay = sys.argv[4], int(sys.argv[5]) / 1000.0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
