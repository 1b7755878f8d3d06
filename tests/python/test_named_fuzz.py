# SPDX-License-Identifier: MIT
"""Hostile inputs for the ``$name`` placeholder rewriting (``_named.py``, the only SQL rewriting
PostPyro does, in Python): random SQL built from the fragments that hide a ``$`` — string
literals of every kind, quoted identifiers, dollar quotes, comments, identifiers holding
``$`` — checked two ways, with bounded work (a fixed seed; PP_FUZZ_SEED picks another):

- by itself: scanning never fails, and the rewritten SQL, scanned again, holds exactly the
  ``$1..$n`` placeholders that replaced the names, in order (the rewrite kept every literal
  and comment whole);
- against PostgreSQL's own lexer: SELECTs mixing traps (literals and names whose text looks
  like a placeholder) with real placeholders return every trap's text unchanged and every
  placeholder's value.
"""

from __future__ import annotations

import os
import random

from PostPyro import _named

SEED = int(os.environ.get("PP_FUZZ_SEED", "1905"))

FRAGMENTS = ["'", "''", "E'", "e'", "\\", "\\'", '"', '""', "$$", "$a$", "$1", "$x", "$é",
             "$_q", "--", "/*", "*/", "\n", ";", "::", "a$b", "é", " ", "x", "U&'", "$", "0",
             "$tag$", "B'", "1e$", "a$"]


def random_sql(rng: random.Random) -> str:
    return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 24)))


def test_rewriting_random_sql_keeps_its_structure():
    rng = random.Random(SEED)
    rewritten = 0
    for _ in range(4000):
        sql = random_sql(rng)
        p = _named._scan(sql)
        if not p.names:
            assert p.sql == sql
            continue
        rewritten += 1
        again = _named._scan(p.sql)
        assert again.names == ()
        numbers = {name: k + 1 for k, name in enumerate(p.names)}
        inserted = ["$%d" % numbers[name] for name in p.named_at]
        # the placeholders written before, then ours, in the order they appear: compare ours
        # with the new positional ones that are not the old ones
        assert sorted(again.positional) == sorted(list(p.positional) + inserted), sql
    assert rewritten > 500  # the generator does reach the rewriting


def _literal(rng: random.Random, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def _trap(rng: random.Random, k: int):
    """(SQL expression, the text the server returns for it) for a literal holding $-text."""
    body = _literal(rng, "$ab;é-*/'\\\"")
    kind = rng.randrange(4)
    if kind == 0:  # standard string: '' doubles a quote, backslash is plain
        return "'%s'" % body.replace("'", "''"), body
    if kind == 1:  # escape string: backslash escapes
        return "E'%s'" % body.replace("\\", "\\\\").replace("'", "\\'"), body
    if kind == 2:  # dollar quote with a tag the body cannot close
        return "$t%d$%s$t%d$" % (k, body, k), body
    return "U&'%s'" % body.replace("'", "''").replace("\\", "\\\\"), body


def test_server_sees_placeholders_where_the_rewrite_put_them(conn):
    rng = random.Random(SEED + 1)
    bound = traps = 0
    for _ in range(150):
        columns, expected, params = [], [], {}
        for k in range(rng.randint(1, 6)):
            choice = rng.randrange(4)
            if choice == 0:
                name = "p%s%d" % (rng.choice(["", "é", "_x", "$"]), k)
                if name.startswith("p$"):
                    name = "p%d" % k
                params[name] = k
                bound += 1
                columns.append("$%s::int" % name)
                expected.append(k)
            elif choice == 1:
                expr, text = _trap(rng, k)
                traps += 1
                columns.append(expr + "::text")
                expected.append(text)
            elif choice == 2:  # a quoted or $-holding column name: not a placeholder
                columns.append('%d AS "$n%d"' % (k, k) if rng.random() < 0.5
                               else "%d AS a$n%d" % (k, k))
                expected.append(k)
            else:  # a comment holding $-text before a value
                columns.append("/* $c%d '$x' */ %d -- $y%d\n" % (k, k, k))
                expected.append(k)
        sql = "SELECT " + ", ".join(columns)
        got = conn.query_one(sql, params) if params else conn.query_one(sql)
        assert list(got) == expected, sql
    assert bound > 50 and traps > 50
