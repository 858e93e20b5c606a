/* trap_held: a program that ignores or blocks SIGTRAP, then raises it -- natively it goes
 * on ("survived", and "blocked" when SIGTRAP is still blocked then).  The tracer's injected
 * call ends at an int3, whose SIGTRAP the kernel forces (force_sig resets an ignored or
 * blocked SIGTRAP to SIG_DFL and unblocks it for good): it must not be used in such a task.
 *
 *   trap_held ignore|block        ignore/block it, open a file (a held call: the exec's
 *                                 premap runs), exec itself as "check" (the disposition and
 *                                 the mask go over exec), which raises it
 *   trap_held ignore|block wait   ignore/block it, say "ready PID", read a byte of stdin
 *                                 (an --attach meanwhile), raise it */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "check";
    if (strcmp(mode, "ignore") == 0) signal(SIGTRAP, SIG_IGN);
    if (strcmp(mode, "block") == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTRAP);
        sigprocmask(SIG_BLOCK, &set, NULL);
    }
    if (strcmp(mode, "check") != 0) {
        if (argc > 2 && strcmp(argv[2], "wait") == 0) {
            printf("ready %d\n", getpid());
            fflush(stdout);
            char c;
            (void)!read(0, &c, 1);
        } else {
            int fd = open("/etc/hostname", O_RDONLY);
            if (fd >= 0) close(fd);
            execl(argv[0], argv[0], "check", (char *)NULL);
            return 127;
        }
    }
    raise(SIGTRAP);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("survived%s\n", sigismember(&now, SIGTRAP) ? " blocked" : "");
    return 0;
}
