# SPDX-License-Identifier: BSD-2-Clause
"""An HTTP/2 server that accepts h2c by upgrade (RFC 7540 section 3.2), for
the e2e tests: nginx does not implement it and nghttpd answers with prior
knowledge only. Run by /usr/bin/python3 (Debian's python3-h2, a complete
HTTP/2 stack: HPACK, flow control, settings):

    /usr/bin/python3 h2c_upgrade_server.py PORT

Each request is answered 200 with the body "h2c <path> <n>\\n", n being
the request body's length; an HTTP/1.1 request that asks for h2c is
answered 101 and then, in HTTP/2 on stream 1, like any other. A request
that does not ask for it is answered in HTTP/1.1."""
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events


def body_for(path, n):
    return b"h2c %s %d\n" % (path, n)


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = s.recv(65536)
        if not more:
            return None
        buf += more
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    n = int(fields.get(b"content-length", b"0"))
    while len(rest) < n:
        more = s.recv(65536)
        if not more:
            break
        rest += more
    return lines[0].split(b" "), fields, rest[:n], rest[n:]


def serve_h2(s, conn, rest):
    """HTTP/2 after the switch: every request answered when its stream ends."""
    bodies, paths = {}, {}
    data = rest
    while True:
        if data:
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    paths[ev.stream_id] = dict(ev.headers)[b":path"]
                    bodies[ev.stream_id] = 0
                elif isinstance(ev, h2.events.DataReceived):
                    bodies[ev.stream_id] += len(ev.data)
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    respond(conn, ev.stream_id, body_for(paths[ev.stream_id],
                                                         bodies[ev.stream_id]))
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    s.sendall(conn.data_to_send())
                    return
        out = conn.data_to_send()
        if out:
            s.sendall(out)
        data = s.recv(65536)
        if not data:
            return


def respond(conn, sid, body):
    conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain"),
                            ("content-length", str(len(body)))])
    conn.send_data(sid, body, end_stream=True)


def handle(s):
    with s:
        got = read_head(s)
        if got is None:
            return
        start, fields, body, rest = got
        upgrade = b"h2c" in [t.strip().lower() for t in fields.get(b"upgrade", b"").split(b",")]
        if not upgrade or b"http2-settings" not in fields:
            b = body_for(start[1], len(body))
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(b), b))
            return
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_upgrade_connection(fields[b"http2-settings"])
        # the 101, the server's SETTINGS and stream 1's response in one write
        respond(conn, 1, body_for(start[1], len(body)))
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
                  b"\r\n" + conn.data_to_send())
        serve_h2(s, conn, rest)


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1])))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=handle, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
