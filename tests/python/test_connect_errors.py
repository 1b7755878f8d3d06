# SPDX-License-Identifier: MIT
"""What a failed connect says (issue 10, defects 4 and 13): the server's SQLSTATE, and never
the password — not in str(), repr(), args, diag, nor the formatted traceback."""

from __future__ import annotations

import traceback

import pytest

import PostPyro as pg

from conftest import dsn_with

SECRET = "SECRET"


def all_text(exc: BaseException) -> str:
    """Everything an application might log about exc."""
    parts = [str(exc), repr(exc), repr(exc.args)]
    parts += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    diag = getattr(exc, "diag", None)
    if diag is not None:
        parts += [repr(getattr(diag, name)) for name in type(diag).__slots__]
    parts += [repr(getattr(exc, name, None)) for name in ("pgerror", "sqlstate")]
    return "\n".join(parts)


MALFORMED = [
    "postgresql://app:SECRET@[::1",
    "postgresql://app:SECRET%zz@h/db",
    "postgresql://app:SECRET%00@h/db",
    "postgresql://app:SECRET%2@h/db",
    "postgresql://app:%53ECRET%zz@h/db",                 # S percent-encoded
    "postgresql://SECRET:SECRET@[::1",                   # the password is the user name too
    "postgresql://app:SECRET@h:notaport/db",
    "postgresql://app:SEC@RET@[::1",                     # a raw @ inside the password
    "postgresql://app:x@h/db?password=SECRET&port=zz",
    "postgresql://app:x@h/db?password=SECRET%zz",
    "postgres://app:it's SECRET@[::1",
    "host=h password=SECRET port=notaport",
    "host=h password='it''s SECRET' port=notaport",
    "host=h password='SECRET with spaces' port=notaport",
    "host=h password='q\\'SECRET\\'q' port=notaport",
    "host=h password = SECRET port=notaport",
    "host=h password='SECRET",                           # unterminated quote
    "host=h user=SECRET password=SECRET port=notaport",
    "password=SECRET@h port=notaport",
    "host=h password=SECRET sslmode=nonsense",
    "host=h password=SECRET unknown_option=1",
]


@pytest.mark.parametrize("dsn", MALFORMED)
def test_a_malformed_dsn_never_shows_the_password(dsn):
    with pytest.raises(pg.Error) as info:
        pg.Connection(dsn)
    text = all_text(info.value)
    assert SECRET not in text, text
    assert "SEC@RET" not in text and "%53ECRET" not in text


def test_a_malformed_dsn_through_connect_keywords_never_shows_the_password():
    with pytest.raises(pg.Error) as info:
        pg.connect("postgresql://app@[::1", password=SECRET)
    assert SECRET not in all_text(info.value)


def test_the_message_still_says_what_is_wrong():
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection("postgresql://app:SECRET@h:notaport/db")
    assert "notaport" in str(info.value) and "port" in str(info.value)


def test_a_wrong_password_raises_invalid_password(pw_dsn):
    bad = dsn_with(pw_dsn, password="not-" + SECRET)
    with pytest.raises(pg.errors.InvalidPassword) as info:
        pg.Connection(bad)
    exc = info.value
    assert exc.sqlstate == "28P01"
    assert isinstance(exc, pg.OperationalError)
    assert "password authentication failed" in str(exc)
    assert "28P01" not in str(exc)  # the code is in .sqlstate, the message reads as usual
    assert SECRET not in all_text(exc)


def test_an_unknown_database_keeps_its_sqlstate_and_stays_operational(dsn):
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection(dsn_with(dsn, dbname="no_such_database_x"))
    assert info.value.sqlstate == "3D000"


def test_a_refused_connection_is_08006():
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection("host=127.0.0.1 port=1 dbname=x user=x")
    assert info.value.sqlstate == "08006"


def test_a_short_password_does_not_mask_the_servers_own_words(dsn):
    # "x" is removed where it stands as a word of its own, not inside "exist"
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection(dsn_with(dsn, user="pp_no_such_user", password="x"))
    assert 'role "pp_no_such_user" does not exist' in str(info.value)
