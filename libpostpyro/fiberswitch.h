/* SPDX-License-Identifier: MIT */
/* fiberswitch.h — the hand-written stack switch of fiber.c (fiberswitch.c), where there is
 * one: x86_64 and aarch64 ELF targets with GCC or Clang. It saves what the ABI says a call
 * keeps (callee-saved registers, the stack pointer, the return address, the floating-point
 * control state) and makes no system call; swapcontext also sets the signal mask, an
 * rt_sigprocmask system call on every switch. PP_FIBER_ASM is defined where it is used. */
#ifndef PP_FIBERSWITCH_H
#define PP_FIBERSWITCH_H

#include <stddef.h>

/* Not with shadow stacks (x86 CET's, aarch64's GCS): a `ret` onto another stack would fault
 * there; glibc's swapcontext switches those stacks too. */
#if !defined(PP_NO_FIBER_ASM) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__x86_64__) && !(defined(__CET__) && (__CET__ & 2))
#define PP_FIBER_ASM 1
#elif defined(__aarch64__) && !defined(__ARM_FEATURE_GCS_DEFAULT)
#define PP_FIBER_ASM 1
#endif
#endif

#ifdef PP_FIBER_ASM
/* Saves the calling context on the current stack, stores the stack pointer in *from and
 * resumes the context saved at `to` (by an earlier pp__fiber_switch, or made by
 * pp__fiber_frame). Returns when some later switch resumes *from. */
void pp__fiber_switch(void **from, void *to);

/* Prepares the empty stack [base, base + size) so that the first pp__fiber_switch to the
 * returned pointer calls fn(arg) on it, with the caller's floating-point control state.
 * fn must never return (it switches away for good instead). */
void *pp__fiber_frame(char *base, size_t size, void (*fn)(void *), void *arg);
#endif

#endif /* PP_FIBERSWITCH_H */
