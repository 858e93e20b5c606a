/* held_regs: what a program's registers hold after calls a tracer may hold (issue 11).
 *
 *   usage: held_regs DIR SECRET [allow|check]
 *
 * The x86-64 system call ABI keeps every register but rax, rcx and r11, and compilers rely on
 * it: an inline `syscall` lists its argument registers as inputs only, so code may use them
 * again after the call.  A second thread runs throughout (so a tracer holds the calls'
 * arguments: copies in its scratch area, an open turned into openat2).  Each call below is
 * made by the syscall instruction with its own values in rdi, rsi, rdx, r10, r8 and r9 (those
 * the call takes no argument in hold markers), and every one of them is read back after it:
 *
 *   NAME: RESULT; registers own          (or: registers changed: rsi 7ffe..->1000..)
 *
 * RESULT is "ok" or the errno's name.  The calls: openat of DIR/file (absolute, then relative
 * to a descriptor of DIR), newfstatat, mkdirat and unlinkat in DIR, readlinkat of DIR/link,
 * openat of SECRET (a policy may refuse it).  Then an O_CREAT|O_WRONLY open of the FIFO
 * DIR/fifo, mode 0640 in r10, in a loop that runs the same `syscall` again on EINTR (as an
 * inline retry does, its registers inputs only): the second thread waits until the open is
 * blocked (no reader) and interrupts it with SIGUSR1, whose handler (no SA_RESTART) removes
 * the FIFO; the retry then creates a regular file with the registers it finds:
 *
 *   retry: ok, a regular file, mode 640; registers own   ("ok at once": no retry was made)
 *   handler (ran): registers own          (the frame the handler got: rdi, rsi, rdx, r10)
 *
 * Every call also reads rcx and r11 back: rcx must be the address after its syscall
 * instruction and r11 the flags it ran with (the ABI's), "rcx r11 as the ABI" (else "rcx r11
 * changed").  Both handlers make a held call of their own (an openat of DIR/file):
 *
 *   in-handler: ok; registers own          (the SIGUSR1 handler's)
 *
 * Then an open of a second FIFO DIR/fifo2 for reading (no writer: it blocks), interrupted
 * by SIGUSR2, whose handler has SA_RESTART: the kernel restarts the open after the handler,
 * and the second thread then opens the FIFO for writing, which ends it:
 *
 *   restarted: ok; registers own           (the open's own registers after it)
 *   restart-handler (ran): registers own; rip at the call   (its frame: the kernel's rewind to
 *                                          the syscall instruction, rax the call's number)
 *   in-restart-handler: ok; registers own
 *
 * Last, a thread made by a raw clone3 (CLONE_VM | CLONE_THREAD ...): the child reads rdi
 * and rsi as it starts (the clone_args pointer and size, the parent's), the parent after:
 *
 *   clone3-child: rdi rsi own
 *   clone3-parent: registers own
 *
 * With a third argument the program first installs a seccomp filter of its own (no_new_privs,
 * before its second thread: both run under it), as sandboxes do (issue 11 under such a
 * filter, regs27): "allow" allows every call; "check" refuses with EXDEV a call whose
 * seccomp_data.instruction_pointer is not the program's own (its upper half that of a
 * tracer's scratch area, 0x1000_0000_0000: a call made from a trampoline there) and a
 * mkdirat whose mode (args[2]) is not 0755 -- so a change of what the filter is given shows
 * in the lines above.  With a filter the FIFO opens (retry, restart) are left out; the other
 * lines are those made without one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

struct regs6 {
    unsigned long r[6];
};
static const char *const NAMES[6] = {"rdi", "rsi", "rdx", "r10", "r8", "r9"};

static int abi_broken;  /* a call's rcx or r11 was not the ABI's (the return address, flags) */

/* The call, and its six argument registers as they are after it; rcx and r11 checked. */
static long call6(long nr, const struct regs6 *in, struct regs6 *out) {
    register unsigned long rdi __asm__("rdi") = in->r[0];
    register unsigned long rsi __asm__("rsi") = in->r[1];
    register unsigned long rdx __asm__("rdx") = in->r[2];
    register unsigned long r10 __asm__("r10") = in->r[3];
    register unsigned long r8 __asm__("r8") = in->r[4];
    register unsigned long r9 __asm__("r9") = in->r[5];
    unsigned long rcx, r11, flags, after;
    long rax = nr;
    __asm__ volatile("pushfq\n\t"
                     "pop %[flags]\n\t"
                     "lea 2f(%%rip), %[after]\n\t"
                     "syscall\n"
                     "2:\n\t"
                     "mov %%rcx, %[rcx]\n\t"
                     "mov %%r11, %[r11]"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9),
                       [rcx] "=&r"(rcx), [r11] "=&r"(r11), [flags] "=&r"(flags),
                       [after] "=&r"(after)
                     :
                     : "rcx", "r11", "memory");
    if (rcx != after || r11 != flags) abi_broken = 1;
    out->r[0] = rdi;
    out->r[1] = rsi;
    out->r[2] = rdx;
    out->r[3] = r10;
    out->r[4] = r8;
    out->r[5] = r9;
    return rax;
}

