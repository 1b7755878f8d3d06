/* SPDX-License-Identifier: MIT */
/* test_fiber.c — the fiber nonblocking mode runs calls on (fiber.c, internal API): many
 * switches, deep stacks on both sides, values kept in registers across switches, a fiber
 * ending and starting again, each side's floating-point rounding mode, a fiber resumed from
 * another thread, the signal mask, and — with the hand-written switch — no rt_sigprocmask
 * system call per switch, down to real nonblocking statements (a seccomp filter makes that
 * call fail in a child process). */
#include "harness.h"
#include "internal.h"
#include "fiberswitch.h"

#include <errno.h>
#include <fenv.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__linux__)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#define HAVE_SECCOMP 1
#endif

static pp__fiber *fib;

/* ---- many switches ---- */
static long steps;
static void count_up(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        steps = i + 1;
        pp__fiber_yield(fib);
    }
}

static void many_switches(void)
{
    long n = RUNNING_ON_VALGRIND ? 20000 : 200000;
    steps = 0;
    int rc = pp__fiber_start(fib, count_up, &n);
    long seen = 0;
    bool in_order = true;
    while (rc == 1) {
        in_order = in_order && steps == ++seen;
        rc = pp__fiber_resume(fib);
    }
    CHECK(rc == 0 && in_order && seen == n && steps == n);
    CHECK(pp__fiber_resume(fib) == -1 && !pp__fiber_suspended(fib)); /* ended: nothing to resume */
}

/* ---- values held in callee-saved registers on both sides ---- */
static volatile long seed = 7; /* the compiler cannot fold what follows */
static volatile double dseed = 1.5;

/* Many values live across a switch: the compiler keeps them in callee-saved registers (or
 * spills them), which the switch must give back unchanged. Returns a checksum. */
static double busy_across_switch(bool on_fiber)
{
    long a = seed, b = a * 3, c = b + 5, d = c ^ 0x55, e = d * 7, g = e - 11, h = g * 13;
    double x = dseed, y = x * 2.5, z = y + 0.25, w = z * 3.0, v = w - 1.0, u = v * 0.5;
    if (on_fiber)
        pp__fiber_yield(fib);
    else
        pp__fiber_resume(fib);
    return (double)(a + b + c + d + e + g + h) + x + y + z + w + v + u;
}

static double fiber_sum;
static void registers_fiber(void *arg)
{
    (void)arg;
    fiber_sum = busy_across_switch(true);
}

static void registers_kept(void)
{
    double expect = busy_across_switch(false); /* fiber idle: resume does nothing */
    CHECK(pp__fiber_start(fib, registers_fiber, NULL) == 1);
    double mine = busy_across_switch(false); /* resumes the fiber, which then ends */
    CHECK(mine == expect && fiber_sum == expect && !pp__fiber_suspended(fib));
}

/* ---- deep stacks ---- */
/* Each frame keeps a buffer it checks after the switch at the bottom. */
static int deep(int depth, bool on_fiber)
{
    volatile unsigned char buf[96];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(depth + i);
    int below = 0;
    if (depth > 0)
        below = deep(depth - 1, on_fiber);
    else if (on_fiber)
        pp__fiber_yield(fib);
    else
        pp__fiber_resume(fib);
    int ok = below == depth - 1 || depth == 0 ? depth : -1;
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != (unsigned char)(depth + i))
            ok = -1;
    return ok;
}

static int fiber_deep_result;
static void deep_fiber(void *arg)
{
    fiber_deep_result = deep(*(int *)arg, true);
}

static void deep_stacks(void)
{
    /* a few hundred frames on the fiber's 256 KiB (sanitizers make frames larger) */
    int depth = 300;
    fiber_deep_result = -2;
    CHECK(pp__fiber_start(fib, deep_fiber, &depth) == 1);
    CHECK(deep(depth, false) == depth); /* resumes from deep in the caller's stack */
    CHECK(fiber_deep_result == depth && !pp__fiber_suspended(fib));
}

/* ---- ending, then starting again ---- */
static int runs;
static void once(void *arg)
{
    runs += *(int *)arg;
}

