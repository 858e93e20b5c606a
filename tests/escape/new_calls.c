/* new_calls.c MODE SECRET: the newest calls of this kernel (6.13 .. 6.17) aimed at a file
 * a rule refuses -- each reaches the file by a path (and a dirfd, and AT_ flags in another
 * register than the older calls'), so each is a way to a path the table must know.
 *
 *   getattr     file_getattr(AT_FDCWD, SECRET): the secret's inode flags (FS_XFLAG_*),
 *               metadata an fsread rule refuses (stat's)  -- ESCAPED on success
 *   getattr_fd  the same through a dirfd of SECRET's directory and its base name, with
 *               AT_SYMLINK_NOFOLLOW in the fifth register (where the older calls have none)
 *   setattr     file_setattr(AT_FDCWD, SECRET, FS_XFLAG_NODUMP): a change of the file an
 *               fswrite rule refuses  -- ESCAPED when the flag is set
 *   getxattrat  getxattrat(AT_FDCWD, SECRET, "user.rt30"): the value the test set on it
 *   setxattrat  setxattrat(AT_FDCWD, SECRET, "user.rt30b"): ESCAPED when it lands
 *   tree_attr   open_tree_attr(AT_FDCWD, SECRET) without OPEN_TREE_CLONE (an O_PATH open by
 *               another name): ESCAPED when fstat of it gives the secret's inode
 *   tree_clone  open_tree_attr(AT_FDCWD, dirname(SECRET), OPEN_TREE_CLONE, MOUNT_ATTR_RDONLY)
 *               (root): a detached copy of the refused directory, then openat(fd,
 *               basename(SECRET)) -- ESCAPED when that gives the secret
 * Red team 30 (docs/security.md): class 1, a call's way to a path.
 */
#include "attack.h"

#include <libgen.h>
#include <linux/mount.h>

#ifndef __NR_file_getattr
#define __NR_file_getattr 468
#define __NR_file_setattr 469
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#define __NR_getxattrat 464
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif

struct rt30_file_attr { /* struct file_attr (include/uapi/linux/fs.h, 6.17) */
    uint64_t fa_xflags;
    uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize;
};

struct rt30_xattr_args { /* struct xattr_args (6.13) */
    uint64_t value;
    uint32_t size, flags;
};

#define RT30_NODUMP 0x00000080 /* FS_XFLAG_NODUMP */

static void unsupported(const char *what, int err) {
    if (err == ENOSYS || err == EOPNOTSUPP || err == ENOTTY)
        skipped("%s: %s", what, ename(err));
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("new_calls getattr|getattr_fd|setattr|getxattrat|setxattrat|tree_attr|"
              "tree_clone SECRET");
    const char *mode = argv[1], *secret = argv[2];
    char dirbuf[4096], basebuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", secret);
    snprintf(basebuf, sizeof basebuf, "%s", secret);
    const char *dir = dirname(dirbuf), *base = basename(basebuf);
    if (!strcmp(mode, "getattr") || !strcmp(mode, "getattr_fd")) {
        struct rt30_file_attr fa = {0};
        long r;
        if (!strcmp(mode, "getattr")) {
            r = syscall(__NR_file_getattr, AT_FDCWD, secret, &fa, sizeof fa, 0);
        } else {
            int dfd = open(dir, O_PATH | O_DIRECTORY);
            if (dfd < 0)
                note("open(%s, O_PATH): %s (the dirfd is refused: AT_FDCWD and a path)", dir,
                     ename(errno));
            r = dfd < 0 ? syscall(__NR_file_getattr, AT_FDCWD, secret, &fa, sizeof fa,
                                  AT_SYMLINK_NOFOLLOW)
                        : syscall(__NR_file_getattr, dfd, base, &fa, sizeof fa,
                                  AT_SYMLINK_NOFOLLOW);
        }
        if (r < 0) {
            unsupported("file_getattr", errno);
            blocked("file_getattr: %s", ename(errno));
        }
        escaped("file_getattr of the secret: xflags %#llx", (unsigned long long)fa.fa_xflags);
    }
    if (!strcmp(mode, "setattr")) {
        struct rt30_file_attr fa = {0};
        if (syscall(__NR_file_getattr, AT_FDCWD, secret, &fa, sizeof fa, 0) < 0)
            note("file_getattr first: %s (the flags are set from nothing)", ename(errno));
        unsupported("file_getattr", errno);
        fa.fa_xflags |= RT30_NODUMP;
        if (syscall(__NR_file_setattr, AT_FDCWD, secret, &fa, sizeof fa, 0) < 0) {
            unsupported("file_setattr", errno);
            blocked("file_setattr: %s", ename(errno));
        }
        struct rt30_file_attr after = {0};
        if (syscall(__NR_file_getattr, AT_FDCWD, secret, &after, sizeof after, 0) == 0 &&
            !(after.fa_xflags & RT30_NODUMP))
            blocked("file_setattr answered 0 but the flag is not set");
        escaped("file_setattr set FS_XFLAG_NODUMP on the secret");
    }
    if (!strcmp(mode, "getxattrat")) {
        char value[256] = {0};
        struct rt30_xattr_args args = {(uint64_t)(uintptr_t)value, sizeof value - 1, 0};
        long r = syscall(__NR_getxattrat, AT_FDCWD, secret, 0, "user.rt30", &args, sizeof args);
        if (r < 0) {
            unsupported("getxattrat", errno);
            blocked("getxattrat: %s", ename(errno));
        }
        escaped("getxattrat of the secret: user.rt30 = %s", value);
    }
    if (!strcmp(mode, "setxattrat")) {
        char value[] = "planted";
        struct rt30_xattr_args args = {(uint64_t)(uintptr_t)value, sizeof value - 1, 0};
        if (syscall(__NR_setxattrat, AT_FDCWD, secret, 0, "user.rt30b", &args, sizeof args)) {
            unsupported("setxattrat", errno);
            blocked("setxattrat: %s", ename(errno));
        }
        escaped("setxattrat set user.rt30b on the secret");
    }
    if (!strcmp(mode, "tree_attr")) {
        int fd = (int)syscall(__NR_open_tree_attr, AT_FDCWD, secret, OPEN_TREE_CLOEXEC, NULL, 0);
        if (fd < 0) {
            unsupported("open_tree_attr", errno);
            blocked("open_tree_attr: %s", ename(errno));
        }
        struct stat st;
        if (fstat(fd, &st))
            blocked("fstat: %s", ename(errno));
        if (st.st_ino == env_ull("ESC_SECRET_INO") && st.st_dev == env_ull("ESC_SECRET_DEV"))
            escaped("open_tree_attr gave a descriptor of the secret: %lld bytes",
                    (long long)st.st_size);
        blocked("open_tree_attr gave another file (inode %llu)", (unsigned long long)st.st_ino);
    }
    if (!strcmp(mode, "tree_clone")) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        int fd = (int)syscall(__NR_open_tree_attr, AT_FDCWD, dir,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, &attr, sizeof attr);
        if (fd < 0) {
            unsupported("open_tree_attr", errno);
            if (errno == EPERM && geteuid() != 0)
                skipped("open_tree_attr(OPEN_TREE_CLONE): EPERM (root only)");
            blocked("open_tree_attr(%s, OPEN_TREE_CLONE): %s", dir, ename(errno));
        }
        try_open_at(fd, "openat(detached copy, base)", base, O_RDONLY);
        blocked("%s", tally_text);
    }
    usage("unknown mode");
}
