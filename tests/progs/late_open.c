/* late_open: a program whose first call comes late -- static, no libc: it spins (no call at
 * all) for a while, then opens each FILE and prints what it read.  Under systrace a shell's command is premapped at its exec event; the native
 * loop's stub (_cloop.c stub_map) is seen to end only at the program's first stop, so while
 * this one spins the loop may hand the tree back to Python with the stub not seen to end
 * (Tracer._stub_stop, vfork_late.c).
 *
 *   late_open FILE...    spin, then for each FILE print "late: " and what it read, or
 *                        "late: unread"
 *   late_open -          exit at once */
#include <stdint.h>

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call begin\n");

/* (its argument registers read back as changed: a held call returns with them pointing at
 * the tracer's copies, r10 an openat2's size -- docs/security.md, "Holding arguments") */
static long call3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r), "+D"(a), "+S"(b), "+d"(c) : "a"(nr)
                     : "rcx", "r8", "r9", "r10", "r11", "memory");
    return r;
}

__attribute__((used, noreturn)) void begin(uint64_t *sp) {
    const char *first = sp[0] >= 2 ? (const char *)sp[2] : "-";
    if (first[0] != '-' || first[1]) {
        for (volatile uint64_t i = 0; i < 300000000; i++) {}  /* ~0.3-1 s, no call */
        for (uint64_t n = 1; n < sp[0]; n++) {
            static char out[160] = "late: ";
            long fd = call3(257, -100, (long)sp[1 + n], 0);  /* openat(AT_FDCWD, it, O_RDONLY) */
            long got = fd >= 0 ? call3(0, fd, (long)out + 6, sizeof out - 7) : -1;
            if (got > 0) call3(1, 1, (long)out, 6 + got);
            else call3(1, 1, (long)"late: unread\n", 13);
        }
    }
    for (;;) call3(60, 0, 0, 0);
}
