# SPDX-License-Identifier: BSD-2-Clause
"""Helpers for the end-to-end tests: real servers, real clients, the real
apisonar binary with its real eBPF programs. Python 3 standard library only.

Each test is an executable script named test_*; it exits 0 on success and
prints what went wrong otherwise. Nothing here mocks the kernel.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APISONAR = os.path.join(ROOT, "build", "apisonar")

_cleanups = []


def at_exit(fn):
    _cleanups.append(fn)


def cleanup():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep cleaning up
            print("cleanup:", e, file=sys.stderr)


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    cleanup()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def check_eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def run_test(fn):
    """Runs fn(), always cleaning up; exit status 0 only if it returned."""
    if os.geteuid() != 0:
        print("FAIL: end-to-end tests load eBPF programs: run as root", file=sys.stderr)
        sys.exit(1)
    try:
        fn()
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        cleanup()
        sys.exit(1)
    cleanup()
    print("ok")
    sys.exit(0)


def tmpdir():
    d = tempfile.mkdtemp(prefix="apisonar-e2e-")
    at_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    fail("nothing listens on %s:%d after %.0fs" % (host, port, timeout))


def start(argv, **kw):
    """A background process, killed at cleanup."""
    p = subprocess.Popen(argv, **kw)

    def stop():
        if p.poll() is None:
            p.kill()
            p.wait()
    at_exit(stop)
    return p


NGINX_CONF = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000;
    client_max_body_size 10m;
    server {{
        listen {listen};
        root {dir}/www;
        {extra}
    }}
}}
"""


def nginx(port, extra="", listen=None, netns=None):
    """nginx with one worker serving {dir}/www, plus `extra` server config."""
    d = tmpdir()
    os.makedirs(os.path.join(d, "www"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, listen=listen or "127.0.0.1:%d" % port, extra=extra))
    argv = ["nginx", "-c", conf, "-p", d, "-g", "daemon off;"]
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    # Its own process group: killing the master alone would leave the
    # worker running (reparented to init) after the test.
    p = start(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def stop_group():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    at_exit(stop_group)
    if not netns:
        wait_port(port)
    p.www = os.path.join(d, "www")
    return p


def curl(*args, check_rc=True):
    r = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check_rc and r.returncode != 0:
        fail("curl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()))
    return r.stdout


class Capture:
    """apisonar capture in the background, writing JSONL with values."""

    def __init__(self, *args, fmt="jsonl", values=True):
        self.dir = tmpdir()
        self.out = os.path.join(self.dir, "out." + fmt)
        self.err = os.path.join(self.dir, "stderr")
        argv = [APISONAR, "capture", "--format", fmt, "-o", self.out] + list(args)
        if values:
            argv.append("--show-values")
        self.errf = open(self.err, "w")
        self.p = start(argv, stdout=subprocess.DEVNULL, stderr=self.errf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if "attached" in self.stderr():
                return
            if self.p.poll() is not None:
                fail("apisonar capture exited %d: %s" % (self.p.returncode, self.stderr()))
            time.sleep(0.05)
        fail("apisonar capture did not attach within 20s: " + self.stderr())

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def stop(self, settle=0.5):
        """Lets in-flight events drain, stops with SIGINT, returns exchanges."""
        time.sleep(settle)
        self.p.send_signal(signal.SIGINT)
        try:
            rc = self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("apisonar capture did not stop within 20s of SIGINT")
        self.errf.close()
        check_eq(rc, 0, "apisonar capture exit code (stderr: %s)" % self.stderr())
        self.summary = self.stderr()
        check_books(self.summary)
        if self.out.endswith(".jsonl"):
            with open(self.out) as f:
                return [json.loads(line) for line in f if line.strip()]
        with open(self.out) as f:
            return f.read()


def check_books(summary):
    """The kernel's books balance: seen = delivered + not sampled + ring full
    + map full, and for exchanges seen = captured + not sampled + dropped."""
    m = re.search(r"kernel events: (\d+) seen = (\d+) delivered \+ (\d+) not sampled \+ "
                  r"(\d+) ring buffer full \+ (\d+) map full", summary)
    check(m is not None, "no kernel events line in the summary:\n" + summary)
    seen, dl, ns, rb, mf = map(int, m.groups())
    check(seen == dl + ns + rb + mf, "books do not balance: " + m.group(0))
    x = re.search(r"kernel exchanges: (\d+) seen = (\d+) captured \+ (\d+) not sampled \+ "
                  r"(\d+) dropped", summary)
    check(x is not None, "no kernel exchanges line in the summary:\n" + summary)
    xs, xc, xn, xd = map(int, x.groups())
    check(xs == xc + xn + xd, "exchange books do not balance: " + x.group(0))
    return seen, dl, rb, mf


def exchange_books(summary):
    """(seen, captured, not sampled, dropped) exchanges from the summary."""
    x = re.search(r"kernel exchanges: (\d+) seen = (\d+) captured \+ (\d+) not sampled \+ "
                  r"(\d+) dropped", summary)
    check(x is not None, "no kernel exchanges line in the summary:\n" + summary)
    return tuple(map(int, x.groups()))


def http2_lines(summary):
    """The summary's http/2 lines: the counters, frames by type, drops by reason."""
    m = re.search(r"http/2: (\d+) conns \((\d+) stopped\), (\d+) frames, (\d+) streams, "
                  r"(\d+) exchanges, (\d+) resets, (\d+) without response", summary)
    check(m is not None, "no http/2 line in the summary:\n" + summary)
    h = dict(zip(["conns", "stopped", "frames", "streams", "exchanges", "resets", "no_response"],
                 map(int, m.groups())))
    m = re.search(r"http/2 frames:(.*)", summary)
    h["by_type"] = {k: int(v) for k, v in re.findall(r" (\w+) (\d+)", m.group(1))}
    m = re.search(r"http/2 drops:(.*)", summary)
    h["drops"] = {k: int(v) for k, v in re.findall(r" (\w+) (\d+)", m.group(1))}
    return h


def server_side(xs, port):
    return [x for x in xs if x["role"] == "server" and x["local"]["port"] == port]


def client_side(xs, port):
    return [x for x in xs if x["role"] == "client" and x["remote"]["port"] == port]


def pyserver(kind, port, cwd=None):
    p = start([sys.executable, os.path.join(os.path.dirname(__file__), "servers.py"), kind,
               str(port)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def raw_exchange(port, payload, want_responses, host="127.0.0.1", sock=None, timeout=5.0):
    """Sends payload on a socket and reads until want_responses HTTP status
    lines and their Content-Length bodies arrived. Returns (sock, bytes)."""
    s = sock or socket.create_connection((host, port), timeout=timeout)
    s.sendall(payload)
    buf = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = 0
        rest = buf
        while True:
            m = re.search(rb"HTTP/1\.[01] \d{3}.*?\r\n\r\n", rest, re.S)
            if not m:
                break
            cl = re.search(rb"(?i)content-length: *(\d+)", m.group(0))
            n = int(cl.group(1)) if cl else 0
            end = m.end() + n
            if len(rest) < end:
                break
            got += 1
            rest = rest[end:]
        if got >= want_responses:
            return s, buf
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    fail("wanted %d responses on port %d, got: %r" % (want_responses, port, buf[:200]))
