/* dotlock: take and release a lock on FILE the way gnupg's dotlock does: a file named
 * ".#lk" + the address of the lock's handle (%p: another on each run, the heap being placed
 * at random) + "." + the host + "." + the pid, made O_EXCL, linked to FILE.lock, removed.
 * Prints "locked" once it held the lock. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: dotlock FILE\n"); return 2; }
    char *handle = malloc(64), host[64] = "", tname[4096], lname[4096];
    gethostname(host, sizeof host - 1);
    const char *slash = strrchr(argv[1], '/');
    int dir = slash ? (int)(slash - argv[1]) + 1 : 0;
    snprintf(tname, sizeof tname, "%.*s.#lk%p.%s.%d", dir, argv[1], (void *)handle, host,
             (int)getpid());
    snprintf(lname, sizeof lname, "%s.lock", argv[1]);
    int fd = open(tname, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) { perror(tname); return 1; }
    dprintf(fd, "%10d\n", (int)getpid());
    close(fd);
    int rc = link(tname, lname);
    unlink(tname);
    if (rc < 0) { perror(lname); return 1; }
    puts("locked");
    unlink(lname);
    free(handle);
    return 0;
}
