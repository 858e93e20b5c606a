/* ns_procalias.c: the options of the tracer's own /proc changed through another name of it
 * (issue 11, review 14).
 *
 * Red team 22's guard refuses a remount, mount_setattr or fspick of /proc in the tracer's
 * namespace -- by the target's path.  But a procfs superblock's options (subset=pid,
 * hidepid) belong to the superblock, which every mount of it shares: a bind of /proc
 * elsewhere, or a detached copy of it (open_tree's OPEN_TREE_CLONE), is /proc's superblock
 * under a name that is not /proc.  Reconfigured there, the tracer's /proc loses /proc/sys and
 * /proc/net (subset=pid) all the same.
 *
 *   ns_procalias bind SECD WORK    WORK/p a bind of /proc; fspick(WORK/p), subset=pid,
 *                                  FSCONFIG_CMD_RECONFIGURE
 *   ns_procalias clone SECD        open_tree(/proc, OPEN_TREE_CLONE); fspick of that
 *                                  descriptor (FSPICK_EMPTY_PATH), the same
 *   ns_procalias remount SECD WORK WORK/p a bind of /proc; mount(WORK/p, MS_REMOUNT,
 *                                  "subset=pid"): the superblock's remount
 *   ns_procalias unshared SECD     in a mount namespace of the program's own (a copy: its
 *                                  /proc is the tracer's superblock), fspick("/proc"), the same
 *   ns_procalias tmpfs SECD WORK   parity: in a mount namespace of its own, a tmpfs on WORK
 *                                  reconfigured (fspick, size=2m; a remount, size=3m): not
 *                                  the tracer's /proc, which keeps /proc/sys (BLOCKED, saying so)
 *
 * Then /proc/sys must be gone from /proc (else the technique did nothing: BLOCKED), and the
 * program opens the secret through a descriptor of its directory (natively: the secret).
 * Run it in a mount namespace of its own with a procfs of its own at /proc (the test does).
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_RECONFIGURE 7
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef FSPICK_EMPTY_PATH
#define FSPICK_EMPTY_PATH 0x00000008
#endif

static int pick(int dirfd, const char *path, unsigned int flags) {
    int fs = (int)syscall(SYS_fspick, dirfd, path, flags);
    if (fs < 0)
        return -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "subset", "pid", 0) != 0)
        return -1;
    return (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);
}

static int change(const char *how, const char *work) {
    static char alias[4096];
    if (strcmp(how, "unshared") == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            skipped("a mount namespace of its own: %s", ename(errno));
        return pick(AT_FDCWD, "/proc", 0);
    }
    if (strcmp(how, "clone") == 0) {
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | O_CLOEXEC);
        if (tree < 0)
            return -1;
        return pick(tree, "", FSPICK_EMPTY_PATH);
    }
    if (strcmp(how, "tmpfs") == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            skipped("a mount namespace of its own: %s", ename(errno));
        if (mount("r14", work, "tmpfs", 0, "size=1m") != 0)
            return -1;
        int fs = (int)syscall(SYS_fspick, AT_FDCWD, work, 0);
        if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "2m", 0) != 0
            || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) != 0)
            return -1;
        return mount(NULL, work, NULL, MS_REMOUNT, "size=3m");
    }
    snprintf(alias, sizeof alias, "%s/p", work);
    if (mkdir(alias, 0755) != 0 && errno != EEXIST)
        return -1;
    if (mount("/proc", alias, NULL, MS_BIND, NULL) != 0)
        return -1;
    if (strcmp(how, "bind") == 0)
        return pick(AT_FDCWD, alias, 0);
    return mount(NULL, alias, NULL, MS_REMOUNT, "subset=pid");
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4)
        usage("ns_procalias bind|remount|tmpfs SECD WORK | clone|unshared SECD");
    int dir = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dir < 0)
        blocked("open of the secret's directory: %s", ename(errno));
    if (change(argv[1], argc == 4 ? argv[3] : "") != 0) {
        if (errno == ENOSYS)
            skipped("%s: no such call", argv[1]);
        blocked("%s of /proc: %s", argv[1], ename(errno));
    }
    if (access("/proc/sys", F_OK) == 0)
        blocked("%s made, but /proc/sys is still there", argv[1]);
    printf("note: %s made: /proc/sys is gone\n", argv[1]);
    try_open_at(dir, "openat(the secret's directory)", "secret.txt", O_RDONLY);
    tally_done();
}
