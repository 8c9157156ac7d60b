# SPDX-License-Identifier: BSD-2-Clause
"""A small JSON API on python3's http.server, plain or over TLS, for the
end-to-end tests. Its answers carry values that must never reach a catalog
(an email, a phone number, a card number): the canaries of test_run_lib.

    python3 api_server.py PORT [CERT KEY]

    GET    /v1/customers/<id>   200, a customer (email, phone, card)
    PUT    /v1/customers/<id>   200, the same; reads a JSON body
    DELETE /v1/customers/<id>   204, no body
    POST   /v1/upload           201, {"got": <bytes>}
    anything else               404
"""
import http.server
import json
import re
import ssl
import sys

CUSTOMER = {
    "id": 1042,
    "email": "canary.person@example.org",
    "phone": "+14155550199",
    "card": "4111111111111111",
    "created": "2024-05-01T12:00:00Z",
    "tags": ["gold", "emea"],
}
CUSTOMER_PATH = re.compile(r"^/v1/customers/\d+$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        if CUSTOMER_PATH.match(self.path):
            return self.reply(200, CUSTOMER)
        self.reply(404, {"error": "not found"})

    def do_PUT(self):
        self.body()
        if CUSTOMER_PATH.match(self.path):
            return self.reply(200, CUSTOMER)
        self.reply(404, {"error": "not found"})

    def do_DELETE(self):
        if CUSTOMER_PATH.match(self.path):
            return self.reply(204)
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        data = self.body()
        if self.path == "/v1/upload":
            return self.reply(201, {"got": len(data)})
        self.reply(404, {"error": "not found"})


def main():
    port = int(sys.argv[1])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
