#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-suite.sh STEP... — the test steps of `make check`, run by tests/Makefile.am inside
# run-with-server.sh (so PP_TEST_DSN names a live server). Steps, in the order given:
#   c         the C test programs ($C_TESTS), each must exit 0 (77 = skipped)
#   python    pytest on tests/python under CPython ($PYTHON)
#   pypy      pytest on tests/python under PyPy ($PYPY)
#   memcheck  the C test programs under valgrind (leaks and memory errors fail)
#   consumers C++, ctypes and LuaJIT programs using the built library (consumers/run.sh)
#   sqla      SQLAlchemy's dialect compliance suite (tests/sqlalchemy/run_suite.py): under
#             CPython for postgresql+postpyro and postgresql+psycopg2, then under PyPy for
#             postgresql+postpyro; fails when PostPyro does not pass every test psycopg2
#             (CPython's, for both) passes; then the same for postgresql+postpyro_async
#             against postgresql+asyncpg (CPython), and under PyPy
# The Makefile passes the build's facts in the environment: TOP_SRCDIR, TOP_BUILDDIR, PYTHON,
# HAVE_PYTEST, PYPY, HAVE_PYPY, PYPY_PYTHONPATH, PP_SONAME, VALGRIND, C_TESTS,
# PYTEST_ARGS.
#
# What the tests see:
#   PP_TEST_DSN (and PP_TEST_* from run-with-server.sh)
#   POSTPYRO_LIBRARY  full path of the freshly built libpostpyro (.libs/libpostpyro.so.N):
#                     the package must load this file when the variable is set
#   LD_LIBRARY_PATH   starts with that .libs directory
#   PYTHONPATH        $TOP_BUILDDIR/postpyro_py/inplace (the package as it will be installed),
#                     then for PyPy $PYPY_PYTHONPATH (where pytest lives)
#   PP_UNDER_VALGRIND=1 in the memcheck step (tests may do fewer iterations)
#
# Set PP_REQUIRE_ALL=1 to make a missing pytest or PyPy a failure instead of a skip.
# Time limits: PP_TEST_TIMEOUT (each C program, default 900 s), PP_PYTEST_TIMEOUT (each pytest
# run, default 1800 s).
# Every step runs even if an earlier one failed; the exit status is 1 if any failed. Nothing is
# printed after pytest's own summary line but a "FAIL: ..." line naming a step that failed
# (run-tests.sh collects those lines at its end) and the step's time ("run-suite: STEP took
# N s").
set -uo pipefail

: "${TOP_SRCDIR:?}" "${TOP_BUILDDIR:?}" "${PP_TEST_DSN:?run me under run-with-server.sh}"
: "${PP_SONAME:=libpostpyro.so.1}"

libs="$TOP_BUILDDIR/libpostpyro/.libs"
export POSTPYRO_LIBRARY="$libs/$PP_SONAME"
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pkgpath="$TOP_BUILDDIR/postpyro_py/inplace"
pytests="$TOP_SRCDIR/tests/python"
failed=0

banner() { printf '\n======== %s ========\n' "$*"; }

missing() {  # a tool the step needs is not there: skip, or fail under PP_REQUIRE_ALL
    if [ "${PP_REQUIRE_ALL:-0}" = 1 ]; then
        echo "FAIL: $* (PP_REQUIRE_ALL=1)"; failed=1
    else
        echo "SKIP: $*"
    fi
}

# run_c_tests [WRAPPER...]: each program in $C_TESTS, optionally under a wrapper command.
run_c_tests() {
    local t t0 rc pass=0 fail=0 skip=0
    for t in ${C_TESTS:-}; do
        echo "---- $t"
        if [ ! -x "$t" ]; then
            echo "FAIL: $t was not built"; fail=$((fail + 1)); continue
        fi
        t0=$SECONDS
        timeout --foreground "${PP_TEST_TIMEOUT:-900}" "$@" "./$t"
        rc=$?
        case $rc in
            0)  echo "PASS: $t ($((SECONDS - t0)) s)"; pass=$((pass + 1)) ;;
            77) echo "SKIP: $t"; skip=$((skip + 1)) ;;
            124) echo "FAIL: $t (timed out after ${PP_TEST_TIMEOUT:-900}s)"; fail=$((fail + 1)) ;;
            *)  echo "FAIL: $t (exit status $rc$(signal_name $rc))"; fail=$((fail + 1)) ;;
        esac
    done
    echo "C tests: $pass passed, $fail failed, $skip skipped"
    [ "$fail" -eq 0 ] || failed=1
}

