#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh [bench.py options] — PostPyro's benchmark in one command.
#
#   tests/bench/run.sh                  full run (≈ 12 min on 2 cores), report in docs/
#   tests/bench/run.sh --quick          sizes ÷ 10, one repeat: a smoke run (≈ 40 s)
#   tests/bench/run.sh --repeats 3 --workloads large,types --drivers postpyro,psycopg2
#   tests/bench/run.sh --async [--quick] [--repeats 5]   the async benchmark (bench_async.py)
#   tests/bench/run.sh --threads [--quick] [--repeats 5]  threads and per-statement cost
#                                                         (bench_threads.py)
#
# It builds the C floor program (tests/bench/c_client.c, plain libpq) with cc -O2, uses the
# server in $PP_BENCH_DSN or else starts a throwaway one (tests/run-with-server.sh), and runs
# tests/bench/bench.py with the freshly built libpostpyro and the in-tree PostPyro package.
# The report goes to docs/benchmarks.md (+ .png plot, + .json raw numbers) unless --out is
# given; with --quick it goes to the terminal only unless --out is given.
# Needs: a built tree (`make`), python3 with python3-psycopg2, python3-psycopg,
# python3-asyncpg (Debian packages), optionally pypy3 and python3-matplotlib.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=${PP_BENCH_BUILDDIR:-$top}

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

lib="$builddir/libpostpyro/.libs/libpostpyro.so.1"
[ -f "$lib" ] || { echo "run.sh: $lib not found: build first (./configure && make)" >&2; exit 1; }
export POSTPYRO_LIBRARY="$lib"
export LD_LIBRARY_PATH="$builddir/libpostpyro/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$builddir/postpyro_py/inplace${PYTHONPATH:+:$PYTHONPATH}"

# --async: the async benchmark (tests/bench/bench_async.py) instead; its report goes to the
# terminal (and to --out FILE when given): paste it into docs/benchmarks.md's async section.
if [ "${1:-}" = --async ]; then
    shift
    if [ -n "${PP_BENCH_DSN:-}" ]; then
        exec "$py" "$here/bench_async.py" --dsn "$PP_BENCH_DSN" "$@"
    fi
    exec bash "$top/tests/run-with-server.sh" bash -c \
        'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/bench_async.py" "$@"
fi

# --threads: per-statement cost and thread scaling (tests/bench/bench_threads.py) instead.
if [ "${1:-}" = --threads ]; then
    shift
    if [ -n "${PP_BENCH_DSN:-}" ]; then
        exec "$py" "$here/bench_threads.py" --dsn "$PP_BENCH_DSN" "$@"
    fi
    exec bash "$top/tests/run-with-server.sh" bash -c \
        'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/bench_threads.py" "$@"
fi

# The C floor.
cdir=$(mktemp -d "${TMPDIR:-/tmp}/pp-bench.XXXXXX")
trap 'rm -rf "$cdir"' EXIT
if pkg-config --exists libpq 2>/dev/null; then
    pq_cflags=$(pkg-config --cflags libpq); pq_libs=$(pkg-config --libs libpq)
else
    pq_cflags="-I$(pg_config --includedir)"; pq_libs="-L$(pg_config --libdir) -lpq"
fi
# shellcheck disable=SC2086
${CC:-cc} -O2 -o "$cdir/c_client" "$here/c_client.c" $pq_cflags $pq_libs -lpthread
export PP_BENCH_C_CLIENT="$cdir/c_client"

args=("$@")
has_out=no; quick=no
for a in "$@"; do
    case $a in --out|--out=*) has_out=yes ;; --quick) quick=yes ;; esac
done
if [ $has_out = no ] && [ $quick = no ]; then
    args+=(--out "$top/docs/benchmarks.md")
fi

if [ -n "${PP_BENCH_DSN:-}" ]; then
    "$py" "$here/bench.py" --dsn "$PP_BENCH_DSN" "${args[@]}"
    exit $?
fi
# A throwaway server; run-with-server.sh sets PP_TEST_DSN (the Unix socket) and always stops
# it. A PP_TEST_DSN already set would be used as is, like the tests do.
bash "$top/tests/run-with-server.sh" bash -c \
    'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/bench.py" "${args[@]}"
