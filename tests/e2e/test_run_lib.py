# SPDX-License-Identifier: BSD-2-Clause
"""Helpers for the `apisonar run` end-to-end tests (imported, not run: this
file is not executable). The daemon runs in the background with JSON logs
on a file; tests drive real traffic and read what it wrote."""
import json
import urllib.request

from e2e import *

# Values that must never leave the traffic: each is distinct enough that a
# plain substring search over every file finds it.
CANARIES = [
    "CanaryTok3nZq8Vx5Wm2",            # bearer token
    "canary.person@example.org",       # email in a query value
    "CanaryPassw0rd!Qx",               # password in a JSON body
    "4111111111111111",                # card number in a JSON body
    "CanaryCookieVal9Yt",              # cookie value
    "CanaryHdrVal7Kp",                 # custom header value
    "+14155550199",                    # phone in a form body
]


class Run:
    """apisonar run in the background."""

    def __init__(self, *args, out_dir=None, metrics=True, env=None, wait=True):
        self.dir = tmpdir()
        os.chmod(self.dir, 0o755)  # a --user run must reach its out-dir
        self.out = out_dir or os.path.join(self.dir, "out")
        self.err = os.path.join(self.dir, "stderr")
        self.metrics_port = free_port() if metrics else 0
        argv = [APISONAR, "run", "--out-dir", self.out,
                "--metrics-port", str(self.metrics_port)] + list(args)
        self.errf = open(self.err, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.p = start(argv, stdout=subprocess.DEVNULL, stderr=self.errf, env=e)
        if wait:
            self.wait_log("running:", 30)

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def logs(self):
        """The JSON log lines (each must parse)."""
        out = []
        for line in self.stderr().splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                fail("a log line is not JSON: %r" % line)
        return out

    def wait_log(self, text, timeout=20.0, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.stderr().count(text) >= count:
                return
            if self.p.poll() is not None:
                fail("apisonar run exited %d waiting for %r: %s" %
                     (self.p.returncode, text, self.stderr()))
            time.sleep(0.05)
        fail("no %r in the log within %.0fs: %s" % (text, timeout, self.stderr()))

    def get(self, path):
        """GET on the metrics listener: (status, body)."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.metrics_port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, name, labels=""):
        _, body = self.get("/metrics")
        key = name + ("{%s}" % labels if labels else "")
        for line in body.splitlines():
            if line.startswith(key + " "):
                return float(line.split()[-1])
        fail("metric %s not found in /metrics" % key)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail("apisonar run did not stop within %ds" % timeout)
        self.errf.close()
        return rc

    def catalog(self):
        with open(os.path.join(self.out, "metadata.json")) as f:
            return json.load(f)

    def openapi(self, service):
        with open(os.path.join(self.out, "openapi", service.replace(":", "_") + ".json")) as f:
            return json.load(f)


def endpoints(md, service):
    svc = md.get("services", {}).get(service)
    check(svc is not None, "service %s in the catalog: %s" % (service, sorted(md.get("services", {}))))
    return sorted(svc["endpoints"])


def files_under(*dirs):
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                yield os.path.join(root, n)


def check_no_canary(blobs):
    """blobs: (what, bytes) pairs. No canary in any of them, in any case."""
    for what, data in blobs:
        low = data.lower()
        for c in CANARIES:
            check(c.lower().encode() not in low, "canary %r found in %s" % (c, what))


def drive_traffic(port):
    """One request per endpoint, each carrying canaries in values."""
    base = "http://127.0.0.1:%d" % port
    curl("-H", "Authorization: Bearer " + CANARIES[0], base + "/users/1042")
    curl("-H", "Authorization: Bearer " + CANARIES[0], base + "/users/77")
    curl(base + "/search?email=" + urllib.request.quote(CANARIES[1]) + "&limit=10")
    curl("-H", "Content-Type: application/json", "-H", "Cookie: session=" + CANARIES[4],
         "--data-binary", json.dumps({"password": CANARIES[2], "card": CANARIES[3], "qty": 2}),
         base + "/api/orders")
    curl("-H", "X-Client-Note: " + CANARIES[5], "--data-urlencode", "phone=" + CANARIES[6],
         "--data-urlencode", "name=Bob", base + "/api/contacts")
    curl(base + "/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301")


def make_certs(d):
    """A CA and a server certificate for 127.0.0.1/localhost, by openssl."""
    def sh(*argv):
        r = subprocess.run(argv, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        check_eq(r.returncode, 0, "%s: %s" % (" ".join(argv), r.stderr.decode()))
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test ca")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext")
    with open(os.path.join(d, "token"), "w") as f:
        f.write("CanarySatToken5Rv\n")
    os.chmod(os.path.join(d, "token"), 0o600)


class Satellite:
    def __init__(self, d, *args, listen="127.0.0.1:0"):
        self.out = os.path.join(d, "sat-out")
        self.log = os.path.join(d, "sat.log")
        self.logf = open(self.log, "w")
        self.p = start([APISONAR, "satellite", "--listen", listen,
                        "--tls-cert", os.path.join(d, "server.pem"),
                        "--tls-key", os.path.join(d, "server.key"),
                        "--token-file", os.path.join(d, "token"), "--out-dir", self.out,
                        "--flush-interval", "1"] + list(args),
                       stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            m = re.search(r"listening on .* port (\d+)", open(self.log).read())
            if m:
                self.port = int(m.group(1))
                return
            check(self.p.poll() is None, "satellite exited: " + open(self.log).read())
            time.sleep(0.1)
        fail("satellite did not listen: " + open(self.log).read())

    def catalog(self):
        try:
            with open(os.path.join(self.out, "metadata.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"services": {}}