# run_pytest NAME INTERPRETER [EXTRA_PYTHONPATH]
run_pytest() {
    local name=$1 py=$2 extra=${3:-}
    if [ ! -f "$POSTPYRO_LIBRARY" ]; then
        echo "FAIL: $POSTPYRO_LIBRARY is missing (run make first)"; failed=1; return
    fi
    banner "pytest under $name: $py ($("$py" -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0])'))"
    local state rc
    state=$(mktemp) || { failed=1; return; }
    # -p no:cacheprovider: write nothing into the source tree (read-only in make distcheck).
    # shellcheck disable=SC2086
    PP_PYTEST_STATE=$state PYTHONPATH="$pkgpath${extra:+:$extra}" \
        timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" \
        "$py" -m pytest -q -ra -p no:cacheprovider ${PYTEST_ARGS:-} "$pytests"
    rc=$?
    case $rc in
        0) ;;
        124) echo "FAIL: pytest under $name timed out after ${PP_PYTEST_TIMEOUT:-1800}s$(pytest_where "$state" $rc)"; failed=1 ;;
        *) echo "FAIL: pytest under $name (exit status $rc$(signal_name $rc))$(pytest_where "$state" $rc)"; failed=1 ;;
    esac
    rm -f "$state"
}

# pytest_where STATE RC: where a failed pytest run was, from STATE (tests/python/conftest.py
# writes "running NODEID" as each test starts, then "finished STATUS" when pytest is done),
# so that a run a signal, the exit watchdog or the timeout ended, which prints no summary,
# still names its test.
pytest_where() {
    local test status
    test=$(sed -n 's/^running //p' "$1")
    status=$(sed -n 's/^finished //p' "$1")
    if [ -z "$status" ]; then
        [ -z "$test" ] || printf ', in %s' "$test"
    elif [ "$status" != "$2" ] && [ "$2" -gt 128 ]; then
        printf ', after pytest had finished (its status: %s): a crash at exit' "$status"
    elif [ "$status" != "$2" ]; then
        printf ', after pytest had finished (its status: %s): the interpreter did not exit (or failed to), every thread'"'"'s stack above (the exit watchdog, conftest.py)' "$status"
    else
        case $status in
            1) printf ': tests failed (the FAILED/ERROR lines above)' ;;
            2) printf ': interrupted (a KeyboardInterrupt) in %s' "$test" ;;
            3) printf ': internal error in pytest or a plugin (traceback above)' ;;
            4) printf ': pytest usage error' ;;
            5) printf ': no tests collected' ;;
        esac
    fi
}

# signal_name RC: ", killed by SIGSEGV" when RC is 128 + a signal's number (as a shell
# reports a program a signal ended), else nothing.
signal_name() {
    [ "$1" -gt 128 ] 2>/dev/null && [ "$1" -lt 160 ] && printf ', killed by SIG%s' "$(kill -l $(($1 - 128)))"
    return 0
}

# sqla_status RC WHAT: a failed SQLAlchemy suite run says which one and why.
sqla_status() {
    case $1 in
        0) ;;
        1) echo "FAIL: SQLAlchemy suite, $2: a test passing there fails here (REGRESSION lines above)"; failed=1 ;;
        124) echo "FAIL: SQLAlchemy suite, $2: timed out after ${PP_PYTEST_TIMEOUT:-1800}s"; failed=1 ;;
        *) echo "FAIL: SQLAlchemy suite, $2 (exit status $1$(signal_name $1))"; failed=1 ;;
    esac
}

# run_sqla_suite: SQLAlchemy's dialect suite, PostPyro compared with psycopg2, then PostPyro's
# async dialect with asyncpg's (see the top).
run_sqla_suite() {
    local runner="$TOP_SRCDIR/tests/sqlalchemy/run_suite.py" ref
    banner "SQLAlchemy dialect suite"
    if [ -z "${PYTHON:-}" ] || ! "$PYTHON" -c 'import sqlalchemy, pytest' 2>/dev/null; then
        missing "SQLAlchemy suite: $PYTHON cannot import sqlalchemy (apt-get install python3-sqlalchemy)"
        return
    fi
    if ! "$PYTHON" -c 'import psycopg2' 2>/dev/null; then
        missing "SQLAlchemy suite: no psycopg2 to compare with (apt-get install python3-psycopg2)"
        return
    fi
    ref=$(mktemp -d) || { failed=1; return; }
    PYTHONPATH="$pkgpath" timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYTHON" "$runner" \
        --driver postpyro --driver psycopg2 --save-dir "$ref" --fail-on-regression
    sqla_status $? "postpyro against psycopg2 (CPython)"
    if [ "${HAVE_PYPY:-no}" != yes ]; then
        missing "SQLAlchemy suite under PyPy: no PyPy with cffi and pytest"
    elif [ -f "$ref/psycopg2.json" ]; then
        PYTHONPATH="$pkgpath${PYPY_PYTHONPATH:+:$PYPY_PYTHONPATH}" \
            timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYPY" "$runner" \
            --driver postpyro --reference "$ref/psycopg2.json" --fail-on-regression
        sqla_status $? "postpyro (PyPy) against psycopg2 (CPython)"
    fi
    rm -rf "$ref"
    run_sqla_async_suite
}

