#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/build.sh — build PostPyro in the source tree: autoreconf + configure the first time,
# then make. A second run only runs make (Automake re-runs autoconf/configure itself when
# configure.ac or a Makefile.am changed). Extra arguments go to configure.
# Used by run-example.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p m4
if [ ! -x configure ] || [ ! -f build-aux/ltmain.sh ]; then
    echo "build: autoreconf -fi"
    autoreconf -fi
fi
if [ ! -f Makefile ] || [ ! -f config.status ] || [ $# -gt 0 ]; then
    echo "build: ./configure $*"
    ./configure "$@"
fi
echo "build: make -j$jobs"
make -j"$jobs"
