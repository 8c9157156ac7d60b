#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Traffic generators for the anonymizer tests and benchmark (stdlib only).

Writes exchanges as JSON lines in the format of docs/exchange-format.md
(what `apisonar capture --format jsonl --show-values` writes), or as HAR 1.2.

  gen_traffic.py canary  --out FILE --canaries FILE [--count N] [--seed S]
      Plants unique canary values (emails, card numbers, JWTs, API keys,
      random tokens, person names, numbers) in every position a value can
      take; writes one canary per line to --canaries.
  gen_traffic.py openapi --spec DOC.json --out FILE [--per-op N] [--seed S]
      Traffic that exercises every operation of an OpenAPI document.
  gen_traffic.py bench   --out FILE [--count N] [--har]
      Small JSON API traffic for the throughput benchmark.
"""
import argparse
import base64
import json
import random
import string
import sys
import urllib.parse

BASE_NS = 1764000000000000000


def iso(ns):
    s, frac = divmod(ns, 1000000000)
    import time
    t = time.gmtime(s)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%06dZ" % (frac // 1000)


def exchange(i, method, target, req_headers, req_body, status, reason, resp_headers,
             resp_body, comm="api", latency_ms=1.0):
    req_body = req_body or ""
    resp_body = resp_body or ""
    return {
        "time": iso(BASE_NS + i * 1000000),
        "pid": 4242,
        "comm": comm,
        "role": "server",
        "tls": False,
        "local": {"addr": "10.1.2.3", "port": 8080},
        "remote": {"addr": "10.9.8.7", "port": 40000 + i % 20000},
        "latency_ms": latency_ms,
        "flags": [],
        "values": True,
        "request": {
            "method": method, "target": target, "version": "HTTP/1.1",
            "headers": [[k, v] for k, v in req_headers],
            "body": req_body, "body_encoding": "utf8",
            "body_size": len(req_body.encode()), "body_truncated": False,
        },
        "response": {
            "time": iso(BASE_NS + i * 1000000 + int(latency_ms * 1e6)),
            "status": status, "reason": reason, "version": "HTTP/1.1",
            "headers": [[k, v] for k, v in resp_headers],
            "body": resp_body, "body_encoding": "utf8",
            "body_size": len(resp_body.encode()), "body_truncated": False,
        },
    }


# ---- canaries ----------------------------------------------------------------

class Canaries:
    """Unique values of each kind; every one is recorded."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.all = []
        self.n = 0

    def _rs(self, alphabet, k):
        return "".join(self.rnd.choice(alphabet) for _ in range(k))

    def keep(self, v):
        self.all.append(v)
        return v

    def email(self):
        self.n += 1
        return self.keep("cn%s%d@%s.example" % (self._rs(string.ascii_lowercase, 6), self.n,
                                                  self._rs(string.ascii_lowercase, 7)))

    def card(self):
        # 16 digits, Luhn-valid, unique body
        body = [4] + [self.rnd.randrange(10) for _ in range(14)]
        total = 0
        for idx, d in enumerate(reversed(body)):
            if idx % 2 == 0:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        body.append((10 - total % 10) % 10)
        return self.keep("".join(map(str, body)))

    def jwt(self):
        def b64(o):
            return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
        tok = "%s.%s.%s" % (b64({"alg": "HS256", "typ": "JWT"}),
                            b64({"sub": self._rs(string.ascii_letters, 12),
                                 "n": self.rnd.randrange(1 << 30)}),
                            self._rs(string.ascii_letters + string.digits + "-_", 43))
        return self.keep(tok)

    def apikey(self):
        kind = self.rnd.randrange(4)
        if kind == 0:
            v = "AKIA" + self._rs(string.ascii_uppercase + "234567", 16)
        elif kind == 1:
            v = "ghp_" + self._rs(string.ascii_letters + string.digits, 36)
        elif kind == 2:
            v = "sk_live_" + self._rs(string.ascii_letters + string.digits, 24)
        else:
            v = "xoxb-" + self._rs(string.digits, 11) + "-" + self._rs(string.ascii_letters + string.digits, 24)
        return self.keep(v)

    def token(self):
        return self.keep(self._rs("0123456789abcdef", 32))

    def name(self):
        def word():
            w = self._rs("bcdfghjklmnpqrstvwxz", 1).upper()
            for _ in range(3):
                w += self._rs("aeiou", 1) + self._rs("bcdfghjklmnprstvz", 1)
            return w
        return self.keep(word() + " " + word())

    def word(self):
        """A name-like single word (for path segments)."""
        w = self._rs("bcdfghjklmnpqrstvwxz", 1)
        for _ in range(4):
            w += self._rs("aeiou", 1) + self._rs("bcdfghjklmnprstvz", 1)
        return self.keep(w)

    def number(self):
        return int(self.keep(str(self.rnd.randrange(10 ** 11, 10 ** 12))))

    def any(self):
        return [self.email, self.card, self.jwt, self.apikey, self.token, self.name][
            self.rnd.randrange(6)]()


