/* path_traverse.c: looking into a refused directory by walking through it (issue 11, red
 * team).
 *
 * A rule naming fsread refuses looks too (stat, readlink, access...) of what it names.  But
 * a lookup that only passes *through* a refused directory ends on a name elsewhere, and only
 * that name is decided: a symlink inside it followed to a permitted file tells where the
 * link points, and a `..` after an entry tells whether the entry exists and is a directory
 * (ENOENT, ENOTDIR, or the permitted file) -- what stat and readlink of those names are
 * refused for.
 *
 *   path_traverse DIR WORK
 *
 * DIR (refused) holds `lnk` -> WORK and a directory `sub`; WORK holds a file `f`.  ESCAPED
 * names what was learned although readlink/stat of it was refused (natively nothing is
 * refused: the control learns the same by the same walk).
 */
#include "attack.h"

static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("path_traverse DIR WORK");
    const char *dir = argv[1], *work = argv[2];
    char path[4096], target[4096], through[4096];
    snprintf(path, sizeof path, "%s/lnk", dir);
    ssize_t n = readlink(path, target, sizeof target - 1);
    note("readlink(%s): %s", path, n < 0 ? ename(errno) : "read");
    snprintf(through, sizeof through, "%s/lnk/f", dir);
    snprintf(target, sizeof target, "%s/f", work);
    int fd = open(through, O_RDONLY);
    if (fd >= 0 && same_file(through, target)) {
        snprintf(path, sizeof path, "%s/sub", dir);
        struct stat st;
        note("stat(%s): %s", path, stat(path, &st) < 0 ? ename(errno) : "read");
        snprintf(path, sizeof path, "%s/sub/../../%s", dir, strrchr(work, '/') + 1);
        int there = open(path, O_RDONLY | O_DIRECTORY);
        snprintf(path, sizeof path, "%s/nosuch/../../%s", dir, strrchr(work, '/') + 1);
        int absent = open(path, O_RDONLY | O_DIRECTORY);
        escaped("%s/lnk leads to %s; %s/sub %s, %s/nosuch %s", dir, work, dir,
                there >= 0 ? "is a directory" : ename(errno), dir,
                absent >= 0 ? "is a directory" : "does not exist");
    }
    blocked("open(%s): %s", through, fd < 0 ? ename(errno) : "another file");
}
