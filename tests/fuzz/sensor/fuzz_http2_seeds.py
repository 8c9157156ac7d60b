#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the seed corpus of fuzz_http2 (tests/fuzz/corpus/fuzz_http2/):
real HTTP/2 conversations in the target's record format (fuzz_http2.c).
Header blocks use HPACK static-table references, literals with and without
indexing, and references to the dynamic table they fill."""
import os
import struct
import sys

CLI, SRV = 1, 0  # the observed process is the server: it reads requests
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(t, flags, sid, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xffff, t, flags, sid) + payload


def lit(name, value, index=False):
    def s(b):
        return bytes([len(b)]) + b
    return (b"\x40" if index else b"\x00") + s(name) + s(value)


def record(out, dir, data, cut=0):
    for i in range(0, len(data), 256):
        piece = data[i:i + 256]
        out.append(bytes([dir | (cut << 3), len(piece) - 1]) + piece)


def conv(opts, steps):
    out = [bytes([opts])]
    for k, (d, b) in enumerate(steps):
        if d == "gap":
            out.append(bytes([0 | (2 << 1), b]))
        elif d == "close":
            out.append(bytes([3 << 1, 0]))
        else:
            record(out, d, b, (k * 7) % 32)
    return b"".join(out)


GET = b"\x82\x86" + lit(b":path", b"/users/7", True) + lit(b":authority", b"api.test", True)
OK = b"\x88" + lit(b"content-type", b"application/json", True)


def seeds():
    s = {}
    s["get"] = conv(8, [
        (CLI, PREFACE + frame(4, 0, 0)), (SRV, frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x64")),
        (CLI, frame(4, 1, 0) + frame(1, 5, 1, GET)),
        (SRV, frame(4, 1, 0) + frame(1, 4, 1, OK) + frame(0, 1, 1, b'{"id":7}')),
        (CLI, frame(1, 5, 3, b"\x82\x86\xbf\xbe")),  # dynamic references
        (SRV, frame(1, 5, 3, b"\xbe\x88")), ("close", 0)])
    s["post_padding_trailers"] = conv(8, [
        (CLI, PREFACE + frame(4, 0, 0)),
        (CLI, frame(1, 0x28, 1, b"\x02\x80\x00\x00\x00\x10" + b"\x83\x86" +
                    lit(b":path", b"/orders") + b"\x00\x00")),
        (CLI, frame(9, 4, 1, lit(b":authority", b"a.test"))),
        (CLI, frame(0, 8, 1, b"\x03{\"a\"" + b"\x00" * 3) + frame(0, 1, 1, b":1}")),
        (SRV, frame(1, 4, 1, b"\x89") + frame(0, 0, 1, b"done") +
         frame(1, 5, 1, lit(b"grpc-status", b"0")))])
    s["control_rst_push"] = conv(8, [
        (CLI, PREFACE + frame(4, 0, 0) + frame(2, 0, 3, b"\x00\x00\x00\x01\x20") +
         frame(6, 0, 0, b"12345678") + frame(8, 0, 0, b"\x00\x01\x00\x00") +
         frame(1, 5, 1, GET) + frame(1, 5, 3, b"\x82\x86\x84" + lit(b":authority", b"b"))),
        (SRV, frame(5, 4, 1, b"\x00\x00\x00\x02\x82\x86" + lit(b":path", b"/style.css")) +
         frame(1, 4, 1, b"\x88") + frame(0, 0, 1, b"part")),
        (CLI, frame(3, 0, 1, b"\x00\x00\x00\x08")),
        (SRV, frame(1, 4, 2, b"\x88") + frame(0, 1, 2, b"body{}") + frame(1, 5, 3, b"\x8d") +
         frame(6, 1, 0, b"12345678") + frame(7, 0, 0, b"\x00\x00\x00\x03\x00\x00\x00\x00")),
        (CLI, frame(0xa, 0, 0, b"altsvc"))])
    s["midstream"] = conv(2, [
        (SRV, frame(4, 0, 0)), (CLI, frame(1, 5, 41, b"\x82\x86" + lit(b":path", b"/x"))),
        (SRV, frame(1, 5, 41, b"\x88")), (SRV, frame(0, 1, 39, b"old")),
        (CLI, frame(1, 5, 43, b"\x82\xbe"))])
    msg = b"\x0a\x05alice\x10\x2a\x1a\x04\x08\x01\x10\x02"
    s["grpc"] = conv(8, [
        (CLI, PREFACE + frame(4, 0, 0) +
         frame(1, 4, 1, b"\x83\x86" + lit(b":path", b"/shop.Cart/Add") +
               lit(b"content-type", b"application/grpc") + lit(b"te", b"trailers")) +
         frame(0, 1, 1, b"\x00" + struct.pack(">I", len(msg)) + msg)),
        (SRV, frame(1, 4, 1, b"\x88" + lit(b"content-type", b"application/grpc")) +
         frame(0, 0, 1, b"\x00\x00\x00\x00\x02\x08\x01") +
         frame(1, 5, 1, lit(b"grpc-status", b"0") + lit(b"grpc-message", b"")))])
    s["bad_frames"] = conv(8, [
        (CLI, PREFACE + frame(4, 0, 0) + frame(1, 5, 1, GET)),
        (SRV, frame(1, 4, 1, OK) + frame(6, 0, 0, b"1234567")), ("gap", 10)])
    s["small_limits"] = conv(9, [
        (CLI, PREFACE + frame(1, 5, 1, GET) + frame(1, 5, 3, GET) + frame(1, 5, 5, GET)),
        (SRV, frame(1, 4, 1, OK) + frame(0, 1, 1, b"x" * 40) + frame(4, 0, 0, b"\x00" * 200))])
    return s


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "corpus", "fuzz_http2")
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


main()
