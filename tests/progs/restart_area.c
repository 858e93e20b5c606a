/* restart_area: a call made from a held call's trampoline `syscall` (tests/engine/test_held_regs.py).
 *
 *   usage: restart_area FILE
 *
 * Under systrace a held call returns through a trampoline in the task's scratch slot, whose
 * first instruction is a `syscall`: a restart the kernel makes of the held call with no
 * signal-delivery-stop (a cgroup freeze's) rewinds to it and makes the held call again from
 * there.  The tracer must take such an entry for the program's own call, made again from the
 * program's own instruction with its own registers, and decide that.  Here the program makes
 * that entry itself: after a held openat of FILE (a second thread runs, so it is held) it
 * finds its slot (the record after the trampoline names the call's return address) and
 * jumps to the `syscall` with another number in rax (getpid) and other registers.  Expected:
 * the openat made again from the program's own instruction, with its own registers, once
 * more, then on:
 *
 *   remade: ok; passes 2; registers own
 *
 * Natively (no area): "no area".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BASE 0x100000000000UL  /* scratch.BASE */
#define SLOT 0x40000UL         /* scratch.SLOT_SIZE */
#define RESTART 16128UL        /* scratch.RESTART */
#define RECORD (RESTART + 2 + 72)  /* scratch.RECORD */

static void *idle(void *unused) {
    for (;;) pause();
    return unused;
}

/* the slot whose record names the return address after, or 0 */
static unsigned long slot_of(unsigned long after) {
    unsigned char probe;
    if (mincore((void *)BASE, 4096, &probe) != 0) return 0;  /* (ENOMEM: not mapped) */
    for (unsigned long i = 0; i < 64; i++) {
        const volatile uint64_t *rec = (const uint64_t *)(BASE + i * SLOT + RECORD);
        if (mincore((void *)(BASE + i * SLOT + (RECORD & ~4095UL)), 4096, &probe) != 0) continue;
        if (rec[7] == after) return BASE + i * SLOT;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    const unsigned long in[6] = {(unsigned long)(long)AT_FDCWD, (unsigned long)argv[1],
                                 O_RDONLY | O_CLOEXEC, 0x1010, 0x2020, 0x3030};
    unsigned long out[6];
    volatile int passes = 0;
    volatile unsigned long slot = 0;
    long rax;
    {
        register unsigned long rdi __asm__("rdi") = in[0];
        register unsigned long rsi __asm__("rsi") = in[1];
        register unsigned long rdx __asm__("rdx") = in[2];
        register unsigned long r10 __asm__("r10") = in[3];
        register unsigned long r8 __asm__("r8") = in[4];
        register unsigned long r9 __asm__("r9") = in[5];
        unsigned long after;
        rax = SYS_openat;
        __asm__ volatile("lea 2f(%%rip), %[after]\n\t"
                         "syscall\n"
                         "2:"
                         : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8),
                           "+r"(r9), [after] "=&r"(after)
                         :
                         : "rcx", "r11", "memory");
        out[0] = rdi;
        out[1] = rsi;
        out[2] = rdx;
        out[3] = r10;
        out[4] = r8;
        out[5] = r9;
        passes++;
        if (passes == 1) {
            if (rax >= 0) close((int)rax);
            slot = slot_of(after);
            if (!slot) {
                printf("no area\n");
                return 0;
            }
            /* into the trampoline's syscall, as a restart's rewind: other registers */
            __asm__ volatile("mov %[nr], %%eax\n\t"
                             "xor %%edi, %%edi\n\t"
                             "xor %%esi, %%esi\n\t"
                             "xor %%edx, %%edx\n\t"
                             "xor %%r10d, %%r10d\n\t"
                             "jmp *%[to]"
                             :
                             : [nr] "i"(SYS_getpid), [to] "r"(slot + RESTART)
                             : "rax", "rdi", "rsi", "rdx", "r10", "memory");
            __builtin_unreachable();
        }
    }
    if (rax >= 0) close((int)rax);
    printf("remade: %s; passes %d; registers %s\n", rax >= 0 ? "ok" : "failed", passes,
           memcmp(in, out, sizeof in) ? "changed" : "own");
    return 0;
}
