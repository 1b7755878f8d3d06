# SPDX-License-Identifier: MIT
"""cffi declarations and the loader of libpostpyro.

The library is looked for, in order, at:

1. the path in the environment variable ``POSTPYRO_LIBRARY`` (the tests and uninstalled runs
   use it);
2. ``_lib/libpostpyro.so.N`` inside this package, when a self-contained wheel bundled it;
3. the path recorded at build time (``_config.LIBDIR``), when ``make install`` put the library
   in a directory the system's dynamic loader does not search (a non-default prefix);
4. the soname (``libpostpyro.so.N``) through the system's dynamic loader: a library installed
   where the loader looks (``/usr/lib``, ``/usr/local/lib`` after ``ldconfig``, a Debian
   package), or found through ``LD_LIBRARY_PATH``.

Never a path inside a source or build tree. The first candidate that loads and reports the ABI
version this cdef was made for wins. When none does, ImportError lists every candidate and why
it was refused (docs/install.md explains each message).
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

from cffi import FFI

from ._cdef import CDEF

ffi = FFI()
ffi.cdef(CDEF)

SONAME = "libpostpyro.so.1"

# The package directory as imported (not resolved: the in-tree inplace/ copy is symlinks).
_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates() -> List[Tuple[str, str, bool]]:
    """(description, name to dlopen, is a path) in the order they are tried."""
    out = []
    env = os.environ.get("POSTPYRO_LIBRARY")
    if env:
        out.append(("$POSTPYRO_LIBRARY", env, True))
    try:
        from . import _config  # written by `make`; absent when pip built the package
    except ImportError:
        _config = None
    soname = getattr(_config, "SONAME", SONAME)
    bundled = os.path.join(_HERE, "_lib", soname)
    if os.path.exists(bundled):
        out.append(("bundled library", bundled, True))
    libdir = getattr(_config, "LIBDIR", None)
    if libdir:
        out.append(("configured path", os.path.join(libdir, soname), True))
    out.append(("system loader", soname, False))
    return out


def _load():
    want = None
    tried = []
    for what, name, is_path in _candidates():
        if is_path and not os.path.exists(name):
            tried.append("%s %s: not found" % (what, name))
            continue
        try:
            lib = ffi.dlopen(name)
        except OSError as e:
            tried.append("%s %s: cannot load: %s" % (what, name, e))
            continue
        if want is None:
            want = lib.PP_ABI_VERSION  # from the cdef, i.e. the header this was made for
        try:
            got = lib.pp_abi_version()
        except AttributeError as e:
            tried.append("%s %s: not libpostpyro (%s)" % (what, name, e))
            continue
        if got != want:
            tried.append("%s %s: wrong ABI version %d (PostPyro needs %d)"
                         % (what, name, got, want))
            continue
        return lib, name
    raise ImportError("PostPyro cannot find a usable libpostpyro; tried:\n  "
                      + "\n  ".join(tried)
                      + "\nInstall libpostpyro (after `make install` as root into a directory "
                      "the loader searches, ldconfig must have run), or set POSTPYRO_LIBRARY to "
                      "the full path of %s. See docs/install.md, \"Library not found\"."
                      % SONAME)


lib, library_path = _load()

# Every name looked up now, once: a first lookup of a lib attribute takes cffi's
# non-reentrant lock, and what the garbage collector runs (ffi.gc callbacks, __del__) may run
# while this very thread holds that lock inside cffi — a first lookup there would hang.
for _name in dir(lib):
    getattr(lib, _name)
del _name

# Constants from the header, as plain ints (reading lib.X each time costs a lookup).
PP_OK = lib.PP_OK
PP_ERROR = lib.PP_ERROR
PP_PENDING = lib.PP_PENDING
PP_MORE = lib.PP_MORE

# cffi's backend functions, without FFI's Python-level wrappers, and the C types made per
# statement or per value, parsed once: these paths run for every statement.
newp = ffi._backend.newp
unpack = ffi._backend.unpack
T_RESULT_INFO_P = ffi.typeof("pp_result_info *")
T_ERROR_PP = ffi.typeof("pp_error **")
T_RESULT_PP = ffi.typeof("pp_result **")
T_COLUMN_ARRAY = ffi.typeof("pp_column[]")
T_VALUE_ARRAY = ffi.typeof("pp_value[]")
T_INT32_P = ffi.typeof("int32_t *")


def take_string(ptr) -> Optional[str]:
    """A C string returned to us (to free with pp_free) as str; frees it. None for NULL."""
    if ptr == ffi.NULL:
        return None
    try:
        return ffi.string(ptr).decode("utf-8", "replace")
    finally:
        lib.pp_free(ptr)
