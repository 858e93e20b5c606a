/* path_opath_change.c MODE TARGET NEW: change a file through an O_PATH descriptor of it.
 *
 * Red team 17 made an O_PATH open a read (the kernel drops every access mode with O_PATH);
 * the descriptor still changes its file through calls that take it with AT_EMPTY_PATH, or
 * through its /proc magic link reopened for writing.  TARGET is a file of a directory the
 * policy refuses to write (never fswrite); the O_PATH open is permitted.
 *
 *   chmod    fchmodat2(fd, "", 0606, AT_EMPTY_PATH)
 *   chown    fchownat(fd, "", our uid, our gid, AT_EMPTY_PATH) (its ctime, a setuid bit)
 *   utime    utimensat(fd, "", {1, 1}, AT_EMPTY_PATH)
 *   link     linkat(fd, "", AT_FDCWD, NEW, AT_EMPTY_PATH), then an append through NEW
 *   reopen   open("/proc/self/fd/N", O_WRONLY|O_APPEND), then an append
 *
 * ESCAPED when the change was made; BLOCKED with the errno otherwise.  Class 1 (path
 * spellings: another call's way to a path), red team 18 of issue 11.
 */
#include "attack.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static void append(const char *path, const char *what) {
    int w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (w < 0)
        blocked("%s, then open %s for writing: %s", what, path, ename(errno));
    if (write(w, "CHANGED\n", 8) != 8)
        blocked("%s, then write: %s", what, ename(errno));
    escaped("%s: appended to the refused file", what);
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("path_opath_change chmod|chown|utime|link|reopen TARGET NEW");
    const char *mode = argv[1], *target = argv[2];
    int fd = open(target, O_PATH | O_CLOEXEC);
    if (fd < 0)
        blocked("open(%s, O_PATH): %s", target, ename(errno));
    long r;
    if (!strcmp(mode, "chmod")) {
        r = syscall(SYS_fchmodat2, fd, "", 0606, AT_EMPTY_PATH);
    } else if (!strcmp(mode, "chown")) {
        r = syscall(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH);
    } else if (!strcmp(mode, "utime")) {
        struct timespec times[2] = {{1, 0}, {1, 0}};
        r = syscall(SYS_utimensat, fd, "", times, AT_EMPTY_PATH);
    } else if (!strcmp(mode, "link")) {
        if (syscall(SYS_linkat, fd, "", AT_FDCWD, argv[3], AT_EMPTY_PATH) < 0)
            blocked("linkat(O_PATH descriptor, AT_EMPTY_PATH): %s", ename(errno));
        append(argv[3], "linked");
    } else if (!strcmp(mode, "reopen")) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        append(path, "reopened");
    } else {
        usage("unknown mode");
    }
    if (r < 0)
        blocked("%s through the O_PATH descriptor: %s", mode, ename(errno));
    escaped("%s through the O_PATH descriptor worked", mode);
}
