/* ns_procflags.c: the flags or options of the tracer's own /proc changed (issue 11, red
 * team 22).
 *
 * The tracer opens /proc magic links (/proc/TID/root, cwd, fd/N) for its decisions and
 * refuses a mount on "/" or /proc in its own namespace -- but a remount, mount_setattr
 * and fspick "cover nothing" and passed.  nosymfollow on /proc makes every magic link the
 * tracer opens ELOOP; subset=pid takes /proc/net and /proc/sys from it.  A root program in
 * the tracer's namespace changes /proc so, then opens the secret's directory's files through
 * a descriptor it took before (natively: the secret).
 *
 *   ns_procflags remount SECD      mount(NULL, "/proc", MS_REMOUNT|MS_BIND|MS_NOSYMFOLLOW)
 *   ns_procflags setattr SECD      mount_setattr("/proc", MOUNT_ATTR_NOSYMFOLLOW)
 *   ns_procflags recursive SECD    mount_setattr("/", AT_RECURSIVE, MOUNT_ATTR_NOSYMFOLLOW)
 *                                  -- every mount, /proc among them
 *   ns_procflags fspick SECD       fspick("/proc"), fsconfig subset=pid, CMD_RECONFIGURE
 *                                  (a superblock's options: give it a procfs of its own)
 *   ns_procflags elsewhere SECD WORK   parity: WORK bound on itself, then mount_setattr(WORK,
 *                                  AT_RECURSIVE, nosymfollow) -- not the tracer's /proc
 *
 * then openat(dirfd of SECD, "secret.txt").  Run it in a mount namespace of its own (the
 * test does: unshare -m around systrace).
 */
#include "attack.h"

#include <sys/mount.h>

#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_RECONFIGURE 7
#endif

struct attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int change(const char *how, const char *work) {
    if (strcmp(how, "elsewhere") == 0) {
        struct attr attr = {MOUNT_ATTR_NOSYMFOLLOW, 0, 0, 0};
        if (mount(work, work, NULL, MS_BIND, NULL) != 0)
            return -1;
        return (int)syscall(SYS_mount_setattr, AT_FDCWD, work, AT_RECURSIVE, &attr, sizeof attr);
    }
    if (strcmp(how, "remount") == 0)
        return mount(NULL, "/proc", NULL, MS_REMOUNT | MS_BIND | MS_NOSYMFOLLOW, NULL);
    if (strcmp(how, "setattr") == 0 || strcmp(how, "recursive") == 0) {
        struct attr attr = {MOUNT_ATTR_NOSYMFOLLOW, 0, 0, 0};
        int recursive = strcmp(how, "recursive") == 0;
        return (int)syscall(SYS_mount_setattr, AT_FDCWD, recursive ? "/" : "/proc",
                            recursive ? AT_RECURSIVE : 0, &attr, sizeof attr);
    }
    int fs = (int)syscall(SYS_fspick, AT_FDCWD, "/proc", 0);
    if (fs < 0)
        return -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "subset", "pid", 0) != 0)
        return -1;
    return (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4)
        usage("ns_procflags remount|setattr|recursive|fspick SECD | elsewhere SECD WORK");
    int dir = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dir < 0)
        blocked("open of the secret's directory: %s", ename(errno));
    if (change(argv[1], argc == 4 ? argv[3] : "") != 0) {
        if (errno == ENOSYS)
            skipped("%s: no such call", argv[1]);
        blocked("%s of /proc: %s", argv[1], ename(errno));
    }
    printf("note: %s made\n", argv[1]);
    try_open_at(dir, "openat(the secret's directory)", "secret.txt", O_RDONLY);
    tally_done();
}
