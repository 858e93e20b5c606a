/* proc_fd_search: a task that is not dumpable (it changed its effective uid) looks a file up
 * through its own /proc/self/fd, as LTP openat04 does (linkat of /proc/self/fd/N, its
 * O_TMPFILE file, after setreuid(-1, nobody)).
 *
 *   proc_fd_search DIR UID
 *
 * As root: opens DIR/file, becomes UID in its effective uid alone (setreuid(-1, UID): the
 * process is then not dumpable, and its /proc/PID entries are root's, fd/ mode 0500), then
 * stats /proc/self/fd/N and /proc/self/fd/N/.. (a lookup through the fd directory) and
 * links it to DIR/linked with AT_SYMLINK_FOLLOW.  The kernel lets a task search the fd
 * directory of its own thread group whatever its mode (proc_fd_permission); one "OP ->
 * RESULT" line each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *op, int ok) {
    printf("%s -> %s\n", op, ok ? "ok" : strerrorname_np(errno));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: proc_fd_search DIR UID\n");
        return 2;
    }
    char path[4096], link[64];
    snprintf(path, sizeof path, "%s/file", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0 || fchown(fd, (uid_t)atoi(argv[2]), (gid_t)-1) != 0) {
        perror(path);
        return 3;
    }
    if (setreuid((uid_t)-1, (uid_t)atoi(argv[2])) != 0) {
        perror("setreuid");
        return 3;
    }
    struct stat st;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    report("stat fd", stat(link, &st) == 0);
    snprintf(path, sizeof path, "%s/linked", argv[1]);
    report("linkat", linkat(AT_FDCWD, link, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0);
    return 0;
}
