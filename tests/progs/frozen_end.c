/* A task of the tree that ends while the tree is frozen for another's call, its stop already
 * kept by the freeze (early31: red team 51's fuzzer, whose processes SIGKILL each other and
 * exec from threads -- de_thread kills the others -- while others' calls freeze the tree).
 *
 *   frozen_end DIR
 *
 * A child sits in pause(); the parent, once it is there, truncates DIR/file (under a path
 * rule: the tracer stops the rest of the tree while it runs -- the child's PTRACE_INTERRUPT
 * stop kept for the thaw), then kills and reaps the child and prints "ok".  The test kills the
 * child from inside the freeze (tests/engine/test_frozen_end.py), where the fuzzer's runs had
 * another task of the tree do it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "in_syscall.h"

int main(int argc, char **argv)
{
    char file[4096];
    if (argc < 2)
        return 2;
    snprintf(file, sizeof file, "%s/file", argv[1]);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    until_in(child, SYS_pause);
    if (truncate(file, 0) != 0) {
        perror("truncate");
        return 1;
    }
    kill(child, SIGKILL);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFSIGNALED(status)) {
        fprintf(stderr, "child: %#x\n", status);
        return 1;
    }
    puts("ok");
    return 0;
}
