# SPDX-License-Identifier: MIT
"""What a distribution needs from the sources: the licence, an SPDX line on every source file,
one version written in one place."""

import os
import re
import subprocess

import PostPyro as pg
from conftest import TOP_SRCDIR

SPDX = "SPDX-License-Identifier: MIT"
SOURCE = re.compile(r"(\.(c|h|py|sh|am|ac|in|supp|toml)|^\.ci/run|/rules)$")
# Files that are not source, or not ours, in a tree that is not a git checkout (a tarball, where
# the build may also run inside the tree: make distcheck's _build and _inst).
NOT_SOURCE_DIRS = {".git", "autom4te.cache", "build-aux", "m4", "__pycache__", ".libs", ".deps",
                   "_build", "_inst", "corpus", "inplace", "man", "deb-build", "wheel-build"}
NOT_SOURCE_FILES = {"configure", "aclocal.m4", "Makefile.in", "config.status", "libtool"}


def source_files():
    """Tracked files when this is a git checkout, else every file of the tree but generated
    ones; relative paths, sources only."""
    def git(*args):
        return subprocess.run(["git", "-C", TOP_SRCDIR] + list(args), capture_output=True,
                              text=True, check=True).stdout
    try:
        # The tree itself must be the checkout (make distcheck's tarball sits inside one).
        if os.path.realpath(git("rev-parse", "--show-toplevel").strip()) \
                != os.path.realpath(TOP_SRCDIR):
            raise OSError("not the top of a checkout")
        files = [f for f in git("ls-files").split("\n")
                 if f and not f.startswith("tests/fuzz/corpus/")]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(TOP_SRCDIR):
            dirs[:] = [d for d in dirs if d not in NOT_SOURCE_DIRS and not d.startswith("venv")]
            files += [os.path.relpath(os.path.join(root, n), TOP_SRCDIR) for n in names
                      if n not in NOT_SOURCE_FILES]
    return sorted(f for f in files if SOURCE.search(f) or _has_shebang(f))


def _has_shebang(path):
    try:
        with open(os.path.join(TOP_SRCDIR, path), "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def test_every_source_file_starts_with_its_spdx_line():
    files = source_files()
    assert len(files) > 50 and "libpostpyro/postpyro.h" in files
    missing = []
    for path in files:
        with open(os.path.join(TOP_SRCDIR, path), encoding="utf-8") as f:
            lines = f.read().split("\n", 2)
        # First line, or second after a shebang line.
        head = lines[1] if lines[0].startswith("#!") and len(lines) > 1 else lines[0]
        if SPDX not in head:
            missing.append(path)
    assert missing == [], "no '%s' on the first line (after a shebang): %s" % (SPDX, missing)


def test_the_licence_is_mit_and_names_its_holders():
    with open(os.path.join(TOP_SRCDIR, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The PostPyro developers" in text
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_the_version_is_written_in_one_place():
    from PostPyro import _version
    assert pg.__version__ == _version.VERSION
    # configure.ac reads it (AC_INIT) rather than repeating it.
    with open(os.path.join(TOP_SRCDIR, "configure.ac"), encoding="utf-8") as f:
        configure = f.read()
    assert "PostPyro/_version.py" in configure
    assert _version.VERSION not in configure
    # The C header's version macros must agree with it (the library's pp_version()).
    with open(os.path.join(TOP_SRCDIR, "libpostpyro", "postpyro.h"), encoding="utf-8") as f:
        header = f.read()
    parts = [re.search(r"\bPP_VERSION_%s\b\s*=?\s*(\d+)" % p, header).group(1)
             for p in ("MAJOR", "MINOR", "PATCH")]
    assert ".".join(parts) == _version.VERSION


def test_debian_symbols_file_lists_exactly_the_library_s_exports():
    # dpkg-gensymbols fails the package build when a listed symbol disappears (or changes its
    # version node), and only warns about new ones: keep the file exact.
    lib = pg.library_path
    assert os.path.isabs(lib), "the tests load libpostpyro by path (POSTPYRO_LIBRARY)"
    out = subprocess.run(["objdump", "-T", lib], capture_output=True, text=True, check=True)
    exported = set()
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == "g" and f[3] != "*UND*" and f[-1].startswith("pp_"):
            exported.add("%s@%s" % (f[-1], f[-2].strip("()")))
    with open(os.path.join(TOP_SRCDIR, "packaging", "debian", "libpostpyro1.symbols"),
              encoding="utf-8") as f:
        listed = {line.split()[0] for line in f if line.startswith(" pp_")}
    assert len(exported) > 40
    assert listed == exported, (
        "packaging/debian/libpostpyro1.symbols is stale (missing: %s; not exported: %s): run "
        "sh packaging/update-symbols.sh libpostpyro/.libs/libpostpyro.so.1 NEXT_VERSION"
        % (sorted(exported - listed), sorted(listed - exported)))
