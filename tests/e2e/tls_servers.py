# SPDX-License-Identifier: BSD-2-Clause
"""Small servers and clients for the TLS end-to-end tests.

    python3 tls_servers.py https PORT CERT KEY   HTTP/1.1 over TLS (http.server + ssl)
    python3 tls_servers.py idle PORT              imports ssl, then makes plain HTTP
                                                  requests to PORT every 0.2 s, forever
"""
import http.client
import http.server
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = ("py %s\n" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = b'{"got": %d}' % len(data)
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "https":
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.serve_forever()
    elif kind == "idle":
        assert ssl.OPENSSL_VERSION  # libssl is mapped, never used
        i = 0
        while True:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/idle/%d" % i)
            c.getresponse().read()
            c.close()
            i += 1
            time.sleep(0.2)


if __name__ == "__main__":
    main()
