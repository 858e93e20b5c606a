/* held_signal: a held call blocked when a signal comes from outside (tests/engine/test_held_regs.py).
 *
 *   usage: held_signal FIFO FILE [filter|filter-restart]
 *
 * A second thread sleeps in pause() (so the calls are held, and nothing else stops); the main
 * thread prints "blocking" and opens FIFO for reading by the syscall instruction, again on
 * EINTR with the registers it finds (no writer yet: it blocks).  The test sends SIGUSR1 to
 * the main thread (no SA_RESTART: the open fails with EINTR and is made again), whose handler
 * reads its frame, makes a held call of its own (an openat of FILE) and prints "handled";
 * then the test opens the FIFO for writing.  Printed:
 *
 *   open: ok; tries 2; registers own
 *   handler: frame own; in-handler open ok, registers own
 *
 * "filter": first a seccomp filter of the program's own (allow-all, no_new_privs), before the
 * second thread, as sandboxes do -- a tracer gives such calls no return trampoline (regs27).
 * "filter-restart": the same, and the handler has SA_RESTART -- the kernel makes the open
 * again by itself, with the registers it finds ("tries 1").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static const char *file;
static unsigned long in[6];
static volatile int frame_own = -1, inner_own = -1;
static volatile long inner_rax = 1;

static long call6(long nr, const unsigned long *a, unsigned long *out) {
    register unsigned long rdi __asm__("rdi") = a[0];
    register unsigned long rsi __asm__("rsi") = a[1];
    register unsigned long rdx __asm__("rdx") = a[2];
    register unsigned long r10 __asm__("r10") = a[3];
    register unsigned long r8 __asm__("r8") = a[4];
    register unsigned long r9 __asm__("r9") = a[5];
    long rax = nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    out[0] = rdi;
    out[1] = rsi;
    out[2] = rdx;
    out[3] = r10;
    out[4] = r8;
    out[5] = r9;
    return rax;
}

static void on_usr1(int sig, siginfo_t *si, void *context) {
    (void)sig;
    (void)si;
    const greg_t *g = ((ucontext_t *)context)->uc_mcontext.gregs;
    frame_own = (unsigned long)g[REG_RDI] == in[0] && (unsigned long)g[REG_RSI] == in[1] &&
                (unsigned long)g[REG_RDX] == in[2] && (unsigned long)g[REG_R10] == in[3] &&
                (unsigned long)g[REG_R8] == in[4] && (unsigned long)g[REG_R9] == in[5];
    unsigned long a[6] = {(unsigned long)(long)AT_FDCWD, (unsigned long)file, O_RDONLY | O_CLOEXEC,
                          0x77, 0x88, 0x99}, out[6];
    inner_rax = call6(SYS_openat, a, out);
    inner_own = memcmp(a, out, sizeof a) == 0;
    if (inner_rax >= 0) close((int)inner_rax);
    static const char handled[] = "handled\n";
    if (write(1, handled, sizeof handled - 1) < 0) frame_own = -2;
}

static void *idle(void *unused) {
    for (;;) pause();
    return unused;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) return 2;
    file = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    int restart = argc == 4 && strcmp(argv[3], "filter-restart") == 0;
    if (argc == 4) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if ((!restart && strcmp(argv[3], "filter") != 0)
            || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
            return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    unsigned long a[6] = {(unsigned long)(long)AT_FDCWD, (unsigned long)argv[1],
                          O_RDONLY | O_CLOEXEC, 0x1a4, 0x5a5a08, 0xa5a509}, out[6];
    memcpy(in, a, sizeof a);
    printf("blocking\n");
    long rax;
    int tries = 0;
    do {
        tries++;
        rax = call6(SYS_openat, in, out);
        memcpy(in, out, sizeof out);  /* (the retry: with the registers it finds) */
    } while (rax == -4);
    printf("open: %s; tries %d; registers %s\n", rax >= 0 ? "ok" : "failed", tries,
           memcmp(a, out, sizeof a) ? "changed" : "own");
    printf("handler: frame %s; in-handler open %s, registers %s\n",
           frame_own == 1 ? "own" : frame_own == 0 ? "changed" : "never ran",
           inner_rax >= 0 ? "ok" : "failed", inner_own == 1 ? "own" : "changed");
    return 0;
}
