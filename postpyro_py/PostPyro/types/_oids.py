# SPDX-License-Identifier: MIT
"""Built-in type OIDs: names to OIDs (type_oid), array types and their elements, the names
errors use."""

from __future__ import annotations

from typing import Dict

from .. import errors as e


#: Built-in type names (and common aliases) -> OID. "name[]" is the array type.
TYPE_OIDS: Dict[str, int] = {
    "bool": 16, "boolean": 16, "bytea": 17, "char": 18, "name": 19,
    "int8": 20, "bigint": 20, "int2": 21, "smallint": 21, "int4": 23, "integer": 23,
    "int": 23, "text": 25, "oid": 26, "tid": 27, "xid": 28, "json": 114, "xml": 142,
    "point": 600, "cidr": 650, "float4": 700, "real": 700, "float8": 701,
    "double precision": 701, "money": 790, "macaddr": 829, "inet": 869,
    "bpchar": 1042, "character": 1042, "varchar": 1043, "character varying": 1043,
    "date": 1082, "time": 1083, "time without time zone": 1083,
    "timestamp": 1114, "timestamp without time zone": 1114,
    "timestamptz": 1184, "timestamp with time zone": 1184, "interval": 1186,
    "timetz": 1266, "time with time zone": 1266, "bit": 1560, "varbit": 1562,
    "numeric": 1700, "decimal": 1700, "uuid": 2950, "jsonb": 3802,
    "int2vector": 22, "regproc": 24, "cid": 29, "oidvector": 30, "lseg": 601, "path": 602,
    "box": 603, "polygon": 604, "line": 628, "circle": 718, "macaddr8": 774,
    "aclitem": 1033, "bit varying": 1562, "refcursor": 1790, "regprocedure": 2202,
    "regoper": 2203, "regoperator": 2204, "regclass": 2205, "regtype": 2206,
    "record": 2249, "void": 2278, "txid_snapshot": 2970, "pg_lsn": 3220, "tsvector": 3614,
    "tsquery": 3615, "regconfig": 3734, "regdictionary": 3769, "int4range": 3904,
    "numrange": 3906, "tsrange": 3908, "tstzrange": 3910, "daterange": 3912,
    "int8range": 3926, "jsonpath": 4072, "regnamespace": 4089, "regrole": 4096,
    "regcollation": 4191, "int4multirange": 4451, "nummultirange": 4532,
    "tsmultirange": 4533, "tstzmultirange": 4534, "datemultirange": 4535,
    "int8multirange": 4536, "pg_snapshot": 5038, "xid8": 5069,
}


#: Array type OID -> element type OID.
ARRAY_ELEMENT: Dict[int, int] = {
    1000: 16, 1001: 17, 1002: 18, 1003: 19, 1016: 20, 1005: 21, 1007: 23, 1009: 25,
    1028: 26, 1010: 27, 1011: 28, 199: 114, 143: 142, 651: 650, 1021: 700, 1022: 701,
    791: 790, 1040: 829, 1041: 869, 1014: 1042, 1015: 1043, 1182: 1082, 1183: 1083,
    1115: 1114, 1185: 1184, 1187: 1186, 1270: 1266, 1561: 1560, 1563: 1562, 1231: 1700,
    2951: 2950, 3807: 3802,
    1006: 22, 1008: 24, 1012: 29, 1013: 30, 1017: 600, 1018: 601, 1019: 602, 1020: 603,
    1027: 604, 629: 628, 719: 718, 775: 774, 1034: 1033, 2201: 1790, 2207: 2202,
    2208: 2203, 2209: 2204, 2210: 2205, 2211: 2206, 2287: 2249, 2949: 2970, 3221: 3220,
    3643: 3614, 3645: 3615, 3735: 3734, 3770: 3769, 3905: 3904, 3907: 3906, 3909: 3908,
    3911: 3910, 3913: 3912, 3927: 3926, 4073: 4072, 4090: 4089, 4097: 4096, 4192: 4191,
    6150: 4451, 6151: 4532, 6152: 4533, 6153: 4534, 6155: 4535, 6157: 4536, 5039: 5038,
    271: 5069,
}


#: Array type OID -> the delimiter between its elements when it is not a comma.
ARRAY_DELIM: Dict[int, str] = {1020: ";"}


_ARRAY_OF = {elem: arr for arr, elem in ARRAY_ELEMENT.items()}


for _name, _oid in list(TYPE_OIDS.items()):
    if _oid in _ARRAY_OF:
        TYPE_OIDS[_name + "[]"] = _ARRAY_OF[_oid]


del _name, _oid


def type_oid(name: str) -> int:
    """The OID of a built-in type name ("int4", "integer", "text[]", …)."""
    try:
        return TYPE_OIDS[" ".join(name.lower().split())]
    except KeyError:
        raise e.ProgrammingError("unknown built-in type name %r (give the OID, or pass "
                                 "conn= to look it up)" % (name,)) from None


_OID_NAMES = {}


for _name, _oid in TYPE_OIDS.items():
    _OID_NAMES.setdefault(_oid, _name)


del _name, _oid


def _oid_name(oid: int) -> str:
    return _OID_NAMES.get(oid, "type %d" % oid)
