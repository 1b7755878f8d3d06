#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coverage.sh DISTDIR — line coverage of libpostpyro (gcov, summed by gcovr) and of the
# PostPyro package (python3-coverage), measured with the C tests and the CPython pytest suite
# against one throwaway server. Run by `make coverage` (not part of `make check` or CI),
# which hands over a fresh copy of the sources (`make distdir`): it is configured there with
# --coverage -O0, so this build tree stays as it is. Prints both reports; the copy is deleted
# unless PP_COVERAGE_KEEP=1. Needs gcovr and python3-coverage (Debian packages).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: coverage.sh DISTDIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
[ "${PP_COVERAGE_KEEP:-0}" = 1 ] || trap 'rm -rf "$src"' EXIT
py=/usr/bin/python3
"$py" -m coverage --version >/dev/null || { echo "coverage.sh: needs python3-coverage" >&2; exit 1; }
command -v gcovr >/dev/null || { echo "coverage.sh: needs gcovr" >&2; exit 1; }

cd "$src"
./configure CFLAGS="--coverage -O0 -g" LDFLAGS="--coverage" >configure.log 2>&1 ||
    { tail -20 configure.log; exit 1; }
make -j2 >make.log 2>&1 || { tail -20 make.log; exit 1; }

# pytest runs as "$PYTHON -m pytest ...": this wrapper puts coverage in between.
cat >pycov <<WRAP
#!/bin/sh
if [ "\$1" = "-m" ]; then shift; exec "$py" -m coverage run --rcfile="$src/.coveragerc" -m "\$@"; fi
exec "$py" "\$@"
WRAP
chmod +x pycov
printf '[run]\nsource = PostPyro\ndata_file = %s/.coverage\n' "$src" >.coveragerc

rc=0
make -C tests check-c check-python PYTHON="$src/pycov" || rc=$?
echo
echo "======== libpostpyro (C): line coverage ========"
gcovr -r . --filter 'libpostpyro/' -s
echo
echo "======== PostPyro (Python, CPython only: PyPy-only branches count as missed) ========"
"$py" -m coverage report --rcfile="$src/.coveragerc" -m
exit $rc