static void report_regs(const struct regs6 *in, const struct regs6 *out, int count) {
    char text[512] = "";
    size_t at = 0;
    for (int i = 0; i < count; i++)
        if (in->r[i] != out->r[i])
            at += (size_t)snprintf(text + at, sizeof text - at, " %s %lx->%lx", NAMES[i],
                                   in->r[i], out->r[i]);
    printf("registers %s%s%s\n", at ? "changed:" : "own", text,
           abi_broken ? "; rcx r11 changed" : "");
    abi_broken = 0;
}

static void result(const char *name, long rax) {
    printf("%s: %s; ", name, rax < 0 ? strerrorname_np((int)-rax) : "ok");
}

static void one(const char *name, long nr, unsigned long a0, unsigned long a1,
                unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    struct regs6 in = {{a0, a1, a2, a3, a4, a5}}, out;
    long rax = call6(nr, &in, &out);
    result(name, rax);
    report_regs(&in, &out, 6);
    if (rax >= 0 && (nr == SYS_openat)) close((int)rax);
}

/* markers in the registers a call takes no argument in */
#define M8 0x5a5a5a5a08UL
#define M9 0xa5a5a5a509UL
#define M10 0x3c3c3c3c10UL

static pid_t main_tid;
static char fifo[4096], fifo2[4096], file[4096];
/* a held call made in a handler: its result and whether its registers stayed its own */
static long in_handler_rax[2] = {1, 1};
static int in_handler_own[2];

static void call_in_handler(int which) {
    int saved = errno;
    const unsigned long at_fdcwd = (unsigned long)(long)AT_FDCWD;
    struct regs6 in = {{at_fdcwd, (unsigned long)file, O_RDONLY | O_CLOEXEC, 0x1234, 0x5678,
                        0x9abc}}, out;
    long rax = call6(SYS_openat, &in, &out);
    in_handler_rax[which] = rax;
    in_handler_own[which] = memcmp(&in, &out, sizeof in) == 0 && !abi_broken;
    abi_broken = 0;
    if (rax >= 0) close((int)rax);
    errno = saved;
}
static volatile int go_on;
static volatile unsigned long seen[4];
static volatile int handled;

static void on_usr1(int sig, siginfo_t *si, void *context) {
    (void)sig;
    (void)si;
    ucontext_t *uc = context;
    if (handled++) return;
    seen[0] = (unsigned long)uc->uc_mcontext.gregs[REG_RDI];
    seen[1] = (unsigned long)uc->uc_mcontext.gregs[REG_RSI];
    seen[2] = (unsigned long)uc->uc_mcontext.gregs[REG_RDX];
    seen[3] = (unsigned long)uc->uc_mcontext.gregs[REG_R10];
    /* (here, not in the other thread: a tracer that runs the unlink with the tree stopped
     * interrupts the blocked open, and restarts it -- the open would then create the file
     * itself, before the signal) */
    unlink(fifo);
    call_in_handler(0);
}

/* SIGUSR2 (SA_RESTART): its frame, and a held call of its own */
static volatile unsigned long seen2[6];
static volatile int handled2;

static void on_usr2(int sig, siginfo_t *si, void *context) {
    (void)sig;
    (void)si;
    ucontext_t *uc = context;
    if (handled2++) return;
    seen2[0] = (unsigned long)uc->uc_mcontext.gregs[REG_RDI];
    seen2[1] = (unsigned long)uc->uc_mcontext.gregs[REG_RSI];
    seen2[2] = (unsigned long)uc->uc_mcontext.gregs[REG_RDX];
    seen2[3] = (unsigned long)uc->uc_mcontext.gregs[REG_R10];
    seen2[4] = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    seen2[5] = (unsigned long)uc->uc_mcontext.gregs[REG_RAX];
    call_in_handler(1);
}

/* Whether the main thread sleeps in the FIFO's open (not at a tracer's stop). */
static int blocked_in_open(void) {
    char path[64], text[128] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/wchan", (int)main_tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return strstr(text, "fifo") != NULL || strstr(text, "partner") != NULL;
}

