#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes libpostpyro's manual pages (section 3) from libpostpyro/postpyro.h, read through
docs/gen_c_api.py's parser, so the pages say what the header says:

- libpostpyro.3: the conventions, every constant and type (pp_value, pp_column, the tags,
  the flags) with its comment, and the functions by section with their first sentence;
- NAME.3 for each function: its declaration and its comment.

    python3 docs/gen_man.py [--header postpyro.h] [--version 0.1.0] OUTDIR

The make build runs it into man/ (the set of pages follows the header's functions).
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_c_api  # noqa: E402  (the header's parser)

MANUAL = "libpostpyro manual"
# A declared function: not a typedef/struct/enum, "... name(" before any "=" or "{".
_FUNC = re.compile(r"^(?!\s*(?:typedef|struct|enum|union)\b)[^=;{#]*?\b([A-Za-z_]\w*)\s*\(", re.S)


def split_units(code):
    """The declarations of a paragraph's code as (comment, statement) pairs, in order. A
    comment before a statement, or after it on the same line, is that statement's."""
    units = []
    pending = ""
    pos = 0
    last_end_line = None  # line number where the last statement ended
    while pos < len(code):
        m = re.compile(r"\s*").match(code, pos)
        pos = m.end()
        if pos >= len(code):
            break
        line = code.count("\n", 0, pos)
        if code.startswith("/*", pos):
            end = code.find("*/", pos)
            end = len(code) if end < 0 else end + 2
            text = gen_c_api.comment_text(code[pos:end])
            if units and last_end_line == line and not units[-1][0]:
                units[-1] = (text, units[-1][1])
            else:
                pending = (pending + "\n" + text).strip()
            pos = end
            continue
        if code.startswith("#", pos):
            end = code.find("\n", pos)
            end = len(code) if end < 0 else end
            stmt = code[pos:end]
            if "/*" in stmt:  # a comment after the #define: keep it with the define
                stmt = stmt[:stmt.index("/*")].rstrip()
                end = pos + len(stmt)
        else:
            depth = 0
            end = pos
            while end < len(code):
                if code.startswith("/*", end):
                    close = code.find("*/", end)
                    end = len(code) if close < 0 else close + 2
                    continue
                c = code[end]
                if c in "({":
                    depth += 1
                elif c in ")}":
                    depth -= 1
                elif c == ";" and depth == 0:
                    end += 1
                    break
                end += 1
            stmt = code[pos:end]
        units.append((pending, stmt.strip()))
        pending = ""
        last_end_line = code.count("\n", 0, end)
        pos = end
    return units


def function_name(stmt):
    m = _FUNC.match(re.sub(r"/\*.*?\*/", "", stmt, flags=re.S))
    return m.group(1) if m else None


def esc(text):
    """Text for roff: backslashes escaped, no line starting a request."""
    text = text.replace("\\", "\\e")
    return "\n".join(("\\&" + l if l.startswith((".", "'")) else l) for l in text.split("\n"))


def code_block(code):
    return ".PP\n.EX\n%s\n.EE\n" % esc(code).replace("-", "\\-")


def breakable(line):
    """Roff text of a prose line where words too long for a line (URLs) may break after
    "/", "&" or "?" (\\: is a break point that prints nothing)."""
    return " ".join(re.sub(r"([/&?])", r"\1\\:", w) if len(w) > 40 else w
                    for w in esc(line).split(" "))


def prose_block(text):
    """A comment as roff paragraphs; lines starting "- " are bullets."""
    out = [".PP"]
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            out.append(".PP")
        elif line.startswith("- "):
            out.append(".IP \\(bu 2")
            out.append(breakable(line[2:]))
        else:
            out.append(breakable(line))
    return "\n".join(out) + "\n"


def summary(text):
    """The first sentence of a comment (up to a period outside parentheses that ends a
    sentence), for NAME and the function list."""
    text = " ".join(text.split())
    depth = 0
    first = text
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "." and depth == 0 and not text[max(0, i - 3):i + 1].endswith(("e.g.", "i.e.")) \
                and (i + 1 == len(text) or text[i + 1] == " "):
            first = text[:i]
            break
    if len(first) > 90:
        first = first[:87].rsplit(" ", 1)[0] + "..."
    return first


def th(name, version):
    # Left-adjusted, unhyphenated: the text is full of identifiers and URLs.
    return '.nr HY 0\n.TH %s 3 "" "libpostpyro %s" "%s"\n.ad l\n.nh\n' % (esc(name.upper()), esc(version), MANUAL)


def collect(header):
    """(conventions, [(section, [(kind, ...)])]): each section's functions
    ("func", name, comment, declaration) and other declarations ("decl", prose, code)."""
    conventions, items = gen_c_api.parse(header)
    sections = [("Constants and types", [])]
    for item in items:
        if item[0] == "section":
            sections.append((item[1], []))
            continue
        _, prose, code = item
        units = split_units(code)
        if units and not units[0][0]:
            units[0] = (prose, units[0][1])
        other = False
        for comment, stmt in units:
            name = function_name(stmt)
            if name:
                sections[-1][1].append(("func", name, comment, stmt))
            else:
                other = True
        if other:  # constants, types: shown whole, as the header groups them
            sections[-1][1].append(("decl", prose, code))
    return conventions, [s for s in sections if s[1]]


def main_page(conventions, sections, version):
    out = [th("libpostpyro", version), ".SH NAME\n",
           "libpostpyro \\- PostgreSQL client library over libpq with type\\-tagged values\n",
           ".SH SYNOPSIS\n", ".nf\n", ".B #include <postpyro.h>\n", ".PP\n",
           ".B cc prog.c $(pkg\\-config \\-\\-cflags \\-\\-libs libpostpyro)\n", ".fi\n",
           ".SH DESCRIPTION\n",
           ".PP\nlibpostpyro runs SQL on a PostgreSQL server through libpq and hands back every "
           "value tagged with its type (\\fBpp_value\\fP, \\fBpp_column\\fP), decoded from the "
           "binary protocol. Every function has its own page.\n",
           ".SS Conventions\n", prose_block(conventions)]
    decls = [(title, [e for e in entries if e[0] == "decl"]) for title, entries in sections]
    out.append(".SH CONSTANTS AND TYPES\n")
    for title, entries in decls:
        if not entries:
            continue
        if title != "Constants and types":
            out.append(".SS %s\n" % esc(title))
        for _, prose, code in entries:
            if prose:
                out.append(prose_block(prose))
            out.append(code_block(code))
    out.append(".SH FUNCTIONS\n")
    for title, entries in sections:
        funcs = [e for e in entries if e[0] == "func"]
        if not funcs:
            continue
        out.append(".SS %s\n" % esc(title))
        for _, name, comment, _ in funcs:
            out.append(".TP\n.BR %s (3)\n%s\n" % (name, esc(summary(comment)) if comment
                                                 else "(see its page)"))
    out.append(".SH SEE ALSO\n.BR pkg\\-config (1),\n.I docs/c\\-api.md\n"
               "in the PostPyro sources.\n")
    return "".join(out)


def function_page(name, comment, stmt, siblings, version):
    out = [th(name, version), ".SH NAME\n",
           "%s \\- %s\n" % (esc(name), esc(summary(comment)) if comment
                            else "a function of libpostpyro"),
           ".SH SYNOPSIS\n", ".nf\n", ".B #include <postpyro.h>\n", ".fi\n", code_block(stmt),
           ".PP\nLink with \\fI$(pkg\\-config \\-\\-libs libpostpyro)\\fP.\n",
           ".SH DESCRIPTION\n"]
    out.append(prose_block(comment) if comment else
               ".PP\nThe header says no more than the declaration.\n")
    out.append(".PP\nThe conventions of \\fBlibpostpyro\\fP(3) apply: status codes, who owns "
               "each pointer, thread safety.\n")
    out.append(".SH SEE ALSO\n")
    refs = ["libpostpyro"] + [s for s in siblings if s != name]
    out.append(",\n".join(".BR %s (3)" % r for r in refs) + "\n")
    return "".join(out)


def pages(header, version):
    """{file name: page text}."""
    conventions, sections = collect(header)
    out = {"libpostpyro.3": main_page(conventions, sections, version)}
    for title, entries in sections:
        names = [e[1] for e in entries if e[0] == "func"]
        for e in entries:
            if e[0] == "func":
                _, name, comment, stmt = e
                out[name + ".3"] = function_page(name, comment, stmt, names, version)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--header", default=gen_c_api.HEADER)
    ap.add_argument("--version", default="")
    ap.add_argument("outdir")
    args = ap.parse_args(argv)
    with open(args.header, encoding="utf-8") as f:
        result = pages(f.read(), args.version)
    os.makedirs(args.outdir, exist_ok=True)
    for name, text in result.items():
        with open(os.path.join(args.outdir, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
