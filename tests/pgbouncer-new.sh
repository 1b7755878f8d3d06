#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgbouncer-new.sh — print the path of a PgBouncer >= 1.21 (prepared-statement tracking,
# max_prepared_statements), building it once when missing. Debian 12 ships 1.18 and its
# backports have none; the upstream tarball Debian 13 builds from is in Debian's archive, so
# it is fetched from there (pinned version and SHA-256) and built against Debian 12's
# libevent and OpenSSL (apt-get install libevent-dev libssl-dev).
#
# The build is cached in $PP_PG_CACHE (as for pgversions.sh: by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/postpyro, as root /var/cache/postpyro): a second run builds
# nothing. Exits 1 with a message when the archive cannot be reached or the build fails.
set -euo pipefail

me=pgbouncer-new
die() { echo "$me: $*" >&2; exit 1; }

version=1.24.1
sha256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
url=${PP_DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main/p/pgbouncer/pgbouncer_$version.orig.tar.gz

if [ -n "${PP_PG_CACHE:-}" ]; then cache=$PP_PG_CACHE
elif [ "$(id -u)" -eq 0 ]; then cache=/var/cache/postpyro
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/postpyro
fi
dest=$cache/pgbouncer-$version
if [ -x "$dest/bin/pgbouncer" ]; then echo "$dest/bin/pgbouncer"; exit 0; fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.pgbouncer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "$me: building PgBouncer $version from $url" >&2
curl -sSfL --max-time 120 -o "$tmp/src.tar.gz" "$url" || die "cannot download $url"
echo "$sha256  $tmp/src.tar.gz" | sha256sum -c --quiet - || die "$url: wrong SHA-256"
tar xzf "$tmp/src.tar.gz" -C "$tmp"
(
    cd "$tmp/pgbouncer-$version"
    ./configure --prefix="$dest" --without-cares --without-pam --without-systemd \
        --without-ldap >"$tmp/build.log" 2>&1 &&
    make -j"$(nproc 2>/dev/null || echo 2)" >>"$tmp/build.log" 2>&1 &&
    make install >>"$tmp/build.log" 2>&1
) || { tail -n 30 "$tmp/build.log" >&2; rm -rf "$dest"; die "the build failed (log above; apt-get install libevent-dev libssl-dev)"; }
chmod -R a+rX "$dest"
echo "$dest/bin/pgbouncer"