static volatile int go_on2;

static void *helper(void *unused) {
    while (!go_on) usleep(1000);
    for (int i = 0; i < 20000 && !blocked_in_open(); i++) usleep(500);
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    while (!go_on2) usleep(1000);
    for (int i = 0; i < 20000 && !blocked_in_open(); i++) usleep(500);
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR2);
    /* the handler ran and the open is blocked again (restarted): a writer ends it */
    for (int i = 0; i < 20000 && !handled2; i++) usleep(500);
    for (int i = 0; i < 20000 && !blocked_in_open(); i++) usleep(500);
    int fd = open(fifo2, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    for (;;) pause();
    return unused;
}

/* A thread made by a raw clone3: the child stores rdi and rsi as it starts and exits. */
static void clone3_thread(void) {
    static char stack[16384] __attribute__((aligned(16)));
    static volatile unsigned long child[3];  /* rdi, rsi, done */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    ca.stack = (uint64_t)(uintptr_t)stack;
    ca.stack_size = sizeof stack;
    struct regs6 in = {{(unsigned long)&ca, sizeof ca, 0x1111, 0x2222, 0x3333, 0x4444}}, out;
    register unsigned long rdi __asm__("rdi") = in.r[0];
    register unsigned long rsi __asm__("rsi") = in.r[1];
    register unsigned long rdx __asm__("rdx") = in.r[2];
    register unsigned long r10 __asm__("r10") = in.r[3];
    register unsigned long r8 __asm__("r8") = in.r[4];
    register unsigned long r9 __asm__("r9") = in.r[5];
    register volatile unsigned long *results __asm__("r12") = child;
    long rax = SYS_clone3;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov %%rdi, (%%r12)\n\t"
                     "mov %%rsi, 8(%%r12)\n\t"
                     "movq $1, 16(%%r12)\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "hlt\n"
                     "1:"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "r"(results)
                     : "rcx", "r11", "memory", "cc");
    out.r[0] = rdi;
    out.r[1] = rsi;
    out.r[2] = rdx;
    out.r[3] = r10;
    out.r[4] = r8;
    out.r[5] = r9;
    if (rax < 0) {
        printf("clone3: %s\n", strerrorname_np((int)-rax));
        return;
    }
    for (int i = 0; i < 20000 && !child[2]; i++) usleep(500);
    printf("clone3-child: rdi rsi %s\n", !child[2] ? "never seen" :
           child[0] == in.r[0] && child[1] == in.r[1] ? "own" : "changed");
    printf("clone3-parent: ");
    report_regs(&in, &out, 6);
}

