/* SPDX-License-Identifier: MIT */
/* fiber.c — a second stack on which a nonblocking call runs (nonblock.c), so that the
 * library's ordinary "send, read, wait" code can stop at a wait and go on later: where a
 * blocking call would wait on the socket, the fiber switches back to the caller (the call
 * returns PP_PENDING); pp_resume switches into it again. One fiber per connection, made at
 * its first nonblocking call and kept. Knows nothing of connections. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_STACK */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

#ifdef PP_NO_UCONTEXT /* configure found no makecontext/swapcontext: no nonblocking mode */
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
#include <ucontext.h>
#include <unistd.h>

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
    ucontext_t caller, self;
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
    swapcontext(&f->caller, &f->self);
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
    swapcontext(&f->self, &f->caller);
#ifdef PP_ASAN
    __sanitizer_finish_switch_fiber(f->fake_self, &f->caller_bottom, &f->caller_size);
#endif
}

static void entry(unsigned hi, unsigned lo)
{
    pp__fiber *f = (pp__fiber *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
#ifdef PP_ASAN
    __sanitizer_finish_switch_fiber(NULL, &f->caller_bottom, &f->caller_size);
#endif
    f->fn(f->arg);
    f->state = FIBER_IDLE;
    switch_out(f, true);
}

int pp__fiber_start(pp__fiber *f, void (*fn)(void *), void *arg)
{
    if (f->state != FIBER_IDLE || getcontext(&f->self) != 0)
        return -1;
    f->self.uc_stack.ss_sp = stack_base(f);
    f->self.uc_stack.ss_size = stack_size(f);
    f->self.uc_link = NULL; /* entry never returns: it switches out */
    f->fn = fn;
    f->arg = arg;
    f->state = FIBER_RUNNING;
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->self, (void (*)(void))entry, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
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
    /* by the stack alone (never changes): safe to ask from any thread */
    if (f == NULL)
        return false;
    char probe;
    uintptr_t here = (uintptr_t)&probe, base = (uintptr_t)stack_base(f);
    return here >= base && here < base + stack_size(f);
}

bool pp__fiber_suspended(const pp__fiber *f)
{
    return f != NULL && f->state == FIBER_SUSPENDED;
}

#endif /* PP_NO_UCONTEXT */
