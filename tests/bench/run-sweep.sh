#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-sweep.sh [sweep.py options] — the shape sweep (tests/bench/sweep.py) in one command.
#
#   tests/bench/run-sweep.sh                       quick profile, report on the terminal (≈ 4 min)
#   tests/bench/run-sweep.sh --profile full --json docs/benchmarks-sweep.json \
#       --svg docs/benchmarks-sweep.svg --into docs/benchmarks.md
#       the docs run, ≈ 22 min on 2 cores: the sweep (≈ 19.5 min with psycopg 3), then the
#       thread curve (≈ 2.5 min; threads 1/2/4/8 × SELECT $1::int4) in the same report and JSON
#   tests/bench/run-sweep.sh --threads --thread-repeats 1 ...     the thread curve after a quick run
#   tests/bench/run-sweep.sh --kinds int --cols 1,5 --drivers postpyro,psycopg2
#   tests/bench/run-sweep.sh --kinds text --cols 20 --rows 1000,10000 --rounds 9    a few cells
#
# Every driver is one worker process, connected once; in each cell the drivers run in rounds
# that alternate between them (order shuffled per round), and a ratio is the median of the
# per-round ratios (tests/bench/README.md, "The shape sweep").
#
# Builds the C floor (tests/bench/c_sweep.c, plain libpq) with cc -O2, uses the server in
# $PP_BENCH_DSN or else starts a throwaway one (tests/run-with-server.sh), and runs sweep.py
# with the freshly built libpostpyro and the in-tree PostPyro package. Needs a built tree,
# python3-psycopg2, python3-psycopg and python3-asyncpg; PyPy (pypy3) when present.
set -euo pipefail
# shellcheck source=tests/bench/benchenv.sh
. "$(dirname "${BASH_SOURCE[0]}")/benchenv.sh" run-sweep.sh
build_c_floor c_sweep.c
export PP_BENCH_C_SWEEP="$c_floor"
run_bench sweep.py "$@"
