# SPDX-License-Identifier: MIT
"""The type table: every PostgreSQL type, both directions, both result formats.

Each case is an SQL literal and the Python value it must become. Every case runs three ways:

- ``binary``: ``SELECT <literal>`` through the extended protocol (binary results whenever
  libpostpyro has a decoder for the type);
- ``text``: the same through the simple-query protocol (a multi-statement string), which
  always yields text results;
- ``param``: the Python value sent back as a parameter and compared with the literal on the
  server (``$1::type = <literal>``, or a comparison of text forms for types without ``=``).

Both fetches must give the expected value with its exact Python type (``1.500`` stays
``Decimal('1.500')``, -0.0 keeps its sign, datetimes keep their UTC offset). docs/types.md
holds the same table in prose; keep them together.
"""

import math
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro import types as pgtypes

UTC = timezone.utc


def tz(hours=0, minutes=0, seconds=0):
    return timezone(timedelta(hours=hours, minutes=minutes, seconds=seconds))


class Case:
    """One row of the table.

    ``sqltype``: the type for the parameter check; ``literal``: an SQL expression of that
    type; ``expected``: the Python value; ``param``: what to send back (default: expected);
    ``cmp``: the comparison, with {p} for the parameter and {v} for the literal (default
    ``{p} = {v}``); ``timezone``: the session TimeZone for the whole case; ``infinity``: the
    case runs under ``set_infinity_mapping(True)`` (±infinity dates raise without it)."""

    def __init__(self, id, sqltype, literal, expected, param=None, cmp=None,
                 timezone="UTC", infinity=False):
        self.id = id
        self.sqltype = sqltype
        self.literal = literal
        self.expected = expected
        self.param = expected if param is None else param
        self.cmp = cmp or "{p} = {v}"
        self.timezone = timezone
        self.infinity = infinity


class Composite:
    """An expected value of a composite type registered by the fixture (its namedtuple)."""

    def __init__(self, typename, values):
        self.typename = typename
        self.values = values


TEXT_CMP = "({p})::text = ({v})::text"
JSONB_CMP = "({p})::jsonb = ({v})::jsonb"
BOUNDLESS_CMP = "({p})::text = regexp_replace(({v})::text, '^[^=]*=', '')"

MB = bytes(range(256)) * 4096  # 1 MiB

NASTY = ['a"b', "c\\d", "e,f", "{g}", " h ", "", "NULL", "null", "é☕", "x'y", "a b"]