# run_sqla_async_suite: the same suite for postgresql+postpyro_async against
# postgresql+asyncpg under CPython, then postgresql+postpyro_async under PyPy against
# CPython asyncpg's outcomes (Debian's asyncpg is for CPython only).
run_sqla_async_suite() {
    local runner="$TOP_SRCDIR/tests/sqlalchemy/run_suite.py" ref
    if ! "$PYTHON" -c 'import asyncpg, greenlet' 2>/dev/null; then
        missing "SQLAlchemy async suite: no asyncpg or greenlet (apt-get install python3-asyncpg python3-greenlet)"
        return
    fi
    ref=$(mktemp -d) || { failed=1; return; }
    PYTHONPATH="$pkgpath" timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYTHON" "$runner" \
        --driver postpyro_async --driver asyncpg --save-dir "$ref" --fail-on-regression
    sqla_status $? "postpyro_async against asyncpg (CPython)"
    if [ "${HAVE_PYPY:-no}" = yes ] && [ -f "$ref/asyncpg.json" ]; then
        PYTHONPATH="$pkgpath${PYPY_PYTHONPATH:+:$PYPY_PYTHONPATH}" \
            timeout --foreground "${PP_PYTEST_TIMEOUT:-1800}" "$PYPY" "$runner" \
            --driver postpyro_async --reference "$ref/asyncpg.json" --fail-on-regression
        sqla_status $? "postpyro_async (PyPy) against asyncpg (CPython)"
    fi
    rm -rf "$ref"
}

for step in "$@"; do
    step_start=$SECONDS
    case $step in
        c)
            banner "C tests (PP_TEST_DSN=$PP_TEST_DSN)"
            run_c_tests
            ;;
        python)
            if [ -z "${PYTHON:-}" ]; then
                missing "Python tests: configured with --disable-python"
            elif [ "${HAVE_PYTEST:-no}" != yes ]; then
                missing "Python tests: $PYTHON cannot import pytest (apt-get install python3-pytest)"
            else
                run_pytest CPython "$PYTHON"
            fi
            ;;
        pypy)
            if [ -z "${PYTHON:-}" ]; then
                missing "PyPy tests: configured with --disable-python"
            elif [ "${HAVE_PYPY:-no}" != yes ]; then
                missing "PyPy tests: no PyPy with cffi and pytest was found by configure (apt-get install pypy3 python3-pytest python3-exceptiongroup python3-tomli)"
            else
                run_pytest PyPy "$PYPY" "${PYPY_PYTHONPATH:-}"
            fi
            ;;
        consumers)
            banner "other languages: C++, ctypes, LuaJIT (PP_TEST_DSN=$PP_TEST_DSN)"
            bash "$TOP_SRCDIR/tests/consumers/run.sh" || { echo "FAIL: other languages (consumers/run.sh)"; failed=1; }
            ;;
        sqla)
            run_sqla_suite
            ;;
        memcheck)
            banner "C tests under valgrind (PP_TEST_DSN=$PP_TEST_DSN)"
            if [ -z "${VALGRIND:-}" ]; then
                missing "memcheck: valgrind not found (apt-get install valgrind)"
            else
                export PP_UNDER_VALGRIND=1
                run_c_tests bash "$TOP_BUILDDIR/libtool" --mode=execute "$VALGRIND" -q \
                    --leak-check=full --error-exitcode=1 \
                    --track-origins=yes --num-callers=30 \
                    --suppressions="$TOP_SRCDIR/tests/valgrind.supp"
            fi
            ;;
        *) echo "run-suite.sh: unknown step '$step'" >&2; exit 2 ;;
    esac
    echo "run-suite: $step took $((SECONDS - step_start)) s"
done
exit $failed
