/* table_drift: calls that a hand-kept table once left without a decoder (or in no alias), so a
 * rule on what they name could never match them and the default decided.
 *
 *   table_drift MODE TARGET
 *
 * MODE: file_setattr   file_setattr(TARGET) sets FS_XFLAG_NODUMP on it (policy: never fswrite)
 *       file_getattr   file_getattr(TARGET) reads its attributes (policy: never fsread)
 *       fstat          open(TARGET, O_PATH), then the raw fstat(2) call on the descriptor
 *                      (policy: never fstat on TARGET; glibc's fstat is newfstatat)
 *       open_tree_attr open_tree_attr(TARGET) gets a handle on the directory (policy: never
 *                      namespace on TARGET, then permit namespace)
 *       setflags       ioctl(FS_IOC_SETFLAGS) on a read-only descriptor of TARGET sets its
 *                      nodump flag (policy: never fswrite)
 *       exchange WORK  renameat2(WORK/x, TARGET, RENAME_EXCHANGE): the target moves to WORK/x,
 *                      then read it there (policy: never fsread on TARGET)
 *       exchange_dir WORK NAME
 *                      the same with a directory WORK/x and a directory TARGET: then read
 *                      WORK/x/NAME, the protected file that moved with its directory
 *       exchange_ok OTHER
 *                      parity: exchange two permitted files TARGET and OTHER, print both
 *       getflags       parity: FS_IOC_GETFLAGS on a read-only descriptor of TARGET
 *       ioctls N       N rounds of terminal and descriptor ioctls (TCGETS, TIOCGWINSZ on a
 *                      pty, FIONREAD on a pipe, FS_IOC_GETFLAGS on TARGET): none of them
 *                      may stop under an fswrite rule (run with --stats)
 *       setflags_same N
 *                      N FS_IOC_SETFLAGS on TARGET that keep its flags: each must stop
 *       open_tree_link open_tree(TARGET, AT_SYMLINK_NOFOLLOW): a handle on the symlink TARGET
 *                      itself, not on what it points at (parity: the rule on what it points at
 *                      does not apply)
 * Class 1 (the syscall table: every call that takes a path is decided on it).
 */
#include "attack.h"

#include <sys/ioctl.h>
#include <termios.h>

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
#ifndef SYS_file_getattr
#define SYS_file_getattr 468
#endif
#ifndef SYS_file_setattr
#define SYS_file_setattr 469
#endif
#define FS_XFLAG_NODUMP 0x00000080
#define FS_NODUMP_FL 0x00000040
#include <linux/fs.h>
#define OPEN_TREE_CLOEXEC O_CLOEXEC

struct file_attr_v0 {          /* struct file_attr, FILE_ATTR_SIZE_VER0 */
    uint64_t fa_xflags;
    uint32_t fa_extsize;
    uint32_t fa_nextents;
    uint32_t fa_projid;
    uint32_t fa_cowextsize;
};

