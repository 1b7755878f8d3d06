#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# installcheck.sh — `make installcheck`: what `make install` put under $DESTDIR works the way
# an installed library and package are used, with no environment variable a real install
# would not need. Run by tests/Makefile.am inside run-with-server.sh, with the build's facts:
#   DESTDIR LIBDIR INCLUDEDIR PYTHONDIR PYPYDIR (PyPy's copy, if any) MAN3DIR (empty: no man
#   pages) PP_SONAME
#   IN_LOADER (yes: LIBDIR is a directory the dynamic loader searches) CC PYTHON PYPY SRCDIR
# Checks: no .la, a .pc without Requires.private; examples/quickstart.c built with
# `pkg-config --cflags --libs libpostpyro` runs a query; examples/quickstart.py runs under
# CPython and PyPy (PYTHONPATH only for a staged or non-default prefix, whose site directory
# is not on sys.path) and loads the library the way it must: by soname when LIBDIR is where the loader
# looks, by the recorded path otherwise; `man 3 pp_exec` finds the page.
# Staged installs (DESTDIR) need LIBDIR to be a loader directory: LD_LIBRARY_PATH then
# stands in for the ldconfig a real install runs. A non-default prefix is tested without
# DESTDIR: `make install prefix=/tmp/x && make installcheck prefix=/tmp/x`.
set -euo pipefail

: "${LIBDIR:?}" "${INCLUDEDIR:?}" "${PP_SONAME:?}" "${IN_LOADER:?}" "${SRCDIR:?}" "${PP_TEST_URL:?}"
DESTDIR=${DESTDIR:-}
fail() { echo "installcheck: FAIL: $*" >&2; exit 1; }
ok() { echo "installcheck: ok: $*"; }

lib=$DESTDIR$LIBDIR
[ -e "$lib/$PP_SONAME" ] || fail "$lib/$PP_SONAME is not installed"
[ ! -e "$lib/libpostpyro.la" ] || fail "$lib/libpostpyro.la was installed"
pc=$lib/pkgconfig/libpostpyro.pc
[ -f "$pc" ] || fail "$pc is not installed"
! grep -q '^Requires' "$pc" || fail "$pc requires other modules: $(grep '^Requires' "$pc")"
ok "library, no .la, $pc"

ldpath=
if [ -n "$DESTDIR" ]; then
    [ "$IN_LOADER" = yes ] || fail "with DESTDIR, LIBDIR ($LIBDIR) must be a directory the loader searches; test a non-default prefix without DESTDIR (make install prefix=DIR && make installcheck prefix=DIR)"
    ldpath=$lib  # what ldconfig gives a real install
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-installcheck.XXXXXX")
trap 'rm -rf "$work"' EXIT

# C: the README's way, pkg-config only (the sysroot maps the .pc's paths into DESTDIR).
flags=$(PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$DESTDIR" \
        pkg-config --cflags --libs libpostpyro)
"${CC:-cc}" -std=c11 -o "$work/quickstart" "$SRCDIR/examples/quickstart.c" $flags
env -u LD_LIBRARY_PATH ${ldpath:+LD_LIBRARY_PATH="$ldpath"} "$work/quickstart" "$PP_TEST_URL" \
    >"$work/c.out" || { cat "$work/c.out"; fail "quickstart.c built with pkg-config ($flags)"; }
ok "quickstart.c built with pkg-config ($flags) ran${ldpath:+ (LD_LIBRARY_PATH=$ldpath for ldconfig)}"

# Python: the installed package, never the tree's; the library found without POSTPYRO_LIBRARY.
if [ -n "${PYTHONDIR:-}" ]; then
    if [ "$IN_LOADER" = yes ]; then want=$PP_SONAME; else want=$LIBDIR/$PP_SONAME; fi
    for py in ${PYTHON:-} ${PYPY:-}; do
        # PyPy has its own copy where it does not read CPython's directory (--with-pypydir).
        dir=$PYTHONDIR
        [ "$py" != "${PYPY:-}" ] || [ -z "${PYPYDIR:-}" ] || dir=$PYPYDIR
        # PYTHONPATH only where the interpreter would not look by itself (a staged or
        # non-default prefix): a real default install must import with no variable at all.
        pypath=$DESTDIR$dir
        if [ -z "$DESTDIR" ] &&
           env -u PYTHONPATH "$py" -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "$dir"; then
            pypath=
        fi
        (cd / && env -u POSTPYRO_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH \
             ${ldpath:+LD_LIBRARY_PATH="$ldpath"} ${pypath:+PYTHONPATH="$pypath"} \
             PYTHONDONTWRITEBYTECODE=1 "$py" -c '
import sys, PostPyro
want_dir, want_lib = sys.argv[1:3]
if not PostPyro.__file__.startswith(want_dir + "/"):
    sys.exit("PostPyro imported from %s, not from %s" % (PostPyro.__file__, want_dir))
if PostPyro.library_path != want_lib:
    sys.exit("libpostpyro loaded as %s, not as %s" % (PostPyro.library_path, want_lib))
' "$DESTDIR$dir" "$want" &&
         env -u POSTPYRO_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH \
             ${ldpath:+LD_LIBRARY_PATH="$ldpath"} ${pypath:+PYTHONPATH="$pypath"} \
             PYTHONDONTWRITEBYTECODE=1 "$py" "$SRCDIR/examples/quickstart.py" "$PP_TEST_URL" \
             >"$work/py.out") ||
            { cat "$work/py.out" 2>/dev/null; fail "the installed package under $py"; }
        ok "quickstart.py under $py: package from $DESTDIR$dir${pypath:+ (PYTHONPATH)}, library loaded as $want"
    done
fi

# Manual pages: man finds them under the installed man directory.
if [ -n "${MAN3DIR:-}" ]; then
    mandir=$(dirname "$DESTDIR$MAN3DIR")
    for page in pp_exec libpostpyro; do
        out=$(MANPAGER=cat MANWIDTH=80 man -M "$mandir" 3 "$page" 2>&1) ||
            fail "man -M $mandir 3 $page: $out"
        grep -q "^NAME" <<<"$out" && grep -q "$page" <<<"$out" ||
            fail "man -M $mandir 3 $page shows no page: $out"
    done
    ok "man 3 pp_exec and man 3 libpostpyro under $mandir"
fi
