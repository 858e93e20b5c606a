/* Children killed before their parent's fork event (tests/engine/test_cloop_early.py).
 *
 * "make FILE N": N times, the traced parent makes a child with clone(CLONE_PARENT_SETTID |
 * SIGCHLD), whose tid the kernel writes into FILE's shared page while it makes the child --
 * before the parent's fork event stop -- and reaps it, printing what its end was.
 * "watch FILE N", run untraced beside it: spins on that word and SIGKILLs each child as soon
 * as it is named, then clears the word (the parent makes no child before).  So the tracer is
 * told of a child's first stop, its end, or both, for a pid no event named yet, while the
 * parent's own stops may be served natively.  Each child is killed, or exits with 3 when it
 * ran to its _exit first: the parent's output says which, and a bad status fails it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) return 2;
    volatile pid_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (word == MAP_FAILED) return 2;
    int rounds = atoi(argv[3]);
    if (strcmp(argv[1], "watch") == 0) {
        for (int i = 0; i < rounds; i++) {
            pid_t child;
            while (!(child = *word)) {}
            kill(child, SIGKILL);
            *word = 0;
        }
        return 0;
    }
    int killed = 0, exited = 0;
    for (int i = 0; i < rounds; i++) {
        while (*word) sched_yield();
        long child = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0, word, 0, 0);
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
