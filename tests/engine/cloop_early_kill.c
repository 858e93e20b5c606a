/* Children killed before their parent's fork event (tests/engine/test_cloop_early.py).
 *
 * "make N" (traced): prints its pid and the address of a word, waits for a line on stdin
 * (its watcher is ready), then N times makes a child with clone(CLONE_PARENT_SETTID |
 * SIGCHLD) -- the kernel writes the child's tid into the word while it makes the child,
 * before the parent's fork event stop -- and reaps it.  "watch PID ADDR" (untraced, an
 * ancestor of the traced program: it may read its memory) reads that word without a pause
 * (process_vm_readv) and SIGKILLs each child as soon as it is named, until the parent is gone.
 * So the tracer is told of a child's first stop, its end, or both, for a pid no event named
 * yet.  Each child is killed, or exits with 3 when it ran to its _exit first; any other end
 * fails the parent, which prints how many ended so. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t word;

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "watch") == 0) {
        pid_t parent = atoi(argv[2]), seen = 0, now = 0;
        struct iovec local = {&now, sizeof now};
        struct iovec remote = {(void *)strtoul(argv[3], NULL, 16), sizeof now};
        while (process_vm_readv(parent, &local, 1, &remote, 1, 0) == sizeof now) {
            if (now && now != seen) kill(now, SIGKILL);
            seen = now;
        }
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "make") != 0) return 2;
    int rounds = atoi(argv[2]), killed = 0, exited = 0;
    printf("%d %lx\n", getpid(), (unsigned long)&word);
    fflush(stdout);
    char go[8];
    if (!fgets(go, sizeof go, stdin)) return 2;
    for (int i = 0; i < rounds; i++) {
        word = 0;
        long child = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0, &word, 0, 0);
        if (child == 0) syscall(SYS_exit_group, 3);
        if (child < 0) return 2;
        int status;
        if (waitpid((pid_t)child, &status, 0) != child) return 2;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) killed++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) exited++;
        else { printf("status %#x\n", status); return 1; }
    }
    printf("ended %d of %d (killed %d)\n", killed + exited, rounds, killed);
    return 0;
}
