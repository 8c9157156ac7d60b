#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A small HTTPS receiver for the uploader's end-to-end tests.

It answers POST /v1/batches with statuses from a script (to play failure
modes), checks each body the way a real receiver would (gzip, JSON,
schema, batch id equal to Idempotency-Key), and appends one JSON line per
request to --log: batch id, status, body digest, validity. It never prints
a body. Not a product: the real receiver is `apisonar satellite`.
"""
import argparse
import gzip
import hashlib
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024 * 1024


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="written with the bound port once listening")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", help="require a client certificate from this CA")
    p.add_argument("--token", help="expected bearer token (401 otherwise)")
    p.add_argument("--script", default="",
                   help="comma list of statuses for successive POSTs, e.g. 500,429:2 "
                        "(429 with Retry-After: 2); 200 afterwards")
    p.add_argument("--log", required=True, help="JSON lines, one per request")
    p.add_argument("--tls-max", choices=["1.1", "1.2", "1.3"], default="1.3")
    p.add_argument("--delay-ms", type=int, default=0, help="sleep before answering")
    return p.parse_args()


ARGS = parse_args()
SCRIPT = [s for s in ARGS.script.split(",") if s]
LOCK = threading.Lock()


def next_status():
    with LOCK:
        if SCRIPT:
            return SCRIPT.pop(0)
    return "200"


def record(entry):
    line = json.dumps(entry, sort_keys=True) + "\n"
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, retry_after=None, body=b""):
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200 if self.path == "/healthz" else 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_BODY:
            self.reply(413)
            self.close_connection = True
            return
        body = self.rfile.read(n)
        if len(body) < n:
            # The client went away mid-body (killed): not an upload at all.
            record({"time": time.time(), "truncated": True, "bytes": len(body)})
            self.close_connection = True
            return
        entry = {
            "time": time.time(),
            "path": self.path,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "batch_header": self.headers.get("X-Apisonar-Batch-Id"),
            "content_type": self.headers.get("Content-Type"),
            "content_encoding": self.headers.get("Content-Encoding"),
            "auth_ok": ARGS.token is None
            or self.headers.get("Authorization") == "Bearer " + ARGS.token,
            "client_cert": self.connection.getpeercert() is not None
            if hasattr(self.connection, "getpeercert") else False,
        }
        try:
            doc = json.loads(gzip.decompress(body))
            entry["batch_id"] = doc.get("batch_id")
            entry["endpoints"] = sum(len(s.get("endpoints", [])) for s in doc["services"])
            entry["valid"] = (doc.get("schema") == "apisonar.metadata/v1"
                              and doc.get("batch_id") == entry["idempotency_key"]
                              and entry["batch_header"] == entry["idempotency_key"])
        except Exception:  # any undecodable body is a corrupt upload
            entry["batch_id"] = None
            entry["valid"] = False
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000.0)
        if self.path != "/v1/batches":
            status, ra = 404, None
        elif not entry["auth_ok"]:
            status, ra = 401, None
        elif not entry["valid"]:
            status, ra = 400, None
        else:
            s = next_status()
            status, _, ra = s.partition(":")
            status, ra = int(status), (ra or None)
        entry["status"] = status
        record(entry)
        self.reply(status, ra, b'{"ok":true}' if status < 300 else b'{"error":"scripted"}')


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    if ARGS.tls_max == "1.1":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    elif ARGS.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ARGS.client_ca:
        ctx.load_verify_locations(ARGS.client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    # A failed handshake is the client's refusal: note it, keep serving.
    srv.handle_error = lambda req, addr: record({"time": time.time(), "tls_error": True})
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
