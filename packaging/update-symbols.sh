#!/bin/sh
# SPDX-License-Identifier: MIT
# update-symbols.sh LIBRARY VERSION — rewrites packaging/debian/libpostpyro1.symbols from the
# built library's exports (objdump -T): each symbol keeps the version it has in the file
# (the release that added it); a new one gets VERSION (the release being made). Run it after
# adding, removing or versioning exported functions, e.g.
#   sh packaging/update-symbols.sh libpostpyro/.libs/libpostpyro.so.1 0.2.0
# tests/python/test_release_files.py fails while the file and the library disagree.
set -eu
lib=${1:?usage: update-symbols.sh LIBRARY VERSION}
version=${2:?usage: update-symbols.sh LIBRARY VERSION}
file=$(dirname "$0")/debian/libpostpyro1.symbols
old=$(mktemp)
trap 'rm -f "$old"' EXIT
[ -f "$file" ] && sed -n 's/^ \([A-Za-z0-9_]*\)@[^ ]* \(.*\)$/\1 \2/p' "$file" >"$old"
{
    echo "libpostpyro.so.1 libpostpyro1 #MINVER#"
    echo "* Build-Depends-Package: libpostpyro-dev"
    # The version node itself (dpkg-gensymbols lists it, and lintian wants it without a
    # Debian revision).
    echo " LIBPOSTPYRO_1@LIBPOSTPYRO_1 0.1.0"
    # Defined functions and objects: "ADDR g DF .text SIZE VERSION NAME".
    objdump -T "$lib" | awk '$2 == "g" && $4 != "*UND*" && $NF ~ /^pp_/ {
        v = $(NF - 1); gsub(/[()]/, "", v); print $NF, v }' | sort | while read -r name node; do
        since=$(awk -v n="$name" '$1 == n { print $2; exit }' "$old")
        echo " $name@$node ${since:-$version}"
    done
} >"$file.tmp"
mv "$file.tmp" "$file"
echo "update-symbols: wrote $file ($(grep -c '^ ' "$file") symbols)"
