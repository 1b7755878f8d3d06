#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pip-check.sh — `make check-pip`: both pip routes install into fresh virtual environments,
# under CPython and under PyPy, and run a query. Run by tests/Makefile.am inside
# run-with-server.sh with TOP_SRCDIR, TOP_BUILDDIR, PYTHON, PYPY, PP_SONAME and WHEEL (the
# self-contained wheel `make wheel` built).
#  1. `pip install --no-build-isolation .` from a copy of the sources (offline, Debian's
#     setuptools): the package with its dist-info, using the system's libpostpyro by soname
#     (LD_LIBRARY_PATH points the loader at this build's library, as ldconfig would at an
#     installed one).
#  2. the wheel: no LD_LIBRARY_PATH, no other libpostpyro; it must load its bundled copy, which
#     needs nothing but libpq and libc.
# The venvs are made without pip (fast); the system's pip installs into them (pip --python).
# CPython's venvs see the system site directory (Debian's cffi, setuptools); PyPy has cffi built
# in, so its wheel venv sees nothing but itself.
set -euo pipefail

: "${TOP_SRCDIR:?}" "${TOP_BUILDDIR:?}" "${PYTHON:?}" "${PP_SONAME:?}" "${WHEEL:?}" "${PP_TEST_DSN:?}"
fail() { echo "check-pip: FAIL: $*" >&2; exit 1; }
ok() { echo "check-pip: ok: $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-pip.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
unset POSTPYRO_LIBRARY PYTHONPATH

# What a clone holds for pip (a copy: pip builds in the tree, and the tree may be read-only).
src=$work/src
mkdir -p "$src/postpyro_py"
(cd "$TOP_SRCDIR" && cp pyproject.toml setup.py README.md LICENSE "$src/" &&
 cp -R postpyro_py/PostPyro "$src/postpyro_py/")
find "$src" -name __pycache__ -prune -exec rm -rf {} +
[ ! -e "$src/postpyro_py/PostPyro/_lib" ] || fail "the source tree holds PostPyro/_lib"

# The bundled library needs only libpq and libc (what a machine with libpq5 has).
"$PYTHON" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$WHEEL" "PostPyro/_lib/$PP_SONAME" >"$work/lib.so"
needed=$(readelf -d "$work/lib.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
for n in $needed; do
    case $n in libpq.so.5|libc.so.6|libpthread.so.0) ;; *) fail "the bundled library needs $n" ;; esac
done
ok "$(basename "$WHEEL") bundles $PP_SONAME, which needs: $needed"

# check VENV_PYTHON WANT_LIBRARY: the venv's PostPyro, with dist-info, loads WANT_LIBRARY and
# runs a query.
check() {
    (cd / && "$1" - "$2" "$PP_TEST_DSN" <<'EOF'
import os, sys
from importlib import metadata
import PostPyro as pg
want, dsn = sys.argv[1:3]
pkg = os.path.dirname(os.path.abspath(pg.__file__))
assert pkg.startswith(sys.prefix + os.sep), "PostPyro from %s, not from the venv %s" % (pkg, sys.prefix)
if want == "bundled":
    want = os.path.join(pkg, "_lib", os.path.basename(pg.library_path))
assert pg.library_path == want, "library loaded as %s, not %s" % (pg.library_path, want)
meta = metadata.metadata("PostPyro")
assert meta["Version"] == pg.__version__, (meta["Version"], pg.__version__)
assert meta["License"] == "MIT", meta["License"]
assert "License :: OSI Approved :: MIT License" in meta.get_all("Classifier")
files = [str(f) for f in metadata.files("PostPyro")]
assert "PostPyro/py.typed" in files, files
assert any(f.endswith(".dist-info/LICENSE") for f in files), files
eps = metadata.entry_points()
eps = eps.select(group="sqlalchemy.dialects") if hasattr(eps, "select") else eps.get("sqlalchemy.dialects", [])
assert [ep.value for ep in eps if ep.name == "postgresql.postpyro"] == ["PostPyro.sqlalchemy:dialect"], list(eps)
assert [ep.value for ep in eps if ep.name == "postgresql.postpyro_async"] == ["PostPyro.sqlalchemy_async:dialect"], list(eps)
with pg.Connection(dsn) as conn:
    assert conn.query_one("SELECT $1::int8 + 1 AS answer", [41])["answer"] == 42
print("%s %s: PostPyro %s from %s, library %s" % (
    sys.implementation.name, sys.version.split()[0], pg.__version__, pkg, pg.library_path))
EOF
    )
}

interpreters=("$PYTHON")
[ -z "${PYPY:-}" ] || interpreters+=("$PYPY")
for py in "${interpreters[@]}"; do
    name=$(basename "$py")
    # 1. pip install . (pure Python), with the system's libpostpyro.
    venv=$work/src-$name
    "$py" -m venv --without-pip --system-site-packages "$venv"
    "$PYTHON" -m pip --python "$venv/bin/python" install -q --no-index --no-build-isolation "$src" ||
        fail "pip install --no-build-isolation . into a $name venv"
    LD_LIBRARY_PATH="$TOP_BUILDDIR/libpostpyro/.libs" check "$venv/bin/python" "$PP_SONAME" ||
        fail "pip install . under $name"
    ok "pip install . into a $name venv"
    rm -rf "$src/build"

    # 2. the self-contained wheel, with nothing else.
    venv=$work/wheel-$name
    if "$py" -c 'import sys; sys.exit(sys.implementation.name != "pypy")'; then
        "$py" -m venv --without-pip "$venv"
    else
        "$py" -m venv --without-pip --system-site-packages "$venv"  # for Debian's cffi
    fi
    "$PYTHON" -m pip --python "$venv/bin/python" install -q --no-index "$WHEEL" ||
        fail "pip install $(basename "$WHEEL") into a $name venv"
    (unset LD_LIBRARY_PATH; check "$venv/bin/python" bundled) || fail "the wheel under $name"
    ok "the self-contained wheel in a $name venv"
done
