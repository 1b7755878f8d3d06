-- SPDX-License-Identifier: MIT
-- consumer.lua — LuaJIT's FFI over libpostpyro, declarations read unedited from
-- postpyro-ffi.cdef. Run by tests/consumers/run.sh: luajit consumer.lua LIBRARY CDEF DSN.
local ffi = require("ffi")
local lib_path, cdef_path, dsn = arg[1], arg[2], arg[3]
local f = assert(io.open(cdef_path))
ffi.cdef(f:read("*a"))
f:close()
local pp = ffi.load(lib_path)

local function check(cond, what)
  if not cond then error("LuaJIT consumer: " .. what, 2) end
end

local err = ffi.new("pp_error *[1]")
local conn = pp.pp_connect(dsn, 0, err)
check(conn ~= nil, "connect")
conn = ffi.gc(conn, pp.pp_conn_free)

local params = ffi.new("pp_value[2]")
params[0].tag = pp.PP_INT
params[0].i = 20
local s = "luajit"
params[1].tag = pp.PP_TEXT
params[1].ptr = s
params[1].len = #s
local out = ffi.new("pp_result *[1]")
local rc = pp.pp_exec(conn, "SELECT $1::int8 * 2 AS n, $2 || '!' AS s", 2, params, 0, out, err)
check(rc == pp.PP_OK, "exec")
local res = ffi.gc(out[0], pp.pp_result_free)
check(pp.pp_result_nrows(res) == 1, "one row")
local n = pp.pp_result_column_index(res, "n")
local v = ffi.new("pp_value")
check(pp.pp_result_value(res, 0, n, v, nil) == pp.PP_OK, "value")
check(v.tag == pp.PP_INT and v.i == 40, "int8 value")
check(pp.pp_result_value(res, 0, pp.pp_result_column_index(res, "s"), v, nil) == pp.PP_OK, "text")
check(ffi.string(v.ptr, v.len) == "luajit!", "text value")

rc = pp.pp_exec(conn, "SELECT 1/0", 0, nil, 0, out, err)
check(rc == pp.PP_ERROR, "division by zero fails")
check(pp.pp_error_category(err[0]) == pp.PP_ERR_DATA, "category")
check(ffi.string(pp.pp_error_sqlstate(err[0])) == "22012", "sqlstate")
check(pp.pp_error_origin(err[0]) == pp.PP_ORIGIN_SERVER, "origin")
pp.pp_error_free(err[0])
check(ffi.string(pp.pp_type_name(pp.PP_OID_JSONB)) == "jsonb", "type name")
local parts = ffi.new("pp_datetime")
check(pp.pp_date_to_parts(0, parts, nil) == pp.PP_OK and parts.year == 2000, "date parts")
print("LuaJIT consumer: ok")
