#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb-check.sh DIR — `make deb-check`: installs the Debian packages `make deb` left in DIR
# with dpkg -i, checks that they work as installed, and purges them again (always, even on
# failure), so the machine is as it was. Run as root inside run-with-server.sh.
# Checks, with a clean environment (no LD_LIBRARY_PATH, PYTHONPATH, POSTPYRO_LIBRARY):
#   - python3 and pypy3 import PostPyro from /usr/lib/python3/dist-packages, load the library
#     by soname (the package names no directory) and run a query;
#   - examples/quickstart.c builds with `pkg-config --cflags --libs libpostpyro` and runs;
#   - `man 3 pp_exec` shows the page; no .la is installed.
# Refuses to run when one of the packages is already installed (it would remove it after).
set -euo pipefail

dir=${1:?usage: deb-check.sh DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${PP_TEST_URL:?run me under run-with-server.sh}"
fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }
ok() { echo "deb-check: ok: $*"; }

[ "$(id -u)" = 0 ] || fail "dpkg -i needs root"
packages=(libpostpyro1 libpostpyro-dev python3-postpyro)
for p in "${packages[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        fail "$p is already installed on this machine; not touching it"
    fi
done
debs=()
for p in "${packages[@]}"; do
    f=$(ls "$dir/${p}_"*.deb 2>/dev/null | head -1)
    [ -n "$f" ] || fail "no ${p}_*.deb in $dir (make deb)"
    debs+=("$f")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/postpyro-deb.XXXXXX")
cleanup() {
    dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
ok "dpkg -i ${debs[*]##*/}"

clean_env=(env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8)
! dpkg -L libpostpyro-dev libpostpyro1 | grep -q '\.la$' || fail "a .la is installed"

for py in python3 pypy3; do
    command -v "$py" >/dev/null || fail "$py is not installed"
    (cd / && "${clean_env[@]}" "$py" - "$PP_TEST_URL" <<'EOF'
import sys
import PostPyro as pg
assert pg.__file__.startswith("/usr/lib/python3/dist-packages/PostPyro/"), pg.__file__
assert pg.library_path == "libpostpyro.so.1", pg.library_path
with pg.Connection(sys.argv[1]) as conn:
    assert conn.query_one("SELECT $1::int8 + 1 AS answer", [41])["answer"] == 42
EOF
    ) || fail "import PostPyro and a query under $py"
    ok "$py: import PostPyro (library by soname) and a query"
done

flags=$("${clean_env[@]}" pkg-config --cflags --libs libpostpyro)
"${clean_env[@]}" cc -std=c11 -o "$work/quickstart" "$here/../examples/quickstart.c" $flags
"${clean_env[@]}" "$work/quickstart" "$PP_TEST_URL" >"$work/c.out" ||
    { cat "$work/c.out"; fail "quickstart.c against the installed packages"; }
ok "quickstart.c built with pkg-config ($flags) ran"

out=$("${clean_env[@]}" MANPAGER=cat MANWIDTH=80 man 3 pp_exec 2>&1) || fail "man 3 pp_exec: $out"
grep -q "pp_exec" <<<"$out" || fail "man 3 pp_exec: $out"
ok "man 3 pp_exec"
