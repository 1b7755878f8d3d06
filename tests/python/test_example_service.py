# SPDX-License-Identifier: MIT
"""examples/async_service.py: the async web service answers over HTTP (httpx), serves
concurrent requests on one AsyncConnection, and its /events long poll gets the note another
request adds (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import uuid

import pytest

import PostPyro as pg
from conftest import TOP_SRCDIR

httpx = pytest.importorskip("httpx")

EXAMPLE = os.path.join(TOP_SRCDIR, "examples", "async_service.py")


def load_example():
    spec = importlib.util.spec_from_file_location("async_service", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A suite running at the same time on the same server (make -j2 check) has its own table
# (a schema of its own) and channel.
RUN = "pp_service_" + uuid.uuid4().hex[:8]


@pytest.fixture
def service_dsn(dsn, admin):
    from conftest import dsn_with
    admin.execute("CREATE SCHEMA %s" % RUN)
    yield dsn_with(dsn, options="-c search_path=%s" % RUN)
    admin.execute("DROP SCHEMA %s CASCADE" % RUN)


def test_service_routes_concurrency_and_events(service_dsn, admin):
    mod = load_example()
    mod.CHANNEL = RUN

    async def main():
        service = mod.Service(service_dsn)
        port = await service.start("127.0.0.1", 0)
        try:
            async with httpx.AsyncClient(base_url="http://127.0.0.1:%d" % port,
                                         timeout=30) as client:
                health = (await client.get("/health")).json()
                assert health["ok"] is True and health["server_version"] >= 140000

                # a long poll waits while 20 notes are added concurrently
                events = asyncio.ensure_future(client.get("/events", params={"timeout": 20}))
                await asyncio.sleep(0.3)
                posted = await asyncio.gather(*[
                    client.post("/notes", json={"text": "note %d" % i}) for i in range(20)])
                assert [r.status_code for r in posted] == [201] * 20
                ids = sorted(r.json()["id"] for r in posted)
                assert len(set(ids)) == 20

                event = await events
                assert event.status_code == 200
                assert event.json()["channel"] == mod.CHANNEL
                assert event.json()["id"] in ids

                got = await asyncio.gather(*[client.get("/notes/%d" % i) for i in ids])
                assert sorted(g.json()["text"] for g in got) == \
                    sorted("note %d" % i for i in range(20))
                assert len((await client.get("/notes")).json()) == 20
                assert (await client.get("/notes/999999")).status_code == 404
                assert (await client.post("/notes", content=b"not json")).status_code == 400
                assert (await client.get("/events", params={"timeout": 0.2})).status_code \
                    == 204
                assert (await client.get("/nowhere")).status_code == 404
        finally:
            await service.stop()

    asyncio.run(main())
    assert admin.query_one("SELECT count(*) FROM %s.async_notes" % RUN)[0] == 20


def test_service_runs_as_a_program(service_dsn):
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(pg.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, EXAMPLE, service_dsn, "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), proc.stderr.read()
        url = line.split()[2]
        r = httpx.post(url + "/notes", json={"text": "from a test"}, timeout=30)
        assert r.status_code == 201
        assert httpx.get(url + "/notes/%d" % r.json()["id"], timeout=30).json()["text"] \
            == "from a test"
    finally:
        proc.send_signal(signal.SIGTERM)  # SIGINT may be ignored in a background job
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()
