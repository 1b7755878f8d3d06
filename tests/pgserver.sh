#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgserver.sh — a throwaway PostgreSQL cluster for tests and demos.
#
#   pgserver.sh start DIR   create a cluster in DIR (made if missing; must be empty) and start it
#   pgserver.sh stop DIR    stop it and delete DIR
#   pgserver.sh env DIR     print `export PP_TEST_...=...` lines for a running cluster
#
# The server listens on a Unix socket in DIR and on a free port of 127.0.0.1, with fsync off.
# Roles and databases:
#   postgres   superuser, no password (trust) over the socket and TCP
#   pp_pw      LOGIN PASSWORD 'secret', authenticated with scram-sha-256 (socket and TCP);
#              owns the database postpyro_test (so it may create tables in its public schema)
#   pp_md5     LOGIN PASSWORD 'secret' stored as md5, authenticated with md5
#   database postpyro_test (UTF8), with the hstore and citext extensions when available
# Files written in DIR:
#   dsn      host=DIR port=PORT dbname=postpyro_test user=postgres        (what PP_TEST_DSN gets)
#   port     PORT
#   pw_dsn   host=127.0.0.1 port=PORT dbname=postpyro_test user=pp_pw password=secret
#   md5_dsn  host=127.0.0.1 port=PORT dbname=postpyro_test user=pp_md5 password=secret
#   url      postgresql://pp_pw:secret@127.0.0.1:PORT/postpyro_test
#   server.log, data/ (the cluster)
# The server binaries come from $PG_BINDIR, else `pg_config --bindir` when it has initdb,
# else the newest /usr/lib/postgresql/*/bin. As root, the server runs as the user `postgres`
# (or $PG_SERVER_USER): PostgreSQL refuses to run as root.
set -euo pipefail

me=pgserver
die() { echo "$me: $*" >&2; exit 1; }

find_bindir() {
    local d
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR has no initdb"
        echo "$PG_BINDIR"; return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
    d=$(command -v initdb 2>/dev/null || true)
    if [ -n "$d" ]; then dirname "$d"; return; fi
    die "no PostgreSQL server binaries (initdb, pg_ctl) found; on Debian: apt-get install postgresql postgresql-contrib (or set PG_BINDIR)"
}

# Run a server-side command as the unprivileged user when we are root.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u "$server_user" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

abs_dir() {
    [ -n "${1:-}" ] || die "usage: pgserver.sh start|stop|env DIR"
    mkdir -p "$1" 2>/dev/null || true
    [ -d "$1" ] || die "$1 is not a directory"
    (cd "$1" && pwd -P)
}

# A port nobody listens on (the server's bind is the final word; start retries on failure).
pick_port() {
    local p i
    for i in $(seq 1 50); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if command -v ss >/dev/null 2>&1; then
            ss -Htan 2>/dev/null | awk '{print $4}' | grep -q -E "[:.]$p\$" && continue
        elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            continue
        fi
        echo "$p"; return
    done
    die "could not find a free TCP port"
}

