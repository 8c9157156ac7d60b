# SPDX-License-Identifier: BSD-2-Clause
"""Helpers for the TLS end-to-end tests: a certificate made here, nginx
with TLS, python3's ssl HTTPS server, and what the capture summary says
about TLS. Python 3 standard library and the openssl command only."""
import os
import re
import shutil
import subprocess
import sys

from e2e import *  # noqa: F401,F403
from e2e import check, fail, nginx, start, tmpdir, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))


def make_cert():
    """A self-signed certificate for 127.0.0.1; returns (cert, key)."""
    d = tmpdir()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        fail("openssl req: " + r.stderr.decode())
    return cert, key


def nginx_tls(port, cert, key, location='location / { return 200 "ok $uri\\n"; }', http2=False):
    extra = "ssl_certificate %s;\n        ssl_certificate_key %s;\n        %s" % (cert, key, location)
    return nginx(port, extra=extra,
                 listen="127.0.0.1:%d ssl%s" % (port, " http2" if http2 else ""))


def pyssl_server(port, cert, key, env=None):
    """python3's http.server wrapped in ssl (SSL_read_ex/SSL_write_ex)."""
    p = start([sys.executable, os.path.join(HERE, "tls_servers.py"), "https", str(port), cert,
               key], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def https(*urls, extra=()):
    """curl over HTTPS, HTTP/1.1, certificate not checked (it is ours)."""
    r = subprocess.run(["curl", "-sS", "-k", "--http1.1", "--max-time", "10"] + list(extra) +
                       list(urls), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        fail("curl %s: exit %d: %s" % (" ".join(urls), r.returncode, r.stderr.decode()))
    return r.stdout


def tls_line(summary):
    """The numbers of the summary's tls line, as a dict."""
    m = re.search(r"tls: (\d+) libraries and (\d+) static executables attached, (\d+) failed, "
                  r"(\d+) processes using them; (\d+) https conns, (\d+) http/2 conns, "
                  r"(\d+) calls without a tracked socket, (\d+) blind conns", summary)
    check(m is not None, "no tls line in the summary:\n" + summary)
    keys = ["libs", "exes", "failed", "procs", "https", "http2", "no_socket", "blind"]
    return dict(zip(keys, map(int, m.groups())))


def http_line(summary):
    m = re.search(r"http: (\d+) requests, (\d+) responses, (\d+) exchanges, (\d+) parse errors, "
                  r"(\d+) ambiguous", summary)
    check(m is not None, "no http line in the summary:\n" + summary)
    return dict(zip(["requests", "responses", "exchanges", "parse_errors", "ambiguous"],
                    map(int, m.groups())))


def private_libssl():
    """A copy of this host's libssl.so.3 in a directory of its own: a file
    (inode) no process maps yet, for LD_LIBRARY_PATH. Returns (dir, path)."""
    out = subprocess.run(["ldd", shutil.which("curl")], stdout=subprocess.PIPE).stdout.decode()
    m = re.search(r"libssl\.so\.3 => (\S+)", out)
    check(m is not None, "curl does not link libssl.so.3:\n" + out)
    d = tmpdir()
    dst = os.path.join(d, "libssl.so.3")
    shutil.copyfile(os.path.realpath(m.group(1)), dst)
    return d, dst