static void yield_twice(void *arg)
{
    (void)arg;
    pp__fiber_yield(fib);
    pp__fiber_yield(fib);
    runs++;
}

static void restart(void)
{
    runs = 0;
    int one = 1, bad = 0;
    for (int i = 0; i < 1000; i++) /* each start builds a new first frame on the stack */
        if (pp__fiber_start(fib, once, &one) != 0)
            bad++;
    CHECK(bad == 0 && runs == 1000);
    CHECK(pp__fiber_start(fib, yield_twice, NULL) == 1 && pp__fiber_suspended(fib));
    CHECK(pp__fiber_start(fib, once, &one) == -1); /* busy: refused, nothing run */
    CHECK(pp__fiber_resume(fib) == 1 && pp__fiber_resume(fib) == 0 && runs == 1001);
    CHECK(pp__fiber_start(fib, once, &one) == 0 && runs == 1002);
}

/* ---- floating-point control state: each side keeps its own ---- */
/* The rounding mode as fegetround sees it and, on x86_64, as SSE arithmetic does (glibc's
 * fegetround reads the x87 control word only; MXCSR is saved apart). */
static unsigned rounding(void)
{
#if defined(__x86_64__)
    return (unsigned)fegetround() | (__builtin_ia32_stmxcsr() & 0x6000u) << 4;
#else
    return (unsigned)fegetround();
#endif
}

static unsigned fiber_round_seen, fiber_round_after;

static void rounding_fiber(void *arg)
{
    (void)arg;
    fiber_round_seen = rounding(); /* starts with its starter's mode */
    fesetround(FE_DOWNWARD);
    pp__fiber_yield(fib);
    fiber_round_after = rounding();
}

static void rounding_modes(void)
{
    fesetround(FE_DOWNWARD);
    unsigned down = rounding();
    fesetround(FE_UPWARD);
    unsigned up = rounding();
    CHECK(up != down);
    CHECK(pp__fiber_start(fib, rounding_fiber, NULL) == 1);
    CHECK(fiber_round_seen == up);
    CHECK(rounding() == up); /* the fiber's FE_DOWNWARD stayed on the fiber */
    CHECK(pp__fiber_resume(fib) == 0);
    CHECK(fiber_round_after == down);
    CHECK(rounding() == up);
    fesetround(FE_TONEAREST);
}

/* ---- where the code runs; resumed from another thread ---- */
static bool current_inside;
static void where_am_i(void *arg)
{
    (void)arg;
    current_inside = pp__fiber_current(fib);
    pp__fiber_yield(fib);
    current_inside = current_inside && pp__fiber_current(fib);
}

static void *resume_there(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)pp__fiber_resume(fib);
}

static void current_and_other_thread(void)
{
    CHECK(!pp__fiber_current(fib) && !pp__fiber_current(NULL));
    CHECK(pp__fiber_start(fib, where_am_i, NULL) == 1);
    pthread_t t; /* pp_close ends a waiting call from whatever thread closes */
    void *rc = (void *)(intptr_t)-9;
    CHECK(pthread_create(&t, NULL, resume_there, NULL) == 0 && pthread_join(t, &rc) == 0);
    CHECK((intptr_t)rc == 0 && current_inside);
}

/* ---- the signal mask is the running thread's ---- */
#ifdef PP_FIBER_ASM
static bool usr2_blocked_on_fiber[2];
static bool usr2_blocked(void)
{
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, SIGUSR2) == 1;
}

static void mask_fiber(void *arg)
{
    (void)arg;
    usr2_blocked_on_fiber[0] = usr2_blocked();
    pp__fiber_yield(fib);
    usr2_blocked_on_fiber[1] = usr2_blocked();
}

/* swapcontext would put back the mask saved at the fiber's last switch (SIGUSR2 blocked)
 * and run the rest of the call under it: the hand-written switch leaves the thread's. */
