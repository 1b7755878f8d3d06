# SPDX-License-Identifier: MIT
"""The generated C API reference matches the header it is generated from."""
import os
import subprocess
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_c_api_reference_is_generated_from_the_current_header():
    script = os.path.join(TOP, "docs", "gen_c_api.py")
    done = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
