/* replay_regs: a signal handler that runs between a call's scratch mmap and its restart
 * (review 21).
 *
 *   usage: replay_regs DIR
 *
 * A second thread runs throughout (so a tracer holds the calls' arguments, and maps its
 * scratch area at the first one: an mmap run in place of the call, which is then restarted).
 * The main thread opens DIR/file with openat made by the syscall instruction, O_RDONLY in rdx
 * and markers in r10, r8 and r9; a SIGUSR1 handler makes a mkdirat of DIR/made the same way
 * (mode 0700 in rdx, markers in r10, r8, r9).  Both read their six argument registers back
 * after the call (the x86-64 ABI keeps every register but rax, rcx and r11):
 *
 *   handler: ok; registers own        (or: registers changed: rdx 1c0->0 ...)
 *   open: ok; registers own
 *
 * The test's monitor changes the open's flags (O_CLOEXEC added) and sends SIGUSR1 while the
 * open is at its stop, so the signal is delivered as the tracer lets the restarted open go:
 * the handler runs before the open is made again.  (Run natively, SIGUSR1 is raised before
 * the open: the same lines.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct regs6 {
    unsigned long r[6];
};
static const char *const NAMES[6] = {"rdi", "rsi", "rdx", "r10", "r8", "r9"};

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

static char line[2][512];

static void report(int which, const char *name, long rax, const struct regs6 *in,
                   const struct regs6 *out) {
    char text[400] = "";
    size_t at = 0;
    for (int i = 0; i < 6; i++)
        if (in->r[i] != out->r[i])
            at += (size_t)snprintf(text + at, sizeof text - at, " %s %lx->%lx", NAMES[i],
                                   in->r[i], out->r[i]);
    snprintf(line[which], sizeof line[which], "%s: %s; registers %s%s", name,
             rax < 0 ? strerrorname_np((int)-rax) : "ok", at ? "changed:" : "own", text);
}

#define M8 0x5a5a5a5a08UL
#define M9 0xa5a5a5a509UL
#define M10 0x3c3c3c3c10UL

static char made[4096], file[4096];

static void on_usr1(int sig) {
    (void)sig;
    struct regs6 in = {{(unsigned long)AT_FDCWD, (unsigned long)made, 0700, M10, M8, M9}}, out;
    long rax = call6(SYS_mkdirat, &in, &out);
    report(0, "handler", rax, &in, &out);
}

static void *idle(void *unused) {
    for (;;) pause();
    return unused;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: replay_regs DIR [native]\n");
        return 2;
    }
    snprintf(made, sizeof made, "%s/made", argv[1]);
    snprintf(file, sizeof file, "%s/file", argv[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    if (argc == 3) raise(SIGUSR1);  /* (native: the handler first, as traced) */
    struct regs6 in = {{(unsigned long)AT_FDCWD, (unsigned long)file, O_RDONLY, M10, M8, M9}},
                 out;
    long rax = call6(SYS_openat, &in, &out);
    report(1, "open", rax, &in, &out);
    printf("%s\n%s\n", line[0], line[1]);
    fflush(stdout);
    _exit(0);
}
