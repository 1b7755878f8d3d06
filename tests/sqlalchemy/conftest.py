# SPDX-License-Identifier: MIT
"""SQLAlchemy's dialect compliance suite (sqlalchemy.testing.suite) under its own pytest
plugin. Run it with run_suite.py, which makes a fresh database and passes --dburi."""

import pytest
from sqlalchemy.dialects import registry

registry.register("postgresql.postpyro", "PostPyro.sqlalchemy", "dialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403

