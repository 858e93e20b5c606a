/* start_regs: prints the registers and flags it starts with -- what the kernel's exec hands a
 * program's first instruction (static, no libc, no loader: its _start is the entry point).
 * Under systrace a shell's command is premapped at its exec event (the scratch area mapped
 * in the new image before its first instruction): by the native loop with a stub in the
 * vDSO that puts back every register it used and jumps to the entry (_cloop.c stub_map), by
 * the Python loop with an injected mmap and a trap.  What is printed must be what it prints
 * natively.  Linked at the scratch area's own address (-Ttext-segment), its text is where
 * the area would go: the premap's mmap fails, and the program must still start as natively.
 *
 *   start_regs    print "rax=<16 hex digits>" ... "rflags=...", one a line, and exit 0 */
#include <stdint.h>

uint64_t start_regs[16] __attribute__((used));

__asm__(".globl _start\n_start:\n"
        "mov %rax, start_regs+0(%rip)\n mov %rbx, start_regs+8(%rip)\n"
        "mov %rcx, start_regs+16(%rip)\n mov %rdx, start_regs+24(%rip)\n"
        "mov %rsi, start_regs+32(%rip)\n mov %rdi, start_regs+40(%rip)\n"
        "mov %rbp, start_regs+48(%rip)\n mov %r8, start_regs+56(%rip)\n"
        "mov %r9, start_regs+64(%rip)\n mov %r10, start_regs+72(%rip)\n"
        "mov %r11, start_regs+80(%rip)\n mov %r12, start_regs+88(%rip)\n"
        "mov %r13, start_regs+96(%rip)\n mov %r14, start_regs+104(%rip)\n"
        "mov %r15, start_regs+112(%rip)\n pushfq\n pop %rax\n mov %rax, start_regs+120(%rip)\n"
        "and $-16, %rsp\n call report\n");

static long call3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

__attribute__((used, noreturn)) void report(void) {
    static const char *names[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
                                    "r10", "r11", "r12", "r13", "r14", "r15", "rflags"};
    char out[512];
    int k = 0;
    for (int i = 0; i < 16; i++) {
        for (const char *p = names[i]; *p; p++) out[k++] = *p;
        out[k++] = '=';
        for (int shift = 60; shift >= 0; shift -= 4)
            out[k++] = "0123456789abcdef"[(start_regs[i] >> shift) & 15];
        out[k++] = '\n';
    }
    call3(1, 1, (long)out, k);  /* write */
    for (;;) call3(60, 0, 0, 0);  /* exit */
}
