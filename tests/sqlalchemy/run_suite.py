#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run SQLAlchemy's dialect compliance suite against the test server for one or more
drivers, each in a fresh database with the schemas test_schema and test_schema_2, with the
same runner and settings (test.cfg), and compare.

    run_suite.py [--driver postpyro] [--driver psycopg2] [--reference DRIVER.json]
                 [--save-dir DIR] [--fail-on-regression] [-- PYTEST_ARGS...]

Needs PP_TEST_DSN (tests/run-with-server.sh sets it); connects as its user over its host.
Prints each driver's passed/failed/skipped counts. With two drivers (or --reference, the
outcomes a run saved with --save-dir DIR as DIR/DRIVER.json, e.g. CPython's psycopg2 for a
PyPy run, where psycopg2 does not exist), lists the tests
the first driver does not pass that the reference passes; --fail-on-regression then exits 1
when there is one or when the first driver passes fewer tests.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))


def dsn_fields(dsn):
    out = {}
    for part in dsn.split():
        key, _, value = part.partition("=")
        out[key] = value
    return out


def fresh_database(name):
    import PostPyro as pg
    dsn = os.environ["PP_TEST_DSN"]
    with pg.Connection(dsn) as admin:
        admin.execute("DROP DATABASE IF EXISTS %s" % name)
        admin.execute("CREATE DATABASE %s" % name)
    fields = dsn_fields(dsn)
    fields["dbname"] = name
    with pg.Connection(" ".join("%s=%s" % kv for kv in fields.items())) as conn:
        conn.execute("CREATE SCHEMA test_schema")
        conn.execute("CREATE SCHEMA test_schema_2")
    return fields


def drop_database(name):
    import PostPyro as pg
    with pg.Connection(os.environ["PP_TEST_DSN"]) as admin:
        admin.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def url_for(driver, fields):
    query = "host=%s" % fields.get("host", "127.0.0.1")
    if "port" in fields:
        query += "&port=%s" % fields["port"]
    user = fields.get("user", "postgres")
    pw = (":" + fields["password"]) if "password" in fields else ""
    return "postgresql+%s://%s%s@/%s?%s" % (driver, user, pw, fields["dbname"], query)


def outcomes(junit_path):
    """{test id: 'passed' | 'failed' | 'skipped'} from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        # the class name carries the dialect and server version: TestX_postgresql+psycopg2_15_18
        cls = re.sub(r"_postgresql\+\w+_[\d_]+$", "", case.get("classname"))
        name = "%s::%s" % (cls, case.get("name"))
        if case.find("failure") is not None or case.find("error") is not None:
            out[name] = "failed"
        elif case.find("skipped") is not None:
            out[name] = "skipped"
        else:
            out[name] = "passed"
    return out


def run(driver, pytest_args):
    db = "sqla_suite_%s" % driver
    fields = fresh_database(db)
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "junit.xml")
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=short",
               "-p", "no:warnings", "--dburi", url_for(driver, fields),
               "--junitxml", junit, "test_suite.py"] + pytest_args
        start = time.monotonic()
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # the source tree may be read-only
        subprocess.run(cmd, cwd=HERE, env=env, stdout=sys.stdout, stderr=sys.stderr)
        seconds = time.monotonic() - start
        result = outcomes(junit) if os.path.exists(junit) else {}
    drop_database(db)
    return result, seconds


def counts(result):
    c = {"passed": 0, "failed": 0, "skipped": 0}
    for v in result.values():
        c[v] += 1
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", action="append")
    ap.add_argument("--reference", help="outcomes saved by --save-dir, compared against")
    ap.add_argument("--save-dir", help="write each driver's outcomes to DIR/DRIVER.json")
    ap.add_argument("--fail-on-regression", action="store_true")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    drivers = args.driver or ["postpyro"]
    results = {}
    for driver in drivers:
        results[driver], seconds = run(driver, args.pytest_args)
        c = counts(results[driver])
        print("SUITE %s (%s %s): %d passed, %d failed, %d skipped in %.0f s"
              % (driver, sys.implementation.name, sys.version.split()[0], c["passed"],
                 c["failed"], c["skipped"], seconds), flush=True)
    first = results[drivers[0]]
    for driver, result in results.items() if args.save_dir else ():
        with open(os.path.join(args.save_dir, driver + ".json"), "w") as f:
            json.dump(result, f, indent=0, sort_keys=True)
    ref_name, ref = None, None
    if args.reference:
        ref_name = args.reference
        with open(args.reference) as f:
            ref = json.load(f)
    elif len(drivers) > 1:
        ref_name, ref = drivers[1], results[drivers[1]]
    if ref is None:
        return 0 if counts(first)["failed"] == 0 or not args.fail_on_regression else 1
    worse = sorted(t for t, v in ref.items() if v == "passed" and first.get(t) != "passed")
    better = sorted(t for t, v in first.items() if v == "passed" and ref.get(t) != "passed")
    for t in worse:
        print("REGRESSION (passes with %s, %s with %s): %s"
              % (ref_name, first.get(t, "missing"), drivers[0], t))
    for t in better:
        print("ONLY %s passes (%s: %s): %s" % (drivers[0], ref_name, ref.get(t, "missing"), t))
    cf, cr = counts(first), counts(ref)
    print("COMPARE %s vs %s: passed %d vs %d; %d passing there not here"
          % (drivers[0], ref_name, cf["passed"], cr["passed"], len(worse)))
    if args.fail_on_regression and (worse or cf["passed"] < cr["passed"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
