#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Score a catalog against the ground truth of tests/accuracy/gen.py.

  score.py --truth truth.json --canaries canaries.json --out-dir DIR [--stderr FILE]...
  score.py --truth truth.json --canaries canaries.json --openapi DOC.json [--stderr FILE]...
           [--json] [--details]

With --out-dir, DIR is what `apisonar anonymize --out-dir DIR` wrote
(metadata.json is scored; every file under DIR is searched for canaries).
With --openapi, one OpenAPI document alone is scored (for a tool that writes
only OpenAPI, such as the peer har-to-openapi), and searched for canaries.
Every --stderr file is searched for canaries too.

Figures (how they are counted: docs/accuracy.md):
  endpoint precision, recall   method + template, parameter names ignored
  path_param_recall            value positions recognized as parameters
  query_param_recall           query parameter names, on matched endpoints
  request_prop_recall          request body properties, on matched endpoints
  response_prop_recall         response body properties, on matched endpoints
  status_recall                status codes, on matched endpoints
  leaks                        canaries found in any output byte or stderr
                               (raw, URL-encoded, hex, base64)
"""
import argparse
import base64
import binascii
import json
import os
import re
import sys
import urllib.parse

PARAM = re.compile(r"\{[^}]*\}")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def norm(tpl):
    """Parameter names dropped ({x} -> {}), trailing slashes too (/a/ == /a)."""
    t = PARAM.sub("{}", tpl)
    while len(t) > 1 and t.endswith("/"):
        t = t[:-1]
    return t


def segs(tpl):
    return tpl.split("/")


# ---- what the output says --------------------------------------------------------------

def node_props(node, prefix, out):
    """Property paths of a metadata NODE: a.b, a[].c, m.*.x"""
    if not isinstance(node, dict):
        return
    for name, child in (node.get("properties") or {}).items():
        p = (prefix + "." + name) if prefix else name
        out.add(p)
        node_props(child, p, out)
    if isinstance(node.get("items"), dict):
        node_props(node["items"], prefix + "[]", out)
    if isinstance(node.get("additional"), dict):
        node_props(node["additional"], prefix + ".*", out)


def from_metadata(path, host):
    meta = json.load(open(path))
    services = meta.get("services") or {}
    chosen = [services[host]] if host in services else list(services.values())
    eps = []
    for svc in chosen:
        for e in (svc.get("endpoints") or {}).values():
            req, resp = set(), set()
            for b in ((e.get("request") or {}).get("bodies") or {}).values():
                node_props(b.get("schema"), "", req)
            codes = set()
            for code, r in (e.get("responses") or {}).items():
                if code.isdigit():
                    codes.add(int(code))
                for b in (r.get("bodies") or {}).values():
                    node_props(b.get("schema"), "", resp)
            eps.append({"method": e["method"].upper(), "template": e["path"],
                        "query": set(((e.get("parameters") or {}).get("query") or {}).keys()),
                        "request_props": req, "response_props": resp, "statuses": codes})
    return eps


class OpenAPI:
    def __init__(self, doc):
        self.d = doc

    def resolve(self, s, hops=0):
        while isinstance(s, dict) and "$ref" in s and hops < 32:
            ref = s["$ref"]
            node = self.d
            try:
                for part in ref[2:].split("/"):
                    node = node[urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError):
                return {}
            s = node
            hops += 1
        return s if isinstance(s, dict) else {}

    def props(self, s, prefix, out, depth=0, stack=()):
        if depth > 16 or not isinstance(s, dict):
            return
        if "$ref" in s:
            if s["$ref"] in stack:
                return
            stack = stack + (s["$ref"],)
            s = self.resolve(s)
        for k in ("allOf", "anyOf", "oneOf"):
            for sub in s.get(k) or []:
                self.props(sub, prefix, out, depth + 1, stack)
        for name, child in (s.get("properties") or {}).items():
            p = (prefix + "." + name) if prefix else name
            out.add(p)
            self.props(child, p, out, depth + 1, stack)
        if isinstance(s.get("items"), dict):
            self.props(s["items"], prefix + "[]", out, depth + 1, stack)
        if isinstance(s.get("additionalProperties"), dict):
            self.props(s["additionalProperties"], prefix + ".*", out, depth + 1, stack)


def from_openapi(path):
    doc = json.load(open(path))
    oa = OpenAPI(doc)
    eps = []
    for tpl, item in (doc.get("paths") or {}).items():
        item = oa.resolve(item)
        common = item.get("parameters") or []
        for m, op in item.items():
            if m not in METHODS or not isinstance(op, dict):
                continue
            q = set()
            for p in list(common) + list(op.get("parameters") or []):
                p = oa.resolve(p)
                if p.get("in") == "query" and "name" in p:
                    q.add(p["name"])
            req, resp, codes = set(), set(), set()
            rb = oa.resolve(op.get("requestBody") or {})
            for c in (rb.get("content") or {}).values():
                oa.props((c or {}).get("schema"), "", req)
            for code, r in (op.get("responses") or {}).items():
                if str(code).isdigit():
                    codes.add(int(code))
                r = oa.resolve(r)
                for c in (r.get("content") or {}).values():
                    oa.props((c or {}).get("schema"), "", resp)
            eps.append({"method": m.upper(), "template": tpl, "query": q, "request_props": req,
                        "response_props": resp, "statuses": codes})
    return eps


# ---- path parameter positions --------------------------------------------------------------

def seg_regex(seg):
    return re.compile("^" + ".+".join(re.escape(x) for x in PARAM.split(seg)) + "$", re.S)


def seg_compatible(t, f):
    """Could output segment f stand for truth segment t (both normalized)?"""
    if t == f or f == "{}":
        return True
    if "{}" in t and "{}" not in f:
        return bool(seg_regex(t).match(f))     # the value stayed literal
    if "{}" in f and "{}" not in t:
        return bool(seg_regex(f).match(t))     # a literal merged into a parameter
    return False


def instantiations(t, found):
    ts = segs(norm(t["template"]))
    out = []
    for f in found:
        if f["method"] != t["method"]:
            continue
        fs = segs(norm(f["template"]))
        if len(fs) == len(ts) and all(seg_compatible(a, b) for a, b in zip(ts, fs)):
            out.append(fs)
    return out


def classify(f, truth_eps):
    """Why an output endpoint that is no truth endpoint is wrong: the kinds of
    segment errors against the truth endpoints it could stand for."""
    fs = segs(norm(f["template"]))
    kinds = set()
    for t in truth_eps:
        if t["method"] != f["method"]:
            continue
        for tpl in t.get("alternatives") or [t["template"]]:
            ts = segs(norm(tpl))
            if len(ts) != len(fs) or not all(seg_compatible(a, b) for a, b in zip(ts, fs)):
                continue
            for a, b in zip(ts, fs):
                if a == b:
                    continue
                if "{}" in a and "{}" not in b:
                    kinds.add("value kept literal")
                elif "{}" in b and "{}" not in a:
                    kinds.add("literal merged into a parameter")
                else:
                    kinds.add("suffix swallowed or split wrongly")
    return sorted(kinds) or ["no truth endpoint of that shape"]


# ---- canaries ---------------------------------------------------------------------------------

MARK = b"canary"
CORE = re.compile(rb"CANARY[A-Za-z0-9]{12}", re.I)   # any case: a tool may change it
HEXRUN = re.compile(rb"(?:[0-9a-fA-F]{2}){9,}")
B64RUN = re.compile(rb"[A-Za-z0-9+/_-]{12,}")


def cores_in(data):
    """Canary cores (CANARY + 12 characters, in any case) found in data: raw, URL-encoded
    (cores have no character URL encoding changes, and %-decoding is tried),
    hex, base64 (standard and URL-safe, any alignment)."""
    found = {}
    for m in CORE.finditer(data):
        found.setdefault(m.group(0), "raw")
    if b"%" in data:
        dec = urllib.parse.unquote_to_bytes(data)
        for m in CORE.finditer(dec):
            found.setdefault(m.group(0), "url-encoded")
    for m in HEXRUN.finditer(data):
        run = m.group(0)
        for off in (0, 1):
            chunk = run[off:]
            chunk = chunk[:len(chunk) // 2 * 2]
            try:
                dec = binascii.unhexlify(chunk)
            except binascii.Error:
                continue
            for c in CORE.finditer(dec):
                found.setdefault(c.group(0), "hex")
    for m in B64RUN.finditer(data):
        run = m.group(0)
        for off in range(4):
            chunk = run[off:]
            chunk = chunk[:len(chunk) // 4 * 4]
            if len(chunk) < 8:
                continue
            for alt in (None, b"-_"):
                try:
                    dec = base64.b64decode(chunk, altchars=alt, validate=False)
                except (binascii.Error, ValueError):
                    continue
                if MARK in dec.lower():
                    for c in CORE.finditer(dec):
                        found.setdefault(c.group(0), "base64")
    return found


def leaks(files, canaries):
    by_core = {}
    for c in canaries:
        m = CORE.search(c["value"].encode())
        if m:
            by_core[m.group(0).lower()] = (m.group(0), c)
    out = []
    seen = set()
    for path in files:
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        for core, form in sorted(cores_in(data).items()):
            exact, c = by_core.get(core.lower(), (core, None))
            if core != exact:
                form += ", case changed"
            key = (exact, path)
            if key in seen:
                continue
            seen.add(key)
            out.append({"file": path, "form": form, "where": c["where"] if c else "unknown",
                        "canary": exact.decode()})
    return out


# ---- scoring -----------------------------------------------------------------------------------

def ratio(a, b):
    return a / b if b else 1.0


def score(truth, canaries, found, files, details=False):
    tmap = {}       # the truth endpoints, by (method, normalized template)
    accept = {}     # every acceptable (method, normalized template) -> truth key
    for t in truth["endpoints"]:
        key = (t["method"], norm(t["template"]))
        tmap.setdefault(key, t)
        for alt in t.get("alternatives") or [t["template"]]:
            accept.setdefault((t["method"], norm(alt)), key)
    fmap = {}       # truth key -> the output endpoints that match it
    correct_found = 0
    for f in found:
        key = accept.get((f["method"], norm(f["template"])))
        if key is not None:
            correct_found += 1
            fmap.setdefault(key, []).append(f)
    matched = [k for k in tmap if k in fmap]
    r = {"document": truth["document"], "exchanges": truth["exchanges"],
         "endpoints_declared": len(tmap), "endpoints_found": len(found),
         "precision": ratio(correct_found, len(found)) if found else 0.0,
         "recall": ratio(len(matched), len(tmap))}
    # path parameter positions, over every truth endpoint
    pos_total = pos_ok = 0
    for t in tmap.values():
        ts = segs(norm(t["template"]))
        positions = [i for i, s in enumerate(ts) if "{}" in s]
        if not positions:
            continue
        inst = instantiations(t, found)
        for i in positions:
            pos_total += 1
            if inst and all(fs[i] == ts[i] for fs in inst):
                pos_ok += 1
    r["path_param_recall"] = ratio(pos_ok, pos_total)
    sums = {"query": [0, 0], "request_props": [0, 0], "response_props": [0, 0], "statuses": [0, 0]}
    for k in matched:
        t = tmap[k]
        fs = fmap[k]
        for field in sums:
            want = set(t[field])
            got = set()
            for f in fs:
                got |= set(f[field])
            sums[field][0] += len(want & got)
            sums[field][1] += len(want)
    r["query_param_recall"] = ratio(*sums["query"])
    r["request_prop_recall"] = ratio(*sums["request_props"])
    r["response_prop_recall"] = ratio(*sums["response_props"])
    r["status_recall"] = ratio(*sums["statuses"])
    lk = leaks(files, canaries)
    r["leaks"] = len({x["canary"] for x in lk})
    r["leak_details"] = lk
    classes = {}
    extra = []
    for f in found:
        if (f["method"], norm(f["template"])) in accept:
            continue
        ks = classify(f, tmap.values())
        for k in ks:
            classes[k] = classes.get(k, 0) + 1
        extra.append("%s %s   [%s]" % (f["method"], f["template"], "; ".join(ks)))
    r["extra_classes"] = classes
    if details:
        r["extra"] = sorted(extra)
        r["missed"] = sorted("%s %s" % (t["method"], t["template"]) for k, t in tmap.items() if k not in fmap)
    return r


FIELDS = ["precision", "recall", "path_param_recall", "query_param_recall", "request_prop_recall",
          "response_prop_recall", "status_recall"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--canaries", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out-dir")
    g.add_argument("--openapi")
    ap.add_argument("--stderr", action="append", default=[])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--details", action="store_true", help="list extra and missed endpoints, and each leak")
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    canaries = json.load(open(a.canaries))
    files = list(a.stderr)
    if a.out_dir:
        found = from_metadata(os.path.join(a.out_dir, "metadata.json"), truth["host"])
        for root, _, names in os.walk(a.out_dir):
            files += [os.path.join(root, n) for n in sorted(names)]
    else:
        found = from_openapi(a.openapi)
        files.append(a.openapi)
    r = score(truth, canaries, found, files, a.details)
    if a.json:
        print(json.dumps(r, indent=1, sort_keys=True))
        return 0
    print("%s: %d exchanges, endpoints declared %d, found %d" % (r["document"], r["exchanges"],
                                                                 r["endpoints_declared"], r["endpoints_found"]))
    for f in FIELDS:
        print("  %-22s %.3f" % (f, r[f]))
    print("  %-22s %d" % ("leaks", r["leaks"]))
    for k, v in sorted(r["extra_classes"].items()):
        print("  extra endpoints, %s: %d" % (k, v))
    if a.details:
        for e in r["extra"]:
            print("  extra:  " + e)
        for e in r["missed"]:
            print("  missed: " + e)
        for x in r["leak_details"]:
            print("  leak:   %s (%s, planted in %s) in %s" % (x["canary"], x["form"], x["where"], x["file"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