/* The program's own filter (a third argument): "allow", or "check" (see the top). */
static int own_filter(const char *kind) {
    struct sock_filter allow[] = {
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_filter check[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x1000, 5, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0755, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
    };
    struct sock_fprog prog;
    if (strcmp(kind, "allow") == 0) {
        prog.len = sizeof allow / sizeof allow[0];
        prog.filter = allow;
    } else if (strcmp(kind, "check") == 0) {
        prog.len = sizeof check / sizeof check[0];
        prog.filter = check;
    } else {
        fprintf(stderr, "held_regs: no filter %s\n", kind);
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("seccomp");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: held_regs DIR SECRET [allow|check]\n");
        return 2;
    }
    if (argc == 4 && own_filter(argv[3]) < 0) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(0);
    main_tid = (pid_t)syscall(SYS_gettid);
    const char *dir = argv[1];
    static char link[4096];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(fifo2, sizeof fifo2, "%s/fifo2", dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;  /* (no SA_RESTART: the open fails with EINTR) */
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigaddset(&usr1, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    pthread_t thread;
    pthread_create(&thread, NULL, helper, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    static char buf[256];
    static struct stat st;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        perror(dir);
        return 2;
    }
    const unsigned long at_fdcwd = (unsigned long)(long)AT_FDCWD;
    one("openat", SYS_openat, at_fdcwd, (unsigned long)file, O_RDONLY | O_CLOEXEC, M10, M8, M9);
    one("openat-dirfd", SYS_openat, (unsigned long)dirfd, (unsigned long)"file",
        O_RDONLY | O_CLOEXEC, 0644, M8, M9);
    one("newfstatat", SYS_newfstatat, at_fdcwd, (unsigned long)file, (unsigned long)&st, 0,
        M8, M9);
    one("mkdirat", SYS_mkdirat, (unsigned long)dirfd, (unsigned long)"sub", 0755, M10, M8, M9);
    one("unlinkat", SYS_unlinkat, (unsigned long)dirfd, (unsigned long)"sub", AT_REMOVEDIR,
        M10, M8, M9);
    one("readlinkat", SYS_readlinkat, at_fdcwd, (unsigned long)link, (unsigned long)buf,
        sizeof buf, M8, M9);
    one("openat-secret", SYS_openat, at_fdcwd, (unsigned long)argv[2], O_RDONLY | O_CLOEXEC,
        M10, M8, M9);
    if (argc == 4) {
        /* (under a filter of its own a tracer runs a held open with the other tasks stopped:
         * the FIFO opens below would wait for ever for the second thread -- see held_signal
         * for a blocked held open interrupted under such a filter) */
        clone3_thread();
        return 0;
    }

    /* the retry: the same syscall instruction again on EINTR, registers inputs only */
    struct regs6 in = {{at_fdcwd, (unsigned long)fifo, O_CREAT | O_WRONLY | O_CLOEXEC, 0640,
                        M8, M9}}, out;
    long rax;
    int tries = 0;
    {
        register unsigned long rdi __asm__("rdi") = in.r[0];
        register unsigned long rsi __asm__("rsi") = in.r[1];
        register unsigned long rdx __asm__("rdx") = in.r[2];
        register unsigned long r10 __asm__("r10") = in.r[3];
        register unsigned long r8 __asm__("r8") = in.r[4];
        register unsigned long r9 __asm__("r9") = in.r[5];
        go_on = 1;
        __asm__ volatile("1: mov %[nr], %%eax\n\t"
                         "incl %[tries]\n\t"
                         "syscall\n\t"
                         "cmp $-4, %%rax\n\t"
                         "je 1b"
                         : "=&a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8),
                           "+r"(r9), [tries] "+m"(tries)
                         : [nr] "i"(SYS_openat)
                         : "rcx", "r11", "memory", "cc");
        out.r[0] = rdi;
        out.r[1] = rsi;
        out.r[2] = rdx;
        out.r[3] = r10;
        out.r[4] = r8;
        out.r[5] = r9;
    }
    if (rax >= 0 && fstat((int)rax, &st) == 0)
        printf("retry: ok%s, %s, mode %o; ", tries > 1 ? "" : " at once",
               S_ISREG(st.st_mode) ? "a regular file" : S_ISFIFO(st.st_mode) ? "a FIFO" :
               "another file", st.st_mode & 07777);
    else
        result("retry", rax);
    report_regs(&in, &out, 6);
    struct regs6 frame = {{seen[0], seen[1], seen[2], seen[3], M8, M9}};
    printf("handler (%s): ", handled ? "ran" : "never ran");
    report_regs(&in, &frame, 4);
    result("in-handler", in_handler_rax[0]);
    printf("registers %s\n", in_handler_own[0] ? "own" : "changed");

    /* the SA_RESTART open of fifo2, blocked until the helper writes */
    {
        struct regs6 in2 = {{at_fdcwd, (unsigned long)fifo2, O_RDONLY | O_CLOEXEC, 0777, M8, M9}};
        register unsigned long rdi __asm__("rdi") = in2.r[0];
        register unsigned long rsi __asm__("rsi") = in2.r[1];
        register unsigned long rdx __asm__("rdx") = in2.r[2];
        register unsigned long r10 __asm__("r10") = in2.r[3];
        register unsigned long r8 __asm__("r8") = in2.r[4];
        register unsigned long r9 __asm__("r9") = in2.r[5];
        unsigned long at;
        rax = SYS_openat;
        go_on2 = 1;
        __asm__ volatile("lea 3f(%%rip), %[at]\n"
                         "3:\n\t"
                         "syscall"
                         : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8),
                           "+r"(r9), [at] "=&r"(at)
                         :
                         : "rcx", "r11", "memory");
        out.r[0] = rdi;
        out.r[1] = rsi;
        out.r[2] = rdx;
        out.r[3] = r10;
        out.r[4] = r8;
        out.r[5] = r9;
        result("restarted", rax);
        if (rax >= 0) close((int)rax);
        report_regs(&in2, &out, 6);
        struct regs6 frame2 = {{seen2[0], seen2[1], seen2[2], seen2[3], M8, M9}};
        printf("restart-handler (%s): ", handled2 ? "ran" : "never ran");
        printf("registers %s; rip %s\n",
               memcmp(&in2, &frame2, 4 * sizeof(unsigned long)) ? "changed" : "own",
               seen2[4] == at && seen2[5] == SYS_openat ? "at the call" : "elsewhere");
        result("in-restart-handler", in_handler_rax[1]);
        printf("registers %s\n", in_handler_own[1] ? "own" : "changed");
    }
    clone3_thread();
    return 0;
}
