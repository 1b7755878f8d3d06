# SPDX-License-Identifier: MIT
"""tests/run-suite.sh names where a pytest run that ended without its summary was: a
crash by a signal names the signal and the test that was running, a KeyboardInterrupt
that got out of a test names that test (pytest then stops with status 2 and no FAILED
line, and the rest of the suite does not run). Each case runs the suite's own step on a
small scratch test directory, with this conftest.py."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import textwrap

import PostPyro as pg

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)

SCRATCH_TESTS = textwrap.dedent("""
    import os, signal, threading, time

    def test_passes():
        pass

    def test_crashes():
        os.kill(os.getpid(), signal.SIGSEGV)

    def test_interrupted():
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        time.sleep(5)
""")


def run_suite(tmp_path, test: str, status: int = 1) -> str:
    """run-suite.sh's pytest step for this interpreter on the scratch test `test`: its
    output (its exit status must be `status`)."""
    top = tmp_path / "top"
    (top / "tests" / "python").mkdir(parents=True)
    shutil.copy(os.path.join(HERE, "conftest.py"), top / "tests" / "python")
    shutil.copy(os.path.join(TESTS, "pypy_greenlet.py"), top / "tests")
    shutil.copy(os.path.join(TESTS, "pypy_thread_exit.py"), top / "tests")
    (top / "tests" / "python" / "test_scratch.py").write_text(SCRATCH_TESTS)
    # run-suite.sh takes the library and the package from TOP_BUILDDIR's layout: a scratch
    # one holding this run's own (tests/asan.sh's library is a copy outside any build tree)
    library = os.environ["POSTPYRO_LIBRARY"]
    (top / "libpostpyro" / ".libs").mkdir(parents=True)
    (top / "libpostpyro" / ".libs" / os.path.basename(library)).symlink_to(library)
    (top / "postpyro_py").mkdir()
    (top / "postpyro_py" / "inplace").symlink_to(os.path.dirname(os.path.dirname(pg.__file__)))
    pypy = sys.implementation.name == "pypy"
    env = dict(os.environ, TOP_SRCDIR=str(top), TOP_BUILDDIR=str(top),
               PP_SONAME=os.path.basename(library), PYTEST_ARGS="-k " + test,
               PYTHON=sys.executable, HAVE_PYTEST="yes", HAVE_PYPY="yes" if pypy else "no",
               PYPY=sys.executable if pypy else "",
               PYPY_PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    if "ASAN_OPTIONS" in env:  # under tests/asan.sh: the crash must end the process (a
        env["ASAN_OPTIONS"] += ":handle_segv=0"  # SIGSEGV), not ASan's report (status 1)

    def no_core():  # the crash is on purpose: no core file
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    done = subprocess.run(["bash", os.path.join(TESTS, "run-suite.sh"),
                           "pypy" if pypy else "python"],
                          cwd=str(top / "tests"), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, preexec_fn=no_core, timeout=300)
    out = done.stdout.decode(errors="replace")
    assert done.returncode == status, out
    return out


def fail_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("FAIL: pytest under")]
    assert len(lines) == 1, out
    return lines[0]


def test_a_crash_names_the_signal_and_the_test(tmp_path):
    out = run_suite(tmp_path, "test_crashes")
    line = fail_line(out)
    assert "(exit status 139, killed by SIGSEGV), in " in line, out
    assert line.endswith("test_scratch.py::test_crashes"), out
    assert "Fatal Python error: Segmentation fault" in out  # with the test's stack


def test_an_interrupt_out_of_a_test_names_the_test(tmp_path):
    out = run_suite(tmp_path, "test_interrupted")
    line = fail_line(out)
    assert "(exit status 2): interrupted (a KeyboardInterrupt) in " in line, out
    assert line.endswith("test_scratch.py::test_interrupted"), out

