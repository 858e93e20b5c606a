/* A lease's break inside the tree (LTP fcntl33): a process holds a read lease on a file, its
 * child truncates the file.  The kernel makes the truncate wait (__break_lease) and sends the
 * holder SIGIO, whose handler gives the lease up; then the truncate goes on.
 *
 *   lease_break DIR
 *
 * Prints "lease -> ok" (or the errno name of taking the lease), "truncate -> ok" (or the
 * errno name the truncate failed with), and "release -> ok" when the holder gave the lease
 * up while the truncate waited -- or EAGAIN when it had no lease left to give: the kernel
 * broke it itself after /proc/sys/fs/lease-break-time, the holder having had no chance to
 * run before. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fd;
static volatile int released = -1; /* the errno of giving the lease up; 0: given up */

static void give_up(int sig)
{
    (void)sig;
    released = fcntl(fd, F_SETLEASE, F_UNLCK) == 0 ? 0 : errno;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char file[4096];
    snprintf(file, sizeof file, "%s/file", argv[1]);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    fd = open(file, O_RDONLY);
    if (fd < 0)
        return 3;
    struct sigaction sa = {.sa_handler = give_up, .sa_flags = SA_RESTART};
    sigaction(SIGIO, &sa, NULL);
    int leased = fcntl(fd, F_SETLEASE, F_RDLCK);
    printf("lease -> %s\n", leased == 0 ? "ok" : strerrorname_np(errno));
    fflush(stdout);
    if (leased != 0)
        return 0;
    pid_t child = fork();
    if (child == 0) {
        int done = truncate(file, 0);
        printf("truncate -> %s\n", done == 0 ? "ok" : strerrorname_np(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (released < 0)
        printf("release -> none\n"); /* no SIGIO came */
    else
        printf("release -> %s\n", released == 0 ? "ok" : strerrorname_np(released));
    return 0;
}
