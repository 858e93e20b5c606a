/* fs_linked_table.c MODE SECRET WORK READER: give a file, under the caller's table, a name
 * whose rules grant more than its own in ANOTHER program's table, then run that program on
 * the new name (red team 49: the linked-access check compared the two names in the linker's
 * table only).
 *
 * The caller's table lets SECRET be linked or moved (`fslink`) and WORK/out be made, and
 * grants the caller nothing of either (so by its own rules the file gains nothing by its
 * new name).  READER -- a copy of this program at a path that has a table of its own -- may
 * read WORK/** and not the secret.  Each mode gives the secret a name below WORK and execs
 * READER on it:
 *   link       link(SECRET, WORK/out); exec READER read WORK/out
 *   rename     rename(SECRET, WORK/out); exec READER read WORK/out
 *   dir        rename(dirname(SECRET), WORK/outdir) (SECRET's directory moved); exec READER
 *              read WORK/outdir/BASENAME(SECRET)
 *   read       (what READER runs) open PATH; ESCAPED when it is the secret
 *
 * ESCAPED when the reader read the secret through its new name; BLOCKED with the failing
 * step's errno otherwise.
 */
#include "attack.h"

#include <libgen.h>
#include <limits.h>

static void read_through(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("the reader read the secret through %s", path);
    blocked("%s is not the secret", path);
}

static void run_reader(const char *reader, const char *path) {
    fflush(stdout);
    execl(reader, reader, "read", path, (char *)NULL);
    blocked("exec %s: %s", reader, ename(errno));
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        read_through(argv[2]);
    if (argc != 5)
        blocked("usage: %s MODE SECRET WORK READER", argv[0]);
    const char *mode = argv[1], *secret = argv[2], *work = argv[3], *reader = argv[4];
    char target[PATH_MAX];
    if (strcmp(mode, "link") == 0 || strcmp(mode, "rename") == 0) {
        snprintf(target, sizeof target, "%s/out", work);
        int rc = mode[0] == 'l' ? link(secret, target) : rename(secret, target);
        if (rc != 0)
            blocked("%s %s %s: %s", mode, secret, target, ename(errno));
        run_reader(reader, target);
    }
    if (strcmp(mode, "dir") == 0) {
        char one[PATH_MAX], other[PATH_MAX], moved[PATH_MAX];
        snprintf(one, sizeof one, "%s", secret);
        snprintf(other, sizeof other, "%s", secret);
        const char *directory = dirname(one), *name = basename(other);
        snprintf(moved, sizeof moved, "%s/outdir", work);
        if (rename(directory, moved) != 0)
            blocked("rename %s %s: %s", directory, moved, ename(errno));
        snprintf(target, sizeof target, "%s/%s", moved, name);
        run_reader(reader, target);
    }
    blocked("unknown mode %s", mode);
}
