/* detach_regs: a call held by a tracer that detaches while it blocks (review 21).
 *
 *   usage: detach_regs FIFO [filter]
 *
 * A second thread runs throughout (so a tracer holds the call's arguments: copies in its
 * scratch area, an open turned into openat2).  The main thread says "opening" and opens FIFO
 * for writing by the syscall instruction (AT_FDCWD in rdi, O_WRONLY in rdx, markers in r10,
 * r8 and r9), which blocks until a reader comes; the tracer detaches meanwhile.  The open is
 * interrupted there and restarted by the kernel with the registers it finds, untraced; then
 * its six argument registers are read back (the x86-64 ABI keeps every register but rax,
 * rcx and r11):
 *
 *   open: ok; registers own        (or: registers changed: rsi 7ffe..->1000.. ...)
 *
 * "filter": first a seccomp filter of the program's own (allow-all, no_new_privs), before the
 * second thread -- a tracer gives such a call no return trampoline, and runs the open with
 * the other tasks stopped (regs27).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const NAMES[6] = {"rdi", "rsi", "rdx", "r10", "r8", "r9"};

static void *idle(void *unused) {
    for (;;) pause();
    return unused;
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "filter") == 0)) {
        fprintf(stderr, "usage: detach_regs FIFO [filter]\n");
        return 2;
    }
    if (argc == 3) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
            perror("seccomp");
            return 2;
        }
    }
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    unsigned long in[6] = {(unsigned long)AT_FDCWD, (unsigned long)argv[1], O_WRONLY,
                           0x3c3c3c3c10UL, 0x5a5a5a5a08UL, 0xa5a5a5a509UL}, out[6];
    printf("opening\n");
    fflush(stdout);
    register unsigned long rdi __asm__("rdi") = in[0];
    register unsigned long rsi __asm__("rsi") = in[1];
    register unsigned long rdx __asm__("rdx") = in[2];
    register unsigned long r10 __asm__("r10") = in[3];
    register unsigned long r8 __asm__("r8") = in[4];
    register unsigned long r9 __asm__("r9") = in[5];
    long rax = SYS_openat;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    out[0] = rdi, out[1] = rsi, out[2] = rdx, out[3] = r10, out[4] = r8, out[5] = r9;
    char text[400] = "";
    size_t at = 0;
    for (int i = 0; i < 6; i++)
        if (in[i] != out[i])
            at += (size_t)snprintf(text + at, sizeof text - at, " %s %lx->%lx", NAMES[i],
                                   in[i], out[i]);
    printf("open: %s; registers %s%s\n", rax < 0 ? strerrorname_np((int)-rax) : "ok",
           at ? "changed:" : "own", text);
    return 0;
}