cmd_start() {
    dir=$(abs_dir "${1:-}")
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    case $dir in *[[:space:]\'\"\\]*) die "$dir: use a directory without spaces or quotes (it goes into a DSN)" ;; esac
    # The socket path (DIR/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
    [ ${#dir} -le 85 ] || die "$dir is too long for a Unix socket path; use a shorter directory (e.g. under /tmp)"

    local bindir; bindir=$(find_bindir)
    server_user=${PG_SERVER_USER:-postgres}
    if [ "$(id -u)" -eq 0 ]; then
        id "$server_user" >/dev/null 2>&1 ||
            die "running as root, but there is no user '$server_user' to run the server as (set PG_SERVER_USER)"
        chown "$server_user" "$dir"
        chmod 700 "$dir"
        runuser -u "$server_user" -- test -x "$dir" -a -w "$dir" ||
            die "user '$server_user' cannot reach $dir: a parent directory is not traversable (use a directory under /tmp)"
    fi
    touch "$dir/.pgserver"   # marks DIR as ours, so stop may delete it

    local locale=C
    if locale -a 2>/dev/null | grep -q -i -x -E 'c\.utf-?8'; then locale=C.UTF-8; fi
    if ! as_server_user "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale="$locale" \
            -A trust --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed (log above)"
    fi
    cat >"$dir/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       pp_pw                    scram-sha-256
local   all       pp_md5                   md5
local   all       all                      trust
host    all       pp_pw     127.0.0.1/32   scram-sha-256
host    all       pp_pw     ::1/128        scram-sha-256
host    all       pp_md5    127.0.0.1/32   md5
host    all       pp_md5    ::1/128        md5
host    all       all       127.0.0.1/32   trust
host    all       all       ::1/128        trust
EOF
    cat >>"$dir/data/postgresql.conf" <<EOF

# pgserver.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
max_prepared_transactions = 10
shared_buffers = 32MB
log_min_messages = warning
log_min_error_statement = panic
log_statement = none
password_encryption = 'scram-sha-256'
EOF
    # Make the shipped files ours, then start; a port taken meanwhile means another try.
    [ "$(id -u)" -ne 0 ] || chown -R "$server_user" "$dir"
    local port started=no try
    for try in 1 2 3 4 5; do
        port=$(pick_port)
        if as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" \
                -w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
            started=yes; break
        fi
        grep -q -i -E 'could not (bind|create listen)|address already in use' "$dir/server.log" 2>/dev/null || break
    done
    if [ "$started" != yes ]; then
        cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
        die "the server did not start (logs above)"
    fi

    local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
    [ -x "$bindir/psql" ] || psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
    if ! "${psql[@]}" -d postgres >"$dir/setup.log" 2>&1 <<'EOF'
CREATE ROLE pp_pw LOGIN PASSWORD 'secret';
SET password_encryption = 'md5';
CREATE ROLE pp_md5 LOGIN PASSWORD 'secret';
RESET password_encryption;
CREATE DATABASE postpyro_test OWNER pp_pw ENCODING 'UTF8' TEMPLATE template0;
EOF
    then
        cat "$dir/setup.log" >&2; cmd_stop "$dir" >/dev/null 2>&1 || true
        die "could not create the test roles and database (log above)"
    fi
    "${psql[@]}" -d postpyro_test >>"$dir/setup.log" 2>&1 <<'EOF' || true
GRANT CREATE ON SCHEMA public TO pp_md5;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS citext;
EOF

    echo "host=$dir port=$port dbname=postpyro_test user=postgres" >"$dir/dsn"
    echo "$port" >"$dir/port"
    echo "host=127.0.0.1 port=$port dbname=postpyro_test user=pp_pw password=secret" >"$dir/pw_dsn"
    echo "host=127.0.0.1 port=$port dbname=postpyro_test user=pp_md5 password=secret" >"$dir/md5_dsn"
    echo "postgresql://pp_pw:secret@127.0.0.1:$port/postpyro_test" >"$dir/url"
    echo "$me: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') running: $(cat "$dir/dsn") (TCP 127.0.0.1:$port)"
}

cmd_stop() {
    local dir; dir=$(cd "${1:?usage: pgserver.sh stop DIR}" 2>/dev/null && pwd -P) || return 0
    [ -f "$dir/.pgserver" ] || die "$dir was not made by pgserver.sh; not touching it"
    if [ -f "$dir/data/postmaster.pid" ]; then
        local bindir; bindir=$(find_bindir)
        server_user=${PG_SERVER_USER:-postgres}
        if ! as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
            as_server_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
            local pid; pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
            [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

cmd_env() {
    local dir; dir=$(cd "${1:?usage: pgserver.sh env DIR}" && pwd -P)
    [ -f "$dir/dsn" ] || die "no server in $dir"
    echo "export PP_TEST_DSN='$(cat "$dir/dsn")'"
    echo "export PP_TEST_HOST='$dir'"
    echo "export PP_TEST_PORT='$(cat "$dir/port")'"
    echo "export PP_TEST_PW_DSN='$(cat "$dir/pw_dsn")'"
    echo "export PP_TEST_MD5_DSN='$(cat "$dir/md5_dsn")'"
    echo "export PP_TEST_URL='$(cat "$dir/url")'"
}

case "${1:-}" in
    start) cmd_start "${2:-}" ;;
    stop)  cmd_stop "${2:-}" ;;
    env)   cmd_env "${2:-}" ;;
    *) echo "usage: pgserver.sh start|stop|env DIR" >&2; exit 2 ;;
esac
