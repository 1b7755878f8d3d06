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
# shellcheck source=tests/bench/benchenv.sh
. "$(dirname "${BASH_SOURCE[0]}")/benchenv.sh" run.sh

# --async: the async benchmark (tests/bench/bench_async.py) instead; its report goes to the
# terminal (and to --out FILE when given): paste it into docs/benchmarks.md's async section.
if [ "${1:-}" = --async ]; then
    shift
    run_bench bench_async.py "$@"
    exit
fi

# --threads: per-statement cost and thread scaling (tests/bench/bench_threads.py) instead.
if [ "${1:-}" = --threads ]; then
    shift
    run_bench bench_threads.py "$@"
    exit
fi

# The C floor.
build_c_floor c_client.c -lpthread
export PP_BENCH_C_CLIENT="$c_floor"

args=("$@")
has_out=no; quick=no
for a in "$@"; do
    case $a in --out|--out=*) has_out=yes ;; --quick) quick=yes ;; esac
done
if [ $has_out = no ] && [ $quick = no ]; then
    args+=(--out "$top/docs/benchmarks.md")
fi

run_bench bench.py "${args[@]}"
