# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# benchenv.sh — sourced by run.sh, run-sweep.sh and run-pool.sh (`. benchenv.sh NAME`, NAME
# for the messages): the in-tree build's environment (POSTPYRO_LIBRARY, LD_LIBRARY_PATH,
# PYTHONPATH; $PP_BENCH_BUILDDIR for another build tree), the C floor's build, and how a
# benchmark script gets its server.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=${PP_BENCH_BUILDDIR:-$top}
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

lib="$builddir/libpostpyro/.libs/libpostpyro.so.1"
[ -f "$lib" ] || { echo "$1: $lib not found: build first (./configure && make)" >&2; exit 1; }
export POSTPYRO_LIBRARY="$lib"
export LD_LIBRARY_PATH="$builddir/libpostpyro/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$builddir/postpyro_py/inplace${PYTHONPATH:+:$PYTHONPATH}"

# build_c_floor SOURCE [LIBS...]: compiles tests/bench/SOURCE (plain libpq) with cc -O2 into
# a temporary directory removed at exit; sets c_floor to the program's path. (Not in $(…):
# the directory must outlive the call.)
build_c_floor() {
    local src=$1 pq_cflags pq_libs
    shift
    cdir=$(mktemp -d "${TMPDIR:-/tmp}/pp-bench.XXXXXX")
    trap 'rm -rf "$cdir"' EXIT
    if pkg-config --exists libpq 2>/dev/null; then
        pq_cflags=$(pkg-config --cflags libpq); pq_libs=$(pkg-config --libs libpq)
    else
        pq_cflags="-I$(pg_config --includedir)"; pq_libs="-L$(pg_config --libdir) -lpq"
    fi
    c_floor="$cdir/${src%.c}"
    # shellcheck disable=SC2086
    ${CC:-cc} -O2 -o "$c_floor" "$here/$src" $pq_cflags $pq_libs "$@"
}

# run_bench SCRIPT ARGS...: runs tests/bench/SCRIPT on the server in $PP_BENCH_DSN, or else on
# a throwaway one (run-with-server.sh sets PP_TEST_DSN, the Unix socket, and always stops it;
# a PP_TEST_DSN already set is used as is, like the tests do).
run_bench() {
    local script=$1
    shift
    if [ -n "${PP_BENCH_DSN:-}" ]; then
        "$py" "$here/$script" --dsn "$PP_BENCH_DSN" "$@"
        return
    fi
    bash "$top/tests/run-with-server.sh" bash -c \
        'exec "$0" "$1" --dsn "$PP_TEST_DSN" "${@:2}"' "$py" "$here/$script" "$@"
}
