#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PostPyro quick start: connect, create a table, insert with parameters, query, use a
transaction, clean up.

    python3 examples/quickstart.py "host=/tmp dbname=test user=me"
    PP_TEST_DSN="postgresql://me:pw@localhost/test" python3 examples/quickstart.py

The DSN is the first argument, else the environment variable PP_TEST_DSN. The program
creates the table quickstart_users and drops it at the end.
"""

import os
import sys

import PostPyro as pg


def main(argv):
    dsn = argv[1] if len(argv) > 1 else os.environ.get("PP_TEST_DSN")
    if not dsn:
        print("usage: quickstart.py DSN   (or set PP_TEST_DSN)", file=sys.stderr)
        return 2

    with pg.Connection(dsn) as conn:
        info = conn.info()
        print("connected to PostgreSQL %s as %s, database %s (PostPyro %s)"
              % (info["server_version"], info["user"], info["database"], pg.__version__))

        conn.execute("""
            CREATE TABLE quickstart_users (
                id serial PRIMARY KEY,
                name text NOT NULL,
                email text UNIQUE,
                active boolean NOT NULL DEFAULT true
            )""")
        print("created table quickstart_users")
        try:
            # Parameters are PostgreSQL's own $1, $2, … ; values are never put into the SQL.
            n = conn.executemany(
                "INSERT INTO quickstart_users (name, email, active) VALUES ($1, $2, $3)",
                [["Alice", "alice@example.com", True],
                 ["Bob", "bob@example.com", False],
                 ["Carol", "carol@example.com", True]])
            print("inserted %d rows" % n)

            for user in conn.query("SELECT id, name, email FROM quickstart_users "
                                   "WHERE active = $1 ORDER BY id", [True]):
                print("  active user %d: %s <%s>" % (user["id"], user["name"], user["email"]))

            # A transaction: both statements or neither.
            with conn.begin() as tx:
                tx.execute("UPDATE quickstart_users SET active = true WHERE name = $1", ["Bob"])
                tx.execute("INSERT INTO quickstart_users (name, email) VALUES ($1, $2)",
                           ["Dan", "dan@example.com"])
            print("transaction committed: %d users are active"
                  % conn.query_one("SELECT count(*) FROM quickstart_users WHERE active")[0])

            # A failing transaction is rolled back as a whole.
            try:
                with conn.begin() as tx:
                    tx.execute("INSERT INTO quickstart_users (name, email) VALUES ($1, $2)",
                               ["Eve", "eve@example.com"])
                    tx.execute("INSERT INTO quickstart_users (name, email) VALUES ($1, $2)",
                               ["Alice again", "alice@example.com"])
            except pg.IntegrityError as e:
                print("transaction rolled back: %s" % e.diag.message_primary)
            print("%d users in the table"
                  % conn.query_one("SELECT count(*) FROM quickstart_users")[0])
        finally:
            conn.execute("DROP TABLE quickstart_users")
            print("dropped table quickstart_users")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
