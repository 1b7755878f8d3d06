#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/fakeserver.py — a PostgreSQL server that lies, for the hostile-server tests.

It speaks just enough of the v3 protocol for libpq: it refuses SSL and GSS encryption ('N'),
accepts any startup without a password (AuthenticationOk, client_encoding UTF8, BackendKeyData,
ReadyForQuery), then answers Parse/Bind/Describe/Execute/Close/Sync and simple Query messages.
What a statement returns depends on a scenario word in its SQL (SCENARIOS below): most send
what no real server sends. Any other SQL gets one int4 column holding 1, so a test can check
that the connection is still usable after a hostile answer.

    python3 tests/fakeserver.py      prints the port it listens on (127.0.0.1), one line,
                                     then serves until its standard input is closed.

Tests start it as a child whose stdin is a pipe they hold: when the test ends, or dies, the
pipe closes and the server stops. It binds 127.0.0.1 only and needs no privileges.
"""

import socket
import socketserver
import struct
import sys
import threading

INT4, TEXT, POINT = 23, 25, 600

# A scenario: a list of events, ("T", [(name, oid), ...]) a row description, ("D", [value,
# ...]) a data row (int, bytes or None), ("C", tag) the command's end. The first event is the
# row description that Describe reports; Execute sends the rest (simple Query sends all).
SCENARIOS = {
    # Two rows of one int4 column, then a second row description of three columns and a row
    # of that shape: rows of two shapes in one result.
    "shape_change_rows": [
        ("T", [("a", INT4)]), ("D", [1]), ("D", [2]),
        ("T", [("a", INT4), ("b", INT4), ("c", INT4)]), ("D", [1, 2, 3]),
        ("C", "SELECT 3")],
    # The same, with no row after the second description: the final result's shape differs
    # from the rows'.
    "shape_change_end": [
        ("T", [("a", INT4)]), ("D", [1]), ("D", [2]),
        ("T", [("a", INT4), ("b", INT4), ("c", INT4)]),
        ("C", "SELECT 2")],
    # The same after more rows than a chunk holds (50000): the change comes after the first
    # chunk was handed out.
    "shape_change_late": [("T", [("a", INT4)])] + [("D", [k]) for k in range(1, 60001)] + [
        ("T", [("a", INT4), ("b", INT4), ("c", INT4)]),
        ("C", "SELECT 60000")],
    # Same column count, another type.
    "type_change": [
        ("T", [("a", INT4)]), ("D", [1]),
        ("T", [("a", TEXT)]), ("D", [b"x"]),
        ("C", "SELECT 2")],
    # Text-format values (the point column has no binary decoder, so the whole result is
    # asked for in text) with a NUL byte inside.
    "nul_text": [
        ("T", [("t", TEXT), ("p", POINT)]),
        ("D", [b"a\0b", b"(1,2)"]), ("D", [b"c", b"(3,4)"]),
        ("C", "SELECT 2")],
    "nul_int": [
        ("T", [("i", INT4), ("p", POINT)]),
        ("D", [b"12\0junk", b"(1,2)"]),
        ("C", "SELECT 1")],
}
# Binary text values with a NUL byte, after good ones, at each place libpostpyro's copy of
# text values looks for one: in a value of 3, 7 and 13 bytes (byte by byte, two 4-byte
# words, words), and of 76 bytes (memchr).
for _name, _bad in (("nul_bin_short", b"a\0b"), ("nul_bin_word", b"abc\0efg"),
                    ("nul_bin_tail", b"abcdefghijk\0m"), ("nul_bin_long", b"x" * 70 + b"\0yyyyy")):
    SCENARIOS[_name] = [("T", [("t", TEXT)]), ("D", [b"good value"]), ("D", [b"ok"]),
                        ("D", [_bad]), ("D", [b"after"]), ("C", "SELECT 4")]
del _name, _bad
DEFAULT = [("T", [("?column?", INT4)]), ("D", [1]), ("C", "SELECT 1")]


def scenario(sql):
    for word, events in SCENARIOS.items():
        if word in sql:
            return events
    return DEFAULT


def msg(kind, body=b""):
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def row_description(cols, formats):
    body = struct.pack("!h", len(cols))
    for k, (name, oid) in enumerate(cols):
        fmt = formats[k] if k < len(formats) else (formats[0] if formats else 0)
        size = 4 if oid == INT4 else -1
        body += cstr(name) + struct.pack("!ihihih", 0, 0, oid, size, -1, fmt)
    return msg(b"T", body)


def data_row(values, cols, formats):
    body = struct.pack("!h", len(values))
    for k, v in enumerate(values):
        fmt = formats[k] if k < len(formats) else (formats[0] if formats else 0)
        if v is None:
            body += struct.pack("!i", -1)
            continue
        if isinstance(v, int):
            v = struct.pack("!i", v) if fmt == 1 else str(v).encode()
        body += struct.pack("!i", len(v)) + v
    return msg(b"D", body)


def events_out(events, formats, skip_first_t):
    """The messages for a scenario's events; the formats of every row description's columns
    are `formats` (as Bind asked: one for all, or one per column)."""
    out, cols = [], []
    for k, (kind, what) in enumerate(events):
        if kind == "T":
            cols = what
            if not (skip_first_t and k == 0):
                out.append(row_description(what, formats))
        elif kind == "D":
            out.append(data_row(what, cols, formats))
        else:
            out.append(msg(b"C", cstr(what)))
    return b"".join(out)


class Session(socketserver.BaseRequestHandler):
    def read(self, n):
        data = b""
        while len(data) < n:
            part = self.request.recv(n - len(data))
            if not part:
                raise EOFError
            data += part
        return data

    def handle(self):
        # one small write per message: without this, Nagle's algorithm and delayed ACKs
        # stall each round trip for tens of milliseconds
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.startup()
            self.serve()
        except (EOFError, ConnectionError):
            pass

    def startup(self):
        while True:
            (length,) = struct.unpack("!i", self.read(4))
            body = self.read(length - 4)
            (code,) = struct.unpack("!i", body[:4])
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                self.request.sendall(b"N")
                continue
            break
        out = [msg(b"R", struct.pack("!i", 0))]
        for k, v in (("client_encoding", "UTF8"), ("server_encoding", "UTF8"),
                     ("server_version", "16.0"), ("standard_conforming_strings", "on"),
                     ("integer_datetimes", "on"), ("DateStyle", "ISO, MDY"),
                     ("TimeZone", "UTC"), ("IntervalStyle", "postgres")):
            out.append(msg(b"S", cstr(k) + cstr(v)))
        out.append(msg(b"K", struct.pack("!ii", 4242, 4243)))
        out.append(msg(b"Z", b"I"))
        self.request.sendall(b"".join(out))

    def serve(self):
        statements = {}  # name -> sql
        portals = {}     # name -> (sql, result formats)
        status = b"I"
        while True:
            kind = self.read(1)
            (length,) = struct.unpack("!i", self.read(4))
            body = self.read(length - 4)
            out = b""
            if kind == b"X":
                return
            if kind == b"Q":
                sql = body[:-1].decode()
                status = transaction_status(sql, status)
                out = self.answer_simple(sql) + msg(b"Z", status)
            elif kind == b"P":
                name, rest = body.split(b"\0", 1)
                statements[name] = rest.split(b"\0", 1)[0].decode()
                out = msg(b"1")
            elif kind == b"B":
                portal, stmt, formats = parse_bind(body)
                portals[portal] = (statements.get(stmt, ""), formats)
                out = msg(b"2")
            elif kind == b"D":
                what, name = body[:1], body[1:-1]
                if what == b"S":
                    sql = statements.get(name, "")
                    nparams = sql.count("$")
                    out = msg(b"t", struct.pack("!h", nparams) + struct.pack("!i", 25) * nparams)
                    out += self.describe(sql, [0])
                else:
                    sql, formats = portals.get(name, ("", []))
                    out = self.describe(sql, formats)
            elif kind == b"E":
                name = body.split(b"\0", 1)[0]
                sql, formats = portals.get(name, ("", []))
                status = transaction_status(sql, status)
                events = scenario(sql) if returns_rows(sql) else [("C", command_tag(sql))]
                out = events_out(events, formats, skip_first_t=True)
            elif kind == b"C":
                out = msg(b"3")
            elif kind == b"S":
                out = msg(b"Z", status)
            # 'H' (Flush) and anything else: nothing to answer
            if out:
                self.request.sendall(out)

    def describe(self, sql, formats):
        if not returns_rows(sql):
            return msg(b"n")
        first = scenario(sql)[0]
        return row_description(first[1], formats)

    def answer_simple(self, sql):
        if not returns_rows(sql):
            return msg(b"C", cstr(command_tag(sql)))
        return events_out(scenario(sql), [0], skip_first_t=False)


def parse_bind(body):
    portal, rest = body.split(b"\0", 1)
    stmt, rest = rest.split(b"\0", 1)
    (n,) = struct.unpack("!h", rest[:2])
    rest = rest[2 + 2 * n:]
    (n,) = struct.unpack("!h", rest[:2])
    rest = rest[2:]
    for _ in range(n):
        (length,) = struct.unpack("!i", rest[:4])
        rest = rest[4 + max(length, 0):]
    (n,) = struct.unpack("!h", rest[:2])
    formats = list(struct.unpack("!%dh" % n, rest[2:2 + 2 * n]))
    return portal, stmt, formats


def first_word(sql):
    words = sql.strip().split(None, 1)
    return words[0].rstrip(";").upper() if words else ""


def returns_rows(sql):
    return first_word(sql) in ("SELECT", "VALUES", "WITH", "TABLE")


def command_tag(sql):
    return first_word(sql) or "EMPTY"


def transaction_status(sql, status):
    word = first_word(sql)
    if word in ("BEGIN", "START"):
        return b"T"
    if word in ("COMMIT", "END", "ROLLBACK", "ABORT"):
        return b"I"
    return status


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Session)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the test closes the pipe (or dies)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