static int nodump(const char *path) {
    struct statx stx;
    if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) < 0)
        return -1;
    if (!(stx.stx_attributes_mask & STATX_ATTR_NODUMP))
        return -1;
    return (stx.stx_attributes & STATX_ATTR_NODUMP) != 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("table_drift MODE TARGET");
    const char *mode = argv[1], *target = argv[2];
    struct file_attr_v0 fa;
    memset(&fa, 0, sizeof fa);
    if (!strcmp(mode, "file_setattr")) {
        int before = nodump(target);
        if (before < 0)
            skipped("the file system does not report the nodump attribute");
        if (before)
            skipped("the target is already nodump");
        /* keep its other attributes: read them first (reading is not what the policy refuses) */
        if (syscall(SYS_file_getattr, AT_FDCWD, target, &fa, sizeof fa, 0) < 0 && errno == ENOSYS)
            skipped("no file_getattr/file_setattr on this kernel");
        fa.fa_xflags |= FS_XFLAG_NODUMP;
        if (syscall(SYS_file_setattr, AT_FDCWD, target, &fa, sizeof fa, 0) < 0) {
            if (errno == ENOSYS || errno == EOPNOTSUPP || errno == ENOTTY)
                skipped("file_setattr: %s", ename(errno));
            blocked("file_setattr: %s", ename(errno));
        }
        if (nodump(target) == 1)
            escaped("file_setattr changed the protected file's attributes");
        blocked("file_setattr returned 0 but nothing changed");
    } else if (!strcmp(mode, "file_getattr")) {
        if (syscall(SYS_file_getattr, AT_FDCWD, target, &fa, sizeof fa, 0) < 0) {
            if (errno == ENOSYS || errno == EOPNOTSUPP || errno == ENOTTY)
                skipped("file_getattr: %s", ename(errno));
            blocked("file_getattr: %s", ename(errno));
        }
        escaped("file_getattr read the protected file's attributes (xflags %#llx)",
                (unsigned long long)fa.fa_xflags);
    } else if (!strcmp(mode, "fstat")) {
        int fd = open(target, O_PATH | O_CLOEXEC);
        if (fd < 0)
            blocked("open(O_PATH): %s", ename(errno));
        struct stat st;
        if (syscall(SYS_fstat, fd, &st) < 0)
            blocked("fstat: %s", ename(errno));
        escaped("fstat read the protected file's inode %llu", (unsigned long long)st.st_ino);
    } else if (!strcmp(mode, "open_tree_attr")) {
        long fd = syscall(SYS_open_tree_attr, AT_FDCWD, target, OPEN_TREE_CLOEXEC, NULL, 0);
        if (fd < 0) {
            if (errno == ENOSYS)
                skipped("no open_tree_attr on this kernel");
            blocked("open_tree_attr: %s", ename(errno));
        }
        escaped("open_tree_attr gave a handle on the protected directory");
    } else if (!strcmp(mode, "setflags")) {
        int before = nodump(target);
        if (before != 0)
            skipped("the file system does not report nodump, or the target has it");
        int fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            blocked("open(O_RDONLY): %s", ename(errno));
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
            skipped("FS_IOC_GETFLAGS: %s", ename(errno));
        flags |= FS_NODUMP_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
            blocked("FS_IOC_SETFLAGS: %s", ename(errno));
        if (nodump(target) == 1)
            escaped("FS_IOC_SETFLAGS through a read-only descriptor changed the protected file");
        blocked("FS_IOC_SETFLAGS returned 0 but nothing changed");
    } else if (!strcmp(mode, "exchange")) {
        if (argc < 4)
            usage("table_drift exchange TARGET WORK");
        char mine[4096];
        snprintf(mine, sizeof mine, "%s/x", argv[3]);
        int fd = open(mine, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            blocked("create %s: %s", mine, ename(errno));
        close(fd);
        if (syscall(SYS_renameat2, AT_FDCWD, mine, AT_FDCWD, target, RENAME_EXCHANGE) < 0) {
            if (errno == ENOSYS || errno == EINVAL)
                skipped("renameat2(RENAME_EXCHANGE): %s", ename(errno));
            blocked("renameat2(RENAME_EXCHANGE): %s", ename(errno));
        }
        try_open("the target, exchanged into the work directory", mine);
        tally_done();
    } else if (!strcmp(mode, "exchange_dir")) {
        if (argc < 5)
            usage("table_drift exchange_dir TARGET WORK NAME");
        char mine[4096], inside[4096];
        snprintf(mine, sizeof mine, "%s/x", argv[3]);
        if (mkdir(mine, 0755) < 0)
            blocked("mkdir %s: %s", mine, ename(errno));
        if (syscall(SYS_renameat2, AT_FDCWD, mine, AT_FDCWD, target, RENAME_EXCHANGE) < 0) {
            if (errno == ENOSYS || errno == EINVAL)
                skipped("renameat2(RENAME_EXCHANGE): %s", ename(errno));
            blocked("renameat2(RENAME_EXCHANGE): %s", ename(errno));
        }
        snprintf(inside, sizeof inside, "%s/%s", mine, argv[4]);
        try_open("the target's file, its directory exchanged into the work directory", inside);
        tally_done();
    } else if (!strcmp(mode, "exchange_ok")) {
        if (argc < 4)
            usage("table_drift exchange_ok TARGET OTHER");
        if (syscall(SYS_renameat2, AT_FDCWD, target, AT_FDCWD, argv[3], RENAME_EXCHANGE) < 0) {
            if (errno == ENOSYS || errno == EINVAL)
                skipped("renameat2(RENAME_EXCHANGE): %s", ename(errno));
            blocked("renameat2(RENAME_EXCHANGE): %s", ename(errno));
        }
        char one[256] = "", two[256] = "";
        int fd = open(target, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, one, sizeof one - 1) < 0)
            blocked("read %s after the exchange: %s", target, ename(errno));
        fd = open(argv[3], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, two, sizeof two - 1) < 0)
            blocked("read %s after the exchange: %s", argv[3], ename(errno));
        one[strcspn(one, "\n")] = two[strcspn(two, "\n")] = 0;
        escaped("exchanged: the first now holds '%s', the second '%s'", one, two);
    } else if (!strcmp(mode, "getflags")) {
        int fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            blocked("open(O_RDONLY): %s", ename(errno));
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
            blocked("FS_IOC_GETFLAGS: %s", ename(errno));
        escaped("FS_IOC_GETFLAGS read the flags %#x", flags);
    } else if (!strcmp(mode, "ioctls")) {
        if (argc < 4)
            usage("table_drift ioctls TARGET N");
        long rounds = strtol(argv[3], NULL, 10);
        int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), pipes[2];
        int fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (pty < 0 || pipe2(pipes, O_CLOEXEC) < 0 || fd < 0)
            blocked("a pty, a pipe and the target: %s", ename(errno));
        for (long i = 0; i < rounds; i++) {
            struct termios tio;
            struct winsize ws;
            int n, flags;
            if (ioctl(pty, TCGETS, &tio) < 0 || ioctl(pty, TIOCGWINSZ, &ws) < 0 ||
                ioctl(pipes[0], FIONREAD, &n) < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                blocked("ioctl round %ld: %s", i, ename(errno));
        }
        escaped("%ld rounds of ioctls", rounds);
    } else if (!strcmp(mode, "setflags_same")) {
        if (argc < 4)
            usage("table_drift setflags_same TARGET N");
        long rounds = strtol(argv[3], NULL, 10);
        int fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags = 0;
        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
            skipped("FS_IOC_GETFLAGS: %s", ename(errno));
        for (long i = 0; i < rounds; i++)
            if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                blocked("FS_IOC_SETFLAGS round %ld: %s", i, ename(errno));
        escaped("%ld FS_IOC_SETFLAGS", rounds);
    } else if (!strcmp(mode, "open_tree_link")) {
        long fd = syscall(SYS_open_tree, AT_FDCWD, target,
                          AT_SYMLINK_NOFOLLOW | OPEN_TREE_CLOEXEC);
        if (fd < 0)
            blocked("open_tree(AT_SYMLINK_NOFOLLOW): %s", ename(errno));
        escaped("open_tree gave a handle on the symlink");
    }
    usage("MODE: file_setattr file_getattr fstat open_tree_attr setflags exchange exchange_dir "
          "exchange_ok getflags ioctls setflags_same open_tree_link");
}
