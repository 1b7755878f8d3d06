/* SPDX-License-Identifier: MIT */
/* fiberswitch.c — fiber.c's stack switch for x86_64 and aarch64 (fiberswitch.h says where it
 * is used). A switch pushes what the psABI says a call keeps onto the current stack, stores
 * the stack pointer, loads the other one and pops the same layout from it; `ret` then goes
 * on where that stack was left. No system call: unlike swapcontext, the signal mask is the
 * thread's and stays as it is (fiber.c says why that is right). A new fiber's stack gets
 * the same layout (pp__fiber_frame), "returning" into a trampoline that calls fn(arg), whose
 * unwind information ends backtraces (debuggers, profilers) there. */
#include "fiberswitch.h"

#ifdef PP_FIBER_ASM

#include <stdint.h>
#include <string.h>

void pp__fiber_trampoline(void); /* in the assembly below: not callable from C */

#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1) /* indirect branch tracking: mark the entry */
#define PP_ENDBR "endbr64\n"
#else
#define PP_ENDBR ""
#endif

/* The saved frame, from the stored stack pointer up: MXCSR (4 bytes), the x87 control word
 * (2 bytes, then 2 unused), r15, r14, r13, r12, rbx, rbp, the return address. The MXCSR
 * control bits and the x87 control word are callee-saved in the SysV ABI: each side keeps
 * its own rounding mode and exception masks. */
__asm__(".text\n"
        ".globl pp__fiber_switch\n"
        ".hidden pp__fiber_switch\n"
        ".type pp__fiber_switch, @function\n"
        ".p2align 4\n"
        "pp__fiber_switch:\n"
        ".cfi_startproc\n" PP_ENDBR
        "pushq %rbp\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %rbp, 0\n"
        "pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %rbx, 0\n"
        "pushq %r12\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r12, 0\n"
        "pushq %r13\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r13, 0\n"
        "pushq %r14\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r14, 0\n"
        "pushq %r15\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_rel_offset %r15, 0\n"
        "subq $8, %rsp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "stmxcsr (%rsp)\n"
        "fnstcw 4(%rsp)\n"
        "movq %rsp, (%rdi)\n"
        "movq %rsi, %rsp\n" /* the other stack: same layout, so the CFI holds */
        "ldmxcsr (%rsp)\n"
        "fldcw 4(%rsp)\n"
        "addq $8, %rsp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "popq %r15\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r15\n"
        "popq %r14\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r14\n"
        "popq %r13\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r13\n"
        "popq %r12\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %r12\n"
        "popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %rbx\n"
        "popq %rbp\n"
        ".cfi_adjust_cfa_offset -8\n"
        ".cfi_restore %rbp\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size pp__fiber_switch, .-pp__fiber_switch\n"
        /* A new fiber's first switch returns here with fn in r13 and arg in r12. */
        ".globl pp__fiber_trampoline\n"
        ".hidden pp__fiber_trampoline\n"
        ".type pp__fiber_trampoline, @function\n"
        ".p2align 4\n"
        "pp__fiber_trampoline:\n"
        ".cfi_startproc\n"
        ".cfi_undefined %rip\n"
        "movq %r12, %rdi\n"
        "callq *%r13\n"
        "ud2\n" /* fn never returns */
        ".cfi_endproc\n"
        ".size pp__fiber_trampoline, .-pp__fiber_trampoline\n");

enum { FRAME_WORDS = 8 }; /* control words, r15, r14, r13, r12, rbx, rbp, return address */

void *pp__fiber_frame(char *base, size_t size, void (*fn)(void *), void *arg)
{
    /* After the switch's `ret` the stack pointer is top - 16, 16-byte aligned, so the
     * trampoline's call gives fn the alignment the ABI promises at a function's entry. */
    uintptr_t top = (uintptr_t)(base + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 16 - FRAME_WORDS * sizeof(uint64_t));
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
    memset(sp, 0, FRAME_WORDS * sizeof(uint64_t) + 16); /* rbp 0 ends frame-pointer walks */
    memcpy(&sp[0], &mxcsr, sizeof mxcsr);
    memcpy((char *)&sp[0] + 4, &fpucw, sizeof fpucw);
    sp[3] = (uint64_t)(uintptr_t)fn;  /* r13 */
    sp[4] = (uint64_t)(uintptr_t)arg; /* r12 */
    sp[7] = (uint64_t)(uintptr_t)pp__fiber_trampoline;
    return sp;
}

