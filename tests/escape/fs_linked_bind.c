/* fs_linked_bind.c MODE HOW SECRET WORK: give the secret, by a bind mount in a mount
 * namespace of our own, a name whose rules grant more than its own -- what a link or rename
 * may not do (model.Table._linked_decision) -- and read it there (red team 49).
 *
 * HOW: user   unshare(CLONE_NEWUSER|CLONE_NEWNS) (an unprivileged program's way)
 *      root   unshare(CLONE_NEWNS) (a root program's way)
 * MODE: file  bind SECRET on WORK/out (a file of WORK), read WORK/out
 *       dir   bind SECRET's directory on WORK/outdir, read WORK/outdir/BASENAME(SECRET)
 *       tree  open_tree(SECRET, OPEN_TREE_CLONE), move_mount of it onto WORK/out (the new
 *             mount API: the source a descriptor), read WORK/out
 *       overlay  an overlay on WORK/outdir whose lower layers are SECRET's directory and
 *             WORK/outdir itself (mount(2)), read WORK/outdir/BASENAME(SECRET) (review 27)
 *       fsoverlay  the same overlay made by fsopen, fsconfig ("lowerdir+" each layer),
 *             fsmount and move_mount onto WORK/outdir (review 27)
 *       device  (root; three more arguments: DEVICE FSTYPE INNER) mount DEVICE -- the
 *             block device SECRET's file system is already mounted from -- anew on
 *             WORK/outdir, read WORK/outdir/INNER (SECRET's path in that file system): its
 *             other mounts' files shown there (review 27); DEVICE may be a file system
 *             image in a regular file (erofs backed by a file: review 28)
 *       fsdevice  (root; DEVICE FSTYPE INNER) the same made by fsopen(FSTYPE), fsconfig
 *             ("source" DEVICE), fsmount and move_mount onto WORK/outdir (review 28)
 * ATTACK_MOUNT_DATA, when set: mount(2)'s options in mode device (review 32: erofs fsid=)
 *
 * The table grants nothing of SECRET (no rule names it: its default), lets the program make
 * namespaces and mounts, and reads WORK/**.  ESCAPED when the secret was read through its
 * new name; BLOCKED with the failing step's errno otherwise.
 */
#include "attack.h"

#include <libgen.h>
#include <linux/mount.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
    int device = strcmp(argv[1], "device") == 0 || strcmp(argv[1], "fsdevice") == 0;
    if (argc != 5 && !(argc == 8 && device))
        blocked("usage: %s MODE HOW SECRET WORK [DEVICE FSTYPE INNER]", argv[0]);
    const char *mode = argv[1], *how = argv[2], *secret = argv[3], *work = argv[4];
    uid_t uid = getuid();
    gid_t gid = getgid();
    int user = strcmp(how, "user") == 0;
    if (unshare(CLONE_NEWNS | (user ? CLONE_NEWUSER : 0)) < 0) {
        if (errno == EINVAL || errno == ENOSPC)
            skipped("unshare: %s", ename(errno));
        blocked("unshare: %s", ename(errno));
    }
    if (user) {
        map_own_ids(uid, gid);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        blocked("making mounts private: %s", ename(errno));
    char source[PATH_MAX], name[PATH_MAX], target[PATH_MAX], path[PATH_MAX * 2];
    snprintf(source, sizeof source, "%s", secret);
    snprintf(name, sizeof name, "%s", secret);
    if (strcmp(mode, "file") == 0 || strcmp(mode, "tree") == 0) {
        snprintf(target, sizeof target, "%s/out", work);
        snprintf(path, sizeof path, "%s", target);
    } else if (device) {
        snprintf(target, sizeof target, "%s/outdir", work);
        snprintf(path, sizeof path, "%s/%s", target, argv[7]);
    } else if (strcmp(mode, "dir") == 0 || strcmp(mode, "overlay") == 0
               || strcmp(mode, "fsoverlay") == 0) {
        snprintf(source, sizeof source, "%s", dirname(name));
        snprintf(name, sizeof name, "%s", secret);
        snprintf(target, sizeof target, "%s/outdir", work);
        snprintf(path, sizeof path, "%s/%s", target, basename(name));
    } else {
        blocked("unknown mode %s", mode);
    }
    if (strcmp(mode, "device") == 0) {
        if (mount(argv[5], target, argv[6], 0, getenv("ATTACK_MOUNT_DATA")) < 0)
            blocked("mount %s %s: %s", argv[5], target, ename(errno));
    } else if (strcmp(mode, "fsdevice") == 0) {
        int fsfd = (int)syscall(SYS_fsopen, argv[6], FSOPEN_CLOEXEC);
        if (fsfd < 0) {
            if (errno == ENOSYS || errno == ENODEV)
                skipped("fsopen %s: %s", argv[6], ename(errno));
            blocked("fsopen %s: %s", argv[6], ename(errno));
        }
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", argv[5], 0) < 0)
            blocked("fsconfig source %s: %s", argv[5], ename(errno));
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            blocked("fsconfig create: %s", ename(errno));
        int mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
            blocked("fsmount: %s", ename(errno));
        if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            blocked("move_mount %s %s: %s", argv[5], target, ename(errno));
    } else if (strcmp(mode, "overlay") == 0) {
        char options[PATH_MAX * 3];
        snprintf(options, sizeof options, "lowerdir=%s:%s", source, target);
        if (mount("overlay", target, "overlay", 0, options) < 0) {
            if (errno == ENODEV)
                skipped("overlay: %s", ename(errno));
            blocked("mount overlay %s: %s", target, ename(errno));
        }
    } else if (strcmp(mode, "fsoverlay") == 0) {
        int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0) {
            if (errno == ENOSYS || errno == ENODEV)
                skipped("fsopen overlay: %s", ename(errno));
            blocked("fsopen overlay: %s", ename(errno));
        }
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", source, 0) < 0) {
            if (errno == EINVAL)
                skipped("fsconfig lowerdir+: %s", ename(errno));
            blocked("fsconfig lowerdir+ %s: %s", source, ename(errno));
        }
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", target, 0) < 0)
            blocked("fsconfig lowerdir+ %s: %s", target, ename(errno));
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            blocked("fsconfig create: %s", ename(errno));
        int mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
            blocked("fsmount: %s", ename(errno));
        if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            blocked("move_mount overlay %s: %s", target, ename(errno));
    } else if (strcmp(mode, "tree") == 0) {
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0) {
            if (errno == ENOSYS)
                skipped("open_tree: %s", ename(errno));
            blocked("open_tree %s: %s", source, ename(errno));
        }
        if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            blocked("move_mount %s %s: %s", source, target, ename(errno));
    } else if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
        blocked("mount --bind %s %s: %s", source, target, ename(errno));
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("read the secret through %s", path);
    blocked("%s is not the secret", path);
}
