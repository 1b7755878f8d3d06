/* SPDX-License-Identifier: MIT */
/* fiber.c — a second stack on which a nonblocking call runs (nonblock.c), so that the
 * library's ordinary "send, read, wait" code can stop at a wait and go on later: where a
 * blocking call would wait on the socket, the fiber switches back to the caller (the call
 * returns PP_PENDING); pp_resume switches into it again. One fiber per connection, made at
 * its first nonblocking call and kept. Knows nothing of connections.
 *
 * The switch: on x86_64 and aarch64, fiberswitch.c's (no system call); elsewhere, or
 * configured with --disable-fiber-asm, makecontext/swapcontext; with neither (musl on
 * another architecture), no nonblocking mode.
 *
 * The signal mask is not switched (swapcontext sets it, an rt_sigprocmask system call per
 * switch; the hand-written switch leaves it alone), and that is right:
 * - The mask belongs to the thread, and the code on the fiber is the public call the thread
 *   makes (pp_resume, or pp_close from any thread), so it runs under that thread's mask, as
 *   the same code does in blocking mode. Nothing on the fiber leaves the mask changed at a
 *   switch: libpostpyro blocks signals only around pthread_create (wait.c) and libpq only
 *   SIGPIPE around one write where it cannot use MSG_NOSIGNAL, each undone before returning,
 *   with no wait in between. swapcontext, in contrast, put back the mask saved at the last switch, which
 *   is stale when the caller changed its mask between two calls, or when pp_close resumes
 *   the fiber from another thread.
 * - Where a signal handler runs is the kernel's choice from the stack pointer and
 *   sigaltstack, not the mask: as before, a signal arriving while the fiber runs is handled
 *   on the fiber's stack (256 KiB, a guard page below), or on the alternate stack with
 *   SA_ONSTACK. A signal arriving in the middle of a switch finds a valid stack on either
 *   side (the switch stores nothing below the stack pointer) and its handler returns into
 *   the switch like into any code. A profiler's SIGPROF handler that unwinds from the fiber
 *   stops at the fiber's first frame (the trampoline's unwind information).
 * - A handler that longjmps out of the fiber (or out of any libpostpyro call) was never
 *   supported: it would leave libpq in the middle of a call.
 * Not chosen: _setjmp/_longjmp after makecontext. C defines longjmp only back up the
 * caller's own chain of calls, not onto another stack, and glibc's _FORTIFY_SOURCE variant
 * (__longjmp_chk) aborts a jump to a lower stack pointer ("longjmp causes uninitialized
 * stack frame"), which a jump into a fiber mapped below the caller's stack is. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_STACK */
#include "internal.h"
#include "fiberswitch.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(PP_NO_UCONTEXT) && !defined(PP_FIBER_ASM) /* no way to switch: no nonblocking mode */
bool pp__fiber_supported(void) { return false; }
pp__fiber *pp__fiber_new(void) { return NULL; }
void pp__fiber_free(pp__fiber *f) { (void)f; }
int pp__fiber_start(pp__fiber *f, void (*fn)(void *), void *arg)
{
    (void)f, (void)fn, (void)arg;
    return -1;
}
int pp__fiber_resume(pp__fiber *f)
{
    (void)f;
    return -1;
}
void pp__fiber_yield(pp__fiber *f) { (void)f; }
bool pp__fiber_suspended(const pp__fiber *f)
{
    (void)f;
    return false;
}
bool pp__fiber_current(const pp__fiber *f)
{
    (void)f;
    return false;
}
#else

#include <sys/mman.h>
#include <unistd.h>
#ifndef PP_FIBER_ASM
#include <ucontext.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* macros only: no-ops unless run under valgrind */
#define PP_VALGRIND 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PP_ASAN 1
#endif
#endif
#ifdef PP_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* The library's deepest calls (libpq with OpenSSL, a notice being formatted) use a few tens
 * of KiB; the pages are only touched, hence resident, as needed. */
#define FIBER_STACK (256 * 1024)

enum { FIBER_IDLE, FIBER_RUNNING, FIBER_SUSPENDED };

struct pp__fiber {
#ifdef PP_FIBER_ASM
    void *caller, *self;    /* saved stack pointers (fiberswitch.c) */
#else
    ucontext_t caller, self;
#endif
    char *map;              /* guard page + stack */
    size_t map_size, page;
    void (*fn)(void *);
    void *arg;
    int state;
    unsigned vg_id;         /* valgrind's stack id */
    void *fake_caller;      /* ASan: the caller's and the fiber's fake stacks */
    void *fake_self;
    const void *caller_bottom; /* ASan: the caller's stack, learnt when switching in */
    size_t caller_size;
};

static char *stack_base(const pp__fiber *f) { return f->map + f->page; }
static size_t stack_size(const pp__fiber *f) { return f->map_size - f->page; }

