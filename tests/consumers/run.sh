#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/consumers/run.sh — libpostpyro used from other languages, the way a project outside
# this tree would (run-suite.sh's `consumers` step; PP_TEST_DSN names the server):
#   C++     examples/postpyro.hpp and tests/consumers/consumer.cpp, compiled in a scratch
#           directory against the public header and the built library only
#   ctypes  consumer_ctypes.py with $PYTHON (no cffi, no PostPyro)
#   LuaJIT  consumer.lua, whose ffi.cdef reads postpyro-ffi.cdef unedited
# A missing tool is a SKIP, or a FAIL under PP_REQUIRE_ALL=1. Also: postpyro-ffi.cdef is
# what gen_ffi_decls.py makes of postpyro.h now. Exit status 1 when anything failed.
set -uo pipefail
: "${TOP_SRCDIR:?}" "${TOP_BUILDDIR:?}" "${PP_TEST_DSN:?}" "${PP_SONAME:=libpostpyro.so.1}"
here="$TOP_SRCDIR/tests/consumers"
libdir="$TOP_BUILDDIR/libpostpyro/.libs"
lib="$libdir/$PP_SONAME"
cdef="$TOP_SRCDIR/libpostpyro/postpyro-ffi.cdef"
failed=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pp-consumers.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT

missing() {
    if [ "${PP_REQUIRE_ALL:-0}" = 1 ]; then echo "FAIL: $* (PP_REQUIRE_ALL=1)"; failed=1
    else echo "SKIP: $*"; fi
}
result() { if [ "$1" -eq 0 ]; then echo "PASS: $2"; else echo "FAIL: $2"; failed=1; fi; }

if [ -n "${PYTHON:-}" ]; then
    "$PYTHON" "$TOP_SRCDIR/libpostpyro/gen_ffi_decls.py" --check
    result $? "postpyro-ffi.cdef is up to date with postpyro.h"
fi

cxx=${CXX:-g++}
if command -v "$cxx" >/dev/null 2>&1; then
    mkdir "$scratch/include" && cp "$TOP_SRCDIR/libpostpyro/postpyro.h" \
        "$TOP_SRCDIR/examples/postpyro.hpp" "$here/consumer.cpp" "$scratch/include/" &&
    "$cxx" -std=c++17 -Wall -Wextra -Werror -I"$scratch/include" -o "$scratch/consumer" \
        "$scratch/include/consumer.cpp" -L"$libdir" -l:"$PP_SONAME" -Wl,-rpath,"$libdir" &&
    "$scratch/consumer" "$PP_TEST_DSN"
    result $? "C++ consumer (examples/postpyro.hpp)"
else
    missing "C++ consumer: no C++ compiler ($cxx; apt-get install g++)"
fi

if [ -n "${PYTHON:-}" ] && command -v "$PYTHON" >/dev/null 2>&1; then
    "$PYTHON" "$here/consumer_ctypes.py" "$lib" "$cdef" "$PP_TEST_DSN"
    result $? "ctypes consumer"
else
    missing "ctypes consumer: no Python (configured with --disable-python)"
fi

if command -v luajit >/dev/null 2>&1; then
    luajit "$here/consumer.lua" "$lib" "$cdef" "$PP_TEST_DSN"
    result $? "LuaJIT consumer"
else
    missing "LuaJIT consumer: luajit not found (apt-get install luajit)"
fi
exit $failed
