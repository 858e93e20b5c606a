/* btrfs_destroy.c DIR NAME FILE [v1|id SUBVOLID]: remove files the table keeps from being
 * removed, by deleting the btrfs subvolume that holds them (review 59).  BTRFS_IOC_SNAP_DESTROY_V2
 * on DIR (a directory the table lets be written) deletes the subvolume DIR/NAME -- every file
 * in it, FILE among them (a path the table refuses to be written or removed); "v1" uses
 * BTRFS_IOC_SNAP_DESTROY (the name in btrfs_ioctl_vol_args); "id SUBVOLID" names the subvolume
 * by its id alone (BTRFS_SUBVOL_SPEC_BY_ID: no name at all, NAME unused).
 * ESCAPED when the request ran and FILE is gone; BLOCKED with the request's errno otherwise.
 * Root (CAP_SYS_ADMIN) and a btrfs (the test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5 && argc != 6)
        blocked("usage: %s DIR NAME FILE [v1|id SUBVOLID]", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    const char *what;
    int r;
    if (argc == 5 && strcmp(argv[4], "v1") == 0) {
        struct btrfs_ioctl_vol_args args;
        memset(&args, 0, sizeof args);
        snprintf(args.name, sizeof args.name, "%s", argv[2]);
        what = "BTRFS_IOC_SNAP_DESTROY";
        r = ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args);
    } else {
        struct btrfs_ioctl_vol_args_v2 args;
        memset(&args, 0, sizeof args);
        if (argc == 6 && strcmp(argv[4], "id") == 0) {
            args.flags = BTRFS_SUBVOL_SPEC_BY_ID;
            args.subvolid = strtoull(argv[5], NULL, 10);
        } else {
            snprintf(args.name, sizeof args.name, "%s", argv[2]);
        }
        what = "BTRFS_IOC_SNAP_DESTROY_V2";
        r = ioctl(dir, BTRFS_IOC_SNAP_DESTROY_V2, &args);
    }
    if (r < 0)
        blocked("%s %s: %s", what, argv[2], ename(errno));
    struct stat st;
    if (stat(argv[3], &st) < 0 && errno == ENOENT)
        escaped("%s removed %s, a file the table keeps from being removed", what, argv[3]);
    blocked("%s ran, and %s is still there", what, argv[3]);
}
