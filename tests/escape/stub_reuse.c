/* stub_reuse.c: the native loop's exec-time stub, run again by the program (perf12).
 *
 * At a shell command's exec event the native loop maps the scratch area with a stub it
 * writes into the new image's vDSO -- "mov eax, 9; syscall", then code that puts the
 * registers back and jumps to the entry (_cloop.c stub_map) -- and until the program's first
 * call ends the stub it lets a call made at the stub's own syscall instruction go without a
 * decision when it is the stub's mmap (a filter that traces mmap: decide_call).  Here the
 * program's very first call is made through that syscall instruction: an openat of the
 * secret, which must be decided as any call (refused), never let go as the stub's.  The
 * stub goes on after the call and stops at its int3 (its "mmap" did not return the area):
 * a SIGTRAP handler then reads descriptor 3, where the open's descriptor would be (as the
 * program does when it finds itself at its entry again: a tracer that took that trap for the
 * stub's sends it there).
 * Natively there is no stub: the open is made by a syscall of the program's own (the
 * control: it reads the secret).  Static, no libc: no call is made before the open.
 *
 *   stub_reuse SECRET
 *
 * Prints "stub: found" or "stub: none", then ESCAPED with what it read, or BLOCKED. */
#include <stdint.h>

#define AT_SYSINFO_EHDR 33

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call begin\n"
        "restorer:\n mov $15, %eax\n syscall\n");
void restorer(void);

/* (its argument registers read back as changed: a held call returns with them pointing at
 * the tracer's copies, r10 an openat2's size -- docs/security.md, "Holding arguments") */
static long call3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r), "+D"(a), "+S"(b), "+d"(c) : "a"(nr)
                     : "rcx", "r8", "r9", "r10", "r11", "memory");
    return r;
}

static void say(const char *text) {
    long n = 0;
    while (text[n]) n++;
    call3(1, 1, (long)text, n);
}

static __attribute__((noreturn)) void leave(void) {
    for (;;) call3(60, 0, 0, 0);
}

static __attribute__((noreturn)) void verdict(long got, const char *buf) {
    if (got > 0) {
        say("ESCAPED: read ");
        call3(1, 1, (long)buf, got);
    } else {
        say("BLOCKED: the secret could not be opened and read\n");
    }
    leave();
}

static void on_trap(int sig) {
    static char buf[128];
    (void)sig;
    verdict(call3(0, 3, (long)buf, sizeof buf - 1), buf);  /* read(3): the open's descriptor */
}

struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

/* the address of the stub's "syscall" in the vDSO (at the end of its last page), or 0 */
static unsigned char *stub_syscall(uint64_t *sp) {
    uint64_t argc = sp[0], *p = sp + 1 + argc + 1, vdso = 0;
    while (*p) p++;  /* envp */
    for (p++; p[0]; p += 2)
        if (p[0] == AT_SYSINFO_EHDR) vdso = p[1];
    if (!vdso) return 0;
    unsigned char *base = (unsigned char *)vdso;
    uint64_t shoff = *(uint64_t *)(base + 0x28);
    uint16_t shentsize = *(uint16_t *)(base + 0x3a), shnum = *(uint16_t *)(base + 0x3c);
    uint64_t end = (shoff + (uint64_t)shnum * shentsize + 4095) & ~4095ULL;
    static const unsigned char code[] = {0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05};
    for (uint64_t at = end - 4096; at + sizeof code <= end; at++) {
        int same = 1;
        for (unsigned i = 0; i < sizeof code && same; i++) same = base[at + i] == code[i];
        if (same) return base + at + 5;
    }
    return 0;
}

static int started;

__attribute__((used, noreturn)) void begin(uint64_t *sp) {
    if (started)  /* sent back to the entry: by a tracer that took the stub's trap as its own */
        on_trap(0);
    started = 1;
    const char *secret = (const char *)sp[2];
    unsigned char *sys = sp[0] == 2 ? stub_syscall(sp) : 0;
    if (sp[0] != 2) {
        say("usage: stub_reuse SECRET\n");
        for (;;) call3(60, 64, 0, 0);
    }
    if (!sys) {
        say("stub: none\n");
        static char buf[128];
        long fd = call3(257, -100, (long)secret, 0);  /* openat, with a syscall of its own */
        verdict(fd >= 0 ? call3(0, fd, (long)buf, sizeof buf - 1) : -1, buf);
    }
    say("stub: found\n");
    struct ksigaction act = {on_trap, 0x04000000 /* SA_RESTORER */, restorer, 0};
    /* rt_sigaction(SIGTRAP, &act, NULL, 8) */
    __asm__ volatile("mov $8, %%r10\n mov $13, %%eax\n mov $5, %%edi\n syscall"
                     : : "S"(&act), "d"(0) : "rax", "rcx", "r11", "r10", "rdi", "memory");
    /* openat(AT_FDCWD, secret, O_RDONLY) at the stub's syscall: the stub then runs on to its
     * int3 (on_trap) */
    __asm__ volatile("mov $257, %%eax\n mov $-100, %%rdi\n xor %%edx, %%edx\n jmp *%0"
                     : : "r"(sys), "S"(secret) : "rax", "rdi", "rdx", "memory");
    leave();
}
