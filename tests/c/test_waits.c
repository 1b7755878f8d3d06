/* SPDX-License-Identifier: MIT */
/* test_waits.c — bounded waits from C: pp_set_timeout, pp_connect_start (timeout, signals,
 * the server's SQLSTATE, no password in messages), pp_close from another thread, pp_close
 * and pp_conn_free in a child forked during a statement. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_timeout_cancels_a_slow_statement(pp_conn *c)
{
    pp_error *err = NULL;
    CHECK_OK(pp_set_timeout(c, 300, &err), err);
    CHECK(pp_timeout(c) == 300);
    pp_result *r = NULL;
    double start = now();
    CHECK(pp_exec(c, "SELECT pg_sleep(10)", 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(now() - start < 5.0);
    CHECK(r == NULL && strcmp(pp_error_sqlstate(err), "57014") == 0);
    CHECK(strstr(pp_error_message(err), "timeout") != NULL);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_ping(c) == 1); /* the server answered the cancel: still usable */
    CHECK_OK(pp_set_timeout(c, 0, &err), err);
    CHECK(pp_set_timeout(c, -1, &err) == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
}

static void test_set_timeout_if_sets_only_the_expected_value(pp_conn *c)
{
    pp_error *err = NULL;
    CHECK_OK(pp_set_timeout(c, 700, &err), err);
    CHECK(pp_set_timeout_if(c, 500, 40) == 0 && pp_timeout(c) == 700); /* not 500: unchanged */
    CHECK(pp_set_timeout_if(c, 700, 40) == 1 && pp_timeout(c) == 40);
    CHECK(pp_set_timeout_if(c, 40, 0) == 1 && pp_timeout(c) == 0);
    CHECK(pp_set_timeout_if(c, 0, -1) == -1 && pp_timeout(c) == 0);
    CHECK(pp_set_timeout_if(c, -1, 5) == -1 && pp_timeout(c) == 0);
    CHECK(pp_set_timeout_if(NULL, 0, 5) == -1);
}

/* A listening socket that never answers: the kernel completes the handshake, nobody reads. */
static int quiet_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        fprintf(stderr, "cannot make a listening socket\n");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void on_alarm(int sig) { (void)sig; }

static void test_connect_timeout_and_signals(void)
{
    int port;
    int fd = quiet_listener(&port);
    char dsn[128];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d dbname=x user=x", port);

    pp_conn *c = NULL;
    pp_error *err = NULL;
    double start = now();
    CHECK(pp_connect_start(dsn, 0, 500, &c, &err) == PP_ERROR);
    CHECK(now() - start < 3.0 && c == NULL);
    CHECK(pp_error_category(err) == PP_ERR_TIMEOUT && strcmp(pp_error_sqlstate(err), "08001") == 0);
    pp_error_free(err);
    err = NULL;

    /* A signal whose handler returns interrupts an interruptible connect: PP_PENDING. */
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    start = now();
    int rc = pp_connect_start(dsn, PP_CONNECT_INTERRUPTIBLE, 0, &c, &err);
    CHECK(rc == PP_PENDING && c != NULL && err == NULL);
    CHECK(now() - start < 3.0);
    CHECK(pp_is_closed(c) == 1 || pp_is_closed(c) == 0); /* usable as a handle */
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &(pp_result *){NULL}, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK(pp_connect_resume(c, &err) == PP_PENDING); /* interrupted again */
    pp_conn_free(c); /* giving up on a half-open connection frees everything */
    c = NULL;

    /* Without the flag the same signal does not end the wait (here: the timeout does). */
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK(pp_connect_start(dsn, 0, 600, &c, &err) == PP_ERROR && c == NULL);
    CHECK(pp_error_category(err) == PP_ERR_TIMEOUT);
    pp_error_free(err);
    close(fd);
    signal(SIGALRM, SIG_DFL);
}

static void test_connect_errors(void)
{
    pp_error *err = NULL;
    pp_conn *c = pp_connect("postgresql://app:SECRET%zz@h/db", 0, &err);
    CHECK(c == NULL && err != NULL);
    CHECK(strstr(pp_error_message(err), "SECRET") == NULL);
    CHECK(strstr(pp_error_message(err), "percent-encoded") != NULL);
    pp_error_free(err);
    err = NULL;
    c = pp_connect("host=h user=SECRET password='it\\'s SECRET' port=notaport", 0, &err);
    CHECK(c == NULL && strstr(pp_error_message(err), "SECRET") == NULL);
    pp_error_free(err);
    err = NULL;

    const char *pw = getenv("PP_TEST_PW_DSN"); /* user pp_pw, password secret */
    if (pw != NULL) {
        char dsn[512];
        snprintf(dsn, sizeof dsn, "%s password=wrong-SECRET", pw);
        c = pp_connect(dsn, 0, &err);
        CHECK(c == NULL && strcmp(pp_error_sqlstate(err), "28P01") == 0);
        CHECK(pp_error_category(err) == PP_ERR_OPERATIONAL);
        CHECK(strstr(pp_error_message(err), "password authentication failed") != NULL);
        CHECK(strstr(pp_error_message(err), "SECRET") == NULL);
        pp_error_free(err);
    }
}

