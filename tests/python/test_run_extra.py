# SPDX-License-Identifier: MIT
"""tests/run-extra.sh's libpq part runs C test programs that make builds (test_nonblock,
test_close_cancel, test_chunked) against libpq 18. One that is missing is a note on a
developer's run, but under PP_REQUIRE_ALL=1 (run-tests.sh, so CI) the part fails and names
it: before, CI passed with that libpq 18 run silently left out. Each case runs the real
script's libpq part in a scratch tree whose servers, libpq 18 and Python tests are stand-ins
(no server, no npm): only what it does about the C programs is looked at."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

pytestmark = pytest.mark.source_check  # a shell script's logic: the same under any interpreter

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def executable(path, text: str) -> None:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_libpq_part(tmp_path, require_all: bool):
    """run-extra.sh libpq with only test_nonblock built: its output and exit status."""
    top = tmp_path / "top"
    (top / "tests" / "c").mkdir(parents=True)
    (top / "libpostpyro" / ".libs").mkdir(parents=True)
    # the servers and libpq 18 from npm; run-with-server.sh runs its command (the Python
    # tests' pytest_run passes); "python" passes the libpq version check
    executable(top / "tests" / "pgversions.sh", 'case $1 in bindir|libdir) echo "$0.d";; esac\n')
    executable(top / "tests" / "run-with-server.sh",
               '[ "$1" = pytest_run ] && exit 0\nexec "$@"\n')
    executable(top / "python", "exit 0\n")
    ran = tmp_path / "ran"
    executable(top / "tests" / "c" / "test_nonblock", 'echo "$0" >>%s\n' % ran)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PP_")}
    env.update(TOP_SRCDIR=str(top), TOP_BUILDDIR=str(top), PYTHON=str(top / "python"),
               PP_EXTRA_VERSIONS="18")
    if require_all:
        env["PP_REQUIRE_ALL"] = "1"
    done = subprocess.run(["bash", os.path.join(TESTS, "run-extra.sh"), "libpq"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = done.stdout.decode(errors="replace")
    assert ran.read_text().split() == [str(top / "tests" / "c" / "test_nonblock")], out
    return out, done.returncode


@pytest.mark.parametrize("missing", ["test_close_cancel", "test_chunked"])
def test_a_missing_c_program_fails_the_part_under_require_all(tmp_path, missing):
    out, status = run_libpq_part(tmp_path, require_all=True)
    assert status == 1, out
    fail = [line for line in out.splitlines() if line.startswith("FAIL: ")
            and line.split()[1].endswith("/tests/c/" + missing)]
    assert len(fail) == 1 and "was not built" in fail[0], out
    assert "libpq 18 at run time: FAILED" in out


def test_a_missing_c_program_is_a_note_otherwise(tmp_path):
    out, status = run_libpq_part(tmp_path, require_all=False)
    assert status == 0, out
    assert "FAIL" not in out
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2 and all("not built" in line for line in notes), out