CASES = [
    # ---- bool, integers, oid
    Case("bool-true", "bool", "true", True),
    Case("bool-false", "bool", "false", False),
    Case("int2-zero", "int2", "0::int2", 0),
    Case("int2-min", "int2", "(-32768)::int2", -32768),
    Case("int2-max", "int2", "32767::int2", 32767),
    Case("int4-min", "int4", "(-2147483648)::int4", -2147483648),
    Case("int4-max", "int4", "2147483647::int4", 2147483647),
    Case("int4-small", "int4", "42", 42),
    Case("int8-min", "int8", "(-9223372036854775808)::int8", -9223372036854775808),
    Case("int8-max", "int8", "9223372036854775807::int8", 9223372036854775807),
    Case("oid-zero", "oid", "0::oid", 0),
    Case("oid-max", "oid", "4294967295::oid", 4294967295),
    # ---- float4 (the exact float4 value), float8
    Case("float4-pi", "float4", "3.14::float4", 3.140000104904175),
    Case("float4-half", "float4", "0.5::float4", 0.5),
    Case("float4-nan", "float4", "'NaN'::float4", float("nan")),
    Case("float4-inf", "float4", "'Infinity'::float4", math.inf),
    Case("float4-ninf", "float4", "'-Infinity'::float4", -math.inf),
    Case("float4-negzero", "float4", "'-0'::float4", -0.0,
         cmp="{p} = {v} AND ({p})::text = '-0'"),
    Case("float4-tiny", "float4", "'1e-45'::float4", 1.401298464324817e-45),
    Case("float8-tenth", "float8", "0.1::float8", 0.1),
    Case("float8-negzero", "float8", "'-0'::float8", -0.0,
         cmp="{p} = {v} AND ({p})::text = '-0'"),
    Case("float8-nan", "float8", "'NaN'::float8", float("nan")),
    Case("float8-inf", "float8", "'Infinity'::float8", math.inf),
    Case("float8-ninf", "float8", "'-Infinity'::float8", -math.inf),
    Case("float8-max", "float8", "'1.7976931348623157e308'::float8", 1.7976931348623157e308),
    Case("float8-denormal", "float8", "'5e-324'::float8", 5e-324),
    Case("float8-big", "float8", "'-2.25e300'::float8", -2.25e300),
    # ---- numeric
    Case("numeric-scale", "numeric", "1.500::numeric", Decimal("1.500")),
    Case("numeric-typmod", "numeric", "12.5::numeric(10,3)", Decimal("12.500")),
    Case("numeric-neg", "numeric", "(-12.5)::numeric", Decimal("-12.5")),
    Case("numeric-zero", "numeric", "0::numeric", Decimal("0")),
    Case("numeric-small", "numeric", "0.00001::numeric", Decimal("0.00001")),
    Case("numeric-tiny", "numeric", "1e-20::numeric", Decimal("0.00000000000000000001")),
    Case("numeric-wide", "numeric", "123456789012345678901234567890.123456789::numeric",
         Decimal("123456789012345678901234567890.123456789")),
    Case("numeric-nan", "numeric", "'NaN'::numeric", Decimal("NaN")),
    Case("numeric-inf", "numeric", "'Infinity'::numeric", Decimal("Infinity")),
    Case("numeric-ninf", "numeric", "'-Infinity'::numeric", Decimal("-Infinity")),
    Case("numeric-1000-digits", "numeric", "('1' || repeat('0', 1000))::numeric",
         Decimal("1" + "0" * 1000)),
    Case("numeric-long-fraction", "numeric", "('-3.' || repeat('14', 600))::numeric",
         Decimal("-3." + "14" * 600)),
    # ---- character types
    Case("text-empty", "text", "''::text", ""),
    Case("text-ascii", "text", "'hello'::text", "hello"),
    Case("text-unicode", "text", "'naïve café ☕ 日本語 🐘'::text", "naïve café ☕ 日本語 🐘"),
    Case("text-quotes", "text", "E'a''b\"c\\\\d'", "a'b\"c\\d"),
    Case("text-controls", "text", "E'line1\\nline2\\ttab\\r'", "line1\nline2\ttab\r"),
    Case("text-null-word", "text", "'NULL'::text", "NULL"),
    Case("varchar", "varchar", "'abc'::varchar", "abc"),
    Case("varchar-n", "varchar(5)", "'abc'::varchar(5)", "abc"),
    Case("char-n-padded", "char(5)", "'ab'::char(5)", "ab   "),
    Case("bpchar", "bpchar", "'x'::bpchar", "x"),
    Case("name", "name", "'pg_class'::name", "pg_class"),
    Case("char-internal", '"char"', "'a'::\"char\"", "a"),
    Case("citext", "citext", "'MiXeD'::citext", "MiXeD"),
    Case("enum", "mood", "'happy'::mood", "happy"),
    Case("xml", "xml", "'<a b=\"1\">x &amp; y</a>'::xml", '<a b="1">x &amp; y</a>',
         cmp=TEXT_CMP),
    # ---- bytea
    Case("bytea-empty", "bytea", "''::bytea", b""),
    Case("bytea-nul", "bytea", "'\\x00'::bytea", b"\x00"),
    Case("bytea-all-bytes", "bytea",
         "decode(" + "'" + bytes(range(256)).hex() + "'" + ", 'hex')", bytes(range(256))),
    Case("bytea-megabyte", "bytea",
         "decode(repeat('" + bytes(range(256)).hex() + "', 4096), 'hex')", MB),
    # ---- date
    Case("date", "date", "'2023-12-25'::date", date(2023, 12, 25)),
    Case("date-epoch", "date", "'2000-01-01'::date", date(2000, 1, 1)),
    Case("date-before-epoch", "date", "'1999-12-31'::date", date(1999, 12, 31)),
    Case("date-unix-epoch", "date", "'1970-01-01'::date", date(1970, 1, 1)),
    Case("date-leap", "date", "'2024-02-29'::date", date(2024, 2, 29)),
    Case("date-year-2", "date", "'0002-01-01'::date", date(2, 1, 1)),
    Case("date-9999", "date", "'9999-12-30'::date", date(9999, 12, 30)),
    Case("date-max", "date", "'9999-12-31'::date", date.max),
    Case("date-min", "date", "'0001-01-01'::date", date.min),
    Case("date-infinity", "date", "'infinity'::date", date.max, infinity=True),
    Case("date-minus-infinity", "date", "'-infinity'::date", date.min, infinity=True),
    # ---- time, timetz
    Case("time-midnight", "time", "'00:00'::time", time(0, 0)),
    Case("time", "time", "'14:30:00'::time", time(14, 30)),
    Case("time-last-usec", "time", "'23:59:59.999999'::time", time(23, 59, 59, 999999)),
    Case("time-usec", "time", "'01:02:03.000004'::time", time(1, 2, 3, 4)),
    Case("timetz-utc", "timetz", "'14:30:15.0005+00'::timetz",
         time(14, 30, 15, 500, tzinfo=UTC)),
    Case("timetz-east", "timetz", "'14:30:15+02'::timetz", time(14, 30, 15, tzinfo=tz(2))),
    Case("timetz-west", "timetz", "'08:00:00-05'::timetz", time(8, 0, tzinfo=tz(-5))),
    Case("timetz-half-hour", "timetz", "'23:59:59.999999+05:30'::timetz",
         time(23, 59, 59, 999999, tzinfo=tz(5, 30))),
    Case("timetz-seconds", "timetz", "'12:00:00+05:45:30'::timetz",
         time(12, 0, tzinfo=tz(5, 45, 30))),
    # ---- timestamp (naive)
    Case("timestamp", "timestamp", "'2023-12-25 14:30'::timestamp", datetime(2023, 12, 25, 14, 30)),
    Case("timestamp-epoch", "timestamp", "'2000-01-01'::timestamp", datetime(2000, 1, 1)),
    Case("timestamp-usec", "timestamp", "'1969-07-20 20:17:40.123456'::timestamp",
         datetime(1969, 7, 20, 20, 17, 40, 123456)),
    Case("timestamp-year-1", "timestamp", "'0001-01-01 00:00:01'::timestamp",
         datetime(1, 1, 1, 0, 0, 1)),
    Case("timestamp-9999", "timestamp", "'9999-12-31 23:59:59'::timestamp",
         datetime(9999, 12, 31, 23, 59, 59)),
    Case("timestamp-max", "timestamp", "'9999-12-31 23:59:59.999999'::timestamp",
         datetime.max),
    Case("timestamp-infinity", "timestamp", "'infinity'::timestamp", datetime.max,
         infinity=True),
    Case("timestamp-minus-infinity", "timestamp", "'-infinity'::timestamp", datetime.min,
         infinity=True),
    Case("timestamp-ignores-timezone", "timestamp", "'2023-03-12 02:30'::timestamp",
         datetime(2023, 3, 12, 2, 30), timezone="America/New_York"),
    # ---- timestamptz: the same instant, in UTC, whatever the session's TimeZone
    Case("timestamptz-utc", "timestamptz", "'2023-01-15 12:00:00+00'::timestamptz",
         datetime(2023, 1, 15, 12, 0, tzinfo=UTC)),
    Case("timestamptz-ny-before-dst", "timestamptz", "'2023-03-12 01:59:59-05'::timestamptz",
         datetime(2023, 3, 12, 6, 59, 59, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-ny-after-dst", "timestamptz", "'2023-03-12 03:00:00-04'::timestamptz",
         datetime(2023, 3, 12, 7, 0, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-ny-fall-first", "timestamptz", "'2023-11-05 01:30:00-04'::timestamptz",
         datetime(2023, 11, 5, 5, 30, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-ny-fall-second", "timestamptz", "'2023-11-05 01:30:00-05'::timestamptz",
         datetime(2023, 11, 5, 6, 30, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-ny-summer", "timestamptz",
         "'2023-07-04 12:00:00.654321 America/New_York'::timestamptz",
         datetime(2023, 7, 4, 16, 0, 0, 654321, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-kolkata", "timestamptz", "'2023-06-01 08:00:00.000001+05:30'::timestamptz",
         datetime(2023, 6, 1, 2, 30, 0, 1, tzinfo=UTC), timezone="Asia/Kolkata"),
    Case("timestamptz-kolkata-midnight", "timestamptz",
         "'2024-01-01 00:00 Asia/Kolkata'::timestamptz",
         datetime(2023, 12, 31, 18, 30, tzinfo=UTC), timezone="Asia/Kolkata"),
    Case("timestamptz-ny-local-mean-time", "timestamptz",
         "'1850-01-01 00:00:00 America/New_York'::timestamptz",
         datetime(1850, 1, 1, 4, 56, 2, tzinfo=UTC), timezone="America/New_York"),
    Case("timestamptz-old", "timestamptz", "'1950-01-01 00:00-08'::timestamptz",
         datetime(1950, 1, 1, 8, 0, tzinfo=UTC)),
    Case("timestamptz-infinity", "timestamptz", "'infinity'::timestamptz",
         datetime.max.replace(tzinfo=UTC), timezone="Asia/Kolkata", infinity=True),
    Case("timestamptz-minus-infinity", "timestamptz", "'-infinity'::timestamptz",
         datetime.min.replace(tzinfo=UTC), infinity=True),
    # ---- interval (a month counts 30 days, a year 12 months)
    Case("interval-zero", "interval", "'00:00'::interval", timedelta(0)),
    Case("interval-parts", "interval", "'1 day 02:03:04.000005'::interval",
         timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5)),
    Case("interval-minus-second", "interval", "'-1 second'::interval", timedelta(seconds=-1)),
    Case("interval-mixed-signs", "interval", "'-3 days +05:00'::interval",
         timedelta(days=-3, hours=5)),
    Case("interval-microsecond", "interval", "'0.000001 seconds'::interval",
         timedelta(microseconds=1)),
    Case("interval-days", "interval", "'10000 days'::interval", timedelta(days=10000)),
    Case("interval-months", "interval", "'3 mons'::interval", timedelta(days=90)),
    Case("interval-years", "interval", "'1 year 2 mons 3 days 04:05:06.5'::interval",
         timedelta(days=423, hours=4, minutes=5, seconds=6.5)),
    Case("interval-negative-year", "interval", "'-1 year -1 day'::interval",
         timedelta(days=-361)),
    # ---- uuid, json, jsonb
    Case("uuid", "uuid", "'550e8400-e29b-41d4-a716-446655440000'::uuid",
         uuid.UUID("550e8400-e29b-41d4-a716-446655440000")),
    Case("uuid-max", "uuid", "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid",
         uuid.UUID(int=2 ** 128 - 1)),
    Case("json-object", "json", "'{\"a\": [1, 2.5, null, true], \"é\": \"☕\"}'::json",
         {"a": [1, 2.5, None, True], "é": "☕"}, cmp=JSONB_CMP),
    Case("json-list", "json", "'[1, \"two\", {}]'::json", [1, "two", {}],
         param=pg.Json([1, "two", {}]), cmp=JSONB_CMP),
    Case("json-string", "json", "'\"str\"'::json", "str", param=pg.Json("str"), cmp=JSONB_CMP),
    Case("json-number", "json", "'42'::json", 42, param=pg.Json(42), cmp=JSONB_CMP),
    Case("json-null", "json", "'null'::json", None, param=pg.Json(None), cmp=JSONB_CMP),
    Case("jsonb-object", "jsonb", "'{\"nested\": {\"a\": [1, {\"b\": null}]}}'::jsonb",
         {"nested": {"a": [1, {"b": None}]}}),
    Case("jsonb-empty-object", "jsonb", "'{}'::jsonb", {}),
    Case("jsonb-list", "jsonb", "'[1, 2, 3]'::jsonb", [1, 2, 3], param=pg.Json([1, 2, 3])),
    Case("jsonb-float", "jsonb", "'1.5'::jsonb", 1.5, param=pg.Json(1.5)),
    Case("jsonb-bool", "jsonb", "'true'::jsonb", True, param=pg.Json(True)),
    # ---- network, bit strings, money, text search
    Case("inet-v4", "inet", "'192.168.1.1'::inet", "192.168.1.1"),
    Case("inet-v4-prefix", "inet", "'10.0.0.1/8'::inet", "10.0.0.1/8"),
    Case("inet-v6", "inet", "'2001:db8::1'::inet", "2001:db8::1"),
    Case("cidr-v4", "cidr", "'192.168.0.0/24'::cidr", "192.168.0.0/24"),
    Case("cidr-v6", "cidr", "'2001:db8::/32'::cidr", "2001:db8::/32"),
    Case("macaddr", "macaddr", "'08:00:2b:01:02:03'::macaddr", "08:00:2b:01:02:03"),
    Case("macaddr8", "macaddr8", "'08:00:2b:01:02:03:04:05'::macaddr8",
         "08:00:2b:01:02:03:04:05"),
    Case("bit", "bit(3)", "B'101'", "101"),
    Case("varbit", "varbit", "B'1'::varbit", "1"),
    Case("varbit-empty", "varbit", "B''::varbit", ""),
    Case("money", "money", "12.5::money", "$12.50"),
    Case("money-negative", "money", "(-1234.56)::money", "-$1,234.56"),
    Case("tsvector", "tsvector", "'a fat cat'::tsvector", "'a' 'cat' 'fat'"),
    Case("tsquery", "tsquery", "'fat & rat'::tsquery", "'fat' & 'rat'"),
    # ---- geometric types (text forms; they have no plain '=')
    Case("point", "point", "'(1,2)'::point", "(1,2)", cmp=TEXT_CMP),
    Case("point-float", "point", "'(1.5,-2.25)'::point", "(1.5,-2.25)", cmp=TEXT_CMP),
    Case("line", "line", "'{1,-1,0}'::line", "{1,-1,0}", cmp=TEXT_CMP),
    Case("lseg", "lseg", "'[(0,0),(1,1)]'::lseg", "[(0,0),(1,1)]", cmp=TEXT_CMP),
    Case("box", "box", "'(1,1),(0,0)'::box", "(1,1),(0,0)", cmp=TEXT_CMP),
    Case("path", "path", "'((0,0),(1,1),(2,0))'::path", "((0,0),(1,1),(2,0))", cmp=TEXT_CMP),
    Case("polygon", "polygon", "'((0,0),(1,1),(1,0))'::polygon", "((0,0),(1,1),(1,0))",
         cmp=TEXT_CMP),
    Case("circle", "circle", "'<(0,0),1>'::circle", "<(0,0),1>", cmp=TEXT_CMP),
    # ---- ranges and multiranges
    Case("int4range", "int4range", "'[1,5)'::int4range", pg.Range(1, 5, "[)")),
    Case("int4range-canonical", "int4range", "'[1,4]'::int4range", pg.Range(1, 5, "[)")),
    Case("int4range-empty", "int4range", "'empty'::int4range", pg.Range(empty=True)),
    Case("int4range-unbounded", "int4range", "'(,5]'::int4range", pg.Range(None, 6, "()")),
    Case("int8range", "int8range", "'[1,9223372036854775806]'::int8range",
         pg.Range(1, 9223372036854775807, "[)")),
    Case("numrange", "numrange", "'[1.5,2.50]'::numrange",
         pg.Range(Decimal("1.5"), Decimal("2.50"), "[]")),
    Case("numrange-unbounded", "numrange", "'(0,)'::numrange",
         pg.Range(Decimal("0"), None, "()")),
    Case("daterange", "daterange", "'[2020-01-01,2020-02-01)'::daterange",
         pg.Range(date(2020, 1, 1), date(2020, 2, 1))),
    Case("daterange-infinity", "daterange", "'[2020-01-01,infinity)'::daterange",
         pg.Range(date(2020, 1, 1), date.max), infinity=True),
    Case("tsrange", "tsrange", "'[2020-01-01 10:00,2020-01-01 12:00]'::tsrange",
         pg.Range(datetime(2020, 1, 1, 10), datetime(2020, 1, 1, 12), "[]")),
    Case("tstzrange", "tstzrange", "'[2023-03-12 01:00-05,2023-03-12 04:00-04)'::tstzrange",
         pg.Range(datetime(2023, 3, 12, 6, tzinfo=UTC), datetime(2023, 3, 12, 8, tzinfo=UTC)),
         timezone="America/New_York"),
    Case("int4multirange", "int4multirange", "'{[1,3),[5,7)}'::int4multirange",
         pg.Multirange([pg.Range(1, 3), pg.Range(5, 7)])),
    Case("int4multirange-empty", "int4multirange", "'{}'::int4multirange", pg.Multirange()),
    Case("nummultirange", "nummultirange", "'{(,0],[1.5,2)}'::nummultirange",
         pg.Multirange([pg.Range(None, Decimal(0), "(]"),
                        pg.Range(Decimal("1.5"), Decimal(2))])),
    Case("datemultirange", "datemultirange", "'{[2020-01-01,2020-01-05)}'::datemultirange",
         pg.Multirange([pg.Range(date(2020, 1, 1), date(2020, 1, 5))])),
    Case("tstzmultirange", "tstzmultirange",
         "'{[2024-01-01 00:00+05:30,)}'::tstzmultirange",
         pg.Multirange([pg.Range(datetime(2023, 12, 31, 18, 30, tzinfo=UTC), None)]),
         timezone="Asia/Kolkata"),
    Case("user-range", "floatrange", "'[1.5,2.5)'::floatrange", pg.Range(1.5, 2.5)),
    # ---- composites, domains, hstore (types of the database, see register_type)
    Case("composite", "pair", "ROW(1, 'x y', '{2020-01-01,NULL}')::pair",
         Composite("pair", (1, "x y", [date(2020, 1, 1), None]))),
    Case("composite-nulls-and-quotes", "pair", "ROW(NULL, 'a\"b,c\\d()', NULL)::pair",
         Composite("pair", (None, 'a"b,c\\d()', None))),
    Case("composite-nested", "outer_t", "ROW(ROW(2, '', '{}')::pair, 1.5)::outer_t",
         Composite("outer_t", (Composite("pair", (2, "", [])), Decimal("1.5")))),
    Case("record", "text", "ROW(1, 'a b', NULL)", '(1,"a b",)', cmp="{p} = ({v})::text"),
    Case("domain", "posint", "5::posint", 5),
    Case("domain-over-text", "email", "'a@b.c'::email", "a@b.c"),
    Case("hstore", "hstore", r"""'a=>1, b=>NULL, "c d"=>"e\"f", "\\"=>""'::hstore""",
         pg.Hstore({"a": "1", "b": None, "c d": 'e"f', "\\": ""})),
    Case("hstore-empty", "hstore", "''::hstore", pg.Hstore()),
    # ---- system types
    Case("regclass", "regclass", "'pg_class'::regclass", "pg_class"),
    Case("regtype", "regtype", "'integer'::regtype", "integer"),
    Case("pg-lsn", "pg_lsn", "'16/B374D848'::pg_lsn", "16/B374D848"),
    Case("tid", "tid", "'(0,1)'::tid", "(0,1)"),
    Case("xid", "xid", "'42'::xid", 42),
    Case("xid8", "xid8", "'18446744073709551615'::xid8", 18446744073709551615),
    Case("cid", "cid", "'7'::cid", 7, cmp="({p})::text = ({v})::text"),
    Case("int2vector", "int2vector", "'1 2 3'::int2vector", [1, 2, 3], param="1 2 3"),
    Case("int2vector-empty", "int2vector", "''::int2vector", [], param=""),
    Case("oidvector", "oidvector", "'23 25'::oidvector", [23, 25], param="23 25"),
    Case("oidvector-array", "oidvector[]", "'{\"23 25\",NULL,\"\"}'::oidvector[]",
         [[23, 25], None, []], param=["23 25", None, ""], cmp="{p}::text = {v}::text"),
    Case("jsonpath", "jsonpath", "'$.a[*] ? (@ > 1)'::jsonpath", '$."a"[*]?(@ > 1)',
         cmp=TEXT_CMP),
    Case("pg-snapshot", "pg_snapshot", "'10:20:10,14,15'::pg_snapshot", "10:20:10,14,15",
         cmp=TEXT_CMP),
    # ---- arrays
    Case("int4-array", "int4[]", "'{1,2,3}'::int4[]", [1, 2, 3]),
    Case("int4-array-nulls", "int4[]", "'{1,NULL,3}'::int4[]", [1, None, 3]),
    Case("int4-array-all-null", "int4[]", "'{NULL}'::int4[]", [None]),
    Case("int4-array-2d", "int4[]", "'{{1,2},{3,4}}'::int4[]", [[1, 2], [3, 4]]),
    Case("int4-array-2d-nulls", "int4[]", "'{{1,NULL},{NULL,4}}'::int4[]",
         [[1, None], [None, 4]]),
    Case("int4-array-3d", "int4[]", "'{{{1,2}},{{3,4}}}'::int4[]", [[[1, 2]], [[3, 4]]]),
    Case("int4-array-6d", "int4[]", "'{{{{{{1,2}}}}},{{{{{3,4}}}}}}'::int4[]",
         [[[[[[1, 2]]]]], [[[[[3, 4]]]]]]),
    Case("int4-array-empty", "int4[]", "'{}'::int4[]", []),
    # Lower bounds other than 1 are dropped: compare without the [m:n]= decoration.
    Case("int4-array-lower-bound", "int4[]", "'[0:2]={7,8,9}'::int4[]", [7, 8, 9],
         cmp=BOUNDLESS_CMP),
    Case("int4-array-2d-lower-bounds", "int4[]", "'[1:1][3:4]={{1,2}}'::int4[]", [[1, 2]],
         cmp=BOUNDLESS_CMP),
    Case("int2-array", "int2[]", "'{-32768,32767}'::int2[]", [-32768, 32767]),
    Case("int8-array", "int8[]", "ARRAY[4611686018427387904, -1]::int8[]",
         [2 ** 62, -1]),
    Case("oid-array", "oid[]", "'{1,4294967295}'::oid[]", [1, 4294967295]),
    Case("bool-array", "bool[]", "'{t,f,NULL}'::bool[]", [True, False, None]),
    Case("float4-array", "float4[]", "'{0.1,NaN,-Infinity}'::float4[]",
         [0.10000000149011612, float("nan"), -math.inf]),
    Case("float8-array", "float8[]", "'{1.5,Infinity,-0}'::float8[]", [1.5, math.inf, -0.0]),
    Case("numeric-array", "numeric[]", "'{1.10,-2,NaN,NULL}'::numeric[]",
         [Decimal("1.10"), Decimal("-2"), Decimal("NaN"), None]),
    Case("text-array-nasty", "text[]", "ARRAY[" + ", ".join(
        "'" + s.replace("'", "''") + "'" for s in NASTY) + ", NULL]::text[]", NASTY + [None]),
    Case("text-array-2d", "text[]", "'{{x,NULL},{\"y z\",\"}\"}}'::text[]",
         [["x", None], ["y z", "}"]]),
    Case("text-array-empty", "text[]", "'{}'::text[]", []),
    Case("varchar-array", "varchar[]", "'{a,\"b,c\"}'::varchar[]", ["a", "b,c"]),
    Case("bpchar-array", "char(2)[]", "'{a,bc}'::char(2)[]", ["a ", "bc"]),
    Case("name-array", "name[]", "'{pg_class,pg_type}'::name[]", ["pg_class", "pg_type"]),
    Case("char-array", '"char"[]', "'{a,b}'::\"char\"[]", ["a", "b"]),
    Case("bytea-array", "bytea[]", "ARRAY['\\x0001'::bytea, '', NULL]", [b"\x00\x01", b"", None]),
    Case("date-array", "date[]", "'{2023-01-01,NULL,infinity}'::date[]",
         [date(2023, 1, 1), None, date.max], infinity=True),
    Case("time-array", "time[]", "'{01:02:03,23:59:59.999999}'::time[]",
         [time(1, 2, 3), time(23, 59, 59, 999999)]),
    Case("timetz-array", "timetz[]", "'{01:02:03+05:30}'::timetz[]",
         [time(1, 2, 3, tzinfo=tz(5, 30))]),
    Case("timestamp-array", "timestamp[]",
         "'{\"2023-01-01 12:30:00.000005\",-infinity}'::timestamp[]",
         [datetime(2023, 1, 1, 12, 30, 0, 5), datetime.min], infinity=True),
    Case("timestamptz-array", "timestamptz[]",
         "ARRAY['2023-03-12 01:30-05', '2023-03-12 03:30-04']::timestamptz[]",
         [datetime(2023, 3, 12, 6, 30, tzinfo=UTC), datetime(2023, 3, 12, 7, 30, tzinfo=UTC)],
         timezone="America/New_York"),
    Case("interval-array", "interval[]",
         "'{\"1 day 00:00:05\",\"-00:00:01\",\"1 mon\"}'::interval[]",
         [timedelta(days=1, seconds=5), timedelta(seconds=-1), timedelta(days=30)]),
    Case("uuid-array", "uuid[]", "'{00000000-0000-0000-0000-000000000001,NULL}'::uuid[]",
         [uuid.UUID(int=1), None]),
    Case("json-array", "json[]", "ARRAY['{\"a\": 1}'::json, NULL]", [{"a": 1}, None],
         cmp="({p})::jsonb[] = ({v})::jsonb[]"),
    Case("jsonb-array", "jsonb[]", "ARRAY['{\"a\": [1]}'::jsonb, '{}']", [{"a": [1]}, {}]),
    Case("inet-array", "inet[]", "'{10.0.0.1,::1,NULL}'::inet[]", ["10.0.0.1", "::1", None]),
    Case("cidr-array", "cidr[]", "'{10.0.0.0/8}'::cidr[]", ["10.0.0.0/8"]),
    Case("macaddr-array", "macaddr[]", "'{08:00:2b:01:02:03}'::macaddr[]",
         ["08:00:2b:01:02:03"]),
    Case("bit-array", "varbit[]", "'{101,\"\"}'::varbit[]", ["101", ""]),
    Case("money-array", "money[]", "'{1.5,-2}'::money[]", ["$1.50", "-$2.00"]),
    Case("xml-array", "xml[]", "ARRAY['<a/>'::xml]", ["<a/>"],
         cmp="({p})::text[] = ({v})::text[]"),
    Case("point-array", "point[]", "'{\"(1,2)\",\"(3,4)\"}'::point[]", ["(1,2)", "(3,4)"],
         cmp="({p})::text = ({v})::text"),
    Case("box-array", "box[]", "'{(1,1),(0,0);(2,2),(1,1)}'::box[]",
         ["(1,1),(0,0)", "(2,2),(1,1)"], param="{(1,1),(0,0);(2,2),(1,1)}", cmp=TEXT_CMP),
    Case("tsvector-array", "tsvector[]", "ARRAY['a b'::tsvector]", ["'a' 'b'"]),
    Case("int4range-array", "int4range[]", "ARRAY['[1,3)'::int4range, 'empty', NULL]",
         [pg.Range(1, 3), pg.Range(empty=True), None]),
    Case("daterange-array", "daterange[]", "ARRAY['[2020-01-01,)'::daterange]",
         [pg.Range(date(2020, 1, 1), None)]),
    Case("int4multirange-array", "int4multirange[]",
         "ARRAY['{[1,2),[4,5)}'::int4multirange]",
         [pg.Multirange([pg.Range(1, 2), pg.Range(4, 5)])]),
    Case("enum-array", "mood[]", "'{sad,happy,NULL}'::mood[]", ["sad", "happy", None]),
    Case("citext-array", "citext[]", "'{A,b}'::citext[]", ["A", "b"]),
    Case("domain-array", "posint[]", "'{1,2}'::posint[]", [1, 2]),
    Case("composite-array", "pair[]", "ARRAY[ROW(1, 'x', NULL)::pair, NULL]",
         [Composite("pair", (1, "x", None)), None]),
    Case("hstore-array", "hstore[]", "ARRAY['a=>1'::hstore, NULL]",
         [pg.Hstore({"a": "1"}), None]),
    Case("regtype-array", "regtype[]", "'{integer,text}'::regtype[]", ["integer", "text"]),
]


@pytest.fixture(scope="module")
def tconn(admin, dsn):
    """One connection for the whole table, with the database types the table needs."""
    import uuid as _uuid
    from conftest import dsn_with

    schema = "tt_" + _uuid.uuid4().hex[:12]
    admin.execute("CREATE SCHEMA " + schema)
    infos = {}
    c = None
    try:  # the schema goes even when the setup fails
        c = pg.Connection(dsn_with(dsn, options="-c search_path=%s,public" % schema))
        c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        c.execute("CREATE TYPE pair AS (a int, b text, c date[])")
        c.execute("CREATE TYPE outer_t AS (p pair, n numeric)")
        c.execute("CREATE DOMAIN posint AS int CHECK (VALUE > 0)")
        c.execute("CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%')")
        c.execute("CREATE TYPE floatrange AS RANGE (subtype = float8)")
        c.execute("SET lc_monetary TO 'C'")
        for name in ["mood", "pair", "outer_t", "posint", "email", "floatrange", "hstore",
                     "citext"]:
            infos[name] = pg.register_type(c, name)
        c.infos = infos
        yield c
    finally:
        for info in infos.values():
            pgtypes.unregister_type(info)
        if c is not None:
            c.close()
        admin.execute("DROP SCHEMA %s CASCADE" % schema)


def resolve(conn, x):
    """The expected value with Composite placeholders made into the registered classes."""
    if isinstance(x, Composite):
        cls = conn.infos[x.typename].python_type
        return cls(*[resolve(conn, v) for v in x.values])
    if type(x) is list:
        return [resolve(conn, v) for v in x]
    return x


def same(a, b):
    """a == b, with the same Python types all the way down, NaN equal to NaN, -0.0 apart
    from 0.0, Decimal exponents and UTC offsets compared too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (datetime, time)):
        return a == b and (a.tzinfo is None) == (b.tzinfo is None) and \
            a.utcoffset() == b.utcoffset()
    if isinstance(a, pg.Range):
        return same(a.lower, b.lower) and same(a.upper, b.upper) and a.bounds == b.bounds
    if isinstance(a, pg.Multirange):
        return same(list(a), list(b))
    return a == b


@pytest.fixture
def infinity(case):
    """The case's set_infinity_mapping, for the test."""
    pgtypes.set_infinity_mapping(case.infinity)
    yield
    pgtypes.set_infinity_mapping(False)


def fetch(conn, case, protocol):
    conn.execute("SET TimeZone TO '%s'" % case.timezone)
    sql = "SELECT %s AS v" % case.literal
    if protocol == "text":
        sql = "SELECT 1; " + sql  # several commands: the simple protocol, text results
    rows = conn.query(sql)
    assert len(rows) == 1
    return rows[0]["v"]


def test_the_table_has_at_least_150_cases():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_binary_fetch(tconn, case, infinity):
    value = fetch(tconn, case, "binary")
    expected = resolve(tconn, case.expected)
    assert same(value, expected), "%r != %r" % (value, expected)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_text_fetch(tconn, case, infinity):
    value = fetch(tconn, case, "text")
    expected = resolve(tconn, case.expected)
    assert same(value, expected), "%r != %r" % (value, expected)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sent_back_as_a_parameter_equals_the_literal(tconn, case, infinity):
    tconn.execute("SET TimeZone TO '%s'" % case.timezone)
    param = resolve(tconn, case.param)
    p = "$1::%s" % case.sqltype
    sql = "SELECT (%s) AS eq" % case.cmp.format(p=p, v=case.literal)
    assert tconn.query_one(sql, [param])["eq"] is True


# Types the fixture creates -> how docs/types.md names their kind.
USER_TYPES = {"mood": "enum types", "pair": "composite types", "outer_t": "composite types",
              "posint": "domains", "email": "domains",
              "floatrange": "user-defined range and multirange types"}


def test_docs_type_table_names_every_type_of_this_table():
    import os
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                        "docs", "types.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    missing = []
    for case in CASES:
        base = case.sqltype[:-2] if case.sqltype.endswith("[]") else case.sqltype
        base = re.sub(r"\(\d+\)", "(n)", base)
        name = USER_TYPES.get(base, "`%s`" % base)
        if name not in doc:
            missing.append(name)
    assert not missing, "docs/types.md does not name: %s" % ", ".join(sorted(set(missing)))
