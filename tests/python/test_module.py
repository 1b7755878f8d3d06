# SPDX-License-Identifier: MIT
"""The module's surface: constants, versions, the loader, the cdef, the exception classes."""

import builtins
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

import PostPyro as pg
from PostPyro import errors

from conftest import TOP_SRCDIR


def test_version_is_a_dotted_string_and_get_version_returns_it():
    assert re.match(r"^\d+\.\d+\.\d+$", pg.__version__)
    assert pg.get_version() == pg.__version__


def test_library_versions_are_reported():
    assert re.match(r"^\d+\.\d+\.\d+$", pg.library_version())
    assert pg.libpq_version() >= 100000


def test_loaded_library_is_the_one_named_by_postpyro_library():
    wanted = os.environ.get("POSTPYRO_LIBRARY")
    if wanted:
        assert pg.library_path == wanted
    assert os.path.basename(pg.library_path).startswith("libpostpyro.so")


def test_all_lists_only_existing_names():
    for name in pg.__all__:
        assert hasattr(pg, name), name


def test_package_exports_every_pep_249_name():
    for name in ["connect", "Warning", "Error", "InterfaceError", "DatabaseError",
                 "DataError", "OperationalError", "IntegrityError", "InternalError",
                 "ProgrammingError", "NotSupportedError", "Date", "Time", "Timestamp",
                 "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
                 "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID"]:
        assert name in pg.__all__, name


def test_py_typed_marker_ships_with_the_package():
    assert os.path.exists(os.path.join(os.path.dirname(pg.__file__), "py.typed"))


def test_cdef_is_generated_from_the_header():
    gen_path = os.path.join(TOP_SRCDIR, "postpyro_py", "gen_cdef.py")
    spec = importlib.util.spec_from_file_location("gen_cdef", gen_path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(TOP_SRCDIR, "libpostpyro", "postpyro.h"), encoding="utf-8") as f:
        expected = gen.generate(f.read())
    committed = os.path.join(TOP_SRCDIR, "postpyro_py", "PostPyro", "_cdef.py")
    with open(committed, encoding="utf-8") as f:
        assert f.read() == expected, \
            "postpyro_py/PostPyro/_cdef.py is stale: run python3 postpyro_py/gen_cdef.py"


def test_cdef_declares_the_abi_version_the_library_reports():
    from PostPyro._ffi import lib
    assert lib.pp_abi_version() == lib.PP_ABI_VERSION


def test_loader_says_which_libraries_it_tried_and_why_each_failed(monkeypatch, tmp_path):
    from PostPyro import _ffi
    junk = tmp_path / "junk.so"
    junk.write_text("not a shared library")
    monkeypatch.setattr(_ffi, "_candidates", lambda: [
        ("$POSTPYRO_LIBRARY", str(tmp_path / "nope.so"), True),
        ("configured path", str(junk), True),
        ("system loader", "libc.so.6", False),
        ("system loader", "libpostpyro-none.so.1", False),
    ])
    with pytest.raises(ImportError) as info:
        _ffi._load()
    message = str(info.value)
    assert "$POSTPYRO_LIBRARY %s: not found" % (tmp_path / "nope.so") in message
    assert "configured path %s: cannot load" % junk in message
    assert "libc.so.6: not libpostpyro" in message
    assert "libpostpyro-none.so.1: cannot load" in message
    assert "POSTPYRO_LIBRARY" in message


def test_loader_tries_postpyro_library_first(monkeypatch):
    from PostPyro import _ffi
    monkeypatch.setenv("POSTPYRO_LIBRARY", "/somewhere/libpostpyro.so.1")
    candidates = _ffi._candidates()
    assert candidates[0] == ("$POSTPYRO_LIBRARY", "/somewhere/libpostpyro.so.1", True)
    assert candidates[-1] == ("system loader", "libpostpyro.so.1", False)


