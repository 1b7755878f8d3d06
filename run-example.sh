#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ./run-example.sh — from a fresh clone: install missing Debian packages (as root), build
# libpostpyro and the PostPyro package, start a throwaway PostgreSQL server, run
# examples/quickstart.py (Python, with the package from this tree) and examples/quickstart.c
# (compiled against the library just built), then stop the server.
# Each example gets the server's URL as its first argument and in DATABASE_URL:
#   postgresql://pp_pw:secret@127.0.0.1:PORT/postpyro_test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
top=$(pwd)

say() { printf '\n==> %s\n' "$*"; }

say "Checking the Debian packages PostPyro needs (.ci/install-deps.sh)"
bash .ci/install-deps.sh
say "Building libpostpyro and the PostPyro package (.ci/build.sh: autoreconf, configure, make)"
bash .ci/build.sh

python=$(sed -n 's/^PYTHON = //p' Makefile)
soname=$(sed -n 's/^PP_SONAME = //p' Makefile)
[ -n "$python" ] || { echo "run-example: configured with --disable-python; reconfigure with a Python that has cffi" >&2; exit 1; }
for f in examples/quickstart.py examples/quickstart.c; do
    [ -f "$f" ] || { echo "run-example: $f is missing" >&2; exit 1; }
done

say "Compiling examples/quickstart.c against libpostpyro/.libs/libpostpyro.so"
cc=$(sed -n 's/^CC = //p' Makefile)
${cc:-cc} -std=c11 -Wall -Wextra -I libpostpyro -o examples/quickstart examples/quickstart.c \
    -L libpostpyro/.libs -lpostpyro -Wl,-rpath,"$top/libpostpyro/.libs"
echo "    built examples/quickstart"

demo() {
    export DATABASE_URL=$PP_TEST_URL
    # The package from this tree (postpyro_py/inplace) with the library just built.
    export PYTHONPATH="$top/postpyro_py/inplace" POSTPYRO_LIBRARY="$top/libpostpyro/.libs/$soname"
    printf '\n==> Running examples/quickstart.py with %s\n' "$python"
    "$python" examples/quickstart.py "$PP_TEST_URL"
    printf '\n==> Running examples/quickstart (C)\n'
    ./examples/quickstart "$PP_TEST_URL"
}
export -f demo
export python soname top
# Run against a server of our own even when the caller has PP_TEST_DSN set.
say "Starting a throwaway PostgreSQL server (tests/pgserver.sh)"
env -u PP_TEST_DSN bash tests/run-with-server.sh bash -c demo
say "Stopped the server and deleted its directory. Done."
