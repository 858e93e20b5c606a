/* Calls decided by their name alone (engine/cloop.py WHOLE_CALLS), ROUNDS times each:
 * getpgrp and getppid answered by the table (one refuses getpgrp), and vfork/fork, whose
 * children (the native loop's births) open SECRET and exit with the errno they got; then
 * ioctls of a pipe, by request (engine/cloop.py REQUESTS): the four the loop may decide, one
 * of them with garbage in the request register's high half (the kernel reads an unsigned
 * int), and two near misses it must hand back (TCSETS, FIONBIO).  Prints each call's answer:
 * 0, or the errno's name; a child's exit code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *answer(long r) {
    if (r >= 0) return "0";
    switch (errno) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTTY: return "ENOTTY";
    default: return strerror(errno);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    const char *secret = argc > 2 ? argv[2] : "/nonexistent";
    static const struct { const char *name; unsigned long request; } requests[] = {
        {"TCGETS", TCGETS}, {"TIOCGPGRP", TIOCGPGRP}, {"TIOCGWINSZ", TIOCGWINSZ},
        {"FIONREAD", FIONREAD}, {"TCGETS-high", (1UL << 32) | TCGETS},
        {"TCSETS", TCSETS}, {"FIONBIO", FIONBIO},
    };
    int fds[2];
    if (pipe(fds)) return 1;
    for (int i = 0; i < rounds; i++) {
        printf("getpgrp %s\n", answer(syscall(SYS_getpgrp)));
        printf("getppid %s\n", answer(syscall(SYS_getppid) > 0 ? 0 : -1));
        for (int how = 0; how < 2; how++) {
            /* (glibc's vfork is the call itself; its fork is a clone) */
            pid_t child = how ? (pid_t)syscall(SYS_fork) : vfork();
            if (child == 0) _exit(open(secret, O_RDONLY) < 0 ? errno : 0);
            int status = 0;
            if (child < 0 || waitpid(child, &status, 0) != child) {
                printf("%s %s\n", how ? "fork" : "vfork", answer(-1));
                continue;
            }
            printf("%s %d\n", how ? "fork" : "vfork", WEXITSTATUS(status));
        }
        for (size_t k = 0; k < sizeof requests / sizeof requests[0]; k++) {
            char out[256] = {0};  /* (a termios, a winsize, an int: zeroed, FIONBIO's off) */
            long r = syscall(SYS_ioctl, fds[0], requests[k].request, out);
            printf("ioctl-%s %s\n", requests[k].name, answer(r));
        }
    }
    return 0;
}