def test_loader_tries_only_the_paths_it_was_given(monkeypatch):
    # An installed package must not load whatever library sits in some source or build tree:
    # its only paths are $POSTPYRO_LIBRARY, a bundled copy and the one `make install` recorded.
    from PostPyro import _ffi
    monkeypatch.delenv("POSTPYRO_LIBRARY", raising=False)
    try:
        from PostPyro import _config
        recorded = {os.path.join(_config.LIBDIR, _config.SONAME)} if _config.LIBDIR else set()
    except ImportError:
        recorded = set()
    bundled = os.path.join(os.path.dirname(os.path.abspath(_ffi.__file__)), "_lib", _ffi.SONAME)
    paths = [name for what, name, is_path in _ffi._candidates() if is_path]
    assert set(paths) <= recorded | {bundled}, paths


def test_postpyro_s_own_exceptions_sit_under_the_pep_249_ones():
    # the PEP 249 hierarchy itself: test_dbapi.py
    assert issubclass(pg.TransactionRollbackError, pg.OperationalError)
    assert issubclass(pg.CommitUnknown, pg.OperationalError)
    assert issubclass(pg.NoRowError, pg.DatabaseError)
    assert issubclass(pg.MultipleRowsError, pg.DatabaseError)


def test_each_sqlstate_has_its_class_under_the_right_base():
    expected = {
        "23505": ("UniqueViolation", pg.IntegrityError),
        "23503": ("ForeignKeyViolation", pg.IntegrityError),
        "40001": ("SerializationFailure", pg.TransactionRollbackError),
        "40P01": ("DeadlockDetected", pg.TransactionRollbackError),
        "57014": ("QueryCanceled", pg.OperationalError),
        "25P02": ("InFailedSqlTransaction", pg.InternalError),
        "22012": ("DivisionByZero", pg.DataError),
        "42P01": ("UndefinedTable", pg.ProgrammingError),
        "42601": ("SyntaxError", pg.ProgrammingError),
        "28P01": ("InvalidPassword", pg.OperationalError),
        "0A000": ("FeatureNotSupported", pg.NotSupportedError),
        "XX000": ("InternalError_", pg.InternalError),
    }
    for code, (name, base) in expected.items():
        cls = errors.lookup(code)
        assert cls.__name__ == name
        assert getattr(errors, name) is cls
        assert issubclass(cls, base)
        assert cls.sqlstate_class == code


def test_sqlstate_classes_do_not_shadow_builtins_at_top_level():
    assert not hasattr(pg, "SyntaxError")
    assert builtins.SyntaxError is SyntaxError
    assert errors.SyntaxError is not builtins.SyntaxError


def test_error_message_carries_detail_and_hint():
    diag = errors.Diagnostic(message_primary="boom", message_detail="why",
                             message_hint="fix it", sqlstate="22012")
    exc = errors.DivisionByZero("boom", diag=diag)
    assert str(exc) == "boom\nDETAIL: why\nHINT: fix it"
    assert exc.sqlstate == exc.pgcode == "22012"
    assert exc.pgerror == str(exc)
    assert exc.index is None


def test_errors_pickle_with_their_fields():
    import pickle
    exc = errors.UniqueViolation("dup", diag=errors.Diagnostic(
        message_primary="dup", constraint_name="u_pkey", sqlstate="23505"), index=3)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is errors.UniqueViolation
    assert back.diag.constraint_name == "u_pkey"
    assert back.index == 3
    assert str(back) == "dup"


def test_every_library_name_is_looked_up_at_import():
    # What the garbage collector runs (ffi.gc callbacks, __del__) may use any of them while
    # this very thread holds cffi's non-reentrant lock: a first lookup then would hang.
    code = textwrap.dedent("""
        from PostPyro._ffi import ffi, lib
        names = dir(lib)
        with ffi._lock:
            for name in names:
                getattr(lib, name)
        print(len(names))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and int(out.stdout) > 50, out.stderr
