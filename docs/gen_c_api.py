#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes docs/c-api.md from libpostpyro/postpyro.h: every declaration with the comment
above it, grouped by the header's sections, so the reference cannot drift from the header.

    python3 docs/gen_c_api.py            rewrite docs/c-api.md
    python3 docs/gen_c_api.py --check    exit 1 when docs/c-api.md is stale
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "libpostpyro", "postpyro.h")
OUTPUT = os.path.join(HERE, "c-api.md")

INTRO = """# libpostpyro C API reference

Generated from `libpostpyro/postpyro.h` by `docs/gen_c_api.py`; the header is the source of
truth. Build against the installed library with
`cc prog.c $(pkg-config --cflags --libs libpostpyro)`; a complete program is
`examples/quickstart.c`.

## Conventions

"""


def comment_text(block):
    lines = []
    for line in block.splitlines():
        line = line.strip()
        line = re.sub(r"^/\*+ ?", "", line)
        line = re.sub(r" ?\*+/$", "", line)
        line = re.sub(r"^\* ?", "", line)
        lines.append(line)
    return "\n".join(lines).strip()


def parse(header):
    """The header as (conventions, items): the conventions text of its first comment, and in
    order ("section", title) for each "/* ---- Title ---- */" line and ("decl", prose, code)
    for each paragraph of the CDEF region (prose: its leading comment, "" when none; code:
    the rest, inner comments included). docs/gen_man.py reads the header through this too."""
    # The first comment after the SPDX line holds the conventions.
    head_comment = re.search(r"/\*(?! SPDX-)(.*?)\*/", header, re.S).group(0)
    conventions = comment_text(head_comment).split("Conventions", 1)[-1]
    conventions = conventions.split(":", 1)[-1].strip()
    items = []
    body = header.split("/* BEGIN CDEF */", 1)[1].split("/* END CDEF */", 1)[0]
    # Paragraphs (separated by blank lines): a leading comment is prose, the rest is code.
    for para in re.split(r"\n\s*\n", body):
        para = para.strip()
        if not para:
            continue
        if para.startswith("/* ----"):
            title = re.sub(r"[/*\- ]+$", "", re.sub(r"^[/*\- ]+", "", para))
            items.append(("section", title))
            continue
        prose = ""
        m = re.match(r"/\*.*?\*/", para, re.S)
        if m and para[m.end():].strip():
            prose = comment_text(m.group(0))
            para = para[m.end():].strip()
        items.append(("decl", prose, para))
    return conventions, items


def render(header):
    conventions, items = parse(header)
    out = [INTRO, conventions, "\n\n"]
    for item in items:
        if item[0] == "section":
            out.append("\n## %s\n\n" % item[1])
            continue
        _, prose, code = item
        if prose:
            out.append(prose + "\n\n")
        out.append("```c\n%s\n```\n\n" % code)
    return "".join(out)


def main():
    with open(HEADER, encoding="utf-8") as f:
        text = render(f.read())
    if "--check" in sys.argv:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                print("docs/c-api.md is stale: run python3 docs/gen_c_api.py", file=sys.stderr)
                return 1
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