bool pp__fiber_supported(void) { return true; }

pp__fiber *pp__fiber_new(void)
{
    pp__fiber *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    long page = sysconf(_SC_PAGESIZE);
    f->page = page > 0 ? (size_t)page : 4096;
    f->map_size = FIBER_STACK + f->page;
    f->map = mmap(NULL, f->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    if (f->map == MAP_FAILED) {
        free(f);
        return NULL;
    }
    mprotect(f->map, f->page, PROT_NONE); /* an overflow faults rather than overwrites */
#ifdef PP_VALGRIND
    f->vg_id = VALGRIND_STACK_REGISTER(stack_base(f), stack_base(f) + stack_size(f));
#endif
    return f;
}

void pp__fiber_free(pp__fiber *f)
{
    if (f == NULL)
        return;
#ifdef PP_VALGRIND
    VALGRIND_STACK_DEREGISTER(f->vg_id);
#endif
    munmap(f->map, f->map_size);
    free(f);
}

/* Switches from the caller into the fiber and back; returns when the fiber yields or
 * ends. */
static void switch_in(pp__fiber *f)
{
#ifdef PP_ASAN
    __sanitizer_start_switch_fiber(&f->fake_caller, stack_base(f), stack_size(f));
#endif
#ifdef PP_FIBER_ASM
    pp__fiber_switch(&f->caller, f->self);
#else
    swapcontext(&f->caller, &f->self);
#endif
#ifdef PP_ASAN
    __sanitizer_finish_switch_fiber(f->fake_caller, NULL, NULL);
#endif
}

/* From the fiber to its caller; `ending`: the fiber never runs again (until restarted). */
static void switch_out(pp__fiber *f, bool ending)
{
#ifdef PP_ASAN
    __sanitizer_start_switch_fiber(ending ? NULL : &f->fake_self, f->caller_bottom,
                                   f->caller_size);
#else
    (void)ending;
#endif
#ifdef PP_FIBER_ASM
    pp__fiber_switch(&f->self, f->caller);
#else
    swapcontext(&f->self, &f->caller);
#endif
#ifdef PP_ASAN
    __sanitizer_finish_switch_fiber(f->fake_self, &f->caller_bottom, &f->caller_size);
#endif
}

/* The fiber's first frame: runs fn(arg), then leaves the fiber for good. */
static void run(void *p)
{
    pp__fiber *f = p;
#ifdef PP_ASAN
    __sanitizer_finish_switch_fiber(NULL, &f->caller_bottom, &f->caller_size);
#endif
    f->fn(f->arg);
    f->state = FIBER_IDLE;
    switch_out(f, true);
}

#ifdef PP_FIBER_ASM
static int make_context(pp__fiber *f)
{
    f->self = pp__fiber_frame(stack_base(f), stack_size(f), run, f);
    return 0;
}
#else
/* makecontext passes int arguments only: the pointer in two halves. */
static void entry(unsigned hi, unsigned lo)
{
    run((void *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo));
}

static int make_context(pp__fiber *f)
{
    if (getcontext(&f->self) != 0)
        return -1;
    f->self.uc_stack.ss_sp = stack_base(f);
    f->self.uc_stack.ss_size = stack_size(f);
    f->self.uc_link = NULL; /* entry never returns: it switches out */
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->self, (void (*)(void))entry, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
    return 0;
}
#endif

int pp__fiber_start(pp__fiber *f, void (*fn)(void *), void *arg)
{
    if (f->state != FIBER_IDLE || make_context(f) != 0)
        return -1;
    f->fn = fn;
    f->arg = arg;
    f->state = FIBER_RUNNING;
    switch_in(f);
    return f->state == FIBER_SUSPENDED ? 1 : 0;
}

int pp__fiber_resume(pp__fiber *f)
{
    if (f->state != FIBER_SUSPENDED)
        return -1;
    f->state = FIBER_RUNNING;
    switch_in(f);
    return f->state == FIBER_SUSPENDED ? 1 : 0;
}

void pp__fiber_yield(pp__fiber *f)
{
    f->state = FIBER_SUSPENDED;
    switch_out(f, false);
}

bool pp__fiber_current(const pp__fiber *f)
{
    /* by the stack alone (never changes): safe to ask from any thread. The frame's address,
     * not a local's: ASan's detect_stack_use_after_return moves locals to the heap. */
    if (f == NULL)
        return false;
#if defined(__GNUC__) || defined(__clang__)
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
#else
    char probe;
    uintptr_t here = (uintptr_t)&probe;
#endif
    uintptr_t base = (uintptr_t)stack_base(f);
    return here >= base && here < base + stack_size(f);
}

bool pp__fiber_suspended(const pp__fiber *f)
{
    return f != NULL && f->state == FIBER_SUSPENDED;
}

#endif /* no way to switch */