def canary_exchange(i, c, rnd):
    q = urllib.parse.quote
    kind = i % 6
    host = ["shop.example", "auth.example", "files.example"][i % 3]
    hdr = [("Host", host), ("User-Agent", "gen/1"), ("X-Trace-Token", c.token()),
           ("X-Customer-Email", c.email()),
           ("Cookie", "session=%s; theme=%s; uid=%s" % (c.token(), c.name().replace(" ", "_"),
                                                         c.email()))]
    auth = rnd.randrange(4)
    if auth == 0:
        hdr.append(("Authorization", "Bearer " + c.jwt()))
    elif auth == 1:
        hdr.append(("Authorization", "Basic " + base64.b64encode(
            (c.email() + ":" + c.token()).encode()).decode()))
    elif auth == 2:
        hdr.append(("X-API-Key", c.apikey()))
    else:
        hdr.append(("Authorization", "Bearer " + c.apikey()))
    resp_hdr = [("Content-Type", "application/json"),
                ("Set-Cookie", "session=%s; Path=/; HttpOnly" % c.token()),
                ("Location", "/users/%s" % q(c.email())),
                ("X-Request-Owner", c.name())]
    reason = "OK " + c.name()
    resp_body = json.dumps({
        "owner": c.name(), "email": c.email(), "card": c.card(), "balance": c.number(),
        "history": [[c.token(), c.number()], {"jwt": c.jwt()}],
        "byEmail": {c.email(): {"score": c.number()}},
        "keys": {c.apikey(): True, c.token(): False},
    })
    if kind == 0:
        target = "/users/%s/orders?coupon=%s&email=%s" % (q(c.email()), q(c.token()), q(c.email()))
        return exchange(i, "GET", target, hdr, "", 200, reason, resp_hdr, resp_body)
    if kind == 1:
        target = "/people/%s?card=%s" % (c.word(), c.card())
        return exchange(i, "GET", target, hdr, "", 200, reason, resp_hdr, resp_body)
    if kind == 2:
        body = "user=%s&password=%s&card=%s&note=%s" % (q(c.email()), q(c.token()), c.card(),
                                                         q(c.name()))
        hdr.append(("Content-Type", "application/x-www-form-urlencoded"))
        return exchange(i, "POST", "/login?next=%s" % q(c.token()), hdr, body, 302, reason,
                        resp_hdr, resp_body)
    if kind == 3:
        b = "bnd" + c.token()[:12]
        parts = []
        parts.append('--%s\r\nContent-Disposition: form-data; name="title"\r\n\r\n%s\r\n'
                     % (b, c.name()))
        parts.append('--%s\r\nContent-Disposition: form-data; name="owner"\r\n\r\n%s\r\n'
                     % (b, c.email()))
        parts.append('--%s\r\nContent-Disposition: form-data; name="doc"; filename="%s.pdf"\r\n'
                     'Content-Type: application/pdf\r\n\r\n%s %s\r\n'
                     % (b, c.word(), c.card(), c.jwt()))
        parts.append("--%s--\r\n" % b)
        hdr.append(("Content-Type", "multipart/form-data; boundary=" + b))
        return exchange(i, "POST", "/files/%s/upload" % c.token(), hdr, "".join(parts), 201,
                        reason, resp_hdr, resp_body)
    if kind == 4:
        body = json.dumps({
            "customer": {"name": c.name(), "email": c.email(), "phone": "+1 415 555 %04d" % (i % 10000)},
            "payment": {"card": c.card(), "cvv": c.number()},
            "items": [{"sku": c.token(), "qty": c.number()}, [c.email(), c.jwt()]],
            "meta": {c.email(): c.name(), c.token(): [c.apikey()], c.name(): c.card()},
            "apiKey": c.apikey(),
        })
        hdr.append(("Content-Type", "application/json"))
        return exchange(i, "POST", "/orders", hdr, body, 201, reason, resp_hdr, resp_body)
    target = "/tokens/%s/sessions/%s?api_key=%s&name=%s" % (c.jwt(), c.apikey(), c.apikey(),
                                                            q(c.name()))
    hdr.append(("Content-Type", "text/plain"))
    return exchange(i, "PUT", target, hdr, json.dumps({"secret": c.token(), "who": c.name()}),
                    200, reason, resp_hdr, resp_body)


