#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/fuzz/make-corpus.py — (re)writes the fuzz targets' seed corpora in tests/fuzz/corpus/
from values a real PostgreSQL server produces: each type's binary form (its send function)
and text form, numbers as the server computes them (days, microseconds, offsets), decimal
text. Run it through `make fuzz-corpus` (which starts a throwaway server), or with
PP_TEST_DSN set and the PostPyro package importable. Files named finding-* (inputs that once
found a bug) are kept; everything else in the seed directories is replaced.

The input layouts are the targets' own (decode.h, values.h, fuzz_copy.c): keep them in step.
"""

import os
import re
import struct
import sys

import PostPyro as pg

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# fuzz_oids, read from fuzz.h so the indexes written here are the ones the targets read
with open(os.path.join(HERE, "fuzz.h")) as f:
    _table = re.search(r"fuzz_oids\[\] = \{(.*?)\};", f.read(), re.S).group(1)
OIDS = [int(x) for x in re.findall(r"\d+", _table)]

# type -> SQL literals (cast to the type); arrays are made from these
TYPES = {
    "bool": ["true", "false"],
    "bytea": [r"'\x'", r"'\xdeadbeef00'"],
    '"char"': ["'a'", "''"],
    "name": ["'pg_class'"],
    "int8": ["0", "-9223372036854775808", "9223372036854775807"],
    "int2": ["0", "-32768", "32767"],
    "int4": ["0", "-2147483648", "42"],
    "text": ["''", "'héllo wörld'", "E'tab\\there\\nnewline'"],
    "oid": ["0", "4294967295"],
    "json": ["'{\"a\": [1, 2.5, null]}'", "'\"x\"'"],
    "float4": ["0", "-1.5", "'NaN'", "'Infinity'", "3.4e38", "1e-45"],
    "float8": ["0", "1e-308", "'-Infinity'", "'NaN'", "0.1", "5e-324"],
    "bpchar": ["'ab'"],
    "varchar": ["'xyz'"],
    "date": ["'2000-01-01'", "'4713-01-01 BC'", "'5874897-12-31'", "'infinity'",
             "'-infinity'", "'1999-12-31'"],
    "time": ["'00:00'", "'23:59:59.999999'", "'24:00'"],
    "timestamp": ["'2000-01-01'", "'294276-12-31 23:59:59.999999'", "'4713-01-01 00:00 BC'",
                  "'infinity'", "'1970-01-01 00:00:00.5'"],
    "timestamptz": ["'2020-06-01 12:00+02'", "'-infinity'", "'1900-01-01 00:00+00'"],
    "interval": ["'1 year 2 months 3 days 04:05:06.789'", "'-178000000 years'", "'0'",
                 "'-1 day +25:00:00'"],
    "timetz": ["'12:00+05:30'", "'00:00-15:59'", "'23:59:59.999999+15:59:59'"],
    "numeric": ["0", "-0.001", "'123456789012345678901234567890.123'", "'NaN'",
                "'Infinity'", "'-Infinity'", "1e100", "'0.00'", "'-99999999.99990000'",
                "0.000000000000000000001"],
    "uuid": ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"],
    "jsonb": ["'{\"k\": [true, {\"x\": 1}], \"s\": \"é\"}'", "'[]'"],
    "inet": ["'192.168.0.1/24'", "'::1'", "'2001:db8::ff00:42:8329'", "'::ffff:1.2.3.4'",
             "'0.0.0.0/0'"],
    "cidr": ["'10.0.0.0/8'", "'2001:db8::/32'"],
    "macaddr": ["'08:00:2b:01:02:03'"],
    "macaddr8": ["'08:00:2b:01:02:03:04:05'"],
}
EXTRA_ARRAYS = {  # shapes beyond one dimension from 1
    "int4": ["'{{1,2},{3,NULL}}'", "'[2:3]={7,8}'", "'{}'"],
    "text": ["'{{\"a\",\"b\"},{\"c\",NULL}}'"],
}
UNKNOWN = {"point": ["'(1,2)'"], "int4range": ["'[1,5)'", "'empty'"]}  # no binary decoder

PP = dict(NULL=0, BOOL=1, INT=2, FLOAT=3, TEXT=4, BYTES=5, NUMERIC=6, DATE=7, TIME=8,
          TIMETZ=9, TIMESTAMP=10, TIMESTAMPTZ=11, INTERVAL=12, UUID=13, JSON=14, ARRAY=15)


def clean(directory):
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if not name.startswith("finding-"):
            os.remove(os.path.join(directory, name))


def write(directory, name, data):
    with open(os.path.join(CORPUS, directory, name), "wb") as f:
        f.write(data)


def column(oid, values):
    """decode.h's layout: the OID's index, then each value as a 2-byte length and bytes."""
    out = bytes([OIDS.index(oid)])
    for v in values:
        out += b"\xff\xff" if v is None else struct.pack(">H", len(v)) + v
    return out


def value(tag, oid=None, i=0, i2=0, i3=0, f=0.0, data=b""):
    """values.h's layout for one pp_value."""
    wide = 1 | 2 | 4 | (32 if not data else 0)
    o = OIDS.index(oid) if oid in OIDS else 255
    q = lambda n: struct.pack(">q", n)  # noqa: E731
    return (bytes([tag, o, wide]) + q(i) + q(i2) + q(i3) + struct.pack(">d", f) +
            bytes([len(data)]) + data)


