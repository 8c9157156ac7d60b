# SPDX-License-Identifier: BSD-2-Clause
"""Small real servers for the end-to-end tests, on python3's http.server.

    python3 servers.py chunked PORT   HTTP/1.1, chunked responses
    python3 servers.py plain PORT     python's own SimpleHTTPRequestHandler
    python3 servers.py echo PORT      a non-HTTP TCP echo server
"""
import http.server
import socketserver
import sys


class Chunked(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = [b'{"id": 1, ', b'"name": "chunky", ', b'"tags": ["a", "b"]}']
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in parts:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
            self.wfile.flush()
        self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            self.request.sendall(data)


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "chunked":
        Threaded(("127.0.0.1", port), Chunked).serve_forever()
    elif kind == "plain":
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a):
                pass
        Threaded(("127.0.0.1", port), Quiet).serve_forever()
    elif kind == "echo":
        ThreadedTCP(("127.0.0.1", port), Echo).serve_forever()


if __name__ == "__main__":
    main()