def cmd_canary(a):
    rnd = random.Random(a.seed)
    c = Canaries(rnd)
    with open(a.out, "w") as f:
        for i in range(a.count):
            f.write(json.dumps(canary_exchange(i, c, rnd)) + "\n")
    with open(a.canaries, "w") as f:
        for v in c.all:
            f.write(v + "\n")


# ---- from an OpenAPI document ------------------------------------------------------

WORDS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
         "yolanda", "zoe", "arthur", "bella", "caspar", "delia", "edgar", "fiona", "gideon"]


def resolve(doc, s):
    while isinstance(s, dict) and "$ref" in s:
        ref = s["$ref"]
        node = doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        s = node
    return s


def sample(doc, s, rnd, depth=0):
    s = resolve(doc, s or {})
    t = s.get("type", "object" if "properties" in s else "string")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if t == "integer":
        return rnd.randrange(1, 100000)
    if t == "number":
        return round(rnd.uniform(1, 1000), 2)
    if t == "boolean":
        return rnd.random() < 0.5
    if t == "array":
        return [sample(doc, s.get("items", {}), rnd, depth + 1) for _ in range(rnd.randrange(1, 4))]
    if t == "object":
        if depth > 5:
            return {}
        return {k: sample(doc, v, rnd, depth + 1) for k, v in s.get("properties", {}).items()}
    fmt = s.get("format")
    if fmt == "uuid":
        return "%08x-%04x-4%03x-a%03x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16),
                                               rnd.getrandbits(12), rnd.getrandbits(12),
                                               rnd.getrandbits(48))
    if fmt == "email":
        return "%s%d@example.com" % (rnd.choice(WORDS), rnd.randrange(1000))
    if fmt == "date-time":
        return "2026-0%d-1%dT10:00:00Z" % (rnd.randrange(1, 9), rnd.randrange(10))
    if fmt == "date":
        return "2026-0%d-1%d" % (rnd.randrange(1, 9), rnd.randrange(10))
    if "enum" in s:
        return rnd.choice(s["enum"])
    return rnd.choice(WORDS) + rnd.choice(["", "x", "y"])


