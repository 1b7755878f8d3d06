# SPDX-License-Identifier: MIT
"""A throwaway PostgreSQL server of a test's own (tests/pgserver.sh), for tests that change
its configuration, stop it, restart it or crash it, never disturbing the shared one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from typing import Iterator, List, Optional

import PostPyro as pg

TOP_SRCDIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          os.pardir, os.pardir))

PGSERVER = os.path.join(TOP_SRCDIR, "tests", "pgserver.sh")
SERVER_USER = os.environ.get("PG_SERVER_USER", "postgres")


def server_env() -> dict:
    """Our environment without sanitizer preloads (the server's programs must not get them)."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}


def as_server_user(cmd: List[str]) -> List[str]:
    return (["runuser", "-u", SERVER_USER, "--"] + cmd) if os.geteuid() == 0 else cmd


class Server:
    """A running server: its directory, port and DSNs (superuser postgres, trusted)."""

    def __init__(self, path: str) -> None:
        self.dir = path
        self.data = os.path.join(path, "data")
        with open(os.path.join(path, "port")) as f:
            self.port = int(f.read())
        self.unix = "host=%s port=%d dbname=postpyro_test user=postgres" % (path, self.port)
        self.tcp = "host=127.0.0.1 port=%d dbname=postpyro_test user=postgres" % self.port
        with open(os.path.join(self.data, "postmaster.opts")) as f:
            self.bindir = os.path.dirname(f.read().split()[0].strip("'\""))

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            as_server_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                            "-l", os.path.join(self.dir, "server.log")] + list(args)),
            check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
            cwd=self.dir, env=server_env())

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def start(self) -> None:
        self.pg_ctl("-o", "-p %d" % self.port, "-w", "-t", "60", "start")

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-o", "-p %d" % self.port, "-w", "-t", "60", "restart")

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def conf(self, text: str) -> None:
        """Appends settings to postgresql.conf (reload or restart to apply)."""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n" + text + "\n")

    def hba(self, text: str) -> None:
        """Puts these lines in front of pg_hba.conf's (reload to apply)."""
        path = os.path.join(self.data, "pg_hba.conf")
        with open(path) as f:
            old = f.read()
        with open(path, "w") as f:
            f.write(text + "\n" + old)

    def reload(self) -> None:
        with pg.Connection(self.unix) as c:
            c.query("SELECT pg_reload_conf()")
        time.sleep(0.3)  # the postmaster re-reads the files asynchronously

    def sql(self, sql: str) -> list:
        with pg.Connection(self.unix) as c:
            return c.query(sql)

    def chown(self, path: str) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, SERVER_USER)


def wait_until_up(dsn: str, limit: float = 60.0) -> pg.Connection:
    """A new connection once the server accepts them (again)."""
    end = time.monotonic() + limit
    while True:
        try:
            return pg.Connection(dsn)
        except pg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def own_server(prefix: str = "pp-own.", bindir: Optional[str] = None) -> Iterator[Server]:
    """Starts a server in a fresh directory under /tmp; always stops it and deletes it."""
    base = "/tmp" if os.geteuid() == 0 else (os.environ.get("TMPDIR") or "/tmp")
    path = tempfile.mkdtemp(prefix=prefix, dir=base)
    env = server_env()
    if bindir:
        env["PG_BINDIR"] = bindir
    try:
        subprocess.run(["bash", PGSERVER, "start", path], check=True,
                       stdout=subprocess.DEVNULL, timeout=180, env=env)
        yield Server(path)
    finally:
        subprocess.run(["bash", PGSERVER, "stop", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120, env=env)
        shutil.rmtree(path, ignore_errors=True)
