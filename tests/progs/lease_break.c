/* A lease's break inside the tree (LTP fcntl33): a process holds a read lease on a file, its
 * child truncates the file.  The kernel makes the truncate wait (__break_lease) and sends the
 * holder SIGIO, whose handler gives the lease up; then the truncate goes on.
 *
 *   lease_break DIR
 *
 * Prints "truncate -> ok" when the truncate returned after the holder gave the lease up
 * (its handler wrote to a pipe first), "late" when it returned without that -- the kernel
 * broke the lease itself after /proc/sys/fs/lease-break-time -- or the errno name it failed
 * with; and "lease -> ok" or the errno name of taking the lease. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fd, given[2];

static void give_up(int sig)
{
    (void)sig;
    if (write(given[1], "x", 1) != 1 || fcntl(fd, F_SETLEASE, F_UNLCK) != 0)
        _exit(4);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char file[4096];
    snprintf(file, sizeof file, "%s/file", argv[1]);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    fd = open(file, O_RDONLY);
    if (fd < 0 || pipe2(given, O_NONBLOCK) != 0)
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
        char byte;
        if (truncate(file, 0) != 0)
            printf("truncate -> %s\n", strerrorname_np(errno));
        else
            printf("truncate -> %s\n", read(given[0], &byte, 1) == 1 ? "ok" : "late");
        fflush(stdout);
        _exit(0);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}
