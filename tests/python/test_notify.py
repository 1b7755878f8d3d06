# SPDX-License-Identifier: MIT
"""LISTEN/NOTIFY on the sync Connection: listen/unlisten/notify and notifies()."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import pytest

import PostPyro as pg
from ctrlc import ctrl_c_after, python_sigint_handler


@pytest.fixture
def channel() -> str:
    return "ch_" + uuid.uuid4().hex[:12]


@pytest.fixture
def listener(dsn):
    c = pg.Connection(dsn)
    yield c
    c.close()


@pytest.fixture
def sender(dsn):
    c = pg.Connection(dsn)
    yield c
    c.close()


def from_pid(listener, pid: int) -> pg.Notify:
    """The first notification ``pid`` sent: one of a fixed channel name may also come from
    another suite running at the same time on the same server."""
    for n in listener.notifies(timeout=5):
        if n.pid == pid:
            return n
    raise AssertionError("no notification from backend %d" % pid)


def wait_until_running(admin, pid: int, what: str) -> None:
    """Until the server shows backend ``pid`` running a statement containing ``what``."""
    for _ in range(500):
        r = admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' "
                        "AND query LIKE $2", [pid, "%" + what + "%"])
        if r:
            return
        time.sleep(0.01)
    raise AssertionError("statement never started")


def test_notification_is_delivered_with_channel_payload_pid(listener, sender, channel):
    listener.listen(channel)
    sender.notify(channel, "hello")
    got = list(listener.notifies(timeout=5, stop_after=1))
    assert got == [pg.Notify(channel, "hello", sender.info()["backend_pid"])]
    assert (got[0].channel, got[0].payload, got[0].pid) == tuple(got[0])


def test_payload_none_is_empty_string(listener, sender, channel):
    listener.listen(channel)
    sender.notify(channel)
    assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == [""]


def test_notification_sent_while_a_long_query_runs_is_kept(listener, sender, admin, channel):
    listener.listen(channel)
    pid = listener.info()["backend_pid"]

    def send():
        wait_until_running(admin, pid, "pg_sleep")
        sender.notify(channel, "during")

    t = threading.Thread(target=send)
    t.start()
    assert listener.query_one("SELECT 42 FROM pg_sleep(0.8)")[0] == 42
    t.join()
    got = list(listener.notifies(timeout=5, stop_after=1))
    assert [(n.channel, n.payload) for n in got] == [(channel, "during")]


def test_notification_between_listen_and_notifies_is_kept(listener, sender, channel):
    listener.listen(channel)
    sender.notify(channel, "early-1")
    time.sleep(0.2)
    # statements read the notification into the queue; notifies() hands it out later
    for _ in range(3):
        listener.query("SELECT 1")
    sender.notify(channel, "early-2")
    time.sleep(0.2)  # this one still sits in the socket
    got = [n.payload for n in listener.notifies(timeout=5, stop_after=2)]
    assert got == ["early-1", "early-2"]


def test_timeout_zero_returns_only_what_arrived(listener, sender, channel):
    listener.listen(channel)
    assert list(listener.notifies(timeout=0)) == []
    sender.notify(channel, "x")
    # until it arrived (was: one look 0.2 s after, which a loaded machine can outrun)
    got = []
    give_up = time.monotonic() + 10
    while not got and time.monotonic() < give_up:
        time.sleep(0.05)
        got = [n.payload for n in listener.notifies(timeout=0)]
    assert got == ["x"]


def test_timeout_ends_the_iteration(listener, channel):
    listener.listen(channel)
    t0 = time.monotonic()
    assert list(listener.notifies(timeout=0.3)) == []
    assert 0.25 <= time.monotonic() - t0 < 3.0


def test_stop_after_keeps_the_rest_for_the_next_iteration(listener, sender, channel):
    listener.listen(channel)
    with sender.begin():
        for i in range(5):
            sender.notify(channel, str(i))
    first = [n.payload for n in listener.notifies(timeout=5, stop_after=2)]
    rest = [n.payload for n in listener.notifies(timeout=5, stop_after=3)]
    assert first + rest == ["0", "1", "2", "3", "4"]


def test_overflow_is_reported_after_the_kept_ones(listener, sender, channel):
    listener.notify_limit = 10
    assert listener.notify_limit == 10
    listener.listen(channel)
    with sender.begin():
        for i in range(25):
            sender.notify(channel, str(i))
    # statements read them (10 kept, 15 dropped) until all 25 came (was: one statement
    # 0.5 s after, which a loaded machine's server could outrun: fewer were dropped)
    give_up = time.monotonic() + 10
    while True:
        listener.query("SELECT 1")
        if listener.notifies_lost >= 15 or time.monotonic() > give_up:
            break
        time.sleep(0.05)
    got = []
    with pytest.raises(pg.NotificationsLost) as info:
        for n in listener.notifies(timeout=5):
            got.append(n.payload)
    assert got == [str(i) for i in range(10)]
    assert info.value.lost == 15
    assert listener.notifies_lost == 15
    assert isinstance(info.value, pg.OperationalError)
    # reported once: listening goes on
    sender.notify(channel, "after")
    assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["after"]


def test_notify_limit_must_be_positive(listener):
    for bad in (0, -1, 1.5, "3", True):
        with pytest.raises(pg.ProgrammingError):
            listener.notify_limit = bad


def test_unlisten_stops_delivery(listener, sender, channel):
    other = channel + "_b"
    listener.listen(channel)
    listener.listen(other)
    listener.unlisten(channel)
    sender.notify(channel, "no")
    sender.notify(other, "yes")
    sender.notify(channel, "no")
    assert [(n.channel, n.payload) for n in listener.notifies(timeout=1)] == [(other, "yes")]
    listener.unlisten()  # all
    sender.notify(other, "no")
    assert list(listener.notifies(timeout=0.5)) == []


@pytest.mark.parametrize("name", ['evil"; DROP TABLE {victim}; --', "MixedCase", "a b",
                                  "sélection", "UNLISTEN"])
def test_hostile_channel_names_are_quoted(listener, sender, admin, name):
    victim = "pp_victim_" + uuid.uuid4().hex[:8]  # unique: suites share the server
    name = name.format(victim=victim)
    admin.execute("CREATE TABLE %s (x int)" % victim)
    try:
        listener.listen(name)
        sender.notify(name, "it's $1 \\ 'quoted'")
        got = from_pid(listener, sender.info()["backend_pid"])
        assert got[:2] == (name, "it's $1 \\ 'quoted'")
        assert admin.query_one("SELECT to_regclass($1) IS NOT NULL", [victim])[0]
    finally:
        listener.unlisten()
        admin.execute("DROP TABLE IF EXISTS " + victim)


def test_bad_channel_and_payload_are_refused(listener):
    with pytest.raises(pg.ProgrammingError):
        listener.listen("")
    with pytest.raises(pg.ProgrammingError):
        listener.listen(3)
    with pytest.raises(pg.DataError):
        listener.notify("a\0b", "x")
    with pytest.raises(pg.ProgrammingError):
        listener.notify("ch", b"bytes")
    with pytest.raises(pg.ProgrammingError):
        listener.notifies(stop_after=0)
    with pytest.raises(pg.ProgrammingError):
        listener.notifies(timeout=-1)


def test_notifies_on_a_closed_connection_raises(dsn):
    c = pg.Connection(dsn)
    c.close()
    with pytest.raises(pg.InterfaceError):
        c.notifies(timeout=0)


def test_server_closing_the_connection_ends_the_wait(listener, admin, channel):
    listener.listen(channel)
    pid = listener.info()["backend_pid"]
    threading.Timer(0.3, admin.query, ("SELECT pg_terminate_backend($1)", [pid])).start()
    t0 = time.monotonic()
    with pytest.raises(pg.OperationalError):
        list(listener.notifies(timeout=10))
    assert time.monotonic() - t0 < 5


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_interrupts_the_wait(listener, channel):
    listener.listen(channel)
    # Python's own handler, also when the suite runs as a background job (SIGINT ignored)
    with python_sigint_handler(), ctrl_c_after(0.3) as ctrl_c:
        list(listener.notifies(timeout=10))
    assert ctrl_c.elapsed < 3
    assert listener.query_one("SELECT 1")[0] == 1  # still usable


def test_another_thread_can_run_statements_while_one_listens(listener, sender, channel):
    listener.listen(channel)
    got = []
    t = threading.Thread(target=lambda: got.extend(listener.notifies(timeout=5, stop_after=2)))
    t.start()
    for _ in range(20):
        assert listener.query_one("SELECT $1::int", [7])[0] == 7
    sender.notify(channel, "1")
    sender.notify(channel, "2")
    t.join(10)
    assert [n.payload for n in got] == ["1", "2"]


def test_100000_notifications_none_lost(listener, sender, channel):
    total = 100_000
    listener.listen(channel)
    failed = []

    def send():
        try:
            for start in range(0, total, 10_000):
                sender.execute("SELECT pg_notify($1, g::text) "
                               "FROM generate_series($2::int, $3) AS g",
                               [channel, start, start + 9_999])
        except BaseException as exc:  # the listener then stops at its timeout
            failed.append(exc)

    t = threading.Thread(target=send)
    t0 = time.monotonic()
    t.start()
    expected = 0
    for n in listener.notifies(timeout=60, stop_after=total):
        assert n.payload == str(expected)
        expected += 1
    t.join()
    assert failed == []
    assert expected == total
    assert listener.notifies_lost == 0
    assert time.monotonic() - t0 < 60


# ---- channel names longer than the server's identifiers -------------------------------------

def test_a_63_byte_channel_name_works_whole(listener, sender, channel):
    name = channel + "c" * (61 - len(channel)) + "é"  # 63 bytes in UTF-8
    listener.listen(name)
    sender.notify(name, "x")
    assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [name]


@pytest.mark.parametrize("name", ["c" * 64, "c" * 62 + "é", "é" * 32])
def test_a_channel_name_over_63_bytes_is_refused_everywhere(listener, sender, name):
    # the server would cut LISTEN's name (a NOTICE only) and refuse pg_notify's: both refuse
    for call in (listener.listen, listener.unlisten, sender.notify):
        with pytest.raises(pg.ProgrammingError, match=r"at most 63 bytes"):
            call(name)
    assert listener.query("SELECT pg_listening_channels()") == []
    assert listener.query_one("SELECT 1")[0] == 1 and sender.query_one("SELECT 1")[0] == 1


def test_a_refused_name_in_a_pep249_transaction_leaves_it_usable(dsn):
    with pg.connect(dsn) as c:
        c.execute("CREATE TEMP TABLE t (a int)")
        with pytest.raises(pg.ProgrammingError, match="max_identifier_length"):
            c.listen("x" * 100)
        c.execute("INSERT INTO t VALUES (1)")
        c.commit()
        assert c.query_one("SELECT count(*) FROM t")[0] == 1


def test_the_limit_counts_bytes_in_the_server_s_encoding(admin, dsn, channel):
    from conftest import dsn_with
    db = "pp_latin1_" + channel  # another suite on the same server has its own
    admin.execute("CREATE DATABASE %s ENCODING 'LATIN1' TEMPLATE template0 "
                  "LC_COLLATE 'C' LC_CTYPE 'C'" % db)
    try:
        name = channel + "é" * (63 - len(channel))  # 114 bytes in UTF-8, 63 in LATIN1
        with pg.Connection(dsn_with(dsn, dbname=db)) as c, \
                pg.Connection(dsn_with(dsn, dbname=db)) as s:
            c.listen(name)
            s.notify(name, "x")
            assert [n.channel for n in c.notifies(timeout=5, stop_after=1)] == [name]
            with pytest.raises(pg.ProgrammingError, match="64 bytes"):
                c.listen(name + "é")
    finally:
        admin.execute("DROP DATABASE %s" % db)
