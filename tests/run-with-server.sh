#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-with-server.sh CMD [ARG...] — run CMD with a throwaway PostgreSQL server.
#
# Starts one server with pgserver.sh in a fresh directory under /tmp, exports
#   PP_TEST_DSN      host=<socket dir> port=<port> dbname=postpyro_test user=postgres
#   PP_TEST_HOST     the socket directory          PP_TEST_PORT   the TCP port (127.0.0.1)
#   PP_TEST_PW_DSN   ...user=pp_pw password=secret over TCP (scram-sha-256)
#   PP_TEST_MD5_DSN  ...user=pp_md5 password=secret over TCP (md5)
#   PP_TEST_URL      postgresql://pp_pw:secret@127.0.0.1:<port>/postpyro_test
# runs CMD, and always stops and deletes the server, whatever CMD does (even on Ctrl-C).
# Exits with CMD's status.
#
# When PP_TEST_DSN is already set, that server is used: nothing is started and only
# PP_TEST_DSN is guaranteed (the others stay as the caller set them, possibly unset).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -gt 0 ] || { echo "usage: run-with-server.sh CMD [ARG...]" >&2; exit 2; }

if [ -n "${PP_TEST_DSN:-}" ]; then
    "$@"
    exit $?
fi

# As root the server runs as another user, who must be able to reach the directory: /tmp is.
base=${TMPDIR:-/tmp}
[ "$(id -u)" -ne 0 ] || base=/tmp
dir=$(mktemp -d "$base/postpyro-pg.XXXXXX") || { echo "run-with-server: mktemp failed" >&2; exit 1; }

cleanup() { bash "$here/pgserver.sh" stop "$dir" >/dev/null 2>&1 || rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$here/pgserver.sh" start "$dir" >&2 || exit 1
eval "$(bash "$here/pgserver.sh" env "$dir")"

"$@"
