#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-pool.sh [--async] [options] — the connection pool benchmark (pool_bench.py; with
# --async the asyncio one, pool_bench_async.py) with the in-tree build, on the server in
# $PP_BENCH_DSN or else a throwaway one.
set -euo pipefail
# shellcheck source=tests/bench/benchenv.sh
. "$(dirname "${BASH_SOURCE[0]}")/benchenv.sh" run-pool.sh
bench=pool_bench.py
if [ "${1:-}" = --async ]; then bench=pool_bench_async.py; shift; fi
run_bench "$bench" "$@"
