# SPDX-License-Identifier: MIT
"""Every test of SQLAlchemy's dialect compliance suite, as shipped with SQLAlchemy."""

from sqlalchemy.testing.suite import *  # noqa: F401,F403


def _recognize_postpyro_server_side_cursor() -> None:
    """The suite's ServerSideCursorsTest knows a server-side cursor only by driver name
    (psycopg2: ``bool(cursor.name)``; any other name: never; its own comment calls this "a
    huge issue ... for third party dialects"). PostPyro's server-side cursor is named too:
    the same check as psycopg2's, nothing else changed."""
    from sqlalchemy.testing.suite import test_results

    cls = test_results.ServerSideCursorsTest
    original = cls._is_server_side

    def _is_server_side(self, cursor):
        if self.engine.dialect.driver in ("postpyro", "postpyro_async"):
            return bool(getattr(cursor, "name", None))
        return original(self, cursor)

    cls._is_server_side = _is_server_side


_recognize_postpyro_server_side_cursor()
