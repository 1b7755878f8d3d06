# SPDX-License-Identifier: MIT
"""What the benchmark scripts of this directory share (they import it as ``benchlib``: a
script's own directory is first on sys.path): reading a key=value DSN, the order of the
drivers in each round and the ratios of side-by-side runs, and putting a report's section
into docs/benchmarks.md."""

import re
import statistics

# Where bench_async.py's section starts; it keeps it at the end of docs/benchmarks.md.
ASYNC_MARK = "<!-- the async run (tests/bench/bench_async.py --into) from here to the end -->"


def kv_dsn(dsn):
    """A key=value DSN as a dict (for asyncpg, which takes URL DSNs or keywords, and for
    the drivers that want host, port … apart)."""
    out = {}
    for m in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn):
        v = m.group(2)
        if v.startswith("'"):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[m.group(1)] = v
    return out


def rotated(items, k):
    """The order of round ``k``: ``items`` rotated left by k (ABCD, BCDA, CDAB, …). Over as
    many rounds as items, each runs once in every position, so whatever favours a place in
    the order (first after a pause, right after a heavy neighbour) falls on all alike."""
    items = list(items)
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def paired_ratio(a, b):
    """The median over rounds i of ``a[i] / b[i]`` (two drivers' values from the same round,
    None where a run failed), skipping rounds without both: every ratio compares runs made
    side by side, minutes apart at most, instead of medians taken at different moments.
    None when no round has both."""
    rs = [x / y for x, y in zip(a, b) if x is not None and y]
    return statistics.median(rs) if rs else None


def put_section(path, begin, end, block):
    """Put ``block`` (from the line ``begin`` to the line ``end`` and its newline) into
    ``path``: in place of the previous one, else before the async section, else at the
    end."""
    with open(path) as f:
        doc = f.read()
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end) + 1:]
    elif ASYNC_MARK in doc:
        at = doc.index(ASYNC_MARK)
        doc = doc[:at] + block + "\n" + doc[at:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(doc)
