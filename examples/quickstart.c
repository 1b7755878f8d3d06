/* SPDX-License-Identifier: MIT */
/* quickstart.c — libpostpyro from C: connect, create a table, insert with parameters, read
 * the rows back as tagged values, clean up. Build:
 *   cc quickstart.c $(pkg-config --cflags --libs libpostpyro)
 * Run: ./a.out "postgresql://user:password@localhost/db" */
#include <postpyro.h>
#include <stdio.h>
#include <string.h>

/* The calls below return PP_OK or PP_ERROR (with *err set) and nothing else: PP_PENDING
 * comes only on a connection made with PP_CONNECT_INTERRUPTIBLE (a signal interrupted a
 * wait) or in nonblocking mode, PP_MORE only with PP_EXEC_CHUNKED. A signal handler the
 * program installs does not change that: the call goes on after it. */
static int fail(const char *what, pp_error *err)
{
    fprintf(stderr, "%s failed: [%s] %s\n", what, pp_error_sqlstate(err), pp_error_message(err));
    pp_error_free(err);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dsn = argc > 1 ? argv[1] : "";
    pp_error *err = NULL;
    pp_conn *conn = pp_connect(dsn, 0, &err);
    if (conn == NULL)
        return fail("connect", err);
    char *version = pp_conn_info(conn, "server_version");
    printf("C: connected with libpostpyro %s (server %s)\n", pp_version(), version);
    pp_free(version);

    pp_result *res = NULL;
    if (pp_exec(conn, "CREATE TEMP TABLE langs (id int, name text, year int2)", 0, NULL, 0,
                &res, &err) != PP_OK)
        return fail("create", err);
    pp_result_free(res);

    const char *names[] = {"C", "Python", "Rust"};
    const int years[] = {1972, 1991, 2015};
    for (int k = 0; k < 3; k++) {
        pp_value params[3] = {
            {.tag = PP_INT, .i = k + 1},
            {.tag = PP_TEXT, .ptr = names[k], .len = (int64_t)strlen(names[k])},
            {.tag = PP_INT, .i = years[k]},
        };
        if (pp_exec(conn, "INSERT INTO langs VALUES ($1, $2, $3)", 3, params, 0, &res, &err) !=
            PP_OK)
            return fail("insert", err);
        printf("C: inserted %lld row: %s\n", (long long)pp_result_rows_affected(res), names[k]);
        pp_result_free(res);
    }

    pp_value min_year = {.tag = PP_INT, .i = 1980};
    if (pp_exec(conn, "SELECT id, name, year FROM langs WHERE year > $1 ORDER BY id", 1,
                &min_year, 0, &res, &err) != PP_OK)
        return fail("select", err);
    for (int64_t row = 0; row < pp_result_nrows(res); row++) {
        pp_value id, name, year;
        if (pp_result_value(res, row, 0, &id, &err) != PP_OK ||
            pp_result_value(res, row, 1, &name, &err) != PP_OK ||
            pp_result_value(res, row, 2, &year, &err) != PP_OK)
            return fail("read", err);
        printf("C: row %lld: id=%lld name=%.*s year=%lld\n", (long long)row, (long long)id.i,
               (int)name.len, name.ptr, (long long)year.i);
    }
    pp_result_free(res);
    pp_conn_free(conn);
    printf("C: done\n");
    return 0;
}
