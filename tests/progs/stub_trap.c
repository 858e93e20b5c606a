/* stub_trap: a program that makes no call at all, finds the native loop's exec-time stub in
 * its own vDSO (_cloop.c stub_map: the last 256 bytes of the image, "mov eax, mmap;
 * syscall"...) and runs the stub's int3 -- the trap the stub reaches only when its mmap
 * failed.  Static, no libc: nothing runs before it but the stub itself.
 *
 * Natively (no stub) and under the Python loop (its premap writes no stub) it prints
 * "nostub".  Where the stub is there, an int3 the program runs is a SIGTRAP, as anywhere: the
 * program dies of it (no handler).  Had the tracer taken it for the stub's failed mmap, the
 * program would be sent to its entry again: then it prints "restarted" and exits 3.
 *
 *   stub_trap               the above
 *   stub_trap -             exit at once (vfork_late.c's first round)
 *   stub_trap FILE OTHER    spin first (no call), as late_open.c does: vfork_late.c's parent
 *                           then makes the native loop hand the tree back with the stub not
 *                           seen to end, and the trap is Python's (Tracer._stub_stop)
 *   stub_trap lock:ADDR     first mlock the page at ADDR (hex: the scratch area's base) --
 *                           the area's mapping split in two in /proc/PID/maps
 *   stub_trap grow:ADDR     first map a read-only page at ADDR (hex: the area's end) as the
 *                           stub maps the area -- the kernel merges the two mappings
 * The last two make calls the prefilter permits (no stop: the stub is still taken for
 * running) that change how the area shows in the maps, not whether it is there. */
#include <stdint.h>

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call begin\n");

#define AT_SYSINFO_EHDR 33
#define STUB_ROOM 256
#define STUB_TRAP 113 /* the int3's offset in the stub: mov, syscall, movabs, lea, 8 movabs,
                       * jrcxz, movabs */
#define STUB_SEAL 21  /* where, after the lea, a stub that seals the area (close 24) has its
                       * jrcxz to the seal (0xe3), and the 18 bytes of its seal (its result
                       * in rcx: close 25) before the rest */
#define SEAL_LEN 18

static volatile int runs;

static long call3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r), "+D"(a), "+S"(b), "+d"(c) : "a"(nr)
                     : "rcx", "r8", "r9", "r10", "r11", "memory");
    return r;
}

static long call6(long nr, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(r), "+D"(a), "+S"(b), "+d"(c), "+r"(r10), "+r"(r8),
                     "+r"(r9) : "a"(nr) : "rcx", "r11", "memory");
    return r;
}

static void say(const char *text, long n) { call3(1, 1, (long)text, n); }

/* The hex number after the prefix "lock:" or "grow:" of text, or 0. */
static uint64_t address_after(const char *text, const char *prefix) {
    for (; *prefix; prefix++, text++)
        if (*text != *prefix) return 0;
    uint64_t value = 0;
    for (; *text; text++)
        value = value * 16 + (uint64_t)(*text <= '9' ? *text - '0' : *text - 'a' + 10);
    return value;
}

__attribute__((used, noreturn)) void begin(uint64_t *sp) {
    if (runs++) {
        say("restarted\n", 10);
        for (;;) call3(60, 3, 0, 0);
    }
    const char *first = sp[0] >= 2 ? (const char *)sp[2] : "";
    if (first[0] == '-' && !first[1])
        for (;;) call3(60, 0, 0, 0);
    if (sp[0] >= 3)
        for (volatile uint64_t i = 0; i < 300000000; i++) {}  /* ~0.3-1 s, no call */
    uint64_t *p = sp + 1 + sp[0] + 1;  /* past argc, argv and its NULL */
    while (*p) p++;                    /* past envp */
    const unsigned char *base = 0;
    for (p++; p[0]; p += 2)
        if (p[0] == AT_SYSINFO_EHDR) base = (const unsigned char *)p[1];
    const unsigned char *stub = 0;
    if (base) {
        /* the image's size: its section headers end it, rounded up to a page */
        uint64_t shoff = *(const uint64_t *)(base + 0x28);
        uint64_t end = shoff + (uint64_t)*(const uint16_t *)(base + 0x3a)
                       * *(const uint16_t *)(base + 0x3c);
        stub = base + ((end + 4095) & ~(uint64_t)4095) - STUB_ROOM;
    }
    int trap = stub && stub[STUB_SEAL] == 0xe3 ? STUB_TRAP + SEAL_LEN : STUB_TRAP;
    if (!stub || stub[0] != 0xb8 || stub[5] != 0x0f || stub[6] != 0x05 || stub[trap] != 0xcc) {
        say("nostub\n", 7);
        for (;;) call3(60, 0, 0, 0);
    }
    uint64_t lock = address_after(first, "lock:"), grow = address_after(first, "grow:");
    if (lock && call3(149, (long)lock, 4096, 0))  /* mlock */
        for (;;) call3(60, 5, 0, 0);
    /* mmap PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE */
    if (grow && call6(9, (long)grow, 4096, 1, 0x104022, -1, 0) != (long)grow)
        for (;;) call3(60, 6, 0, 0);
    ((void (*)(void))(stub + trap))();
    say("returned\n", 9);
    for (;;) call3(60, 4, 0, 0);
}
