#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ./run-tests.sh — from a fresh clone: install missing Debian packages (as root), build; then,
# while servers 13-18, libpq 18 and the fault suite run in the background from start to end
# (make check-extra, tests/run-extra.sh; mostly waiting): the C tests under valgrind (make
# check-valgrind) beside installs into temporary directories, never over a real prefix: `make
# install` into a temporary prefix and staged with DESTDIR, each followed by `make
# installcheck` (a C program built with pkg-config and the installed Python package run a
# query, man finds the pages) and `make uninstall` (which must leave no file behind); `make
# check-pip` (both pip routes into fresh CPython and PyPy venvs); then `make check` (the export
# check, the C tests, pytest under CPython and the SQLAlchemy suites beside pytest under
# PyPy, against throwaway PostgreSQL servers that are always stopped afterwards); last each
# libFuzzer target briefly (make fuzz-check) beside the Debian packages (make deb, and as root
# make deb-check: dpkg -i, try them, purge them). Each step prints how long it took
# ("run-tests: STEP took N s"; make check's parts "run-suite: STEP took N s"), and the summary
# at the end lists them.
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

status=0
failures=()
fail() { echo "FAIL: $*"; failures+=("FAIL: $*"); status=1; }
# stage NAME CMD...: runs CMD and prints how long it took (also listed in the summary); its
# status is CMD's.
times=()
took() {  # took NAME START: the line for a stage that began at $SECONDS = START
    echo "run-tests: $1 took $((SECONDS - $2)) s"
    times+=("$(printf '%6d s  %s' $((SECONDS - $2)) "$1")")
}
stage() {
    local name=$1 start=$SECONDS rc=0; shift
    "$@" || rc=$?
    took "$name" "$start"
    return $rc
}
# beside NAME LOG CMD...: a stage run in the background, its output (ending with its time)
# in LOG; `joined NAME LOG PID` waits for it, shows LOG and records the time.
beside() {
    local name=$1 log=$2; shift 2
    { start=$SECONDS; rc=0; "$@" || rc=$?
      echo "run-tests: $name took $((SECONDS - start)) s"; exit $rc; } >"$log" 2>&1 &
}
joined() {
    local rc=0 secs
    wait "$3" || rc=$?
    cat "$2"
    secs=$(sed -n "s/^run-tests: $1 took \([0-9]*\) s\$/\1/p" "$2")
    times+=("$(printf '%6s s  %s (beside)' "${secs:-?}" "$1")")
    return $rc
}

stage install-deps bash .ci/install-deps.sh
stage build bash .ci/build.sh
stage "build the C tests" make -s -j"$(nproc 2>/dev/null || echo 2)" -C tests check-programs
jobs=$(nproc 2>/dev/null || echo 2)
# Every part must run: a missing pytest or PyPy is a failure here, not a skip.
export PP_REQUIRE_ALL=1
# From here on a failed step does not keep the others from running (make -k too).
# Servers 13-18 and libpq 18 (from npm, cached), the fault suite's short profile: mostly
# waiting (servers starting, restarts, timeouts), so it runs beside all the steps below, each
# part printing its time; its log is shown when it ends. (A background job starts with
# SIGINT ignored: the Ctrl-C tests set Python's handler themselves.)
beside "make check-extra" check-extra.log make -s -C tests check-extra
extra_pid=$!
# The C tests under valgrind (about 2 min, one core, much of it waiting on the server) beside
# the install checks and check-pip (tests/ only: nothing is built there meanwhile); their
# output when they end.
if [ "$memcheck" = yes ]; then
    beside "make check-valgrind" check-valgrind.log make -s -C tests check-valgrind
    valgrind_pid=$!
fi
# Install, check, uninstall: into a temporary prefix (found through the recorded path and
# the .pc's rpath), then the default prefix staged under DESTDIR (found by soname).
inst=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-install.XXXXXX")
trap 'rm -rf "$inst"' EXIT
install_check() {  # install_check HOW: make install, installcheck, uninstall with HOW
    echo "run-tests: make install $1; make installcheck $1; make uninstall $1"
    if make -s install "$1" && make -s installcheck "$1" && make -s uninstall "$1"; then
        left=$(find "$inst" -type f -o -type l)
        [ -z "$left" ] || fail "make uninstall $1 left: $left"
    else
        fail "make install/installcheck/uninstall $1"
    fi
    rm -rf "${inst:?}"/*
}
stage "install/installcheck/uninstall prefix=TMP" install_check "prefix=$inst/prefix"
stage "install/installcheck/uninstall DESTDIR=TMP" install_check "DESTDIR=$inst/destdir"
# pip: `pip install .` and the self-contained wheel (make wheel), each into fresh CPython and
# PyPy venvs, run a query (tests/pip-check.sh).
stage check-pip make -s check-pip || fail "make check-pip"
if [ "$memcheck" = yes ]; then
    joined "make check-valgrind" check-valgrind.log "$valgrind_pid" ||
        fail "make check-valgrind (check-valgrind.log)"
fi
# make check's two halves side by side (tests/Makefile.am), each half's output whole
# (-Otarget); also in check.log, for the summary at the end.
check() {
    make -s -k -j"$jobs" -Otarget check ${PYTEST_ARGS:+PYTEST_ARGS="$PYTEST_ARGS"} 2>&1 |
        tee check.log
}
stage "make check" check || fail "make check (check.log)"
grep -h '^run-suite: .* took ' check.log || true
# The libFuzzer targets, each for a few seconds (about a minute in all; any finding fails),
# beside the Debian packages (about a minute, log in deb-build.log): built from the tarball
# with dpkg-buildpackage and checked by lintian (make deb); as root also installed with
# dpkg -i, tried and purged again (make deb-check). Both mostly one core each.
beside "make fuzz-check" fuzz-check.log make -s -C tests fuzz-check
fuzz_pid=$!
if [ "$(id -u)" = 0 ]; then deb_target=deb-check; else deb_target=deb; fi
echo "run-tests: make $deb_target (log: deb-build.log)"
deb() { make -s "$deb_target" >deb-build.log 2>&1; }
if stage "make $deb_target" deb; then
    grep '^deb-check: ok' deb-build.log || true
else
    tail -40 deb-build.log; fail "make $deb_target (deb-build.log)"
fi
joined "make fuzz-check" fuzz-check.log "$fuzz_pid" || fail "make fuzz-check (fuzz-check.log)"
echo "run-tests: waiting for make check-extra (log: check-extra.log)"
joined "make check-extra" check-extra.log "$extra_pid" ||
    fail "make check-extra (servers 13-18, libpq 18, fault suite: check-extra.log)"

# The end of a long log is what people (and CI pages) see first: every step that failed,
# by name, last. A crash leaves no pytest summary, so its "FAIL:" line is the only trace.
echo
echo "======== run-tests: summary ========"
printf '%s\n' "${times[@]}"
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
        check-valgrind.log check.log check-extra.log fuzz-check.log 2>/dev/null || true; } |
        awk '!/^(FAILED|ERROR) test_suite\.py::/ && n++ < 60'
    printf '%s\n' "${failures[@]}"
    echo "run-tests: FAILED (exit status $status): the lines above, each in its step's log"
fi
exit $status
