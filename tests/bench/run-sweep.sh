#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-sweep.sh [sweep.py options] — the shape sweep (tests/bench/sweep.py) in one command.
#
#   tests/bench/run-sweep.sh                       quick profile, report on the terminal (≈ 5 min)
#   tests/bench/run-sweep.sh --profile full --json docs/benchmarks-sweep.json \
#       --md /tmp/sweep.md --svg docs/benchmarks-sweep.svg      the docs run (≈ 30 min on 2 cores)
#   tests/bench/run-sweep.sh --kinds int --cols 1,5 --drivers postpyro,psycopg2
#
# Builds the C floor (tests/bench/c_sweep.c, plain libpq) with cc -O2, uses the server in
# $PP_BENCH_DSN or else starts a throwaway one (tests/run-with-server.sh), and runs sweep.py
# with the freshly built libpostpyro and the in-tree PostPyro package. Needs a built tree,
# python3-psycopg2 and python3-asyncpg; PyPy (pypy3) when present.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=${PP_BENCH_BUILDDIR:-$top}
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

lib="$builddir/libpostpyro/.libs/libpostpyro.so.1"
[ -f "$lib" ] || { echo "run-sweep.sh: $lib not found: build first (./configure && make)" >&2; exit 1; }
export POSTPYRO_LIBRARY="$lib"
export PYTHONPATH="$builddir/postpyro_py/inplace${PYTHONPATH:+:$PYTHONPATH}"

cdir=$(mktemp -d "${TMPDIR:-/tmp}/pp-sweep.XXXXXX")
trap 'rm -rf "$cdir"' EXIT
if pkg-config --exists libpq 2>/dev/null; then
    pq_cflags=$(pkg-config --cflags libpq); pq_libs=$(pkg-config --libs libpq)
else
    pq_cflags="-I$(pg_config --includedir)"; pq_libs="-L$(pg_config --libdir) -lpq"
fi
# shellcheck disable=SC2086
${CC:-cc} -O2 -o "$cdir/c_sweep" "$here/c_sweep.c" $pq_cflags $pq_libs
export PP_BENCH_C_SWEEP="$cdir/c_sweep"

if [ -n "${PP_BENCH_DSN:-}" ]; then
    "$py" "$here/sweep.py" --dsn "$PP_BENCH_DSN" "$@"
    exit $?
fi
bash "$top/tests/run-with-server.sh" bash -c \
    'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/sweep.py" "$@"
