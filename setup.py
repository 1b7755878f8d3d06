# SPDX-License-Identifier: MIT
"""setuptools hook for pyproject.toml (which holds all the metadata): a wheel that bundles
libpostpyro (`make wheel` stages it in PostPyro/_lib/) carries a native library, so it is
tagged for this platform. The tag is py3-none-PLATFORM: the package uses no Python C API, so
one wheel serves CPython and PyPy alike. Without a bundled library the wheel is pure Python."""

import glob
import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
options = {}
if glob.glob(os.path.join(HERE, "postpyro_py", "PostPyro", "_lib", "libpostpyro.so.*")):
    from setuptools.dist import Distribution
    try:
        from setuptools.command.bdist_wheel import bdist_wheel  # setuptools 70.1+
    except ImportError:
        from wheel.bdist_wheel import bdist_wheel

    class BinaryDistribution(Distribution):
        def has_ext_modules(self):
            return True  # a platform wheel, its files in platlib

    class PlatformWheel(bdist_wheel):
        def get_tag(self):
            return "py3", "none", super().get_tag()[2]

    options = {"distclass": BinaryDistribution, "cmdclass": {"bdist_wheel": PlatformWheel}}

setup(**options)
