/* SPDX-License-Identifier: MIT */
/* harness.h — a tiny test harness for the C tests: CHECK macros and a connection to the
 * throwaway server named by PP_TEST_DSN. Each test program prints "N passed, N failed". */
#ifndef PP_TEST_HARNESS_H
#define PP_TEST_HARNESS_H

#include "postpyro.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tests_passed, tests_failed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (cond) {                                                                        \
            tests_passed++;                                                                \
        } else {                                                                           \
            tests_failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                                  \
    } while (0)

#define CHECK_OK(call, errvar)                                                             \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        CHECK(rc_ == PP_OK);                                                               \
        if (rc_ != PP_OK)                                                                  \
            fprintf(stderr, "  error: %s\n", pp_error_message(errvar));                    \
        pp_error_free(errvar);                                                             \
        errvar = NULL;                                                                     \
    } while (0)

static inline const char *test_dsn(void)
{
    const char *dsn = getenv("PP_TEST_DSN");
    if (dsn == NULL) {
        fprintf(stderr, "PP_TEST_DSN is not set: run through `make check`\n");
        exit(2);
    }
    return dsn;
}

/* A connection with PP_CONNECT_* flags (PP_CONNECT_INTERRUPTIBLE: a signal interrupts its
 * waits, for the tests of PP_PENDING). */
static inline pp_conn *test_connect_flags(uint32_t flags)
{
    pp_error *err = NULL;
    pp_conn *c = pp_connect(test_dsn(), flags, &err);
    if (c == NULL) {
        fprintf(stderr, "cannot connect: %s\n", pp_error_message(err));
        exit(2);
    }
    return c;
}

static inline pp_conn *test_connect(void) { return test_connect_flags(0); }

/* Runs sql without parameters; returns the result or NULL (error printed and counted). */
static inline pp_result *run(pp_conn *c, const char *sql)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    if (pp_exec(c, sql, 0, NULL, 0, &r, &err) != PP_OK) {
        fprintf(stderr, "  %s: %s\n", sql, pp_error_message(err));
        tests_failed++;
    }
    pp_error_free(err);
    return r;
}

/* Runs sql, which returns one integer value, and returns it (0 when it fails, counted). */
static inline int64_t scalar(pp_conn *c, const char *sql)
{
    pp_result *r = run(c, sql);
    pp_value v = {0};
    pp_error *err = NULL;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    pp_result_free(r);
    return v.i;
}

static inline void ignore_signal(int sig) { (void)sig; }

/* SIGALRM in `seconds`, caught without SA_RESTART: the library's wait for the server is
 * interrupted (poll fails with EINTR) and, on a connection made with
 * PP_CONNECT_INTERRUPTIBLE, the call returns PP_PENDING. */
static inline void interrupt_after(unsigned seconds)
{
    struct sigaction sa = {0};
    sa.sa_handler = ignore_signal;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}

/* Whether this run is run_again_with_newer_libpq's (libpq 17 or later loaded). */
static inline bool newer_libpq_run(void)
{
    const char *v = getenv("PP_NEWER_LIBPQ_RUN");
    return v != NULL && strcmp(v, "1") == 0;
}

/* PP_LIBPQ_NEWER="dir1:dir2": directories holding a libpq.so.5 of version 17 or later (from
 * npm's @embedded-postgres packages): the test program runs again with each loaded instead
 * of the system's (newer_libpq_run() is true there), where libpostpyro must take libpq
 * 17's paths (its cancel API, PQsendClosePrepared). A failed run is counted. */
static inline void run_again_with_newer_libpq(char **argv)
{
    const char *dirs = getenv("PP_LIBPQ_NEWER");
    if (dirs == NULL || newer_libpq_run()) {
        if (dirs == NULL)
            fprintf(stderr, "note: libpq 17+ path not run here (set PP_LIBPQ_NEWER)\n");
        return;
    }
    char *list = strdup(dirs);
    for (char *save = NULL, *d = strtok_r(list, ":", &save); d != NULL;
         d = strtok_r(NULL, ":", &save)) {
        pid_t pid = fork();
        if (pid == 0) {
            char path[4096];
            const char *old = getenv("LD_LIBRARY_PATH");
            snprintf(path, sizeof path, "%s%s%s", d, old ? ":" : "", old ? old : "");
            setenv("LD_LIBRARY_PATH", path, 1);
            setenv("PP_NEWER_LIBPQ_RUN", "1", 1);
            execv("/proc/self/exe", argv);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        fprintf(stderr, "with the libpq in %s: exit %d\n", d, WEXITSTATUS(status));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    free(list);
}

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}

#endif
