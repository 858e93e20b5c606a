/* list_unseen: a directory listed where the tracer cannot list it by its name.
 *
 *   list_unseen learn DIR EMPTY   open DIR, chroot into EMPTY (root: the tracer's listing of
 *                                 DIR's name from the task's root finds nothing), list DIR
 *                                 through the descriptor, make DIR/run-1 (a counter's first)
 *   list_unseen read FILE         print FILE's first line (a file the learning run never used)
 *
 * Exit 0 on success; 1 and a message on a failed call. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char *what) {
    perror(what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "learn") == 0) {
        int fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return fail("open");
        if (chroot(argv[3]) != 0) return fail("chroot");
        char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {}
        if (n < 0) return fail("getdents64");
        if (mkdirat(fd, "run-1", 0700) != 0) return fail("mkdirat");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        FILE *f = fopen(argv[2], "r");
        char line[256];
        if (f == NULL) return fail("fopen");
        if (fgets(line, sizeof line, f) == NULL) return fail("fgets");
        fputs(line, stdout);
        return 0;
    }
    fprintf(stderr, "usage: list_unseen learn DIR EMPTY | read FILE\n");
    return 2;
}
