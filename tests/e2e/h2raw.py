# SPDX-License-Identifier: BSD-2-Clause
"""A minimal HTTP/2 client over a plain socket, for the e2e tests that need
frames no stock client sends on demand (a RST_STREAM in the middle of a
body). Header blocks use HPACK literals without indexing only (RFC 7541
section 6.2.2), so no table is needed; responses are read frame by frame
and their header blocks are not decoded (the tests look at the capture)."""
import socket
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 7, 8
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(ftype, flags, sid, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xffff, ftype, flags, sid) + payload


def _literal(name, value):
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def block(fields):
    return b"".join(_literal(n, v) for n, v in fields)


class Conn:
    def __init__(self, port, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=5)
        self.buf = b""
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def request(self, sid, method, path, authority="localhost"):
        fields = [(":method", method), (":scheme", "http"), (":path", path),
                  (":authority", authority)]
        self.s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, sid, block(fields)))

    def rst(self, sid, code=8):
        self.s.sendall(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def window_update(self, sid, n):
        self.s.sendall(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", n)))

    def read_frame(self):
        while len(self.buf) < 9:
            self._more()
        n = int.from_bytes(self.buf[:3], "big")
        while len(self.buf) < 9 + n:
            self._more()
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        if ftype == SETTINGS and not flags & ACK:
            self.s.sendall(frame(SETTINGS, ACK, 0))
        return ftype, flags, sid, payload

    def _more(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError("connection closed")
        self.buf += b

    def close(self):
        self.s.close()
