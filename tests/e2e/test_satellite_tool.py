#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Helpers for the satellite end-to-end tests (not a test itself): makes
batches and plays the odd clients curl cannot (idle sockets, slowloris).
Only the standard library."""
import gzip
import json
import socket
import ssl
import sys
import time
import uuid

SCHEMA = "apisonar.metadata/v1"


def metadata(service, path, count):
    """A small catalog document in the anonymizer's format (docs/metadata.md)."""
    seen = "2026-01-02T03:04:05.678Z"
    return {
        "schema": SCHEMA,
        "services": {
            service: {
                "endpoints": {
                    "GET " + path: {
                        "method": "GET",
                        "path": path,
                        "count": count,
                        "first_seen": seen,
                        "last_seen": seen,
                        "responses": {"200": {"count": count}},
                    },
                },
            },
        },
    }


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000000Z"


def batch(args):
    """batch ID SENSOR [SCHEMA] [SERVICE]: a gzip batch on stdout."""
    bid = args[0] if args and args[0] != "-" else str(uuid.uuid4())
    sensor = args[1] if len(args) > 1 else "node-1"
    doc = metadata(args[3] if len(args) > 3 else "shop", "/users/{id}", 3)
    doc["schema"] = args[2] if len(args) > 2 else SCHEMA
    doc["batch_id"] = bid
    doc["sensor"] = {"id": sensor, "version": "0.1.0"}
    now = time.time()
    doc["window"] = {"start": rfc3339(now - 60), "end": rfc3339(now)}
    sys.stdout.buffer.write(gzip.compress(json.dumps(doc).encode()))


def idle(args):
    """idle PORT N HOLD: opens N TCP connections, holds them HOLD seconds,
    prints how many the server closed within 1 s and by the end."""
    port, n, hold = int(args[0]), int(args[1]), float(args[2])
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    closed_early = 0
    time.sleep(1.0)
    for s in socks:
        closed_early += is_closed(s)
    print("open", n, "closed_within_1s", closed_early, flush=True)
    time.sleep(max(0.0, hold - 1.0))
    closed = sum(is_closed(s) for s in socks)
    print("closed_at_end", closed, flush=True)
    for s in socks:
        s.close()


def is_closed(s):
    try:
        return 1 if s.recv(1) == b"" else 0
    except BlockingIOError:
        return 0
    except OSError:
        return 1


def slowloris(args):
    """slowloris PORT CAFILE INTERVAL MAXSECS [body]: TLS, then a request
    (its headers, or with "body" its body after quick headers) one byte per
    INTERVAL; prints "cut SECONDS" when the server closes first, else
    "survived"."""
    port, cafile, interval, maxsecs = int(args[0]), args[1], float(args[2]), float(args[3])
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port))
    start = time.monotonic()
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    req = b"POST /v1/batches HTTP/1.1\r\nHost: localhost\r\n" + b"X-Pad: " + b"a" * 4000
    if len(args) > 4 and args[4] == "body":
        s.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                  b"Content-Length: 4000\r\n\r\n")
        req = b"\x1f" * 4000
    s.settimeout(interval)
    for i in range(len(req)):
        if time.monotonic() - start > maxsecs:
            print("survived", flush=True)
            return
        try:
            s.send(req[i:i + 1])
            if s.recv(1) == b"":
                break
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            break
    print("cut %.1f" % (time.monotonic() - start), flush=True)


def handshake(args):
    """handshake PORT CAFILE [CERT KEY]: prints "ok" or "refused" for a TLS
    handshake plus one GET /healthz."""
    port, cafile = int(args[0]), args[1]
    ctx = ssl.create_default_context(cafile=cafile)
    if len(args) > 3:
        ctx.load_cert_chain(args[2], args[3])
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = s.recv(100)
                print("ok" if data.startswith(b"HTTP/1.1 200") else "refused", flush=True)
    except (OSError, ssl.SSLError):
        print("refused", flush=True)


if __name__ == "__main__":
    {"batch": batch, "idle": idle, "slowloris": slowloris,
     "handshake": handshake}[sys.argv[1]](sys.argv[2:])
