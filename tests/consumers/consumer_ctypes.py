# SPDX-License-Identifier: MIT
"""A Python program that uses libpostpyro through ctypes only (no cffi, no PostPyro): the
constants come from postpyro-ffi.cdef (its enum lines), the structs are declared here.
Run by tests/consumers/run.sh: consumer_ctypes.py LIBRARY CDEF DSN."""
import ctypes
import re
import sys

lib_path, cdef_path, dsn = sys.argv[1:4]
with open(cdef_path, encoding="utf-8") as f:
    C = {m.group(1): int(m.group(2))
         for m in re.finditer(r"^enum \{ (\w+) = (-?\d+) \};", f.read(), re.M)}


class Value(ctypes.Structure):  # pp_value
    _fields_ = [("tag", ctypes.c_int32), ("oid", ctypes.c_uint32), ("i", ctypes.c_int64),
                ("i2", ctypes.c_int64), ("i3", ctypes.c_int64), ("f", ctypes.c_double),
                ("ptr", ctypes.c_void_p), ("len", ctypes.c_int64),
                ("dims", ctypes.POINTER(ctypes.c_int32))]


lib = ctypes.CDLL(lib_path)
P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
lib.pp_connect.restype = P
lib.pp_connect.argtypes = [ctypes.c_char_p, ctypes.c_uint32, PP]
lib.pp_exec.argtypes = [P, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(Value),
                        ctypes.c_uint32, PP, PP]
lib.pp_result_value.argtypes = [P, ctypes.c_int64, ctypes.c_int32, ctypes.POINTER(Value), PP]
lib.pp_result_nrows.restype = ctypes.c_int64
lib.pp_result_nrows.argtypes = [P]
lib.pp_result_free.argtypes = [P]
lib.pp_conn_free.argtypes = [P]
for name in ("pp_error_message", "pp_error_sqlstate", "pp_type_name"):
    getattr(lib, name).restype = ctypes.c_char_p
lib.pp_error_message.argtypes = lib.pp_error_sqlstate.argtypes = [P]
lib.pp_error_origin.argtypes = lib.pp_error_category.argtypes = lib.pp_error_free.argtypes = [P]
lib.pp_type_name.argtypes = [ctypes.c_uint32]

err = ctypes.c_void_p()
conn = lib.pp_connect(dsn.encode(), 0, ctypes.byref(err))
assert conn, lib.pp_error_message(err)
params = (Value * 2)()
text = ctypes.create_string_buffer(b"ctypes")
params[0] = Value(tag=C["PP_INT"], i=41)
params[1] = Value(tag=C["PP_TEXT"], ptr=ctypes.cast(text, ctypes.c_void_p), len=6)
res = ctypes.c_void_p()
rc = lib.pp_exec(conn, b"SELECT $1::int8 + 1, upper($2), now()", 2, params, 0,
                 ctypes.byref(res), ctypes.byref(err))
assert rc == C["PP_OK"], lib.pp_error_message(err)
assert lib.pp_result_nrows(res) == 1
v = Value()
assert lib.pp_result_value(res, 0, 0, ctypes.byref(v), None) == C["PP_OK"]
assert (v.tag, v.i) == (C["PP_INT"], 42)
assert lib.pp_result_value(res, 0, 1, ctypes.byref(v), None) == C["PP_OK"]
assert ctypes.string_at(v.ptr, v.len) == b"CTYPES"
assert lib.pp_result_value(res, 0, 2, ctypes.byref(v), None) == C["PP_OK"]
assert v.tag == C["PP_TIMESTAMPTZ"] and v.oid == C["PP_OID_TIMESTAMPTZ"]
assert lib.pp_type_name(v.oid) == b"timestamp with time zone"
lib.pp_result_free(res)
params[0] = Value(tag=C["PP_FLOAT"], f=1.5)
rc = lib.pp_exec(conn, b"SELECT $1::int4", 1, params, 0, ctypes.byref(res), ctypes.byref(err))
assert rc == C["PP_ERROR"]
assert lib.pp_error_category(err) == C["PP_ERR_PROGRAMMING"]
assert lib.pp_error_origin(err) == C["PP_ORIGIN_LIBRARY"]
assert lib.pp_error_message(err) == b"parameter $1: cannot send PP_FLOAT as integer"
lib.pp_error_free(err)
lib.pp_conn_free(conn)
print("ctypes consumer: ok")
