/* path_loop: reach the secret through a chain of symlinks as long as the kernel's limit
 * (40: it resolves) and one longer (41: the kernel says ELOOP).
 *
 *   path_loop OP N SECRET WORK
 *
 * OP: open   WORK/c0 -> c1 -> ... -> c{N-1} -> SECRET; open WORK/c0 and read it
 *     dir    WORK/c0 -> ... -> c{N-1} -> SECRET's directory; open WORK/c0/<secret's name>
 *     chmod  the chain of "open"; chmod(WORK/c0, 0604): did the secret's mode change?
 * Prints "OP -> OK" or "OP -> <errno>" (the tests compare it with the native run), then the
 * verdict.  With $ESC_THREAD set a second thread is alive meanwhile.
 * Issue 11 class 2 (the resolver guesses past the symlink limit).
 */
#include "attack.h"

#include <libgen.h>

int main(int argc, char **argv) {
    if (argc < 5)
        usage("path_loop OP N SECRET WORK");
    const char *op = argv[1], *secret = argv[3], *work = argv[4];
    int n = atoi(argv[2]);
    char secd[4096], base[256], tmp[4096], link[4096], target[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(base, sizeof base, "%s", basename(tmp));
    idle_thread_if_asked();
    for (int i = 0; i < n; i++) {
        if (i + 1 < n)
            snprintf(target, sizeof target, "c%d", i + 1);
        else
            snprintf(target, sizeof target, "%s", strcmp(op, "dir") ? secret : secd);
        snprintf(link, sizeof link, "%s/c%d", work, i);
        if (symlink(target, link) < 0)
            blocked("symlink %s: %s", link, ename(errno));
    }
    snprintf(path, sizeof path, "%s/c0", work);
    if (!strcmp(op, "chmod")) {
        struct stat before, after;
        if (stat(secret, &before) < 0)
            note("stat of the secret: %s", ename(errno));
        int rc = chmod(path, 0604), err = errno;
        printf("%s -> %s\n", op, rc == 0 ? "OK" : ename(err));
        if (lstat(secret, &after) == 0 && (after.st_mode & 07777) == 0604 &&
            (before.st_mode & 07777) != 0604)
            escaped("chmod through %d links changed the secret's mode", n);
        blocked("the secret's mode is unchanged (%s)", rc == 0 ? "chmod OK" : ename(err));
    }
    if (!strcmp(op, "dir"))
        snprintf(path, sizeof path, "%s/c0/%s", work, base);
    else if (strcmp(op, "open"))
        usage("OP: open dir chmod");
    int fd = open(path, O_RDONLY), err = errno;
    printf("%s -> %s\n", op, fd >= 0 ? "OK" : ename(err));
    char label[64];
    snprintf(label, sizeof label, "a chain of %d links", n);
    tally(label, fd, err);
    tally_done();
}
