/* pidfd_errors: pidfd_send_signal failing as the kernel fails it, where the engine's guard on
 * signals to the tracer looks first -- as LTP pidfd_send_signal02 (flags 99999 on a /proc/self
 * directory: EINVAL) and pidfd_send_signal03 (a /proc/PID directory of a child that has ended
 * and been reaped, its pid given to a new child: ESRCH) do.
 *
 *   pidfd_errors
 *
 * Sends SIGUSR1 (which would end the process, and the tracer: not blocked, not caught) to
 * itself through a pidfd and through its /proc/self directory, with an unknown flag, two
 * scopes (PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_PROCESS_GROUP) and LTP's 99999, then signal 0
 * with no flag (a process that may be signalled); then SIGUSR1 through a pidfd and a /proc
 * directory of a child that has ended.  One "OP -> RESULT" line each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    char name[32];
    snprintf(name, sizeof name, "/proc/%d", (int)child);
    int child_dir = open(name, O_DIRECTORY | O_CLOEXEC);
    int child_fd = (int)syscall(SYS_pidfd_open, child, 0);
    if (child < 0 || child_dir < 0 || child_fd < 0 || waitpid(child, NULL, 0) != child) {
        perror("child");
        return 3;
    }
    report("ended child's proc dir", send(child_dir, SIGUSR1, 0));
    report("ended child's pidfd", send(child_fd, SIGUSR1, 0));
    return 0;
}
