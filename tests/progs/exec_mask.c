/* exec_mask: a process that blocks some signals (SIGUSR1, SIGURG, SIGRTMIN+2), then runs
 * itself three times as a shell runs a command -- vfork, execve in the child, wait -- and
 * each new image prints the signal mask it runs with (exec keeps the mask), then the parent
 * the child's status (the native loop serves the execs after the first, as a shell's).  Under systrace the child is premapped at its exec event (an injected mmap run
 * with every signal blocked but SIGTRAP and the faults', the task's own mask put back
 * before it runs its own code): the mask printed must be the one it had, natively and
 * traced, in both loops.
 *
 *   exec_mask          block, 3 x (vfork + exec "report", wait, print "child N")
 *   exec_mask report   print "mask " and the blocked signals' numbers */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        sigset_t now;
        sigprocmask(SIG_BLOCK, NULL, &now);
        printf("mask");
        for (int sig = 1; sig < 65; sig++)
            if (sigismember(&now, sig) == 1) printf(" %d", sig);
        printf("\n");
        return 0;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGURG);
    sigaddset(&set, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fflush(stdout);
    char *args[] = {argv[0], "report", NULL};
    for (int round = 0; round < 3; round++) {
        pid_t child = vfork();
        if (child == 0) {
            execv(argv[0], args);
            _exit(127);
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child) return 1;
        printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        fflush(stdout);
    }
    return 0;
}
