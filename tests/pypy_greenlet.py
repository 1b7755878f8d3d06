# SPDX-License-Identifier: MIT
"""PyPy's own greenlet, for the tests and benchmarks that run SQLAlchemy's asyncio support
(tests/python/conftest.py, tests/sqlalchemy/conftest.py, tests/bench/orm_bench.py put this
directory on sys.path and call ``use_pypy_greenlet()`` before SQLAlchemy is imported)."""

import importlib.util
import os
import sys


def use_pypy_greenlet() -> None:
    """Under PyPy the tests put CPython's dist-packages on the path (where pytest and
    SQLAlchemy live); CPython's greenlet there (a C extension PyPy cannot load) would hide
    PyPy's own greenlet module, which SQLAlchemy's asyncio support needs: import PyPy's
    first. Does nothing on CPython or once greenlet is imported."""
    if sys.implementation.name != "pypy" or "greenlet" in sys.modules:
        return
    import sysconfig
    path = os.path.join(sysconfig.get_path("stdlib"), "greenlet.py")
    if os.path.exists(path):
        spec = importlib.util.spec_from_file_location("greenlet", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["greenlet"] = module
        spec.loader.exec_module(module)
