#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Accuracy traffic from one OpenAPI document (python3 stdlib + yaml).

  gen.py DOC --out-dir DIR [--seed S] [--max-samples N] [--host NAME]

Writes, for the document DOC (OpenAPI 3.x or Swagger 2.0, JSON or YAML):

  DIR/traffic.jsonl   exchanges with values, as `apisonar capture --format
                      jsonl --show-values` writes them (docs/exchange-format.md)
  DIR/traffic.har     the same exchanges as a HAR 1.2 document (for the peer)
  DIR/truth.json      the ground truth: every endpoint (method, template with
                      parameter names, path and query parameter names, request
                      and response body properties, status codes sent)
  DIR/canaries.json   every canary planted: [{"value", "where"}, ...]

Deterministic for a given --seed (and document). How values, sample counts
and canaries are drawn is described in docs/accuracy.md.
"""
import argparse
import base64
import json
import os
import random
import re
import string
import sys
import urllib.parse

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
BASE_NS = 1764000000000000000
B62 = string.ascii_letters + string.digits
LOWER = string.ascii_lowercase
MAX_DEPTH = 6          # schema depth followed when making a body
MAX_REF_DEPTH = 24     # $ref hops followed before giving up (cycles)
BODY_BUDGET = 400      # schema nodes per body before optional members stop
FIRST = ["jane", "john", "maria", "wei", "ahmed", "olga", "lucas", "emma", "noah", "sofia",
         "liam", "mia", "omar", "yuki", "ines", "pavel", "zoe", "ravi", "lena", "tom"]
LAST = ["doe", "smith", "garcia", "chen", "khan", "ivanova", "silva", "martin", "novak",
        "brown", "tanaka", "rossi", "weber", "kowalski", "haddad", "olsen"]
WORDS = ["orders", "summer", "sale", "alpha", "blue", "river", "stone", "cloud", "delta",
         "forest", "harbor", "maple", "nova", "pixel", "quartz", "rocket", "tiger", "violet",
         "winter", "yellow", "zebra", "atlas", "bravo", "cedar", "ember", "falcon", "garnet"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "python-requests/2.31.0", "curl/8.5.0", "okhttp/4.12.0", "Go-http-client/1.1",
          "axios/1.6.2", "PostmanRuntime/7.36.0"]


def iso(ns):
    import time
    s, frac = divmod(ns, 1000000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % (frac // 1000)


def load_doc(path):
    text = open(path, encoding="utf-8").read()
    if path.endswith((".yaml", ".yml")):
        import yaml
        return yaml.safe_load(text)
    return json.loads(text)


class Doc:
    """The document, with local $refs resolved on demand (depth-limited)."""

    def __init__(self, d):
        self.d = d
        self.swagger2 = str(d.get("swagger", "")).startswith("2")

    def resolve(self, s):
        hops = 0
        while isinstance(s, dict) and "$ref" in s and hops < MAX_REF_DEPTH:
            ref = s["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return {}
            node = self.d
            try:
                for part in ref[2:].split("/"):
                    node = node[urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError, IndexError):
                return {}
            s = node
            hops += 1
        if isinstance(s, dict) and "$ref" in s:
            return {}
        return s if isinstance(s, dict) else {}


# ---- random values ------------------------------------------------------------------

class Values:
    def __init__(self, rnd):
        self.rnd = rnd
        self.hot = {}          # parameter key -> hot pool (Zipf weighted)
        self.canaries = []
        self.seen_canaries = set()

    def rs(self, alphabet, k):
        return "".join(self.rnd.choice(alphabet) for _ in range(k))

    def canary(self, where, prefix=""):
        while True:
            v = prefix + "CANARY" + self.rs(B62, 12)
            if v not in self.seen_canaries:
                break
        self.seen_canaries.add(v)
        self.canaries.append({"value": v, "where": where})
        return v

    def zipf_pick(self, pool):
        # weights 1/rank^1.1
        w = [1.0 / (i + 1) ** 1.1 for i in range(len(pool))]
        return self.rnd.choices(pool, weights=w)[0]

    # id styles for plain strings
    def base62_id(self):
        n = self.rnd.randrange(8, 13)
        letters = [self.rnd.choice(string.ascii_letters) for _ in range(n)]
        for _ in range(self.rnd.randrange(0, 3)):      # few digits
            letters[self.rnd.randrange(n)] = self.rnd.choice(string.digits)
        return "".join(letters)

    def hex_id(self):
        return self.rs("0123456789abcdef", self.rnd.choice([12, 16, 24, 32]))

    def num_id(self):
        return str(self.rnd.randrange(1, 10 ** self.rnd.randrange(2, 9)))

    def username(self):
        f, l = self.rnd.choice(FIRST), self.rnd.choice(LAST)
        k = self.rnd.randrange(4)
        if k == 0:
            return "%s-%s" % (f, l)
        if k == 1:
            return "%s%s_%d" % (f[0], l, self.rnd.randrange(1, 100))
        if k == 2:
            return "%s.%s" % (f, l)
        return "%s%d" % (f, self.rnd.randrange(1, 1000))

    def slug(self):
        k = self.rnd.randrange(3)
        ws = self.rnd.sample(WORDS, self.rnd.randrange(2, 4))
        if k == 0:
            return "-".join(ws)
        if k == 1:
            return "-".join(ws) + "-%d" % self.rnd.randrange(2015, 2027)
        return ws[0] + str(self.rnd.randrange(1, 100))     # words with a number glued on

    def style_for(self, name):
        n = name.lower()
        if any(w in n for w in ("username", "user_name", "login", "owner", "user")) and "id" not in n:
            return "user"
        if any(w in n for w in ("slug", "name", "title", "key", "tag", "branch", "project",
                                "repo", "bucket", "object", "file", "path", "page", "category",
                                "collection", "label", "topic")):
            return "slug"
        if "sid" in n:
            return "b62"
        return "id"

    def plain_string(self, key, name):
        """A path-like string value for parameter `name` (hot pool key `key`)."""
        style = self.style_for(name)
        if self.rnd.random() < 0.15:       # a mix of styles at every position
            style = self.rnd.choice(["user", "slug", "id", "b62"])
        pool = self.hot.get(key)
        if pool is None:
            pool = self.hot[key] = [self.fresh(style) for _ in range(12)]
        if self.rnd.random() < 0.5:
            return self.zipf_pick(pool)
        return self.fresh(style)

    def fresh(self, style):
        if style == "user":
            return self.username()
        if style == "slug":
            return self.slug()
        if style == "b62":
            return self.base62_id()
        return self.rnd.choice([self.base62_id, self.hex_id, self.num_id, self.base62_id])()

    def uuid(self):
        return "%08x-%04x-4%03x-%x%03x-%012x" % (self.rnd.getrandbits(32), self.rnd.getrandbits(16),
                                                self.rnd.getrandbits(12), self.rnd.choice([8, 9, 10, 11]),
                                                self.rnd.getrandbits(12), self.rnd.getrandbits(48))

    def from_pattern(self, pat):
        """A string matching simple regular expressions (literals, classes, \\d \\w,
        {n} {n,m} ? + *); None when the pattern is beyond that."""
        p = pat
        if p.startswith("^"):
            p = p[1:]
        if p.endswith("$"):
            p = p[:-1]
        out = []
        i = 0
        try:
            while i < len(p):
                c = p[i]
                if c == "[":
                    j = p.index("]", i + 1)
                    body = p[i + 1:j]
                    if body.startswith("^"):
                        return None
                    chars = []
                    k = 0
                    while k < len(body):
                        if body[k] == "\\" and k + 1 < len(body):
                            chars += {"d": list(string.digits), "w": list(B62 + "_")}.get(body[k + 1], [body[k + 1]])
                            k += 2
                        elif k + 2 < len(body) and body[k + 1] == "-":
                            chars += [chr(x) for x in range(ord(body[k]), ord(body[k + 2]) + 1)]
                            k += 3
                        else:
                            chars.append(body[k])
                            k += 1
                    atom = chars
                    i = j + 1
                elif c == "\\":
                    atom = {"d": list(string.digits), "w": list(B62 + "_")}.get(p[i + 1], [p[i + 1]])
                    i += 2
                elif c in "().|*+?{":
                    return None
                else:
                    atom = [c]
                    i += 1
                lo = hi = 1
                if i < len(p) and p[i] == "{":
                    j = p.index("}", i)
                    q = p[i + 1:j].split(",")
                    lo = int(q[0])
                    hi = int(q[1]) if len(q) > 1 and q[1] else (lo if len(q) == 1 else lo + 8)
                    i = j + 1
                elif i < len(p) and p[i] in "?+*":
                    lo, hi = {"?": (0, 1), "+": (1, 8), "*": (0, 8)}[p[i]]
                    i += 1
                for _ in range(self.rnd.randint(lo, min(hi, lo + 40))):
                    out.append(self.rnd.choice(atom))
        except (ValueError, IndexError):
            return None
        return "".join(out)

    def scalar(self, s, name="", key=None, canary_where=None, canary_p=0.0):
        """A value for a scalar schema."""
        t = s.get("type")
        if isinstance(t, list):
            t = ([x for x in t if x != "null"] or ["string"])[0]
        if "enum" in s and s["enum"]:
            vals = [v for v in s["enum"] if v is not None] or [None]
            return self.rnd.choice(vals)
        if t == "integer":
            lo = s.get("minimum", 1)
            hi = s.get("maximum", max(lo, 0) + 100000)
            try:
                lo, hi = int(lo), int(hi)
            except (TypeError, ValueError):
                lo, hi = 1, 100000
            if hi < lo:
                hi = lo
            return self.rnd.randint(lo, hi)
        if t == "number":
            return round(self.rnd.uniform(0, 1000), 2)
        if t == "boolean":
            return self.rnd.random() < 0.5
        fmt = s.get("format")
        if canary_where and self.rnd.random() < canary_p and fmt not in ("date", "date-time"):
            return self.canary(canary_where)
        if fmt == "uuid":
            return self.uuid()
        if fmt == "email":
            return "%s@%s.example" % (self.username().replace("-", "."), self.rnd.choice(WORDS))
        if fmt == "date-time":
            return "2026-%02d-%02dT%02d:%02d:%02dZ" % (self.rnd.randint(1, 12), self.rnd.randint(1, 28),
                                                      self.rnd.randint(0, 23), self.rnd.randint(0, 59),
                                                      self.rnd.randint(0, 59))
        if fmt == "date":
            return "2026-%02d-%02d" % (self.rnd.randint(1, 12), self.rnd.randint(1, 28))
        if fmt in ("int64", "int32", "uint64", "uint32", "long"):
            return str(self.rnd.randrange(1, 10 ** self.rnd.randrange(2, 12)))
        if fmt in ("uri", "url"):
            return "https://%s.example/%s" % (self.rnd.choice(WORDS), self.slug())
        if fmt in ("ipv4",):
            return "10.%d.%d.%d" % (self.rnd.randrange(256), self.rnd.randrange(256), self.rnd.randrange(256))
        if s.get("pattern"):
            v = self.from_pattern(str(s["pattern"]))
            if v:
                return v
        n = name.lower()
        if "email" in n:
            return "%s@%s.example" % (self.username().replace("-", "."), self.rnd.choice(WORDS))
        if n.endswith("id") or n.endswith("_id") or n == "id" or "uuid" in n:
            return self.fresh("id")
        if "name" in n:
            return "%s %s" % (self.rnd.choice(FIRST).title(), self.rnd.choice(LAST).title())
        return self.rnd.choice([self.slug, self.username, lambda: self.rnd.choice(WORDS)])()


# ---- bodies --------------------------------------------------------------------------

class BodyMaker:
    """Schema-shaped JSON values; records every property path it emits."""

    def __init__(self, doc, vals, where, canary_p):
        self.doc, self.vals, self.where, self.canary_p = doc, vals, where, canary_p
        self.props = set()
        self.maps = 0       # maps keyed by ids emitted
        self.stack = []     # $refs being expanded: a cycle ends there
        self.budget = BODY_BUDGET

    def merged(self, s, depth=0):
        s = self.doc.resolve(s)
        if depth > 8:
            return s
        if "allOf" in s:
            out = {k: v for k, v in s.items() if k != "allOf"}
            props = dict(out.get("properties", {}))
            req = list(out.get("required", []))
            for sub in s["allOf"]:
                sub = self.merged(sub, depth + 1)
                props.update(sub.get("properties", {}) or {})
                req += sub.get("required", []) or []
                for k in ("type", "items", "additionalProperties"):
                    if k in sub and k not in out:
                        out[k] = sub[k]
            out["properties"] = props
            out["required"] = req
            if props and "type" not in out:
                out["type"] = "object"
            return out
        for k in ("oneOf", "anyOf"):
            if k in s and s[k]:
                alts = [self.doc.resolve(x) for x in s[k]]
                alts = [a for a in alts if a.get("type") != "null"] or alts
                return self.merged(alts[0], depth + 1)
        return s

    def make(self, s, path="", depth=0):
        ref = s.get("$ref") if isinstance(s, dict) else None
        if ref is not None:
            if ref in self.stack:
                return None             # a cycle: the recursion stops here
            self.stack.append(ref)
            try:
                return self.make(self.doc.resolve(s), path, depth)
            finally:
                self.stack.pop()
        self.budget -= 1
        s = self.merged(s)
        t = s.get("type")
        if isinstance(t, list):
            t = ([x for x in t if x != "null"] or ["string"])[0]
        if t is None:
            t = "object" if ("properties" in s or "additionalProperties" in s) else (
                "array" if "items" in s else "string")
        if t == "array":
            if depth >= MAX_DEPTH:
                return []
            k = self.vals.rnd.randint(1, 3) if self.budget > 0 else 1
            return [self.make(s.get("items", {}), path + "[]", depth + 1) for _ in range(k)]
        if t == "object":
            if depth >= MAX_DEPTH:
                return {}
            out = {}
            props = s.get("properties") or {}
            req = set(s.get("required") or [])
            for k, v in props.items():
                if not isinstance(k, str):
                    continue
                if k in req or (self.budget > 0 and self.vals.rnd.random() < 0.8):
                    p = (path + "." + k) if path else k
                    self.props.add(p)
                    out[k] = self.make(v, p, depth + 1)
            ap = s.get("additionalProperties")
            if not props and (isinstance(ap, dict) or ap is True):
                # a map keyed by ids: keys are values (canaries), never property names
                sub = ap if isinstance(ap, dict) else {"type": "string"}
                for _ in range(self.vals.rnd.randint(1, 3)):
                    key = self.vals.canary(self.where + " key", prefix=self.vals.rnd.choice(["usr_", "", "id_"]))
                    out[key] = self.make(sub, path + ".*", depth + 1)
                self.maps += 1
            return out
        name = path.rsplit(".", 1)[-1].rstrip("[]")
        return self.vals.scalar(s, name=name, canary_where=self.where, canary_p=self.canary_p)


def json_media(content):
    """The JSON media type of a content map, else None."""
    for mt in content or {}:
        if "json" in mt.lower():
            return mt
    return None


# ---- the document's operations ---------------------------------------------------------

class Operation:
    pass


def operations(doc):
    d = doc.d
    global_sec = d.get("security")
    out = []
    for raw_path, item in (d.get("paths") or {}).items():
        item = doc.resolve(item)
        common = item.get("parameters", []) or []
        for method, op in item.items():
            if method not in METHODS or not isinstance(op, dict):
                continue
            o = Operation()
            o.method = method.upper()
            o.raw_path = raw_path
            params = {}
            for p in list(common) + list(op.get("parameters", []) or []):
                p = doc.resolve(p)
                if "name" in p and "in" in p:
                    params[(p["in"], p["name"])] = p
            o.params = list(params.values())
            o.security = op.get("security", global_sec)
            o.req_schema = None
            o.req_media = None
            o.form = False
            if doc.swagger2:
                for p in o.params:
                    if p["in"] == "body":
                        o.req_schema, o.req_media = p.get("schema", {}), "application/json"
                if any(p["in"] == "formData" for p in o.params):
                    o.form = True
                    o.req_media = "application/x-www-form-urlencoded"
            else:
                rb = doc.resolve(op.get("requestBody", {}))
                content = rb.get("content") or {}
                mt = json_media(content)
                if mt:
                    o.req_schema, o.req_media = doc.resolve(content[mt]).get("schema", {}), "application/json"
                elif "application/x-www-form-urlencoded" in content:
                    o.req_schema = doc.resolve(content["application/x-www-form-urlencoded"]).get("schema", {})
                    o.req_media = "application/x-www-form-urlencoded"
                    o.form = True
            o.responses = []
            for code, r in (op.get("responses") or {}).items():
                code = str(code)
                if not re.fullmatch(r"[1-5][0-9][0-9]", code):
                    continue
                r = doc.resolve(r)
                schema, media = None, None
                if doc.swagger2:
                    if "schema" in r:
                        schema, media = r["schema"], "application/json"
                else:
                    content = r.get("content") or {}
                    mt = json_media(content)
                    if mt:
                        schema, media = doc.resolve(content[mt]).get("schema", {}), "application/json"
                    elif content:
                        media = next(iter(content))
                o.responses.append((int(code), schema, media))
            if not o.responses:
                o.responses = [(200, None, None)]
            out.append(o)
    return out


def security_schemes(doc):
    d = doc.d
    if doc.swagger2:
        return d.get("securityDefinitions") or {}
    return (d.get("components") or {}).get("securitySchemes") or {}


# ---- sample counts -----------------------------------------------------------------------

def sample_count(rnd, cap):
    """Heavy-tailed in [1, 200]: Pareto with shape 0.6 (a third get exactly 1,
    a few percent 200; mean about 19)."""
    u = rnd.random()
    n = int((1.0 - u) ** (-1.0 / 0.6))
    return max(1, min(200, cap, n))


# ---- exchanges ---------------------------------------------------------------------------

SEG_PARAM = re.compile(r"\{([^}]+)\}")


def split_template(raw):
    """'/a/{x}?k={y}&m=v#f' -> ('/a/{x}', [('k', '{y}'), ('m', 'v')])"""
    p = raw.split("#", 1)[0]
    query = []
    if "?" in p:
        p, q = p.split("?", 1)
        for part in q.split("&"):
            if part:
                k, _, v = part.partition("=")
                query.append((k, v))
    if not p.startswith("/"):
        p = "/" + p
    return p, query


class Creds:
    KINDS = {"token": "header authorization", "key": "api key", "password": "basic password"}

    def __init__(self, vals):
        self.vals = vals
        self.have = {}

    def __getitem__(self, k):
        if k not in self.have:
            self.have[k] = self.vals.username() if k == "user" else self.vals.canary(self.KINDS[k])
        return self.have[k]


class Gen:
    def __init__(self, doc, host, seed, cap):
        self.doc = doc
        self.host = host
        self.rnd = random.Random(seed)
        self.vals = Values(self.rnd)
        self.cap = cap
        self.schemes = security_schemes(doc)
        self.clients = None

    def client_creds(self):
        """One of five clients (Zipf: a few do most of the calls); each
        credential is made, and recorded as a canary, when first used."""
        if self.clients is None:
            self.clients = [Creds(self.vals) for _ in range(5)]
        return self.vals.zipf_pick(self.clients)

    def auth(self, op, hdr, query, cookies):
        sec = op.security
        if not sec:
            return
        req = sec[0] if isinstance(sec, list) and sec else {}
        if not isinstance(req, dict):
            return
        c = self.client_creds()
        for name in req:
            s = self.schemes.get(name)
            if not isinstance(s, dict):
                continue
            t = s.get("type")
            if t == "apiKey":
                where = s.get("in")
                if where == "header":
                    hdr.append((s.get("name", "X-API-Key"), c["key"]))
                elif where == "query":
                    query.append((s.get("name", "api_key"), c["key"]))
                elif where == "cookie":
                    cookies.append((s.get("name", "session"), c["key"]))
            elif any(h[0] == "Authorization" for h in hdr):
                continue
            elif t == "basic" or (t == "http" and str(s.get("scheme", "")).lower() == "basic"):
                hdr.append(("Authorization", "Basic " + base64.b64encode(
                    ("%s:%s" % (c["user"], c["password"])).encode()).decode()))
            elif not any(h[0] == "Authorization" for h in hdr):     # http bearer, oauth2, openIdConnect
                hdr.append(("Authorization", "Bearer " + c["token"]))

    def run(self):
        ops = operations(self.doc)
        exchanges = []
        truth = {}
        # the Stripe-style secret goes into one path segment with a suffix (else
        # any value segment)
        secret_slots = []
        for oi, o in enumerate(ops):
            path, _ = split_template(o.raw_path)
            for seg_i, seg in enumerate(path.split("/")):
                for m in SEG_PARAM.finditer(seg):
                    if seg != m.group(0):
                        secret_slots.append((0, oi, m.group(1)))
                    else:
                        secret_slots.append((1, oi, m.group(1)))
        secret_slots.sort(key=lambda x: x[0])
        secret_at = None
        if secret_slots:
            best = [s for s in secret_slots if s[0] == secret_slots[0][0]]
            secret_at = self.rnd.choice(best)
        self.has_maps = False
        for oi, o in enumerate(ops):
            n = sample_count(self.rnd, self.cap)
            path_tpl, lit_query = split_template(o.raw_path)
            pparams = {p["name"]: p for p in o.params if p["in"] == "path"}
            value_names = [m.group(1) for m in SEG_PARAM.finditer(path_tpl)]
            # one exchange of each operation carries a canary in one value segment
            canary_k = self.rnd.randrange(n)
            canary_param = None
            cands = [nm for nm in value_names if "enum" not in self.schema_of(pparams.get(nm))]
            if cands:
                canary_param = self.rnd.choice(cands)
            used_enum = {}
            rec = {"operations": [], "query": set(), "request_props": set(),
                   "response_props": set(), "statuses": set(), "samples": 0}
            for k in range(n):
                values = {}
                for nm in value_names:
                    p = pparams.get(nm, {"name": nm, "in": "path"})
                    s = self.schema_of(p)
                    if secret_at and secret_at[1] == oi and secret_at[2] == nm and k == 0:
                        v = self.vals.canary("path secret", prefix="sk_live_")
                        v = v[:8] + v[8:] + self.vals.rs(B62, 6)      # sk_live_ + 24 chars
                        self.vals.canaries[-1]["value"] = v
                    elif nm == canary_param and k == canary_k:
                        seg = [sg for sg in path_tpl.split("/") if "{%s}" % nm in sg][0]
                        v = self.vals.canary("path suffixed" if seg != "{%s}" % nm else "path")
                    elif "enum" in s:
                        v = str(self.vals.scalar(s))
                        used_enum.setdefault(nm, set()).add(v)
                    elif s.get("type") in ("integer", "number"):
                        v = self.int_value(nm, s)
                    elif s.get("format") == "uuid" or "uuid" in nm.lower():
                        v = self.hot_or(("uuid", nm), self.vals.uuid)
                    elif s.get("pattern") and self.vals.from_pattern(str(s["pattern"])):
                        v = self.hot_or(("pat", nm), lambda: self.vals.from_pattern(str(s["pattern"])))
                    elif self.rnd.random() < 0.05:
                        v = self.vals.canary("path")
                    else:
                        v = self.vals.plain_string(("str", nm), nm)
                    values[nm] = v
                target = SEG_PARAM.sub(lambda m: urllib.parse.quote(values.get(m.group(1), "x"), safe="-._~"),
                                       path_tpl)
                query, hdr, cookies = [], [], []
                for lk, lv in lit_query:
                    m = SEG_PARAM.fullmatch(lv)
                    if m:
                        query.append((lk, values.get(m.group(1)) or self.vals.slug()))
                    else:
                        query.append((lk, lv))
                    rec["query"].add(lk)
                for p in o.params:
                    s = self.schema_of(p)
                    if p["in"] == "query" and (p.get("required") or self.rnd.random() < 0.6):
                        v = self.query_value(p, s)
                        query.append((p["name"], v))
                        rec["query"].add(p["name"])
                    elif p["in"] == "header" and p["name"].lower() not in ("authorization", "host", "content-type", "accept"):
                        if p.get("required") or self.rnd.random() < 0.6:
                            hdr.append((p["name"], self.header_value(s)))
                    elif p["in"] == "cookie":
                        cookies.append((p["name"], self.header_value(s)))
                self.auth(o, hdr, query, cookies)
                if self.rnd.random() < 0.4:
                    cookies.append(("session", self.vals.canary("cookie")))
                    cookies.append(("lang", self.rnd.choice(["en", "fr", "de"])))
                if query:
                    target += "?" + "&".join("%s=%s" % (urllib.parse.quote(a, safe="-._~[]"),
                                                       urllib.parse.quote(str(b), safe="-._~,"))
                                             for a, b in query)
                body = ""
                headers = [("Host", self.host), ("User-Agent", self.rnd.choice(AGENTS)),
                           ("Accept", "application/json")]
                headers.append(("X-Request-Id", self.vals.canary("header") if self.rnd.random() < 0.3
                                else self.vals.uuid()))
                headers += hdr
                if cookies:
                    headers.append(("Cookie", "; ".join("%s=%s" % c for c in cookies)))
                if o.req_schema is not None or o.form:
                    bm = BodyMaker(self.doc, self.vals, "request body", 0.1)
                    if o.form and self.doc.swagger2:
                        fields = [(p["name"], str(self.vals.scalar(self.schema_of(p), p["name"],
                                                                   canary_where="request body", canary_p=0.1)))
                                  for p in o.params if p["in"] == "formData"]
                        body = urllib.parse.urlencode(fields)
                        for f, _ in fields:
                            bm.props.add(f)
                    else:
                        v = bm.make(o.req_schema or {})
                        if o.form and isinstance(v, dict):
                            body = urllib.parse.urlencode([(a, b if isinstance(b, str) else json.dumps(b))
                                                           for a, b in v.items()])
                            bm.props = {p for p in bm.props if "." not in p and "[" not in p}
                        else:
                            body = json.dumps(v)
                    rec["request_props"] |= bm.props
                    headers.append(("Content-Type", o.req_media))
                # status: the first 2xx most of the time, the others now and then
                ok = [r for r in o.responses if 200 <= r[0] < 300] or o.responses[:1]
                other = [r for r in o.responses if r not in ok[:1]]
                resp = ok[0] if (not other or self.rnd.random() < 0.8) else self.rnd.choice(other)
                code, rschema, rmedia = resp
                rbody, rhdr = "", []
                if rschema is not None:
                    bm = BodyMaker(self.doc, self.vals, "response body", 0.1)
                    v = bm.make(rschema)
                    if bm.maps:
                        self.has_maps = True
                    rbody = json.dumps(v)
                    rec["response_props"] |= bm.props
                    rhdr.append(("Content-Type", "application/json"))
                elif rmedia and code != 204:
                    rbody = "<feed>%s</feed>" % self.vals.slug() if "xml" in rmedia or "atom" in rmedia else self.vals.slug()
                    rhdr.append(("Content-Type", rmedia))
                rhdr.append(("X-Request-Id", self.vals.uuid()))
                if self.rnd.random() < 0.05:
                    rhdr.append(("Set-Cookie", "sid=%s; Path=/; HttpOnly" % self.vals.canary("set-cookie")))
                rec["statuses"].add(code)
                rec["samples"] += 1
                exchanges.append((o.method, target, headers, body, code, rhdr, rbody))
            # the template as traffic shows it: enum positions that took one value
            # are literals there
            tpl = SEG_PARAM.sub(lambda m: (urllib.parse.quote(next(iter(used_enum[m.group(1)])), safe="-._~")
                                           if len(used_enum.get(m.group(1), ())) == 1 else m.group(0)), path_tpl)
            # ... and a catalog may keep them as parameters too: every mix of the two
            # is an acceptable template
            fixed = [nm for nm in used_enum if len(used_enum[nm]) == 1 and "{%s}" % nm in path_tpl][:4]
            alts = set()
            for mask in range(1 << len(fixed)):
                keep = {nm for b, nm in enumerate(fixed) if mask & (1 << b)}
                alts.add(SEG_PARAM.sub(lambda m: m.group(0) if (m.group(1) in keep or m.group(1) not in fixed)
                                       else urllib.parse.quote(next(iter(used_enum[m.group(1)])), safe="-._~"),
                                       path_tpl))
            key = (o.method, norm(tpl))
            t = truth.get(key)
            if t is None:
                t = truth[key] = {"method": o.method, "template": tpl, "alternatives": sorted(alts),
                                  "path_params": [m.group(1) for m in SEG_PARAM.finditer(tpl)],
                                  "operations": [], "query": set(), "request_props": set(),
                                  "response_props": set(), "statuses": set(), "samples": 0}
            t["operations"].append("%s %s" % (o.method, o.raw_path))
            for f in ("query", "request_props", "response_props", "statuses"):
                t[f] |= rec[f]
            t["samples"] += rec["samples"]
        if not self.has_maps and exchanges:
            # no map keyed by ids in the document: add one to a few responses with
            # an object body, so object keys carry canaries too
            for i in self.rnd.sample(range(len(exchanges)), min(len(exchanges), 10)):
                m, tg, h, b, c, rh, rb = exchanges[i]
                try:
                    v = json.loads(rb) if rb else None
                except ValueError:
                    v = None
                if isinstance(v, dict):
                    v["index"] = {self.vals.canary("response body key", prefix="usr_"): {"n": 1}
                                  for _ in range(3)}
                    exchanges[i] = (m, tg, h, b, c, rh, json.dumps(v))
        self.rnd.shuffle(exchanges)
        return exchanges, truth

    def schema_of(self, p):
        if not p:
            return {}
        if self.doc.swagger2 and "schema" not in p:
            return {k: v for k, v in p.items() if k in ("type", "format", "enum", "pattern", "minimum", "maximum")}
        return self.doc.resolve(p.get("schema", {}))

    def hot_or(self, key, fresh):
        pool = self.vals.hot.get(key)
        if pool is None:
            pool = self.vals.hot[key] = [fresh() for _ in range(12)]
        return self.vals.zipf_pick(pool) if self.rnd.random() < 0.5 else fresh()

    def int_value(self, nm, s):
        return self.hot_or(("int", nm), lambda: str(self.rnd.randrange(1, 10 ** self.rnd.randrange(2, 8))))

    def query_value(self, p, s):
        t = s.get("type")
        if t == "array":
            it = self.doc.resolve(s.get("items", {}))
            return ",".join(str(self.vals.scalar(it, p["name"])) for _ in range(self.rnd.randint(1, 3)))
        v = self.vals.scalar(s, p["name"], canary_where="query", canary_p=0.15)
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    def header_value(self, s):
        v = self.vals.scalar(s, "", canary_where="header", canary_p=0.2)
        return str(v).lower() if isinstance(v, bool) else str(v)


def norm(tpl):
    return SEG_PARAM.sub("{}", tpl)


# ---- writers -------------------------------------------------------------------------------

def jsonl_record(i, host, method, target, headers, body, code, rhdr, rbody):
    lat = 0.5 + (i * 7919 % 1000) / 100.0
    t0 = BASE_NS + i * 1000000
    return {
        "time": iso(t0), "pid": 4242, "comm": "api", "role": "server", "tls": False,
        "local": {"addr": "127.0.0.1", "port": 8080}, "remote": {"addr": "127.0.0.1", "port": 40000 + i % 20000},
        "latency_ms": lat, "flags": [], "values": True,
        "request": {"method": method, "target": target, "version": "HTTP/1.1",
                    "headers": [[k, v] for k, v in headers], "body": body, "body_encoding": "utf8",
                    "body_size": len(body.encode()), "body_truncated": False},
        "response": {"time": iso(t0 + int(lat * 1e6)), "status": code, "reason": REASONS.get(code, "Status"),
                     "version": "HTTP/1.1", "headers": [[k, v] for k, v in rhdr], "body": rbody,
                     "body_encoding": "utf8", "body_size": len(rbody.encode()), "body_truncated": False},
    }


REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently",
           302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


def har_entry(i, host, method, target, headers, body, code, rhdr, rbody):
    lat = 0.5 + (i * 7919 % 1000) / 100.0
    url = "http://%s%s" % (host, target)
    q = urllib.parse.urlsplit(url).query
    cookies = []
    for k, v in headers:
        if k.lower() == "cookie":
            for part in v.split(";"):
                a, _, b = part.strip().partition("=")
                cookies.append({"name": a, "value": b})
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
    rctype = next((v for k, v in rhdr if k.lower() == "content-type"), "")
    e = {"startedDateTime": iso(BASE_NS + i * 1000000), "time": lat,
         "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": cookies,
                     "headers": [{"name": k, "value": v} for k, v in headers],
                     "queryString": [{"name": a, "value": b} for a, b in
                                     (p.partition("=")[::2] for p in q.split("&") if p)],
                     "headersSize": -1, "bodySize": len(body.encode())},
         "response": {"status": code, "statusText": REASONS.get(code, "Status"), "httpVersion": "HTTP/1.1",
                      "cookies": [], "headers": [{"name": k, "value": v} for k, v in rhdr],
                      "content": {"size": len(rbody.encode()), "mimeType": rctype or "application/octet-stream",
                                  "text": rbody},
                      "redirectURL": "", "headersSize": -1, "bodySize": len(rbody.encode())},
         "cache": {}, "timings": {"send": 0, "wait": lat, "receive": 0}}
    if body:
        e["request"]["postData"] = {"mimeType": ctype, "text": body}
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("doc")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--max-samples", type=int, default=200, help="cap on samples per operation (default 200)")
    ap.add_argument("--host", help="Host header (default: the document's file name without extension)")
    a = ap.parse_args()
    name = os.path.basename(a.doc)
    name = re.sub(r"\.(json|ya?ml)$", "", name)
    host = (a.host or name).lower()
    doc = Doc(load_doc(a.doc))
    # the seed and the document name together: documents get different draws
    seed = a.seed * 1000003 + sum(ord(c) * (i + 1) for i, c in enumerate(name))
    g = Gen(doc, host, seed, max(1, a.max_samples))
    exchanges, truth = g.run()
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "traffic.jsonl"), "w") as f:
        for i, x in enumerate(exchanges):
            f.write(json.dumps(jsonl_record(i, host, *x), separators=(",", ":")) + "\n")
    with open(os.path.join(a.out_dir, "traffic.har"), "w") as f:
        f.write('{"log":{"version":"1.2","creator":{"name":"apisonar-accuracy-gen","version":"1"},"entries":[\n')
        for i, x in enumerate(exchanges):
            f.write(("," if i else "") + json.dumps(har_entry(i, host, *x), separators=(",", ":")) + "\n")
        f.write("]}}\n")
    eps = []
    for key in sorted(truth):
        t = truth[key]
        eps.append({"method": t["method"], "template": t["template"], "alternatives": t["alternatives"],
                    "path_params": t["path_params"],
                    "query": sorted(t["query"]), "request_props": sorted(t["request_props"]),
                    "response_props": sorted(t["response_props"]), "statuses": sorted(t["statuses"]),
                    "samples": t["samples"], "operations": t["operations"]})
    with open(os.path.join(a.out_dir, "truth.json"), "w") as f:
        json.dump({"document": name, "host": host, "seed": a.seed, "max_samples": a.max_samples,
                   "exchanges": len(exchanges), "endpoints": eps}, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(a.out_dir, "canaries.json"), "w") as f:
        json.dump(g.vals.canaries, f, indent=0)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
