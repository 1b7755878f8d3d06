# SPDX-License-Identifier: MIT
"""TLS and authentication against a server of our own (ssl = on): every sslmode with the
right and a wrong CA and host name, channel binding, client certificates, SCRAM and md5
passwords, .pgpass and PGPASSWORD, and a password that never shows anywhere.

The certificates are made at run time with openssl: a CA, a server certificate for
``localhost`` and 127.0.0.1 signed by it, a client certificate for the role pp_cert, and a
second CA nobody signed with (the wrong one).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

import PostPyro as pg

from tcpproxy import TcpProxy
from ownserver import own_server

SENTINEL = "Sentinel-" + uuid.uuid4().hex  # pp_sentinel's password: must never show


def openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_certificates(d: str) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed (apt-get install openssl)", pytrace=False)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "wrong_ca"):
        openssl("req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".crt",
                "-days", "2", "-subj", "/CN=PostPyro test " + ca, cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    for name, cn, ext in (("server", "localhost", ["-extfile", "san.ext"]),
                          ("client", "pp_cert", [])):
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", name + ".crt", *ext, cwd=d)
    for name in os.listdir(d):
        if name.endswith(".key"):
            os.chmod(os.path.join(d, name), 0o600)


@pytest.fixture(scope="module")
def tls():
    """{"port", "certs" (dir), "server"}: a server with ssl = on. pg_hba: pp_cert only with a
    client certificate; pp_tls only over TLS (scram-sha-256); pp_pw and pp_sentinel with
    scram-sha-256 and pp_md5 with md5, with or without TLS."""
    certs = tempfile.mkdtemp(prefix="pp-certs.")
    try:
        make_certificates(certs)
        with own_server("pp-tls.") as server:
            for name in ("server.crt", "server.key", "ca.crt"):
                shutil.copy(os.path.join(certs, name), os.path.join(server.data, name))
                server.chown(os.path.join(server.data, name))
            server.conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                        "ssl_ca_file = 'ca.crt'")
            server.hba("hostssl all pp_cert 127.0.0.1/32 cert\n"
                       "hostssl all pp_tls 127.0.0.1/32 scram-sha-256\n"
                       "hostnossl all pp_tls 127.0.0.1/32 reject\n"
                       "hostnossl all pp_cert 127.0.0.1/32 reject\n"
                       "host all pp_sentinel 127.0.0.1/32 scram-sha-256")
            server.sql("CREATE ROLE pp_cert LOGIN; CREATE ROLE pp_tls LOGIN PASSWORD 'secret'; "
                       "CREATE ROLE pp_sentinel LOGIN PASSWORD '%s'" % SENTINEL)
            server.reload()
            yield {"port": server.port, "certs": certs, "server": server}
    finally:
        shutil.rmtree(certs, ignore_errors=True)


def dsn(tls, user="pp_pw", password="secret", host="127.0.0.1", **extra) -> str:
    parts = ["host=%s port=%d dbname=postpyro_test user=%s connect_timeout=10"
             % (host, tls["port"], user)]
    if password is not None:
        parts.append("password=%s" % password)
    parts += ["%s=%s" % kv for kv in extra.items()]
    return " ".join(parts)


def cert(tls, name: str) -> str:
    return os.path.join(tls["certs"], name)


def uses_tls(c: pg.Connection) -> bool:
    """What the server says about this connection (pg_stat_ssl), and info() must agree."""
    on = c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0]
    assert c.info()["ssl"] is on
    return on


@pytest.mark.parametrize("mode, encrypted", [("disable", False), ("allow", False),
                                             ("prefer", True), ("require", True)])
def test_sslmodes_that_do_not_check_the_certificate(tls, mode, encrypted):
    # allow tries without TLS first (pg_hba lets pp_pw in both ways); prefer tries TLS first
    with pg.Connection(dsn(tls, sslmode=mode)) as c:
        assert uses_tls(c) is encrypted


def test_allow_falls_back_to_tls_where_the_server_wants_it(tls):
    with pg.Connection(dsn(tls, user="pp_tls", sslmode="allow")) as c:
        assert uses_tls(c)
    with pytest.raises(pg.OperationalError, match="no encryption"):
        pg.Connection(dsn(tls, user="pp_tls", sslmode="disable"))


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_verify_modes_accept_the_right_ca(tls, mode):
    with pg.Connection(dsn(tls, host="localhost", sslmode=mode,
                           sslrootcert=cert(tls, "ca.crt"))) as c:
        assert uses_tls(c)


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_verify_modes_refuse_a_server_signed_by_another_ca(tls, mode):
    with pytest.raises(pg.OperationalError, match="certificate verify failed"):
        pg.Connection(dsn(tls, host="localhost", sslmode=mode,
                          sslrootcert=cert(tls, "wrong_ca.crt")))


def test_verify_full_checks_the_host_name_and_verify_ca_does_not(tls):
    wrong_name = {"host": "db.invalid", "hostaddr": "127.0.0.1",
                  "sslrootcert": cert(tls, "ca.crt")}
    with pytest.raises(pg.OperationalError, match="does not match host name"):
        pg.Connection(dsn(tls, sslmode="verify-full", **wrong_name))
    with pg.Connection(dsn(tls, sslmode="verify-ca", **wrong_name)) as c:
        assert uses_tls(c)
    # the certificate names 127.0.0.1 too
    with pg.Connection(dsn(tls, sslmode="verify-full", sslrootcert=cert(tls, "ca.crt"))) as c:
        assert uses_tls(c)


def test_channel_binding_required(tls):
    with pg.Connection(dsn(tls, sslmode="require", channel_binding="require")) as c:
        assert uses_tls(c)
    with pytest.raises(pg.OperationalError, match="channel binding"):
        pg.Connection(dsn(tls, sslmode="disable", channel_binding="require"))
    with pytest.raises(pg.OperationalError, match="channel binding"):  # md5 cannot bind
        pg.Connection(dsn(tls, user="pp_md5", sslmode="require", channel_binding="require"))


def test_a_client_certificate_logs_in_without_a_password(tls):
    with pg.Connection(dsn(tls, user="pp_cert", password=None, sslmode="require",
                           sslcert=cert(tls, "client.crt"),
                           sslkey=cert(tls, "client.key"))) as c:
        assert c.query_one("SELECT current_user")[0] == "pp_cert"
        assert uses_tls(c)
    with pytest.raises(pg.OperationalError, match="certificate"):
        pg.Connection(dsn(tls, user="pp_cert", password=None, sslmode="require",
                          sslcert="/nonexistent.crt", sslkey="/nonexistent.key"))


@pytest.mark.parametrize("user", ["pp_pw", "pp_md5"])
@pytest.mark.parametrize("mode", ["disable", "require"])
def test_a_wrong_password_is_invalid_password(tls, user, mode):
    with pytest.raises(pg.errors.InvalidPassword) as info:
        pg.Connection(dsn(tls, user=user, password="wrong", sslmode=mode))
    assert info.value.sqlstate == "28P01"
    assert isinstance(info.value, pg.OperationalError)
    with pg.Connection(dsn(tls, user=user, sslmode=mode)) as c:  # the right one works
        assert c.query_one("SELECT current_user")[0] == user


@pytest.fixture
def no_password_env(monkeypatch):
    for name in ("PGPASSWORD", "PGPASSFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_pgpassword_is_used_when_the_dsn_has_none(tls, no_password_env):
    with pytest.raises(pg.OperationalError):
        pg.Connection(dsn(tls, password=None, passfile="/nonexistent"))
    no_password_env.setenv("PGPASSWORD", "secret")
    with pg.Connection(dsn(tls, password=None, passfile="/nonexistent")) as c:
        assert c.query_one("SELECT current_user")[0] == "pp_pw"


def test_pgpass_file_is_used_when_the_dsn_has_none(tls, no_password_env, tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("127.0.0.1:%d:postpyro_test:pp_pw:secret\n" % tls["port"])
    passfile.chmod(0o600)
    no_password_env.setenv("PGPASSFILE", str(passfile))
    with pg.Connection(dsn(tls, password=None)) as c:
        assert c.query_one("SELECT current_user")[0] == "pp_pw"
    passfile.write_text("127.0.0.1:%d:postpyro_test:pp_pw:wrong\n" % tls["port"])
    with pytest.raises(pg.errors.InvalidPassword):
        pg.Connection(dsn(tls, password=None))


def test_the_password_never_shows(tls, capfd, caplog, no_password_env):
    """repr, str, info(), errors (connect, query, closed connection), notices and anything
    written to stdout, stderr or the logging module: no sentinel anywhere."""
    caplog.set_level(logging.DEBUG)
    seen = []
    url = "postgresql://pp_sentinel:%s@127.0.0.1:%d/postpyro_test" % (SENTINEL, tls["port"])
    key_value = dsn(tls, user="pp_sentinel", password=SENTINEL)
    for target in (url, key_value):
        for c in (pg.Connection(target), pg.connect(target)):
            seen += [repr(c), str(c), repr(c.info())]
            c.execute("DO $$ BEGIN RAISE NOTICE 'a notice'; END $$")
            seen += [repr(c.notices)]
            for bad in ("SELECT 1/0", "SELECT * FROM no_such_table"):
                try:
                    c.query(bad)
                except pg.Error as exc:
                    seen += [repr(exc), str(exc), repr(exc.args)]
                if not c.autocommit:
                    c.rollback()
            cur = c.cursor()
            seen += [repr(cur)]
            c.close()
            seen += [repr(c), repr(c.info())]
            try:
                c.query("SELECT 1")
            except pg.Error as exc:
                seen += [repr(exc), str(exc)]
    # connect errors: wrong database, wrong port, wrong role, bad option
    for broken in (url.replace("/postpyro_test", "/no_such_db"),
                   url.replace(":%d/" % tls["port"], ":1/"),
                   url.replace("pp_sentinel:", "pp_nobody:"),
                   key_value + " sslmode=verify-full sslrootcert=/nonexistent",
                   key_value + " no_such_option=1",
                   key_value.replace("dbname=postpyro_test", "dbname=no_such_db")):
        with pytest.raises(pg.Error) as info:
            pg.Connection(broken)
        seen += [repr(info.value), str(info.value), repr(info.value.args),
                 repr(getattr(info.value, "__cause__", None))]
    # a wrong password whose text is the sentinel (the server said no)
    with pytest.raises(pg.errors.InvalidPassword) as info:
        pg.Connection(dsn(tls, user="pp_pw", password=SENTINEL))
    seen += [repr(info.value), str(info.value)]
    out, err = capfd.readouterr()
    seen += [out, err, caplog.text]
    leaks = [s for s in seen if SENTINEL in s]
    assert leaks == []
    assert len(seen) > 40  # the checks above really ran


# ---- cancel requests over TLS ----
# A proxy in front of the server notes how each connection begins: with libpq 17 and later
# the cancel request of an encrypted connection goes over a cancel connection made like it
# (PQcancelCreate: first an SSLRequest), with an older libpq it is PQcancel's CancelRequest
# packet in clear text; on a plain connection it is that packet either way.

def _cancelled_through_proxy(tls, how, **extra):
    """(whether the connection was encrypted, how each connection through the proxy began)
    after a statement was cancelled by Connection.cancel() or by the connection's timeout."""
    proxy = TcpProxy(tls["port"])
    try:
        with pg.Connection(dsn(tls, **extra).replace("port=%d" % tls["port"],
                                                     "port=%d" % proxy.port)) as c:
            encrypted = uses_tls(c)
            timer = threading.Timer(0.5, c.cancel)
            if how == "timeout":
                c.timeout = 0.5
            else:
                timer.start()
            start = time.monotonic()
            with pytest.raises(pg.errors.QueryCanceled):
                c.query("SELECT pg_sleep(10)")
            assert time.monotonic() - start < 6
            if how == "cancel":
                timer.join()
            c.timeout = None
            assert c.query_one("SELECT 1")[0] == 1
        return encrypted, proxy.kinds
    finally:
        proxy.close()


@pytest.mark.parametrize("how", ["cancel", "timeout"])
def test_a_cancel_request_is_encrypted_when_the_connection_is(tls, how):
    encrypted, kinds = _cancelled_through_proxy(tls, how, sslmode="require")
    assert encrypted
    assert kinds[0] == "ssl"
    assert kinds[1:] == ["ssl" if pg.libpq_version() >= 170000 else "cancel"]


def test_a_cancel_request_of_a_plain_connection(tls):
    encrypted, kinds = _cancelled_through_proxy(tls, "cancel", sslmode="disable")
    assert not encrypted
    assert kinds == ["startup", "cancel"]
