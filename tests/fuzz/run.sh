#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh — build and run the libFuzzer targets (called by `make fuzz`,
# `make fuzz-check`, `make fuzz-long`; see README "Fuzzing").
#   run.sh build            build every target into $FUZZ_BUILDDIR/bin with clang and
#                           -fsanitize=fuzzer,address,undefined
#   run.sh run SECONDS      build, then run each target for SECONDS, one after the other, from
#                           its seed corpus (tests/fuzz/corpus/NAME, never written to); new
#                           inputs go to a scratch directory, or to $FUZZ_CORPUS_DIR/NAME when
#                           set (kept, so that runs add up). Any finding (a crash, a sanitizer
#                           report, a failed property, a timeout) fails the run and leaves the
#                           input in $FUZZ_BUILDDIR/findings. Prints executions and coverage.
# Environment: FUZZ_CC (clang), FUZZ_BUILDDIR (tests/fuzz in the build tree), FUZZ_TARGETS
# (all), FUZZ_SRCDIR (this directory), PQ_CFLAGS / PQ_LIBS (pkg-config libpq).
# Exit status 77 when clang cannot build a libFuzzer program (a skip, unless PP_REQUIRE_ALL=1).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${FUZZ_SRCDIR:-$here}
top=$(cd "$src/../.." && pwd)
out=${FUZZ_BUILDDIR:-$PWD/fuzz}
cc=${FUZZ_CC:-clang}
targets=${FUZZ_TARGETS:-decode_binary decode_text numeric sqlscan encode copy}
pq_cflags=${PQ_CFLAGS:-$(pkg-config --cflags libpq 2>/dev/null || echo "-I$(pg_config --includedir)")}
pq_libs=${PQ_LIBS:-$(pkg-config --libs libpq 2>/dev/null || echo "-lpq")}
flags="-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=undefined"

build() {
    mkdir -p "$out/bin" "$out/obj"
    local probe="$out/obj/probe.c"
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' > "$probe"
    # shellcheck disable=SC2086
    if ! "$cc" $flags -fsanitize=fuzzer -o "$out/obj/probe" "$probe" 2>/dev/null; then
        echo "fuzz: $cc cannot build libFuzzer programs (Debian: apt-get install clang libclang-rt-14-dev)"
        if [ "${PP_REQUIRE_ALL:-0}" = 1 ]; then exit 1; fi
        exit 77
    fi
    echo "fuzz: building ${targets// /, } with $cc"
    local objs=() f o
    for f in "$top"/libpostpyro/*.c; do
        o="$out/obj/$(basename "$f" .c).o"
        objs+=("$o")
        # shellcheck disable=SC2086
        [ "$o" -nt "$f" ] && [ "$o" -nt "$top/libpostpyro/internal.h" ] &&
            [ "$o" -nt "$top/libpostpyro/postpyro.h" ] ||
            "$cc" $flags -fsanitize=fuzzer-no-link $pq_cflags -I"$top/libpostpyro" -c "$f" -o "$o"
    done
    for t in $targets; do
        # shellcheck disable=SC2086
        "$cc" $flags -fsanitize=fuzzer $pq_cflags -I"$top/libpostpyro" -o "$out/bin/fuzz_$t" \
            "$src/fuzz_$t.c" "${objs[@]}" $pq_libs -pthread -lm
    done
}

run() {
    local seconds=$1 t log work failed=0
    mkdir -p "$out/findings"
    for t in $targets; do
        if [ -n "${FUZZ_CORPUS_DIR:-}" ]; then
            work=$FUZZ_CORPUS_DIR/$t
            mkdir -p "$work"
        else
            work=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-fuzz.XXXXXX")
        fi
        log="$out/fuzz_$t.log"
        if "$out/bin/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$out/findings/$t-" \
            "$work" "$src/corpus/$t" >"$log" 2>&1; then
            local execs done_line
            execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
            done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
            printf 'fuzz_%-14s %6ss %10s runs  cov %-5s ft %-6s corpus %s  no finding\n' "$t" \
                "$seconds" "$execs" \
                "$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")" \
                "$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")" \
                "$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")"
        else
            echo "FAIL: fuzz_$t found something (log: $log; input: $out/findings/$t-*):"
            grep -E 'ERROR|SUMMARY|property failed|runtime error' "$log" | head -5 || tail -20 "$log"
            failed=1
        fi
        [ -n "${FUZZ_CORPUS_DIR:-}" ] || rm -rf "$work"
    done
    return $failed
}

case ${1:-} in
    build) build ;;
    run) build; run "${2:?seconds per target}" ;;
    *) echo "usage: run.sh build | run SECONDS" >&2; exit 2 ;;
esac
