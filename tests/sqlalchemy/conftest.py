# SPDX-License-Identifier: MIT
"""SQLAlchemy's dialect compliance suite (sqlalchemy.testing.suite) under its own pytest
plugin. Run it with run_suite.py, which makes a fresh database and passes --dburi."""

import importlib.util
import os
import sys

import pytest


def _pypy_own_greenlet() -> None:
    """Under PyPy the tests put CPython's dist-packages on the path (where pytest lives);
    CPython's greenlet there (a C extension PyPy cannot load) would hide PyPy's own
    greenlet module, which SQLAlchemy's asyncio support needs: import PyPy's first."""
    if sys.implementation.name != "pypy" or "greenlet" in sys.modules:
        return
    import sysconfig
    path = os.path.join(sysconfig.get_path("stdlib"), "greenlet.py")
    if os.path.exists(path):
        spec = importlib.util.spec_from_file_location("greenlet", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["greenlet"] = module
        spec.loader.exec_module(module)


_pypy_own_greenlet()  # (before SQLAlchemy is imported)

from sqlalchemy.dialects import registry  # noqa: E402

registry.register("postgresql.postpyro", "PostPyro.sqlalchemy", "dialect")
registry.register("postgresql.postpyro_async", "PostPyro.sqlalchemy_async", "dialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403