def main():
    conn = pg.Connection(os.environ["PP_TEST_DSN"], autocommit=True)
    for d in ("decode_binary", "decode_text", "numeric", "sqlscan", "encode", "copy"):
        clean(os.path.join(CORPUS, d))

    def oid_of(t):
        return conn.query_one("SELECT $1::text::regtype::oid", [t])[0]

    def forms(t, lits):
        """(binary, text) of each literal as type t, from the server."""
        send = conn.query_one("SELECT typsend::text FROM pg_type WHERE oid = $1",
                              [oid_of(t)])[0]
        rows = []
        for lit in lits:
            b, s = conn.query_one("SELECT %s((%s)::%s), ((%s)::%s)::text" % (send, lit, t, lit, t))
            rows.append((bytes(b), s.encode()))
        return rows

    # decoders: scalars, arrays, unknown types
    every = list(TYPES.items())
    every += [(t + "[]", ["ARRAY[%s]::%s[]" % (", ".join("(%s)::%s" % (l, t) for l in lits), t)]
               + EXTRA_ARRAYS.get(t, []) + ["'{}'"]) for t, lits in TYPES.items()]
    every += list(UNKNOWN.items())
    for t, lits in every:
        oid = oid_of(t)
        rows = forms(t, lits) if t not in UNKNOWN else [
            (b"", conn.query_one("SELECT (%s::%s)::text" % (l, t))[0].encode()) for l in lits]
        slug = re.sub(r"\W+", "_", t).strip("_")
        for n, (b, s) in enumerate(rows):
            if t not in UNKNOWN:
                write("decode_binary", "%s-%d" % (slug, n), column(oid, [b]))
            write("decode_text", "%s-%d" % (slug, n), column(oid, [s]))
        if t not in UNKNOWN:
            write("decode_binary", slug + "-all", column(oid, [b for b, _ in rows] + [None]))
        write("decode_text", slug + "-all", column(oid, [s for _, s in rows] + [None]))

    # numeric both ways: decimal text (even first byte) and server binary (odd)
    for n, (b, s) in enumerate(forms("numeric", TYPES["numeric"])):
        write("numeric", "text-%d" % n, b"\x00" + s)
        write("numeric", "binary-%d" % n, b"\x01" + b)
    for n, s in enumerate(["1e5", "-.5", "+3.", "1E-3", "00012.3400", "-Infinity", "NaN"]):
        write("numeric", "python-%d" % n, b"\x00" + s.encode())

    # the scanner: statements as applications write them
    for n, sql in enumerate([
            "SELECT 1", "SELECT 1; SELECT 2", "INSERT INTO t VALUES (1) RETURNING id",
            "SELECT 'it''s; here'", "SELECT E'\\'; still'", "SELECT \";\" FROM \"t;\"",
            "DO $body$BEGIN PERFORM 1; END$body$", "SELECT $q$ $$ ; $q$, $1::int",
            "SELECT 1 /* a /* nested ; */ comment */", "SELECT 1 -- ; comment\n",
            "SELECT 1 AS é$$; SELECT 2", "SELECT a$b$ FROM t", "CREATE TABLE t (a int); ",
            "SET search_path = public", "UPDATE t SET a = 'returning'", "U&'\\0041;'",
            "SELECT B'101', X'ff', N'x;'", "COPY t FROM STDIN"]):
        write("sqlscan", "sql-%d" % n, sql.encode())

    # encoders and COPY: the values a caller sends, numbers computed by the server
    def q1(sql):
        return conn.query_one(sql)[0]
    vals = []  # (tag, oid, pp_value bytes)
    for lit in TYPES["int8"]:
        vals.append((20, value(PP["INT"], 20, i=int(lit))))
    vals.append((21, value(PP["INT"], 21, i=-32768)))
    vals.append((23, value(PP["INT"], 23, i=2147483647)))
    vals.append((26, value(PP["INT"], 26, i=4294967295)))
    vals.append((16, value(PP["BOOL"], 16, i=1)))
    for lit in ["0.1", "'-Infinity'", "1e-308"]:
        vals.append((701, value(PP["FLOAT"], 701, f=q1("SELECT %s::float8" % lit))))
    vals.append((700, value(PP["FLOAT"], 700, f=-1.5)))
    for b, s in forms("text", TYPES["text"]):
        vals.append((25, value(PP["TEXT"], 25, data=s)))
    for b, s in forms("numeric", TYPES["numeric"]):
        vals.append((1700, value(PP["NUMERIC"], 1700, data=s)))
    vals.append((17, value(PP["BYTES"], 17, data=b"\xde\xad\x00\xbe\xef")))
    vals.append((2950, value(PP["UUID"], 2950, data=bytes(range(16)))))
    vals.append((3802, value(PP["JSON"], 3802, data=b'{"a": [1, null]}')))
    vals.append((0, value(PP["ARRAY"], 1007, data=b"{1,2,NULL}")))
    for lit in TYPES["date"]:
        days = q1("SELECT CASE WHEN %s::date = 'infinity' THEN 2147483647 WHEN %s::date = "
                  "'-infinity' THEN -2147483648 ELSE %s::date - date '2000-01-01' END"
                  % (lit, lit, lit))
        vals.append((1082, value(PP["DATE"], 1082, i=days)))
    for lit in TYPES["time"]:
        vals.append((1083, value(PP["TIME"], 1083,
                                 i=q1("SELECT (extract(epoch FROM %s::time) * 1000000)::int8"
                                      % lit))))
    for lit in TYPES["timetz"]:
        usec, off = conn.query_one(
            "SELECT (extract(epoch FROM %s::timetz::time) * 1000000)::int8, "
            "extract(timezone FROM %s::timetz)::int8" % (lit, lit))
        vals.append((1266, value(PP["TIMETZ"], 1266, i=usec, i2=off)))
    for lit in TYPES["timestamp"][:3]:
        usec = q1("SELECT ((extract(epoch FROM %s::timestamp) - 946684800) * 1000000)::int8"
                  % lit)
        vals.append((1114, value(PP["TIMESTAMP"], 1114, i=usec)))
        vals.append((1184, value(PP["TIMESTAMPTZ"], 1184, i=usec)))
    for lit in TYPES["interval"]:
        usec, days, months = conn.query_one(
            "SELECT ((extract(hour FROM x) * 3600 + extract(minute FROM x) * 60 + "
            "extract(second FROM x)) * 1000000)::int8, extract(day FROM x)::int8, "
            "(extract(year FROM x) * 12 + extract(month FROM x))::int8 "
            "FROM (SELECT %s::interval) AS v(x)" % lit)
        vals.append((1186, value(PP["INTERVAL"], 1186, i=usec, i2=days, i3=months)))
    vals.append((0, value(PP["NULL"])))
    for n, (oid, v) in enumerate(vals):
        idx = OIDS.index(oid) if oid in OIDS else OIDS.index(25)
        write("encode", "value-%d" % n, bytes([0, idx]) + v)
        for mode in (0, 1):  # text, binary COPY; two rows of one column
            write("copy", "rows-%d-%d" % (mode, n), bytes([mode, 0, idx, idx, idx, idx]) + v + v)
    # column-major input (mode 2 text, 3 binary): a text column with offsets, NUL-separated
    for mode in (2, 3):
        text_col = bytes([2, PP["TEXT"], OIDS.index(25), 2 | 1]) + bytes(3 * 2 * 2 + 2) \
            + bytes([0, 3, 5]) + bytes([5]) + b"abc\tx"
        write("copy", "column-text-%d" % mode, bytes([mode, 0] + [OIDS.index(25)] * 4) + text_col)
        nul_col = bytes([2, PP["TEXT"], OIDS.index(25), 0]) + bytes(3 * 2 * 2 + 2) \
            + bytes([0, 0, 0]) + bytes([6]) + b"ab\0cd\0"
        write("copy", "column-nul-%d" % mode, bytes([mode, 0] + [OIDS.index(25)] * 4) + nul_col)
    conn.close()
    sizes = {d: len(os.listdir(os.path.join(CORPUS, d))) for d in sorted(os.listdir(CORPUS))}
    print("corpus:", ", ".join("%s %d" % kv for kv in sizes.items()))


if __name__ == "__main__":
    sys.exit(main())