def path_value(doc, p, rnd, seq):
    s = resolve(doc, p.get("schema", {}))
    if s.get("type") == "string" and s.get("format") not in ("uuid", "email", "date", "date-time"):
        # name-like strings: the catalog must learn these positions
        return WORDS[seq % len(WORDS)] + ("" if seq < len(WORDS) else str(seq // len(WORDS)))
    return str(sample(doc, s, rnd))


def cmd_openapi(a):
    rnd = random.Random(a.seed)
    doc = json.load(open(a.spec))
    host = doc.get("x-test-host", "api.example")
    out = []
    i = 0
    for path, item in doc["paths"].items():
        common = item.get("parameters", [])
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            params = common + op.get("parameters", [])
            for k in range(a.per_op):
                target = path
                q = []
                hdr = [("Host", host), ("Accept", "application/json")]
                for p in params:
                    p = resolve(doc, p)
                    if p["in"] == "path":
                        target = target.replace("{%s}" % p["name"],
                                                urllib.parse.quote(path_value(doc, p, rnd, k), safe=""))
                    elif p["in"] == "query" and (p.get("required") or rnd.random() < 0.7):
                        q.append("%s=%s" % (p["name"], urllib.parse.quote(str(sample(doc, p.get("schema"), rnd)))))
                    elif p["in"] == "header":
                        hdr.append((p["name"], str(sample(doc, p.get("schema"), rnd))))
                if q:
                    target += "?" + "&".join(q)
                body = ""
                rb = resolve(doc, op.get("requestBody", {}))
                if "content" in rb and "application/json" in rb["content"]:
                    body = json.dumps(sample(doc, rb["content"]["application/json"].get("schema"), rnd))
                    hdr.append(("Content-Type", "application/json"))
                codes = [c for c in op.get("responses", {}) if c.isdigit()] or ["200"]
                code = int(codes[0])
                resp = resolve(doc, op["responses"].get(str(code), {}))
                rbody = ""
                rh = []
                if "content" in resp and "application/json" in resp["content"]:
                    rbody = json.dumps(sample(doc, resp["content"]["application/json"].get("schema"), rnd))
                    rh.append(("Content-Type", "application/json"))
                out.append(exchange(i, method.upper(), target, hdr, body, code, "OK", rh, rbody))
                i += 1
    rnd.shuffle(out)
    with open(a.out, "w") as f:
        for x in out:
            f.write(json.dumps(x) + "\n")


# ---- benchmark traffic -------------------------------------------------------------

def cmd_bench(a):
    rnd = random.Random(7)
    routes = [("GET", "/api/v1/users/%d", None), ("GET", "/api/v1/orders/%d?limit=10&page=2", None),
              ("POST", "/api/v1/orders", '{"sku":"A-1","qty":%d,"price":12.5,"note":null}'),
              ("GET", "/api/v1/products/%d/reviews", None), ("PUT", "/api/v1/users/%d", '{"name":"n","email":"u%d@x.io"}'),
              ("DELETE", "/api/v1/sessions/%d", None), ("GET", "/health", None)]
    resp = '{"id":%d,"name":"Widget","tags":["a","b"],"price":9.99,"owner":{"id":%d,"email":"o@x.io"},"active":true}'
    out = open(a.out, "w")
    har = a.har
    if har:
        out.write('{"log":{"version":"1.2","creator":{"name":"gen","version":"1"},"entries":[')
    for i in range(a.count):
        m, p, b = routes[i % len(routes)]
        n = rnd.randrange(1, 10 ** 6)
        target = p % n if "%d" in p else p
        body = (b % ((n,) * b.count("%d"))) if b else ""
        hdr = [("Host", "svc%d.internal" % (i % 3)), ("Authorization", "Bearer tok%08x" % n)]
        if body:
            hdr.append(("Content-Type", "application/json"))
        rb = resp % (n, n + 1)
        if not har:
            out.write(json.dumps(exchange(i, m, target, hdr, body, 200, "OK",
                                          [("Content-Type", "application/json")], rb)) + "\n")
            continue
        e = {"startedDateTime": iso(BASE_NS + i * 1000000), "time": 1.0,
             "request": {"method": m, "url": "http://svc%d.internal%s" % (i % 3, target),
                         "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": k, "value": v} for k, v in hdr],
                         "queryString": [{"name": k, "value": v} for k, v in
                                         urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query)],
                         "headersSize": -1, "bodySize": len(body)},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                          "cookies": [], "headers": [{"name": "Content-Type", "value": "application/json"}],
                          "content": {"size": len(rb), "mimeType": "application/json", "text": rb},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(rb)},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
        if body:
            e["request"]["postData"] = {"mimeType": "application/json", "text": body}
        out.write(("," if i else "") + json.dumps(e))
    if har:
        out.write("]}}\n")
    out.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("canary")
    c.add_argument("--out", required=True)
    c.add_argument("--canaries", required=True)
    c.add_argument("--count", type=int, default=1200)
    c.add_argument("--seed", type=int, default=1)
    o = sub.add_parser("openapi")
    o.add_argument("--spec", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--per-op", type=int, default=30)
    o.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("bench")
    b.add_argument("--out", required=True)
    b.add_argument("--count", type=int, default=1000000)
    b.add_argument("--har", action="store_true")
    a = ap.parse_args()
    {"canary": cmd_canary, "openapi": cmd_openapi, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
