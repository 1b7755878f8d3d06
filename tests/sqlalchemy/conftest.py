# SPDX-License-Identifier: MIT
"""SQLAlchemy's dialect compliance suite (sqlalchemy.testing.suite) under its own pytest
plugin. Run it with run_suite.py, which makes a fresh database and passes --dburi."""

import os
import sys

import pytest

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
from pypy_greenlet import use_pypy_greenlet  # noqa: E402

use_pypy_greenlet()  # (before SQLAlchemy is imported)

from sqlalchemy.dialects import registry  # noqa: E402

registry.register("postgresql.postpyro", "PostPyro.sqlalchemy", "dialect")
registry.register("postgresql.postpyro_async", "PostPyro.sqlalchemy_async", "dialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403

