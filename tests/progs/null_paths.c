/* null_paths DIR mapped|unmapped [threads]: every call that takes a path, given a NULL one.
 *
 * Most calls read a NULL path as any other address (getname: EFAULT where nothing is mapped,
 * or the string at address 0); a few take it for "no path" -- their dirfd (utimensat's and
 * futimesat's descriptor, getname_maybe_null's AT_EMPTY_PATH) or nothing (acct, fanotify_mark
 * marks its dirfd).  "mapped" maps page zero (CAP_SYS_RAWIO) with DIR/deny/none/x in it, a name
 * a rule refuses and that does not exist; "unmapped" leaves it unmapped.  DIR/work/f is a file
 * (the descriptor f), DIR/work a directory (the descriptor d).  Prints "CALL -> OK|ERRNO" for
 * each; "threads" keeps a second thread alive (a traced call is then held).
 * Red team 31 (docs/security.md), tests/engine/test_null_paths.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define E 0x1000 /* AT_EMPTY_PATH */
#define N ((char *)0)

static void r(const char *what, long v) {
    printf("%s -> %s\n", what, v < 0 ? strerrorname_np(errno) : "OK");
    fflush(stdout);
}

static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 64;
    const char *dir = argv[1];
    int mapped = !strcmp(argv[2], "mapped");
    if (argc > 3 && !strcmp(argv[3], "threads")) {
        pthread_t t;
        pthread_create(&t, NULL, idle, NULL);
    }
    if (chdir(dir) < 0)
        return 65;
    if (mapped) {
        void *p = mmap((void *)0, 4096, PROT_READ | PROT_WRITE,
                       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != (void *)0) {
            printf("SKIPPED: page zero: %s\n", strerrorname_np(errno));
            return 0;
        }
        volatile char *z = p;
        char text[4096];
        snprintf(text, sizeof text, "%s/deny/none/x", dir);
        for (size_t i = 0; i <= strlen(text); i++)
            z[i] = text[i];
    }
    int d = open("work", O_RDONLY | O_DIRECTORY);
    int f = open("work/f", O_RDWR);
    if (d < 0 || f < 0)
        return 66;
    char buf[512];
    struct stat st;
    unsigned long long sx[32], fa[3] = {0};
    struct { uint64_t v; uint32_t s, fl; } xa = {(uintptr_t)buf, sizeof buf, 0};
    struct { uint64_t v; uint32_t s, fl; } xs = {(uintptr_t)"v", 1, 0};
    uint64_t how[3] = {O_RDONLY, 0, 0}, attr[4] = {1 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
    struct { unsigned hb; int t; unsigned char h[128]; } fh = {128, 0, {0}};
    int mid;

    /* calls that read a NULL path */
    r("open", syscall(SYS_open, N, O_RDONLY));
    r("open_creat", syscall(SYS_open, N, O_WRONLY | O_CREAT, 0644));
    r("openat", syscall(SYS_openat, d, N, O_RDONLY));
    r("openat2", syscall(SYS_openat2, d, N, how, sizeof how));
    r("creat", syscall(SYS_creat, N, 0644));
    r("stat", syscall(SYS_stat, N, &st));
    r("lstat", syscall(SYS_lstat, N, &st));
    r("newfstatat", syscall(SYS_newfstatat, d, N, &st, 0));
    r("statx", syscall(SYS_statx, d, N, 0, 0xfff, sx));
    r("access", syscall(SYS_access, N, 0));
    r("faccessat", syscall(SYS_faccessat, d, N, 0));
    r("faccessat2_empty", syscall(SYS_faccessat2, d, N, 0, E));
    r("readlink", syscall(SYS_readlink, N, buf, sizeof buf));
    r("readlinkat", syscall(SYS_readlinkat, d, N, buf, sizeof buf));
    r("chmod", syscall(SYS_chmod, N, 0644));
    r("fchmodat", syscall(SYS_fchmodat, d, N, 0644));
    r("fchmodat2_empty", syscall(452, f, N, 0644, E));
    r("chown", syscall(SYS_chown, N, -1, -1));
    r("lchown", syscall(SYS_lchown, N, -1, -1));
    r("fchownat_empty", syscall(SYS_fchownat, f, N, -1, -1, E));
    r("utime", syscall(SYS_utime, N, NULL));
    r("utimes", syscall(SYS_utimes, N, NULL));
    r("utimensat_cwd", syscall(SYS_utimensat, AT_FDCWD, N, NULL, 0));
    r("futimesat_cwd", syscall(SYS_futimesat, AT_FDCWD, N, NULL));
    r("truncate", syscall(SYS_truncate, N, 0));
    r("mkdir", syscall(SYS_mkdir, N, 0755));
    r("mkdirat", syscall(SYS_mkdirat, d, N, 0755));
    r("mknod", syscall(SYS_mknod, N, S_IFIFO | 0644, 0));
    r("mknodat", syscall(SYS_mknodat, d, N, S_IFIFO | 0644, 0));
    r("rmdir", syscall(SYS_rmdir, N));
    r("unlink", syscall(SYS_unlink, N));
    r("unlinkat", syscall(SYS_unlinkat, d, N, 0));
    r("rename_old", syscall(SYS_rename, N, "work/g"));
    r("rename_new", syscall(SYS_rename, "work/f", N));
    r("renameat2_new", syscall(SYS_renameat2, d, "f", d, N, 0));
    r("link_old", syscall(SYS_link, N, "work/g"));
    r("link_new", syscall(SYS_link, "work/f", N));
    r("linkat_empty", syscall(SYS_linkat, f, N, d, "g", E));
    r("symlink", syscall(SYS_symlink, "t", N));
    r("symlinkat", syscall(SYS_symlinkat, "t", d, N));
    r("chdir", syscall(SYS_chdir, N));
    r("chroot", syscall(SYS_chroot, N));
    r("getxattr", syscall(SYS_getxattr, N, "user.x", buf, sizeof buf));
    r("lgetxattr", syscall(SYS_lgetxattr, N, "user.x", buf, sizeof buf));
    r("setxattr", syscall(SYS_setxattr, N, "user.x", "v", 1, 0));
    r("listxattr", syscall(SYS_listxattr, N, buf, sizeof buf));
    r("removexattr", syscall(SYS_removexattr, N, "user.x"));
    r("getxattrat", syscall(464, f, N, 0, "user.x", &xa, sizeof xa));
    r("setxattrat", syscall(463, f, N, 0, "user.y", &xs, sizeof xs));
    r("listxattrat", syscall(465, f, N, 0, buf, sizeof buf));
    r("removexattrat", syscall(466, f, N, 0, "user.y"));
    r("file_getattr", syscall(468, f, N, fa, sizeof fa, 0));
    r("file_setattr", syscall(469, f, N, fa, sizeof fa, 0));
    r("statfs", syscall(SYS_statfs, N, buf));
    r("inotify_add_watch", syscall(SYS_inotify_add_watch, inotify_init(), N, IN_ALL_EVENTS));
    r("name_to_handle_at_empty", syscall(SYS_name_to_handle_at, f, N, &fh, &mid, E));
    r("open_tree_empty", syscall(428, d, N, E));
    r("fspick_empty", syscall(433, d, N, 8 /* FSPICK_EMPTY_PATH */));
    r("mount_setattr_empty", syscall(442, d, N, E, attr, sizeof attr));
    r("move_mount_from", syscall(429, AT_FDCWD, N, AT_FDCWD, "work", 0));
    r("mount_target", syscall(SYS_mount, "none", N, "tmpfs", 0, NULL));
    r("umount2", syscall(SYS_umount2, N, 0));
    r("swapoff", syscall(SYS_swapoff, N));
    r("pivot_root", syscall(SYS_pivot_root, N, N));
    r("execveat_empty", syscall(SYS_execveat, d, N, NULL, NULL, E));
    r("execve", syscall(SYS_execve, N, NULL, NULL));

    /* calls that take a NULL path for no path */
    r("utimensat_fd", syscall(SYS_utimensat, f, N, NULL, 0));
    r("futimesat_fd", syscall(SYS_futimesat, f, N, NULL));
    r("newfstatat_empty", syscall(SYS_newfstatat, f, N, &st, E));
    r("newfstatat_cwd_empty", syscall(SYS_newfstatat, AT_FDCWD, N, &st, E));
    r("statx_empty", syscall(SYS_statx, f, N, E, 0xfff, sx));
    r("getxattrat_empty", syscall(464, f, N, E, "user.x", &xa, sizeof xa));
    r("setxattrat_empty", syscall(463, f, N, E, "user.y", &xs, sizeof xs));
    r("listxattrat_empty", syscall(465, f, N, E, buf, sizeof buf));
    r("removexattrat_empty", syscall(466, f, N, E, "user.y"));
    r("file_getattr_empty", syscall(468, f, N, fa, sizeof fa, E));
    r("file_setattr_empty", syscall(469, f, N, fa, sizeof fa, E));
    int fan = fanotify_init(0, O_RDONLY);
    if (fan >= 0)
        r("fanotify_mark", syscall(SYS_fanotify_mark, fan, FAN_MARK_ADD, FAN_MODIFY, d, N));
    r("acct", syscall(SYS_acct, N));
    printf("done\n");
    return 0;
}
