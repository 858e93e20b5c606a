/* path_open_tree: a descriptor of a refused file from open_tree(2) without OPEN_TREE_CLONE,
 * which is an O_PATH open by another name (fs/namespace.c: "the same as open(O_PATH)").
 *
 *   path_open_tree MODE SECRET
 *
 * MODE: fstat   open_tree(SECRET), then fstat of the descriptor: ESCAPED when it gives the
 *               secret's inode (its size, times and owner with it), which an fsread rule
 *               refuses to stat(2)
 *       fchdir  open_tree(dirname(SECRET)), fchdir into it, then getcwd: ESCAPED when the
 *               cwd is the refused directory (a chdir(2) an fsread rule refuses)
 * Only metadata: a reopen through /proc/self/fd is decided as any open (class 1, /proc magic
 * links).  Class 1 (path spellings: another call's way to a path).
 */
#include "attack.h"

#include <libgen.h>
#include <linux/mount.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("path_open_tree fstat|fchdir SECRET");
    const char *mode = argv[1];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[2]);
    const char *target = !strcmp(mode, "fchdir") ? dirname(dir) : argv[2];
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, target, OPEN_TREE_CLOEXEC);
    if (fd < 0 && errno == ENOSYS)
        skipped("open_tree: ENOSYS");
    if (fd < 0)
        blocked("open_tree(%s): %s", target, ename(errno));
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