#elif defined(__aarch64__)

/* The saved frame (176 bytes, keeping sp 16-byte aligned), from the stored stack pointer
 * up: x19 … x28, x29 (frame pointer), x30 (return address), d8 … d15, FPCR. AAPCS64 has
 * FPCR's rounding and trap bits preserved across calls: each side keeps its own; writing
 * FPCR can be slow on some cores, so it is written only when it differs. */
__asm__(".text\n"
        ".globl pp__fiber_switch\n"
        ".hidden pp__fiber_switch\n"
        ".type pp__fiber_switch, %function\n"
        ".p2align 4\n"
        "pp__fiber_switch:\n"
        ".cfi_startproc\n"
        "hint #34\n" /* BTI c: a valid target for an indirect call (a no-op without BTI) */
        "sub sp, sp, #176\n"
        ".cfi_def_cfa_offset 176\n"
        "stp x19, x20, [sp, #0]\n"
        "stp x21, x22, [sp, #16]\n"
        "stp x23, x24, [sp, #32]\n"
        "stp x25, x26, [sp, #48]\n"
        "stp x27, x28, [sp, #64]\n"
        "stp x29, x30, [sp, #80]\n"
        ".cfi_offset x29, -96\n"
        ".cfi_offset x30, -88\n"
        "stp d8, d9, [sp, #96]\n"
        "stp d10, d11, [sp, #112]\n"
        "stp d12, d13, [sp, #128]\n"
        "stp d14, d15, [sp, #144]\n"
        "mrs x9, fpcr\n"
        "str x9, [sp, #160]\n"
        "mov x9, sp\n"
        "str x9, [x0]\n"
        "mov sp, x1\n" /* the other stack: same layout, so the CFI holds */
        "ldr x9, [sp, #160]\n"
        "mrs x10, fpcr\n"
        "cmp x9, x10\n"
        "b.eq 1f\n"
        "msr fpcr, x9\n"
        "1:\n"
        "ldp x19, x20, [sp, #0]\n"
        "ldp x21, x22, [sp, #16]\n"
        "ldp x23, x24, [sp, #32]\n"
        "ldp x25, x26, [sp, #48]\n"
        "ldp x27, x28, [sp, #64]\n"
        "ldp x29, x30, [sp, #80]\n"
        "ldp d8, d9, [sp, #96]\n"
        "ldp d10, d11, [sp, #112]\n"
        "ldp d12, d13, [sp, #128]\n"
        "ldp d14, d15, [sp, #144]\n"
        "add sp, sp, #176\n"
        ".cfi_def_cfa_offset 0\n"
        ".cfi_restore x29\n"
        ".cfi_restore x30\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size pp__fiber_switch, .-pp__fiber_switch\n"
        /* A new fiber's first switch returns here with fn in x19 and arg in x20. */
        ".globl pp__fiber_trampoline\n"
        ".hidden pp__fiber_trampoline\n"
        ".type pp__fiber_trampoline, %function\n"
        ".p2align 4\n"
        "pp__fiber_trampoline:\n"
        ".cfi_startproc\n"
        ".cfi_undefined x30\n"
        "mov x0, x20\n"
        "blr x19\n"
        "brk #0\n" /* fn never returns */
        ".cfi_endproc\n"
        ".size pp__fiber_trampoline, .-pp__fiber_trampoline\n");

enum { FRAME_WORDS = 22 }; /* 176 bytes */

void *pp__fiber_frame(char *base, size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = (uintptr_t)(base + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - FRAME_WORDS * sizeof(uint64_t));
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(sp, 0, FRAME_WORDS * sizeof(uint64_t)); /* x29 0 ends frame-pointer walks */
    sp[0] = (uint64_t)(uintptr_t)fn;   /* x19 */
    sp[1] = (uint64_t)(uintptr_t)arg;  /* x20 */
    sp[11] = (uint64_t)(uintptr_t)pp__fiber_trampoline; /* x30 */
    sp[20] = fpcr;
    return sp;
}

#endif /* __x86_64__ / __aarch64__ */

#else
typedef int pp__fiberswitch_unused; /* ISO C: a translation unit is never empty */
#endif /* PP_FIBER_ASM */