static void signal_mask_is_the_callers(void)
{
    sigset_t usr2, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, &old);
    CHECK(pp__fiber_start(fib, mask_fiber, NULL) == 1);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    CHECK(pp__fiber_resume(fib) == 0);
    CHECK(usr2_blocked_on_fiber[0] && !usr2_blocked_on_fiber[1] && !usr2_blocked());
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}
#endif

/* ---- no rt_sigprocmask: run in a child whose rt_sigprocmask fails (seccomp) ---- */
#ifdef HAVE_SECCOMP
/* From here on, rt_sigprocmask fails with EPERM in this process. 0 when set. */
static int forbid_sigprocmask(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigprocmask, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -1;
    sigset_t probe;
    return sigprocmask(SIG_BLOCK, NULL, &probe) == -1 && errno == EPERM ? 0 : -1;
}

/* Statements on a nonblocking connection, some made to wait (the fiber yields). Returns how
 * many failed, or -1 when no call waited. */
static int nonblocking_statements(pp_conn *c, int n)
{
    int failed = 0, pending = 0;
    for (int i = 0; i < n; i++) {
        pp_value p = {.tag = PP_INT, .i = i};
        const char *sql = i % 10 == 0 ? "SELECT $1::int4, pg_sleep(0.002)" : "SELECT $1::int4";
        pp_result *r = NULL;
        pp_error *err = NULL;
        int rc = pp_exec(c, sql, 1, &p, 0, &r, &err);
        while (rc == PP_PENDING) {
            pending++;
            int32_t ev = pp_wait_events(c);
            struct pollfd pf = {.fd = pp_socket(c),
                                .events = (short)(((ev & PP_WAIT_READ) ? POLLIN : 0) |
                                                  ((ev & PP_WAIT_WRITE) ? POLLOUT : 0))};
            poll(&pf, 1, 5000);
            rc = pp_resume(c, &r, &err);
        }
        pp_value v;
        if (rc != PP_OK || pp_result_value(r, 0, 0, &v, NULL) != PP_OK || v.i != i)
            failed++;
        pp_result_free(r);
        pp_error_free(err);
    }
    return pending == 0 ? -1 : failed;
}

/* The child: 0 when every switch and statement worked without rt_sigprocmask; 3 when the
 * filter could not be set. */
static int child_without_sigprocmask(void)
{
    pp_error *err = NULL;
    pp_conn *c = test_connect();
    if (pp_set_nonblocking(c, 1, &err) != PP_OK)
        return 4;
    if (forbid_sigprocmask() != 0)
        return 3;
    long n = 1000;
    steps = 0;
    int rc = pp__fiber_start(fib, count_up, &n);
    while (rc == 1)
        rc = pp__fiber_resume(fib);
    if (rc != 0 || steps != n)
        return 1;
    return nonblocking_statements(c, 200) == 0 ? 0 : 2; /* _exit: no close, no cleanup */
}

static void no_sigprocmask_per_switch(void)
{
    if (RUNNING_ON_VALGRIND || getenv("PP_UNDER_VALGRIND") != NULL) { /* it needs the call */
        printf("under valgrind: the no-rt_sigprocmask check is not run\n");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_without_sigprocmask());
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 3) { /* a kernel without seccomp filters: say so, do not pretend */
        printf("seccomp filters unavailable: no-rt_sigprocmask check not run\n");
        return;
    }
#ifdef PP_FIBER_ASM
    const int expected = 0;
#else
    const int expected = 1; /* swapcontext needs rt_sigprocmask: the check can tell */
#endif
    CHECK(code == expected);
    if (code != expected)
        fprintf(stderr, "  child without rt_sigprocmask exited %d\n", code);
}
#endif

int main(void)
{
    CHECK(pp__fiber_supported());
    fib = pp__fiber_new();
    CHECK(fib != NULL);
    if (fib == NULL)
        return test_summary();
    many_switches();
    registers_kept();
    deep_stacks();
    restart();
    rounding_modes();
    current_and_other_thread();
#ifdef PP_FIBER_ASM
    signal_mask_is_the_callers();
#endif
#ifdef HAVE_SECCOMP
    no_sigprocmask_per_switch();
#endif
    pp__fiber_free(fib);
    return test_summary();
}
