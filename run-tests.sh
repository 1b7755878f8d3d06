#!/usr/bin/env bash
# ./run-tests.sh — from a fresh clone: install missing Debian packages (as root), build, and run
# the C tests under valgrind (make check-valgrind), then `make check`: the export check, the C
# tests, then pytest under CPython and under PyPy, all against throwaway PostgreSQL servers
# that are always stopped afterwards; then each libFuzzer target briefly (make fuzz-check);
# then servers 13-18, libpq 18 and the fault suite (make check-extra, tests/run-extra.sh).
# As root it also installs, runs `make installcheck` (a C program built with pkg-config and the
# installed Python package run a query) and uninstalls.
#   ./run-tests.sh                the above
#   ./run-tests.sh --no-memcheck  without the valgrind step
# Extra pytest arguments: PYTEST_ARGS='-x -k types' ./run-tests.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

memcheck=yes
for arg in "$@"; do
    case $arg in
        --memcheck|--valgrind) memcheck=yes ;;
        --no-memcheck) memcheck=no ;;
        *) echo "usage: ./run-tests.sh [--no-memcheck]" >&2; exit 2 ;;
    esac
done

bash .ci/install-deps.sh
bash .ci/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
# Every part must run: a missing pytest or PyPy is a failure here, not a skip.
export PP_REQUIRE_ALL=1
if [ "$memcheck" = yes ]; then
    make -s -j"$jobs" check-valgrind
fi
# As root: install, check that an outside C program (pkg-config) and the installed Python
# package work with no environment variable, uninstall.
if [ "$(id -u)" = 0 ]; then
    make -s install
    make -s installcheck
    make -s uninstall
fi
# -k: a failed step (say, the export check) does not keep the others from running.
status=0
make -s -k -j"$jobs" check ${PYTEST_ARGS:+PYTEST_ARGS="$PYTEST_ARGS"} || status=$?
# The libFuzzer targets, each for a few seconds (about a minute in all): any finding fails.
make -s fuzz-check || status=1
# Servers 13-18 and libpq 18 (from npm, cached), the fault suite's short profile; each part
# prints its time.
make -s check-extra || status=1
exit $status
