# SPDX-License-Identifier: MIT
"""PostPyro's version, written here and nowhere else: configure.ac (AC_INIT, hence the
library's PACKAGE_VERSION and libpostpyro.pc) and pyproject.toml read it from this file."""

VERSION = "0.1.0"
