/* btrfs_subvol.c DIR NAME [v1]: make a directory the table refuses to be made, as a btrfs
 * subvolume (close 27).  BTRFS_IOC_SUBVOL_CREATE_V2 (V1 with "v1" as a third argument) on DIR, a
 * directory the table lets be written, makes DIR/NAME -- an empty subvolume, a directory --
 * whose mkdir the table refuses (never fswrite DIR/NAME/**).
 * ESCAPED when DIR/NAME was made; BLOCKED with the request's errno otherwise.
 * Root, or any user who may write DIR, and a btrfs (the test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4)
        blocked("usage: %s DIR NAME [v1]", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    const char *what;
    int r;
    if (argc == 4) {
        struct btrfs_ioctl_vol_args args;
        memset(&args, 0, sizeof args);
        snprintf(args.name, sizeof args.name, "%s", argv[2]);
        what = "BTRFS_IOC_SUBVOL_CREATE";
        r = ioctl(dir, BTRFS_IOC_SUBVOL_CREATE, &args);
    } else {
        struct btrfs_ioctl_vol_args_v2 args;
        memset(&args, 0, sizeof args);
        snprintf(args.name, sizeof args.name, "%s", argv[2]);
        what = "BTRFS_IOC_SUBVOL_CREATE_V2";
        r = ioctl(dir, BTRFS_IOC_SUBVOL_CREATE_V2, &args);
    }
    if (r < 0)
        blocked("%s %s: %s", what, argv[2], ename(errno));
    struct stat st;
    if (fstatat(dir, argv[2], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        escaped("made %s/%s, a directory the table refuses to be made", argv[1], argv[2]);
    blocked("%s ran, and no directory %s is there", what, argv[2]);
}
