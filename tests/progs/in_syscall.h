/* Helpers of the test programs that race a process's blocking wait (freeze_eintr.c,
 * ignored_signal.c): wait until it sits in a system call, and say how a call ended. */
#ifndef IN_SYSCALL_H
#define IN_SYSCALL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* wait until PID sits in system call NR (read from /proc/PID/syscall), then a little more:
 * well inside the wait, not on its way in */
static void until_in(pid_t pid, long nr)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (int i = 0; i < 100000; i++) {
        int fd = open(path, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = 0;
            if (strtol(buf, NULL, 10) == nr)
                break;
        }
        usleep(1000);
    }
    usleep(20000);
}

/* "KIND -> ok" or "KIND -> ERRNAME" */
static void report(const char *kind, int ok, int err)
{
    printf("%s -> %s\n", kind, ok ? "ok" : strerrorname_np(err));
    fflush(stdout);
}

#endif
