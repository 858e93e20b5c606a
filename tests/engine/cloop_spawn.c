/* cloop_spawn: make's and gcc's way of starting a program -- glibc's posix_spawn (clone3, or
 * clone, with CLONE_VM | CLONE_VFORK and a stack of its own) and a raw clone(CLONE_VM |
 * CLONE_VFORK) on a separate stack -- ROUNDS times each, of a permitted program (PROGRAM)
 * and of a refused one (REFUSED), and a child of the fork call that ends at once, each
 * waited for and its status printed.
 * Usage: cloop_spawn ROUNDS PROGRAM REFUSED */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *target;
static volatile int exec_errno;  /* (the child's, in the memory it shares with us) */

static int child(void *unused) {
    (void)unused;
    char *argv[] = {(char *)target, NULL};
    execve(target, argv, environ);
    exec_errno = errno;
    _exit(127);
}

static void report(const char *how, const char *program, pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s %s: waitpid: %s\n", how, program, strerror(errno));
        return;
    }
    printf("%s %s: exit %d\n", how, program, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void spawned(const char *program) {
    pid_t pid;
    char *argv[] = {(char *)program, NULL};
    int err = posix_spawn(&pid, program, NULL, NULL, argv, environ);
    if (err) {
        printf("posix_spawn %s: %s\n", program, strerror(err));
        return;
    }
    report("posix_spawn", program, pid);
}

static void cloned(const char *program) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    target = program;
    exec_errno = 0;
    pid_t pid = clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (pid < 0) {
        printf("clone %s: %s\n", program, strerror(errno));
        return;
    }
    if (exec_errno) printf("clone %s: execve: %s\n", program, strerror(exec_errno));
    report("clone", program, pid);
}

/* a child by the fork call itself, which ends at once: the loop takes its end, and arms the
 * spawner alone again with the spare slot it kept (a fork's child takes none) */
static void forked(void) {
    pid_t pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) syscall(SYS_exit_group, 5);
    if (pid < 0) {
        printf("fork: %s\n", strerror(errno));
        return;
    }
    report("fork", "child", pid);
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    int rounds = atoi(argv[1]);
    for (int i = 0; i < rounds; i++) {
        spawned(argv[2]);
        spawned(argv[3]);
        cloned(argv[2]);
        cloned(argv[3]);
        forked();
    }
    return 0;
}
