/* looper: every 50 ms try to open FILE and print "ok" or the errno name, until STOPFILE
 * exists.  A long-running process for --attach tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const struct timespec pause = {0, 50 * 1000 * 1000};
    while (access(argv[2], F_OK) != 0) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0) { puts("ok"); close(fd); }
        else puts(errno == EACCES ? "EACCES" : strerror(errno));
        fflush(stdout);
        nanosleep(&pause, NULL);
    }
    return 7;
}