typedef struct {
    pp_conn *c;
    int rc;
    int32_t category;
    volatile int done;
} blocked_call;

static void *run_sleep(void *arg)
{
    blocked_call *b = arg;
    pp_result *r = NULL;
    pp_error *err = NULL;
    b->rc = pp_exec(b->c, "SELECT pg_sleep(30)", 0, NULL, 0, &r, &err);
    b->category = pp_error_category(err);
    pp_result_free(r);
    pp_error_free(err);
    b->done = 1;
    return NULL;
}

static void test_close_ends_a_call_in_another_thread(void)
{
    blocked_call b = {.c = test_connect()};
    pthread_t t;
    pthread_create(&t, NULL, run_sleep, &b);
    sleep_ms(300);
    double start = now();
    pp_close(b.c);
    CHECK(now() - start < 3.0);
    pthread_join(t, NULL);
    CHECK(now() - start < 4.0);
    CHECK(b.rc == PP_ERROR && b.category == PP_ERR_INTERFACE);
    CHECK(pp_is_closed(b.c) == 1);
    pp_conn_free(b.c);
}

static void *run_short_sleep(void *arg)
{
    blocked_call *b = arg;
    pp_result *r = NULL;
    pp_error *err = NULL;
    b->rc = pp_exec(b->c, "SELECT pg_sleep(1)", 0, NULL, 0, &r, &err);
    pp_result_free(r);
    pp_error_free(err);
    return NULL;
}

static void test_fork_during_a_statement(void)
{
    blocked_call b = {.c = test_connect()};
    pthread_t t;
    pthread_create(&t, NULL, run_short_sleep, &b);
    sleep_ms(300); /* the statement runs: the connection's lock is held */
    pid_t pid = fork();
    if (pid == 0) {
        pp_close(b.c);     /* must not wait for the lock */
        pp_conn_free(b.c); /* nor here */
        _exit(0);
    }
    int status = -1;
    double start = now();
    while (waitpid(pid, &status, WNOHANG) == 0 && now() - start < 10.0)
        sleep_ms(20);
    if (now() - start >= 10.0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_join(t, NULL);
    CHECK(b.rc == PP_OK); /* the parent's statement was not disturbed */
    CHECK(pp_ping(b.c) == 1);
    pp_conn_free(b.c);
}

/* A statement that catches the cancels it gets for 1.2 s and says how many: a cancel asked
 * once from another thread is sent again every 200 ms by the waiting call (the server ignores
 * one that reaches the backend before the statement starts), so it sees several. The one
 * still on its way at the end is waited for: the next statements are not cancelled. */
static void *cancel_once(void *arg)
{
    sleep_ms(300);
    pp_cancel(arg, NULL);
    return NULL;
}

static void test_a_cancel_is_sent_again_until_the_statement_ends(void)
{
    pp_conn *c = test_connect();
    pp_error *err = NULL;
    pp_result *r = NULL;
    CHECK_OK(pp_exec(c, "CREATE FUNCTION pg_temp.swallow_cancels(secs float8) RETURNS int "
                        "LANGUAGE plpgsql AS $$ DECLARE caught int := 0; stop timestamptz := "
                        "clock_timestamp() + secs * interval '1 s'; BEGIN WHILE "
                        "clock_timestamp() < stop LOOP BEGIN PERFORM pg_sleep(0.02); "
                        "EXCEPTION WHEN query_canceled THEN caught := caught + 1; END; END LOOP; "
                        "RETURN caught; END $$", 0, NULL, 0, &r, &err), err);
    pp_result_free(r);
    r = NULL;
    pthread_t t;
    pthread_create(&t, NULL, cancel_once, c);
    CHECK_OK(pp_exec(c, "SELECT pg_temp.swallow_cancels(1.2)", 0, NULL, 0, &r, &err), err);
    pthread_join(t, NULL);
    pp_value v = {0};
    CHECK(r != NULL && pp_result_value(r, 0, 0, &v, NULL) == PP_OK && v.i >= 2);
    pp_result_free(r);
    for (int k = 0; k < 3; k++) {
        r = NULL;
        CHECK_OK(pp_exec(c, "SELECT pg_sleep(0.1)", 0, NULL, 0, &r, &err), err);
        pp_result_free(r);
    }
    pp_conn_free(c);
}

int main(void)
{
    pp_conn *c = test_connect();
    test_timeout_cancels_a_slow_statement(c);
    test_set_timeout_if_sets_only_the_expected_value(c);
    pp_conn_free(c);
    test_connect_timeout_and_signals();
    test_connect_errors();
    test_close_ends_a_call_in_another_thread();
    test_fork_during_a_statement();
    test_a_cancel_is_sent_again_until_the_statement_ends();
    printf("test_waits: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}
