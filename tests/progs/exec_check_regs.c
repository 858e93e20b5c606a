/* exec_check_regs: an exec that only checks (AT_EXECVE_CHECK, Linux 6.14), and what its
 * registers hold when it returns 0.
 *
 *   usage: exec_check_regs PATH
 *
 * execveat(AT_FDCWD, PATH, argv, envp, AT_EXECVE_CHECK) by the syscall instruction, from a
 * process with a second thread (so a tracer holds the call's arguments); the kernel restores
 * every register but rax, rcx and r11.  Prints whether rdi, rsi, rdx and r10 still hold its
 * own values ("check: 0; rdi own, rsi own, rdx own, r10 own" natively), or "check: EINVAL"
 * where the kernel has no AT_EXECVE_CHECK.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EXECVE_CHECK
#define AT_EXECVE_CHECK 0x10000
#endif

extern char **environ;

static void *idle(void *unused) {
    pause();
    return unused;
}

static const char *own(unsigned long got, const void *mine) {
    return got == (unsigned long)mine ? "own" : "changed";
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: exec_check_regs PATH\n");
        return 2;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    const char *path = argv[1];
    char *args[] = {"first-argument", NULL};
    register unsigned long rdi __asm__("rdi") = (unsigned long)AT_FDCWD;
    register unsigned long rsi __asm__("rsi") = (unsigned long)path;
    register unsigned long rdx __asm__("rdx") = (unsigned long)args;
    register unsigned long r10 __asm__("r10") = (unsigned long)environ;
    register unsigned long r8 __asm__("r8") = AT_EXECVE_CHECK;
    long rax = SYS_execveat;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8)
                     :
                     : "rcx", "r11", "memory");
    if (rax < 0) {
        printf("check: %s\n", strerrorname_np((int)-rax));
        return 0;
    }
    printf("check: %ld; rdi %s, rsi %s, rdx %s, r10 %s\n", rax,
           rdi == (unsigned long)AT_FDCWD ? "own" : "changed", own(rsi, path), own(rdx, args),
           own(r10, environ));
    return 0;
}
