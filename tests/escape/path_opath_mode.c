/* path_opath_mode: an O_PATH descriptor of a refused file, asked for with a write access mode.
 *
 *   path_opath_mode MODE SECRET
 *
 * With O_PATH the kernel drops the access mode and every flag but O_DIRECTORY, O_NOFOLLOW and
 * O_CLOEXEC (build_open_how), so open(SECRET, O_PATH|O_WRONLY|O_TRUNC) is the O_PATH open an
 * fsread rule refuses (it reveals the file) -- it neither writes nor truncates.  The filter and
 * the tracer took it for a write-only open by its access mode.
 * MODE: fstat   then fstat of the descriptor: ESCAPED when it gives the secret's inode (its
 *               size, times and owner with it), which an fsread rule refuses to stat(2)
 *       fchdir  the same open of dirname(SECRET), fchdir into it, then getcwd: ESCAPED when
 *               the cwd is the refused directory (a chdir(2) an fsread rule refuses)
 * Class 1 (path spellings: another call's way to a path), as path_open_tree.c.
 */
#include "attack.h"

#include <libgen.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("path_opath_mode fstat|fchdir SECRET");
    const char *mode = argv[1];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[2]);
    const char *target = !strcmp(mode, "fchdir") ? dirname(dir) : argv[2];
    int fd = open(target, O_PATH | O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        blocked("open(%s, O_PATH|O_WRONLY|O_TRUNC): %s", target, ename(errno));
    if (!strcmp(mode, "fstat")) {
        struct stat st;
        if (fstat(fd, &st))
            blocked("fstat: %s", ename(errno));
        if (st.st_ino == env_ull("ESC_SECRET_INO") && st.st_dev == env_ull("ESC_SECRET_DEV"))
            escaped("fstat of the secret's descriptor: inode %llu, %lld bytes",
                    (unsigned long long)st.st_ino, (long long)st.st_size);
        blocked("fstat gave another file (inode %llu)", (unsigned long long)st.st_ino);
    }
    if (strcmp(mode, "fchdir"))
        usage("unknown mode");
    if (fchdir(fd))
        blocked("fchdir: %s", ename(errno));
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        blocked("getcwd: %s", ename(errno));
    if (!strcmp(cwd, target))
        escaped("in the refused directory %s", cwd);
    blocked("the cwd is %s", cwd);
}
