# SPDX-License-Identifier: MIT
"""Starts and stops a PgBouncer for tests: on a free 127.0.0.1 port, in a temp dir, as the
user ``postgres`` when we are root (PgBouncer refuses to run as root), always stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator, Optional

import pytest

TOP_SRCDIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          os.pardir, os.pardir))


def debian_pgbouncer() -> str:
    path = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(path, os.X_OK):
        pytest.fail("pgbouncer is not installed (Debian: apt-get install pgbouncer)",
                    pytrace=False)
    return path


def new_pgbouncer() -> str:
    """A PgBouncer >= 1.21 (tests/pgbouncer-new.sh builds it once from Debian's archive).
    PP_NO_NEW_PGBOUNCER=1 skips the tests that need it (no network, no libevent-dev)."""
    if os.environ.get("PP_NO_NEW_PGBOUNCER") == "1":
        pytest.skip("PP_NO_NEW_PGBOUNCER=1: no PgBouncer >= 1.21 wanted")
    out = subprocess.run(["bash", os.path.join(TOP_SRCDIR, "tests", "pgbouncer-new.sh")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=600)
    if out.returncode != 0:
        pytest.fail("no PgBouncer >= 1.21: " + out.stderr[-1500:], pytrace=False)
    return out.stdout.strip()


def version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout.split()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    text = open(log).read() if os.path.exists(log) else ""
    pytest.fail("pgbouncer did not start:\n" + text[-2000:], pytrace=False)


@contextlib.contextmanager
def running(exe: str, *, server_port: int, database: str, user: str,
            password: Optional[str] = None, pool_mode: str = "transaction",
            pool_size: int = 2, extra: str = "") -> Iterator[str]:
    """A PgBouncer in front of 127.0.0.1:server_port; yields the DSN clients use. Without a
    password the clients are trusted (auth_type = trust); with one they log in with
    scram-sha-256, and PgBouncer logs into the server with the same password."""
    tmp = tempfile.mkdtemp(prefix="pp_bouncer_")
    proc = None
    try:
        with open(os.path.join(tmp, "users.txt"), "w") as f:
            f.write('"%s" "%s"\n' % (user, password or ""))
        os.chmod(os.path.join(tmp, "users.txt"), 0o600)
        auth = "scram-sha-256" if password else "trust"
        for attempt in range(5):
            port = _free_port()
            log = os.path.join(tmp, "pgbouncer.log")
            with open(os.path.join(tmp, "pgbouncer.ini"), "w") as f:
                f.write("[databases]\n"
                        "%s = host=127.0.0.1 port=%d dbname=%s\n"
                        "[pgbouncer]\n"
                        "listen_addr = 127.0.0.1\n"
                        "listen_port = %d\n"
                        "unix_socket_dir =\n"
                        "auth_type = %s\n"
                        "auth_file = %s/users.txt\n"
                        "pool_mode = %s\n"
                        "default_pool_size = %d\n"
                        "max_client_conn = 100\n"
                        "logfile = %s\n"
                        "ignore_startup_parameters = extra_float_digits\n%s"
                        % (database, server_port, database, port, auth, tmp, pool_mode,
                           pool_size, log, extra))
            cmd = [exe, os.path.join(tmp, "pgbouncer.ini")]
            if os.geteuid() == 0:
                shutil.chown(tmp, "postgres")
                for name in os.listdir(tmp):
                    shutil.chown(os.path.join(tmp, name), "postgres")
                cmd[1:1] = ["-u", "postgres"]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            try:
                _wait_for_port(port, proc, log)
                break
            except pytest.fail.Exception:
                if proc.poll() is None or attempt == 4:
                    raise  # not a port clash
        dsn = "host=127.0.0.1 port=%d dbname=%s user=%s connect_timeout=10" % (
            port, database, user)
        if password:
            dsn += " password=%s" % password
        yield dsn
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
