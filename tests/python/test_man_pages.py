# SPDX-License-Identifier: MIT
"""The manual pages docs/gen_man.py writes from postpyro.h (installed to man3 by make)."""

import importlib.util
import os
import re
import subprocess

import pytest

from conftest import TOP_SRCDIR

# The pages and the header are files; docs/gen_man.py runs at build time ($(PYTHON)).
pytestmark = pytest.mark.source_check

HEADER = os.path.join(TOP_SRCDIR, "libpostpyro", "postpyro.h")


def gen_man():
    spec = importlib.util.spec_from_file_location(
        "gen_man", os.path.join(TOP_SRCDIR, "docs", "gen_man.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def declared_functions(header):
    """Every function the CDEF region declares, found without the generator's parser."""
    body = header.split("/* BEGIN CDEF */", 1)[1].split("/* END CDEF */", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = "\n".join(l for l in body.split("\n") if not l.strip().startswith("#"))
    names = []
    for stmt in body.split(";"):
        stmt = stmt.strip()
        if "(" in stmt and not re.match(r"(typedef|struct|enum|union)\b", stmt):
            names.append(re.search(r"(\w+)\s*\(", stmt).group(1))
    return names


@pytest.fixture(scope="module")
def pages():
    with open(HEADER, encoding="utf-8") as f:
        header = f.read()
    return header, gen_man().pages(header, "9.9.9")


def test_every_declared_function_has_its_page(pages):
    header, result = pages
    names = declared_functions(header)
    assert len(names) > 40 and "pp_exec" in names
    assert sorted(n + ".3" for n in names) == sorted(p for p in result if p != "libpostpyro.3")
    exec_page = result["pp_exec.3"]
    assert exec_page.startswith('.nr HY 0\n.TH PP_EXEC 3 "" "libpostpyro 9.9.9"')
    assert "pp_exec \\- Runs one statement\n" in exec_page
    assert "int pp_exec(pp_conn *conn, const char *sql" in exec_page
    assert ".BR libpostpyro (3)" in exec_page


def test_the_library_page_has_the_conventions_the_types_and_every_tag(pages):
    header, result = pages
    page = result["libpostpyro.3"]
    assert "typedef struct pp_value {" in page and "typedef struct pp_column {" in page
    for tag in re.findall(r"#define (PP_[A-Z]+) \d+\s+/\*", header):
        assert tag in page
    assert "Every *_free function accepts NULL." in page
    for name in declared_functions(header):
        assert ".BR %s (3)" % name in page


def test_pages_follow_whatever_the_header_holds(tmp_path):
    # Helpers change the header in parallel: enums for constants, an export macro, new
    # sections, functions without a comment must all come out as pages, not crash the build.
    header = """/* SPDX-License-Identifier: MIT */
/*
 * test.h
 *
 * Conventions:
 *  - one rule.
 */
/* BEGIN CDEF */

/* Statuses, as an enum. */
typedef enum pp_status { PP_OK = 0, PP_ERROR = -1 } pp_status;

/* ---- Waiting --------------------------------------------------------------- */

/* Starts a thing (e.g. a query). Returns PP_OK. */
PP_EXPORT int pp_start(pp_conn *conn,
                       int32_t flags);
int32_t pp_socket(pp_conn *conn);
int pp_poll(pp_conn *conn); /* Polls once. */

/* END CDEF */
"""
    result = gen_man().pages(header, "1.0.0")
    assert sorted(result) == ["libpostpyro.3", "pp_poll.3", "pp_socket.3", "pp_start.3"]
    assert "pp_start \\- Starts a thing (e.g. a query)\n" in result["pp_start.3"]
    assert "pp_poll \\- Polls once\n" in result["pp_poll.3"]
    assert "pp_socket \\- a function of libpostpyro\n" in result["pp_socket.3"]
    assert "typedef enum pp_status" in result["libpostpyro.3"]
    assert ".SS Waiting" in result["libpostpyro.3"]


def test_groff_formats_every_page_without_a_warning(pages, tmp_path):
    # Every warning groff has (-ww: more than lintian's `man --warnings` shows for Debian's
    # pages), on an 80-column terminal. groff comes with man-db (.ci/install-deps.sh).
    _, result = pages
    for name, text in result.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        proc = subprocess.run(["groff", "-k", "-man", "-Tutf8", "-ww", "-z", "-rLL=80n",
                               "-rLT=80n", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", (name, proc.stderr)
