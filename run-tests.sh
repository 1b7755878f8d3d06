#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ./run-tests.sh — from a fresh clone: install missing Debian packages (as root), build, and run
# the C tests under valgrind (make check-valgrind), then `make check`: the export check, the C
# tests, then pytest under CPython and under PyPy, all against throwaway PostgreSQL servers
# that are always stopped afterwards; then each libFuzzer target briefly (make fuzz-check);
# then servers 13-18, libpq 18 and the fault suite (make check-extra, tests/run-extra.sh).
# Then it installs into temporary directories, never over a real prefix: `make install` into
# a temporary prefix and staged with DESTDIR, each followed by `make installcheck` (a C program
# built with pkg-config and the installed Python package run a query, man finds the pages) and
# `make uninstall` (which must leave no file behind); then `make check-pip` (both pip routes
# into fresh CPython and PyPy venvs); last, the Debian packages (make deb, and as root
# make deb-check: dpkg -i, try them, purge them).
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
# -k: a failed step (say, the export check) does not keep the others from running.
status=0
failures=()
fail() { echo "FAIL: $*"; failures+=("FAIL: $*"); status=1; }
# Servers 13-18 and libpq 18 (from npm, cached), the fault suite's short profile: mostly
# waiting (servers starting, restarts, timeouts), so it runs beside the steps below, each
# part printing its time; its log is shown when it ends.
make -s -C tests check-extra >check-extra.log 2>&1 &
extra_pid=$!
# Install, check, uninstall: into a temporary prefix (found through the recorded path and
# the .pc's rpath), then the default prefix staged under DESTDIR (found by soname).
stage=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for how in "prefix=$stage/prefix" "DESTDIR=$stage/destdir"; do
    echo "run-tests: make install $how; make installcheck $how; make uninstall $how"
    if make -s install "$how" && make -s installcheck "$how" && make -s uninstall "$how"; then
        left=$(find "$stage" -type f -o -type l)
        [ -z "$left" ] || fail "make uninstall $how left: $left"
    else
        fail "make install/installcheck/uninstall $how"
    fi
    rm -rf "${stage:?}"/*
done
# pip: `pip install .` and the self-contained wheel (make wheel), each into fresh CPython and
# PyPy venvs, run a query (tests/pip-check.sh).
make -s check-pip || fail "make check-pip"
# (its output also in check.log, for the summary at the end)
make -s -k -j"$jobs" check ${PYTEST_ARGS:+PYTEST_ARGS="$PYTEST_ARGS"} 2>&1 | tee check.log || fail "make check (check.log)"
# The libFuzzer targets, each for a few seconds (about a minute in all): any finding fails.
make -s fuzz-check || fail "make fuzz-check"
echo "run-tests: waiting for make check-extra (log: check-extra.log)"
wait "$extra_pid" || fail "make check-extra (servers 13-18, libpq 18, fault suite: check-extra.log)"
cat check-extra.log

# The Debian packages (about a minute, log in deb-build.log): built from the tarball with
# dpkg-buildpackage and checked by lintian (make deb); as root also installed with dpkg -i,
# tried and purged again (make deb-check).
if [ "$(id -u)" = 0 ]; then deb_target=deb-check; else deb_target=deb; fi
echo "run-tests: make $deb_target (log: deb-build.log)"
if make -s "$deb_target" >deb-build.log 2>&1; then
    grep '^deb-check: ok' deb-build.log || true
else
    tail -40 deb-build.log; fail "make $deb_target (deb-build.log)"
fi

# The end of a long log is what people (and CI pages) see first: every step that failed,
# by name, last. A crash leaves no pytest summary, so its "FAIL:" line is the only trace.
echo
echo "======== run-tests: summary ========"
# What passed with a warning (the PyPy exit watchdog's orphaned thread-state lock).
{ grep -h '^exit watchdog: WARNING' check.log check-extra.log 2>/dev/null || true; } |
    awk 'n++ < 10'
if [ $status -eq 0 ]; then
    echo "run-tests: every step passed"
else
    # pytest's FAILED/ERROR lines, but not the SQLAlchemy suite's (test_suite.py: it fails the
    # same 8 tests for every driver each time; its REGRESSION lines are its verdict). Under
    # set -e and pipefail: grep finding nothing must not end the script, and awk reads
    # everything (head would leave grep to die of SIGPIPE).
    { grep -hE '^FAIL:|^(FAILED|ERROR) |^REGRESSION\b|^======== .*: FAILED in |Fatal Python error|Segmentation fault|AddressSanitizer' \
        check.log check-extra.log 2>/dev/null || true; } |
        awk '!/^(FAILED|ERROR) test_suite\.py::/ && n++ < 60'
    printf '%s\n' "${failures[@]}"
    echo "run-tests: FAILED (exit status $status): the lines above, each in its step's log"
fi
exit $status
