/* fspick_missing: a superblock's reconfiguration aimed at a name that does not exist, as LTP
 * fspick02 does ("invalid-path": fspick(AT_FDCWD, "invalid", ...) fails with ENOENT).
 *
 *   fspick_missing DIR
 *
 * As root: fspick and a remount (mount(MS_REMOUNT), a superblock's options) of DIR/missing,
 * of DIR/missing/deeper (a directory on the way missing), of DIR/dangling (a symlink to
 * DIR/missing), then fspick of DIR itself (a directory that is no mount's root: EINVAL), and
 * a bind mount of DIR/file/x (a source failing ENOTDIR) onto DIR/missing: the kernel looks
 * the target up first, ENOENT (red team 72).
 * One "OP -> RESULT" line each; nothing is reconfigured.  A child waits meanwhile, so the
 * traced tree is not one task (a call whose path was examined then runs frozen).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FSPICK_CLOEXEC
#define FSPICK_CLOEXEC 0x00000001
#endif

static void report(const char *op, long ret) {
    if (ret >= 0) {
        printf("%s -> ok\n", op);
        if (ret > 2)
            close((int)ret);
    } else {
        printf("%s -> %s\n", op, strerrorname_np(errno));
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fspick_missing DIR\n");
        return 2;
    }
    char missing[4096], deeper[4096], dangling[4096], file[4096], through[4096];
    snprintf(missing, sizeof missing, "%s/missing", argv[1]);
    snprintf(deeper, sizeof deeper, "%s/missing/deeper", argv[1]);
    snprintf(dangling, sizeof dangling, "%s/dangling", argv[1]);
    snprintf(file, sizeof file, "%s/file", argv[1]);
    snprintf(through, sizeof through, "%s/file/x", argv[1]);
    int made = open(file, O_WRONLY | O_CREAT, 0644);
    if (made >= 0)
        close(made);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    if (child < 0 || symlink(missing, dangling) != 0) {
        perror(dangling);
        return 3;
    }
    report("fspick missing", syscall(SYS_fspick, AT_FDCWD, missing, FSPICK_CLOEXEC));
    report("fspick deeper", syscall(SYS_fspick, AT_FDCWD, deeper, FSPICK_CLOEXEC));
    report("fspick dangling", syscall(SYS_fspick, AT_FDCWD, dangling, FSPICK_CLOEXEC));
    report("remount missing", mount(NULL, missing, NULL, MS_REMOUNT, NULL));
    report("remount deeper", mount(NULL, deeper, NULL, MS_REMOUNT, NULL));
    report("fspick dir", syscall(SYS_fspick, AT_FDCWD, argv[1], FSPICK_CLOEXEC));
    report("bind onto missing", mount(through, missing, NULL, MS_BIND, NULL));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
