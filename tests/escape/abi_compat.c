/* abi_compat.c MODE DIR: enter the kernel from a 32-bit code segment of a 64-bit process --
 * a far return to __USER32_CS (0x23), one instruction of 32-bit code, a far jump back to
 * __USER_CS (0x33).  The i386 table's numbers then: 39 is mkdir there (getpid on x86_64).
 *
 *   syscall   `syscall` in compat mode (entry_SYSCALL_compat: AMD's CPUs; Intel's raise #UD)
 *   sysenter  `sysenter` in compat mode (entry_SYSENTER_compat: Intel's; AMD's raise #UD)
 *   int80     `int $0x80` from compat mode (abi_entry.c makes it from 64-bit code)
 * The first two return to the 32-bit vDSO's landing pad, which a 64-bit process has not: the
 * call is made in a child, and its effect looked at after.
 *
 * Each asks mkdir(DIR/rt30-compat); ESCAPED when that directory is there afterwards (DIR is
 * one a rule refuses to write).  Red team 30 (docs/security.md): class 3, other ways into
 * the kernel -- the far calls the class names but did not run.
 */
#include "attack.h"

#include <sys/mman.h>

#define USER32_CS 0x23
#define USER_CS 0x33

/* The low page: 32-bit code at CODE32, a far pointer to BACK64 (64-bit code) at FAR, the
 * 64-bit address to go on at at CONT and the stack pointer to go on with at SP (the compat
 * entries give back the low halves of the registers only, r8-r15 as zeros), the path at PATH,
 * the call's result at RESULT. */
enum { CODE32 = 0, BACK64 = 64, FAR = 128, CONT = 144, SP = 152, RESULT = 160, STACK = 192,
       PATH = 256 };

static unsigned char *low;

static void emit32(const char *mode) {
    unsigned char *p = low + CODE32;
    uint32_t path = (uint32_t)(uintptr_t)(low + PATH);
    *p++ = 0xb8; /* mov eax, 39 (i386 mkdir) */
    *(uint32_t *)p = 39; p += 4;
    *p++ = 0xbb; /* mov ebx, path */
    *(uint32_t *)p = path; p += 4;
    if (!strcmp(mode, "int80")) {
        *p++ = 0xb9; /* mov ecx, 0755 */
        *(uint32_t *)p = 0755; p += 4;
        *p++ = 0xcd; *p++ = 0x80; /* int $0x80 */
    } else {
        /* the fast entries are the 32-bit vDSO's (__kernel_vsyscall: push ecx, edx, ebp;
         * mov ebp, esp): `syscall` clobbers ecx, so the kernel takes arg 2 from ebp; `sysenter`
         * saves no stack pointer, so the kernel takes it from ebp; both read arg 6 from the
         * user stack ([esp], [ebp]: a fault there is SIGSEGV before the call).  Both return
         * to its landing pad, which a 64-bit process has not -- the child dies there, after
         * the call */
        *(uint32_t *)(low + STACK) = 0755;
        *p++ = 0xbc; /* mov esp, STACK */
        *(uint32_t *)p = (uint32_t)(uintptr_t)(low + STACK); p += 4;
        *p++ = 0xbd; /* mov ebp, STACK */
        *(uint32_t *)p = (uint32_t)(uintptr_t)(low + STACK); p += 4;
        *p++ = 0xb9; /* mov ecx, 0755 */
        *(uint32_t *)p = 0755; p += 4;
        *p++ = 0x0f; *p++ = !strcmp(mode, "syscall") ? 0x05 : 0x34; /* syscall, sysenter */
    }
    /* (a 64-bit process's DS is the null selector, which compat mode may not use: SS's) */
    *p++ = 0x36; *p++ = 0xa3; /* mov ss:[RESULT], eax */
    *(uint32_t *)p = (uint32_t)(uintptr_t)(low + RESULT); p += 4;
    *p++ = 0x36; *p++ = 0xff; *p++ = 0x2d; /* ljmp far ss:[FAR] */
    *(uint32_t *)p = (uint32_t)(uintptr_t)(low + FAR); p += 4;
    /* back in 64-bit code: mov rsp, [rip + (SP - next)]; jmp [rip + (CONT - next)] */
    unsigned char *b = low + BACK64;
    *b++ = 0x48; *b++ = 0x8b; *b++ = 0x25;
    *(int32_t *)b = (int32_t)(SP - (BACK64 + 7)); b += 4;
    *b++ = 0xff; *b++ = 0x25;
    *(int32_t *)b = (int32_t)(CONT - (BACK64 + 13));
    *(uint32_t *)(low + FAR) = (uint32_t)(uintptr_t)(low + BACK64);
    *(uint16_t *)(low + FAR + 4) = USER_CS;
}

static void far_call(void) {
    __asm__ volatile(
        "mov low(%%rip), %%rdx\n\t"
        "lea 1f(%%rip), %%rax\n\t"
        "mov %%rax, 144(%%rdx)\n\t" /* CONT */
        "mov %%rsp, 152(%%rdx)\n\t" /* SP */
        "pushq $0x23\n\t"           /* USER32_CS */
        "pushq %%rdx\n\t"           /* CODE32 */
        "lretq\n"
        "1:\n\t"
        : : : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12",
          "r13", "r14", "r15", "memory", "cc");
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("abi_compat syscall|sysenter|int80 DIR");
    const char *mode = argv[1];
    wait_for_tracer();
    char target[4096];
    snprintf(target, sizeof target, "%s/rt30-compat", argv[2]);
    low = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED)
        skipped("mmap(MAP_32BIT, PROT_EXEC): %s", ename(errno));
    snprintf((char *)low + PATH, 4096 - PATH, "%s", target);
    emit32(mode);
    pid_t child = fork();
    if (child == 0) {
        far_call();
        printf("note: back in 64-bit code, the call answered %d\n", *(int32_t *)(low + RESULT));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        note("the child ended by signal %d", WTERMSIG(status));
    if (exists(target))
        escaped("mkdir(%s) from a 32-bit code segment (%s)", target, mode);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGILL)
        skipped("%s raises #UD in compat mode on this CPU", mode);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && !strcmp(mode, "int80"))
        skipped("no 32-bit code segment here (SIGSEGV)");
    blocked("no directory made (%s)", mode);
}
