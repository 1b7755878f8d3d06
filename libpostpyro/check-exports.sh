#!/bin/sh
# SPDX-License-Identifier: MIT
# check-exports.sh — run by `make check` in libpostpyro/ (the Makefile passes srcdir, NM, OBJDUMP,
# CC, PP_SONAME and PP_SONAME_MAJOR), from the build directory.
#
# Checks that libpostpyro's dynamic symbol table holds exactly the public API:
#   - every exported symbol is named pp_<letter or digit>... (no internal pp__ helper, no
#     libpq or libc symbol leaks out) and carries the version LIBPOSTPYRO_1 (libpostpyro.sym),
#   - every function declared in postpyro.h is exported, and nothing else is,
#   - the soname is $PP_SONAME and postpyro.h's PP_ABI_VERSION equals its major number.
# Exit status: 0 pass, 1 fail, 77 skip (no shared library), 99 hard error.
set -u

srcdir=${srcdir:-.}
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}
CC=${CC:-cc}
header="$srcdir/postpyro.h"
lib=.libs/libpostpyro.so
status=0

if test ! -f "$lib"; then
    echo "check-exports: $lib not built (--disable-shared?); skipping"
    exit 77
fi

# Symbols the linker itself may define in any shared object, and the version nodes.
versioned=$($NM -D --defined-only "$lib" | awk 'NF >= 3 && $2 != "A" { print $3 }' |
           grep -v -x -E '_init|_fini|_edata|_end|__bss_start|_DYNAMIC|_GLOBAL_OFFSET_TABLE_') ||
    { echo "check-exports: $NM -D failed on $lib"; exit 99; }
exported=$(printf '%s\n' "$versioned" | sed 's/@.*//' | sort -u)
unversioned=$(printf '%s\n' "$versioned" | grep -v '@@LIBPOSTPYRO_1$')
if test -n "$unversioned"; then
    echo "check-exports: FAIL: exported without the version LIBPOSTPYRO_1 (libpostpyro.sym):"
    printf '    %s\n' $unversioned
    status=1
fi
if test -z "$exported"; then
    echo "check-exports: $lib exports nothing"
    exit 1
fi

bad=$(printf '%s\n' "$exported" | grep -v -E '^pp_[a-z0-9]')
if test -n "$bad"; then
    echo "check-exports: FAIL: exported symbols outside the public pp_* API:"
    printf '    %s\n' $bad
    echo "  (make them static, or name shared internal functions pp__... with two underscores)"
    status=1
fi

# Functions the header declares: preprocess it (drops comments and macros) and take every
# identifier pp_xxx directly followed by "(".
declared=$($CC -E -P -x c "$header" | tr '\n' ' ' |
           grep -o -E '(^|[^A-Za-z0-9_])pp_[a-z0-9][A-Za-z0-9_]*[[:space:]]*\(' |
           sed -E 's/^[^p]*//; s/[[:space:]]*\($//' | sort -u) ||
    { echo "check-exports: could not preprocess $header with $CC"; exit 99; }
if test -z "$declared"; then
    echo "check-exports: found no pp_* function declarations in $header ($CC -E -P)"
    exit 99
fi

missing=$(printf '%s\n' "$declared" | grep -v -x -F "$exported")
extra=$(printf '%s\n' "$exported" | grep -E '^pp_[a-z0-9]' | grep -v -x -F "$declared")
if test -n "$missing"; then
    echo "check-exports: FAIL: declared in postpyro.h but not exported by $lib:"
    printf '    %s\n' $missing
    status=1
fi
if test -n "$extra"; then
    echo "check-exports: FAIL: exported by $lib but not declared in postpyro.h:"
    printf '    %s\n' $extra
    echo "  (declare them in postpyro.h, or make them static / rename them pp__...)"
    status=1
fi

soname=$($OBJDUMP -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if test "x$soname" != "x${PP_SONAME:-libpostpyro.so.1}"; then
    echo "check-exports: FAIL: soname is '$soname', configure.ac says '${PP_SONAME:-libpostpyro.so.1}'"
    status=1
fi
abi=$(sed -n 's/^#define[[:space:]]*PP_ABI_VERSION[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$header")
if test "x$abi" != "x${PP_SONAME_MAJOR:-1}"; then
    echo "check-exports: FAIL: postpyro.h has PP_ABI_VERSION '$abi' but the soname major is" \
         "'${PP_SONAME_MAJOR:-1}' (LT_CURRENT - LT_AGE in configure.ac)"
    status=1
fi

if test $status -eq 0; then
    echo "check-exports: $(printf '%s\n' "$exported" | wc -l | tr -d ' ') pp_* symbols, soname $soname: ok"
fi
exit $status
