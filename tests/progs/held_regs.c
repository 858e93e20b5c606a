/* held_regs: what a program's registers hold after calls a tracer may hold (issue 11).
 *
 *   usage: held_regs DIR SECRET
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
 *   handler: registers own               (the frame the handler got: rdi, rsi, rdx, r10)
 */
#define _GNU_SOURCE
#include <errno.h>
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

/* The call, and its six argument registers as they are after it. */
static long call6(long nr, const struct regs6 *in, struct regs6 *out) {
    register unsigned long rdi __asm__("rdi") = in->r[0];
    register unsigned long rsi __asm__("rsi") = in->r[1];
    register unsigned long rdx __asm__("rdx") = in->r[2];
    register unsigned long r10 __asm__("r10") = in->r[3];
    register unsigned long r8 __asm__("r8") = in->r[4];
    register unsigned long r9 __asm__("r9") = in->r[5];
    long rax = nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
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
    printf("registers %s%s\n", at ? "changed:" : "own", text);
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
static char fifo[4096];
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

static void *helper(void *unused) {
    while (!go_on) usleep(1000);
    for (int i = 0; i < 20000 && !blocked_in_open(); i++) usleep(500);
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    for (;;) pause();
    return unused;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: held_regs DIR SECRET\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(0);
    main_tid = (pid_t)syscall(SYS_gettid);
    const char *dir = argv[1];
    static char file[4096], link[4096];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;  /* (no SA_RESTART: the open fails with EINTR) */
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
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
    return 0;
}
