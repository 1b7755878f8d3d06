#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-pool.sh [--async] [options] — the connection pool benchmark (pool_bench.py; with
# --async the asyncio one, pool_bench_async.py) with the in-tree build, on the server in
# $PP_BENCH_DSN or else a throwaway one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=${PP_BENCH_BUILDDIR:-$top}
bench=pool_bench.py
if [ "${1:-}" = --async ]; then bench=pool_bench_async.py; shift; fi
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
lib="$builddir/libpostpyro/.libs/libpostpyro.so.1"
[ -f "$lib" ] || { echo "run-pool.sh: $lib not found: build first (./configure && make)" >&2; exit 1; }
export POSTPYRO_LIBRARY="$lib"
export LD_LIBRARY_PATH="$builddir/libpostpyro/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$builddir/postpyro_py/inplace${PYTHONPATH:+:$PYTHONPATH}"
if [ -n "${PP_BENCH_DSN:-}" ]; then
    exec "$py" "$here/$bench" --dsn "$PP_BENCH_DSN" "$@"
fi
bash "$top/tests/run-with-server.sh" bash -c \
    'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/$bench" "$@"
