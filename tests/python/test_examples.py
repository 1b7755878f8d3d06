# SPDX-License-Identifier: MIT
"""The programs under examples/ run and do what they say."""

import os
import subprocess
import sys

import PostPyro as pg
from conftest import TOP_SRCDIR


def run_example(name, *args):
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(pg.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, os.path.join(TOP_SRCDIR, "examples", name)]
                          + list(args), env=env, capture_output=True, text=True, timeout=120)


def test_quickstart_runs_against_the_dsn_given_as_argument(sdsn, conn):
    proc = run_example("quickstart.py", sdsn)
    assert proc.returncode == 0, proc.stderr
    assert "inserted 3 rows" in proc.stdout
    assert "transaction committed" in proc.stdout
    # It cleans up after itself.
    assert conn.query("SELECT 1 FROM pg_tables WHERE tablename = 'quickstart_users'") == []


def test_quickstart_reads_the_dsn_from_the_environment(sdsn):
    env_dsn = os.environ.get("PP_TEST_DSN")
    try:
        os.environ["PP_TEST_DSN"] = sdsn
        proc = run_example("quickstart.py")
    finally:
        os.environ["PP_TEST_DSN"] = env_dsn
    assert proc.returncode == 0, proc.stderr
