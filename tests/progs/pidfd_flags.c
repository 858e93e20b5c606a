/* pidfd_flags: pidfd_send_signal with flags the kernel refuses (EINVAL) before it looks at the
 * descriptor, as LTP pidfd_send_signal02 does (flags 99999 on a /proc/self directory).
 *
 *   pidfd_flags
 *
 * Sends SIGUSR1 (which would end the process, and the tracer: not blocked, not caught) to
 * itself through a pidfd and through its /proc/self directory, with an unknown flag, two
 * scopes (PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_PROCESS_GROUP) and LTP's 99999, then signal 0
 * with no flag (a process that may be signalled).  One "OP -> RESULT" line each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *op, long ret) {
    printf("%s -> %s\n", op, ret == 0 ? "ok" : strerrorname_np(errno));
}

static long send(int fd, int sig, unsigned int flags) {
    return syscall(SYS_pidfd_send_signal, fd, sig, NULL, flags);
}

int main(void) {
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    int dir = open("/proc/self", O_DIRECTORY | O_CLOEXEC);
    if (pidfd < 0 || dir < 0) {
        perror("pidfd_open or /proc/self");
        return 3;
    }
    report("pidfd unknown flag", send(pidfd, SIGUSR1, 0x8));
    report("pidfd two scopes", send(pidfd, SIGUSR1, 0x1 | 0x4));
    report("pidfd 99999", send(pidfd, SIGUSR1, 99999));
    report("proc dir unknown flag", send(dir, SIGUSR1, 0x8));
    report("proc dir two scopes", send(dir, SIGUSR1, 0x2 | 0x4));
    report("proc dir 99999", send(dir, SIGUSR1, 99999));
    report("pidfd signal 0", send(pidfd, 0, 0));
    return 0;
}
