# SPDX-License-Identifier: MIT
"""Fixtures for PostPyro's tests: a real PostgreSQL server, a clean schema per test.

The server is the one in ``PP_TEST_DSN`` (``make check`` starts a throwaway one with
tests/run-with-server.sh and sets it, with ``PP_TEST_PORT``, ``PP_TEST_PW_DSN`` …). The
package is imported from ``PYTHONPATH`` when it is there (``make check`` points it at the
staged package), else from this source tree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import uuid
import weakref

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

if importlib.util.find_spec("PostPyro") is None:
    sys.path.insert(0, os.path.join(TOP_SRCDIR, "postpyro_py"))

import PostPyro as pg  # noqa: E402


sys.path.append(os.path.join(TOP_SRCDIR, "tests"))  # shared test helpers
from pypy_greenlet import use_pypy_greenlet  # noqa: E402
from pypy_thread_exit import forget_stopped_threads_at_exit  # noqa: E402

use_pypy_greenlet()
# PyPy hung at exit after a signal handler's exception (the Ctrl-C tests') interrupted a join
# of a thread that ended just then (tests/pypy_thread_exit.py says how, and reproduces it)
forget_stopped_threads_at_exit()


def dsn_with(dsn: str, **params: str) -> str:
    """The DSN (key=value or URL form) with more connection parameters."""
    if re.match(r"postgres(ql)?://", dsn):
        from urllib.parse import quote
        sep = "&" if "?" in dsn else "?"
        return dsn + sep + "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in params.items())
    parts = [dsn]
    for k, v in params.items():
        parts.append("%s='%s'" % (k, v.replace("\\", "\\\\").replace("'", "\\'")))
    return " ".join(parts)


def sqla_url(dsn: str, driver: str) -> str:
    """A SQLAlchemy URL (``postgresql+DRIVER://``) for the key=value DSN of the tests."""
    fields = dict(p.split("=", 1) for p in dsn.split())
    query = "host=%s" % fields.get("host", "127.0.0.1")
    if "port" in fields:
        query += "&port=%s" % fields["port"]
    return "postgresql+%s://%s@/%s?%s" % (driver, fields.get("user", "postgres"),
                                          fields.get("dbname", "postgres"), query)


def in_forked_child(fn) -> str:
    """Run ``fn()`` (returning a str) in a forked child and return what it returned; the
    child must exit cleanly (it leaves with os._exit: no atexit, no pytest teardown)."""
    import warnings
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: on purpose
        child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(r)
            os.write(w, fn().encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return msg


@pytest.fixture(scope="session")
def dsn() -> str:
    """The superuser DSN of the test server."""
    value = os.environ.get("PP_TEST_DSN")
    if not value:
        pytest.fail("PP_TEST_DSN is not set. Run the tests with `make check` (it starts a "
                    "throwaway PostgreSQL server), or wrap pytest in "
                    "`bash tests/run-with-server.sh python3 -m pytest tests/python`, or set "
                    "PP_TEST_DSN to a libpq DSN of a server where the user may create "
                    "schemas.", pytrace=False)
    return value


@pytest.fixture(scope="session")
def admin(dsn):
    """A session-wide autocommit connection for setup and cleanup."""
    c = pg.Connection(dsn)
    yield c
    c.close()


@pytest.fixture(scope="session")
def server_version(admin) -> int:
    """The test server's version number (e.g. 150018): tests of features a server gained in
    a later version check the older server's own refusal instead."""
    return int(admin.query_one("SELECT current_setting('server_version_num')::int")[0])


@pytest.fixture(scope="session")
def tcp_port(admin) -> int:
    """The server's TCP port on 127.0.0.1."""
    port = os.environ.get("PP_TEST_PORT")
    if port:
        return int(port)
    return int(admin.query_one("SELECT current_setting('port')::int")[0])


@pytest.fixture(scope="session")
def pw_role(admin, tcp_port) -> dict:
    """The password-protected role pp_pw (password 'secret'), the server's TCP port and the
    test database, for tests that log in with a password over TCP. run-with-server.sh
    creates the role; on another server it is created here and dropped at the end (the
    tests that need it are skipped, with the reason, when the test user may not)."""
    db = admin.query_one("SELECT current_database()")[0]
    made = False
    if admin.query_one("SELECT count(*) FROM pg_roles WHERE rolname = 'pp_pw'")[0] == 0:
        if os.environ.get("PP_TEST_PW_DSN"):
            pytest.fail("PP_TEST_PW_DSN is set but the role pp_pw does not exist")
        try:
            admin.execute("CREATE ROLE pp_pw LOGIN PASSWORD 'secret'")
        except pg.Error as exc:
            pytest.skip("cannot create the role pp_pw on this server: %s" % exc)
        made = True
    yield {"user": "pp_pw", "password": "secret", "port": tcp_port, "database": db,
           "url": "postgresql://pp_pw:secret@127.0.0.1:%d/%s" % (tcp_port, db)}
    if made:
        admin.execute("DROP ROLE pp_pw")


@pytest.fixture(scope="session")
def pw_dsn(pw_role) -> str:
    """A DSN of the password-protected role pp_pw (password 'secret') over TCP."""
    value = os.environ.get("PP_TEST_PW_DSN")
    if value:
        return value
    return "host=127.0.0.1 port=%d dbname=%s user=pp_pw password=secret connect_timeout=5" % (
        pw_role["port"], pw_role["database"])


@pytest.fixture(scope="session")
def password_checked(pw_role) -> dict:
    """pw_role, on a server that refuses pp_pw a wrong password over TCP (run-with-server.sh
    sets scram-sha-256; another server may trust TCP logins: then the tests of a wrong
    password are skipped there, never under `make check`)."""
    try:
        pg.Connection("postgresql://pp_pw:not-the-password@127.0.0.1:%d/%s?connect_timeout=5"
                      % (pw_role["port"], pw_role["database"])).close()
    except pg.OperationalError:
        return pw_role
    if os.environ.get("PP_TEST_PW_DSN"):
        pytest.fail("the test server accepted pp_pw with a wrong password")
    pytest.skip("this server does not check pp_pw's password over TCP")


@pytest.fixture
def schema(admin):
    """A fresh schema for one test, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin.execute("CREATE SCHEMA " + name)
    yield name
    admin.execute("DROP SCHEMA %s CASCADE" % name)


@pytest.fixture
def sdsn(dsn, schema) -> str:
    """The test DSN with search_path set to the test's own schema."""
    return dsn_with(dsn, options="-c search_path=" + schema)


# The test modules whose tests that use the `conn` fixture run on both front ends: the sync
# Connection and an AsyncConnection behind a sync facade (tests/python/async_facade.py), on
# asyncio, and for the modules of TRIO_MODULES on trio too. A test that is about the sync
# front end only (threads, signals, its internals) says so with @pytest.mark.sync_only.
ASYNC_MODULES = {"test_connection", "test_transaction", "test_types", "test_copy",
                 "test_copy_columns", "test_stream", "test_seed_examples", "test_cursor",
                 "test_row"}
TRIO_MODULES = {"test_seed_examples", "test_transaction", "test_stream"}


def pytest_configure(config):
    config.addinivalue_line("markers", "sync_only(reason): the test is about the sync "
                            "front end; it does not run on AsyncConnection")
    config.addinivalue_line("markers", "source_check: the test reads the project's files "
                            "only, the same under any interpreter: run under CPython only")


def pytest_collection_modifyitems(config, items):
    """Under PyPy, the tests marked source_check are left out (reported as deselected):
    they only read the project's files (sources, man pages), which cannot differ by
    interpreter, and make check runs them under CPython."""
    if sys.implementation.name != "pypy":
        return
    dropped = [item for item in items if item.get_closest_marker("source_check")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("source_check")]


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rpartition(".")[2]
    if "conn" in metafunc.fixturenames and module in ASYNC_MODULES \
            and metafunc.definition.get_closest_marker("sync_only") is None:
        kinds = ["sync", "asyncio"] + (["trio"] if module in TRIO_MODULES else [])
        metafunc.parametrize("conn", kinds, indirect=True)


_loops: dict = {}


@pytest.fixture(scope="session", autouse=True)
def _stop_loops():
    yield
    for loop in _loops.values():
        loop.close()


@pytest.fixture
def conn(request, sdsn):
    """A fresh autocommit Connection per test, working in the test's schema (in the modules
    of ASYNC_MODULES: also an AsyncConnection behind the sync facade)."""
    kind = getattr(request, "param", "sync")
    if kind == "sync":
        c = pg.Connection(sdsn)
    else:
        import async_facade
        loop = _loops.get(kind)
        if loop is None:
            loop = _loops[kind] = async_facade.LoopThread(kind)
        c = async_facade.connect(loop, sdsn)
    yield c
    c.close()


@pytest.fixture
def users(conn):
    """The seed's users table, with three rows."""
    conn.execute("""
        CREATE TABLE users (
            id serial PRIMARY KEY,
            name text NOT NULL,
            email text UNIQUE,
            age int,
            city text,
            active boolean NOT NULL DEFAULT true,
            department text
        )""")
    conn.execute("INSERT INTO users (name, email, age, city, active, department) VALUES "
                 "('Alice', 'alice@example.com', 30, 'New York', true, 'eng'), "
                 "('Bob', 'bob@example.com', 22, 'Paris', false, 'ops'), "
                 "('Carol', 'carol@example.com', 41, 'New York', true, 'eng')")
    return conn


# Where pytest is, for run-suite.sh to say when the interpreter dies or hangs (a signal, the
# exit watchdog below, a timeout), which leaves no summary: the test running now, then
# pytest's own exit status once it is done.
_STATE_FILE = os.environ.get("PP_PYTEST_STATE")


def pytest_runtest_logstart(nodeid, location):
    if _STATE_FILE:
        with open(_STATE_FILE, "w") as f:
            f.write("running %s\n" % nodeid)


# Every non-daemon thread's thread-state lock, which threading._shutdown waits for at exit
# (the interpreter releases it when the thread's state goes): what the exit watchdog names
# when the interpreter waits for a thread that has ended. PyPy did, in about 3 whole runs in
# 10, for a lock no live thread held (tests/pypy_thread_exit.py: PyPy's bug, worked around
# above); the watchdog stays for any other such case.
_TSTATE_LOCKS: list = []
_PYTEST_STATUS: list = []
_set_tstate_lock = threading.Thread._set_tstate_lock


def _remember_tstate_lock(self) -> None:
    _set_tstate_lock(self)
    if not self.daemon:
        _TSTATE_LOCKS[:] = [x for x in _TSTATE_LOCKS if x[0].locked()]
        _TSTATE_LOCKS.append((self._tstate_lock, weakref.ref(self),
                              "%s (target %r)" % (self.name, self._target)))


threading.Thread._set_tstate_lock = _remember_tstate_lock


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    _PYTEST_STATUS.append(int(exitstatus))
    if _STATE_FILE:
        with open(_STATE_FILE, "a") as f:
            f.write("finished %d\n" % exitstatus)


# Seconds the interpreter may take to exit once pytest is done.
EXIT_BOUND = 120


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Once pytest is done, a watchdog: if the interpreter has not exited EXIT_BOUND seconds
    later, it prints every thread's stack and exits with status 1, so that a hang at exit
    (one PyPy run of the whole suite once stayed alive after its summary, not reproduced
    since; test_exit.py checks what the library leaves behind) fails the run with the
    stacks that say why, instead of hanging it. A normal exit cancels it. PyPy's faulthandler
    prints only the thread it runs in, so a daemon thread prints every Python thread's stack,
    and what threading still joins, a little before. One case is only reported: threading
    waiting for an ended thread's thread-state lock while nothing runs (PyPy did, in a few
    whole runs in ten, before forget_stopped_threads_at_exit): the watchdog names the thread
    and exits with pytest's own status."""
    import faulthandler
    faulthandler.dump_traceback_later(EXIT_BOUND, exit=True, file=sys.__stderr__)
    threading.Thread(target=_dump_threads_later, args=(EXIT_BOUND - 10,), daemon=True).start()


def _orphaned_tstate_locks() -> list:
    """Once threading._shutdown runs (the main thread marked stopped) and no non-daemon
    thread is alive: the ended threads whose thread-state lock is still held, but for those
    threading marked stopped, which exit no longer waits for (forget_stopped_threads_at_exit)."""
    if not threading.main_thread()._is_stopped:
        return []
    if any(not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        return []
    return [what for lock, thread, what in _TSTATE_LOCKS
            if lock.locked() and not getattr(thread(), "_is_stopped", False)]


def _dump_threads_later(seconds: float) -> None:
    import time
    import traceback
    out = sys.__stderr__
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(1)
        orphans = _orphaned_tstate_locks() if time.monotonic() - start > 10 else []
        if orphans and _PYTEST_STATUS:
            # Nothing runs: threading waits for the thread-state lock of a thread that has
            # ended (PyPy's bookkeeping, as in tests/pypy_thread_exit.py, but for a thread
            # the workaround does not cover: not marked stopped). Said loudly, it does not turn a
            # passed run into a failed one; any other hang at exit does (below).
            out.write("exit watchdog: WARNING: no thread is left to wait for, yet threading "
                      "waits for the thread-state lock of ended thread(s): %s; exiting with "
                      "pytest's status %d\n" % ("; ".join(orphans), _PYTEST_STATUS[0]))
            out.flush()
            os._exit(_PYTEST_STATUS[0])
    out.write("exit watchdog: the interpreter has not exited %d s after pytest; threading "
              "still has %d thread(s) to join and these atexit calls: %r\n"
              % (seconds, len(getattr(threading, "_shutdown_locks", ())),
                 getattr(threading, "_threading_atexits", None)))
    frames = sys._current_frames()
    for t in threading.enumerate():
        out.write("-- %r (daemon=%s, target %r)\n" % (t, t.daemon, getattr(t, "_target", None)))
        if t.ident in frames:
            out.write("".join(traceback.format_stack(frames[t.ident])))
    out.flush()
