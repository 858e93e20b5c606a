/* vfork_exec_regs: a vfork child whose execve fails, and what its registers hold then.
 *
 *   usage: vfork_exec_regs PATH
 *
 * The child makes execve(PATH, argv, envp) itself (a raw syscall instruction), so the three
 * argument registers it passed are there to read when the call returns: the kernel restores
 * every register but rax, rcx and r11.  It says which of rdi, rsi, rdx still hold its own
 * pointers, what argv[0] reads through the rsi it got back, and the error; then it runs
 * execve again with the registers it got back, as a program that keeps them may, and says
 * that error too; then _exits.  The parent prints it.  Natively: "rdi own, rsi own, rdx own".
 * Twice: under systrace the first child's held exec maps the scratch area (Python's loop);
 * the second, a vfork child of a task alone with the area mapped, is the native loop's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char report[512];

/* execve(path, argv, envp) by the syscall instruction; the registers as it returned them */
static long raw_execve(const char *path, char *const argv[], char *const envp[],
                       unsigned long regs[3]) {
    register unsigned long rdi __asm__("rdi") = (unsigned long)path;
    register unsigned long rsi __asm__("rsi") = (unsigned long)argv;
    register unsigned long rdx __asm__("rdx") = (unsigned long)envp;
    long rax = SYS_execve;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                     :
                     : "rcx", "r11", "memory");
    regs[0] = rdi;
    regs[1] = rsi;
    regs[2] = rdx;
    return rax;
}

static const char *own(unsigned long got, const void *mine) {
    return got == (unsigned long)mine ? "own" : "changed";
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: vfork_exec_regs PATH\n");
        return 2;
    }
    const char *path = argv[1];
    char *child_argv[] = {"first-argument", "second", NULL};
    for (int round = 1; round <= 2; round++) {
        (void)access(path, X_OK);  /* (a call a path rule stops, as a shell's lookup of it) */
        pid_t pid = vfork();
        if (pid == 0) {
            unsigned long regs[3];
            long r = raw_execve(path, child_argv, environ, regs);
            const char *first = ((char *const *)regs[1])[0];
            unsigned long again[3];
            long r2 = raw_execve((const char *)regs[0], (char *const *)regs[1],
                                 (char *const *)regs[2], again);
            snprintf(report, sizeof report,
                     "execve: %s; rdi %s, rsi %s, rdx %s; argv[0] through rsi: %s; "
                     "again: %s\n",
                     r < 0 ? strerrorname_np((int)-r) : "returned", own(regs[0], path),
                     own(regs[1], child_argv), own(regs[2], environ), first,
                     r2 < 0 ? strerrorname_np((int)-r2) : "returned");
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        printf("%d: %s", round, report);
        printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        fflush(stdout);
    }
    return 0;
}
