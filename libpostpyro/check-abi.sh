#!/bin/sh
# SPDX-License-Identifier: MIT
# check-abi.sh — run by `make check` in libpostpyro/ (the Makefile passes srcdir, CC,
# LT_VERSION_INFO, PQ_CFLAGS, PQ_LIBS), from the build directory.
#
#   1. The library's strings speak C and PostgreSQL: none says "Python".
#   2. The ABI of the built library equals the committed baseline (abi/libpostpyro.abi, made
#      by `make abi-baseline` with abidw from libabigail) apart from added functions: a
#      changed or removed function, or a public struct whose layout changed, fails, until
#      configure.ac's -version-info differs from abi/version-info and NEWS names the new
#      -version-info (the release that says why); then `make abi-baseline` records it.
#   3. The check works: a scratch copy of the sources with a field added to pp_value is
#      built and must fail step 2; one with a field added to the opaque struct pp_conn must
#      pass it (abi/libpostpyro.suppr: only public types count).
# Exit status: 0 pass, 1 fail, 77 skip (no shared library; no abigail-tools, unless
# PP_REQUIRE_ALL=1).
set -u
srcdir=${srcdir:-.}
CC=${CC:-cc}
lib=.libs/libpostpyro.so
base="$srcdir/abi/libpostpyro.abi"
status=0

if test ! -f "$lib"; then
    echo "check-abi: $lib not built (--disable-shared?); skipping"
    exit 77
fi

n=$(strings -a "$lib" | grep -ci python)
if test "$n" != 0; then
    echo "check-abi: FAIL: $n strings in $lib say Python:"
    strings -a "$lib" | grep -i python | sed 's/^/    /'
    status=1
fi

if ! command -v abidiff >/dev/null 2>&1 || ! command -v abidw >/dev/null 2>&1; then
    if test "${PP_REQUIRE_ALL:-0}" = 1; then
        echo "check-abi: FAIL: abidiff/abidw not found (apt-get install abigail-tools; PP_REQUIRE_ALL=1)"
        exit 1
    fi
    echo "check-abi: SKIP: abidiff/abidw not found (apt-get install abigail-tools)"
    exit $status
fi

# abidiff against the baseline ($2: the report): 0 when only functions were added.
abi_same() {
    abidiff --no-added-syms --suppr "$srcdir/abi/libpostpyro.suppr" "$base" "$1" > "$2" 2>&1
}

if ! readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info'; then
    echo "check-abi: FAIL: $lib has no debug information (build with -g) to compare"
    exit 1
fi
recorded=$(cat "$srcdir/abi/version-info" 2>/dev/null)
if abi_same "$lib" abi-report.txt; then
    echo "check-abi: ABI of $lib matches abi/libpostpyro.abi (additions allowed): ok"
elif test "x$recorded" != "x${LT_VERSION_INFO:-}" &&
     grep -q -e "-version-info ${LT_VERSION_INFO:-none}" "$srcdir/../NEWS"; then
    echo "check-abi: the ABI changed and -version-info is now $LT_VERSION_INFO (NEWS says"
    echo "  why; the baseline has $recorded): run 'make abi-baseline' and commit abi/"
    sed 's/^/    /' abi-report.txt
else
    echo "check-abi: FAIL: the ABI of $lib differs from abi/libpostpyro.abi (version-info"
    echo "  ${LT_VERSION_INFO:-?}, baseline $recorded). Either undo the change, or bump"
    echo "  -version-info in configure.ac by libtool's rules, say why in NEWS, and run"
    echo "  'make abi-baseline'. abidiff says:"
    sed 's/^/    /' abi-report.txt
    status=1
fi

# Step 3: the check must catch a changed public struct, and must not mind an opaque one.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pp-abi.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT
# scratch_build DIR: the library from a copy of the sources in DIR (already edited)
scratch_build() {
    # shellcheck disable=SC2086
    $CC -std=c11 -D_POSIX_C_SOURCE=200809L -g -O0 -fPIC -shared -fvisibility=hidden \
        ${PQ_CFLAGS:-} -o "$1/libpostpyro.so" "$1"/*.c -Wl,-soname,libpostpyro.so.1 \
        -Wl,--version-script="$1/libpostpyro.sym" ${PQ_LIBS:--lpq} -pthread 2> "$1/cc.log" ||
        { echo "check-abi: FAIL: a scratch copy does not build:"; cat "$1/cc.log"; exit 1; }
}
for d in public opaque; do
    mkdir "$scratch/$d" && cp "$srcdir"/*.c "$srcdir"/*.h "$srcdir/libpostpyro.sym" "$scratch/$d/" ||
        exit 99
done
sed -i 's/^typedef struct pp_value {$/&\n    int32_t added_by_check_abi;/' "$scratch/public/postpyro.h"
sed -i 's/^struct pp_conn {$/&\n    int32_t added_by_check_abi;/' "$scratch/opaque/internal.h"
test "$(cat "$scratch"/*/postpyro.h "$scratch"/*/internal.h | grep -c added_by_check_abi)" = 2 ||
    { echo "check-abi: cannot edit the scratch copies"; exit 99; }
scratch_build "$scratch/public"
scratch_build "$scratch/opaque"
if abi_same "$scratch/public/libpostpyro.so" "$scratch/public.txt"; then
    echo "check-abi: FAIL: a field added to pp_value went unnoticed by abidiff"
    status=1
elif grep -q "struct pp_value" "$scratch/public.txt"; then
    echo "check-abi: a field added to pp_value (scratch copy) fails the check: ok"
else
    echo "check-abi: FAIL: abidiff failed on the scratch copy without naming pp_value:"
    sed 's/^/    /' "$scratch/public.txt"
    status=1
fi
if abi_same "$scratch/opaque/libpostpyro.so" "$scratch/opaque.txt"; then
    echo "check-abi: a field added to the opaque struct pp_conn (scratch copy) passes: ok"
else
    echo "check-abi: FAIL: a change inside the opaque struct pp_conn counts as an ABI change:"
    sed 's/^/    /' "$scratch/opaque.txt"
    status=1
fi
exit $status
