/* btrfs_snap.c SUBVOL DIR NAME FILE: read a file the table refuses through a btrfs snapshot (red
 * team 83).  SUBVOL, a subvolume holding the secret, is opened (a directory the table lets be
 * read; the secret below it is refused), and BTRFS_IOC_SNAP_CREATE_V2 (V1 with "v1" as a
 * fifth argument) on DIR, a directory the table lets be written, makes DIR/NAME: a copy of
 * every file below SUBVOL, under names no rule mentions.  FILE, the secret's name below SUBVOL,
 * is then opened there (DIR/NAME/FILE).
 * ESCAPED when that copy holds the secret; BLOCKED with the failing step's errno otherwise.
 * The owner of SUBVOL's root (or CAP_SYS_ADMIN) and a btrfs (the test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6)
        blocked("usage: %s SUBVOL DIR NAME FILE [v1]", argv[0]);
    int sub = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    int dir = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[2], ename(errno));
    const char *what;
    int r;
    if (argc == 6) {
        struct btrfs_ioctl_vol_args args;
        memset(&args, 0, sizeof args);
        args.fd = sub;
        snprintf(args.name, sizeof args.name, "%s", argv[3]);
        what = "BTRFS_IOC_SNAP_CREATE";
        r = ioctl(dir, BTRFS_IOC_SNAP_CREATE, &args);
    } else {
        struct btrfs_ioctl_vol_args_v2 args;
        memset(&args, 0, sizeof args);
        args.fd = sub;
        snprintf(args.name, sizeof args.name, "%s", argv[3]);
        what = "BTRFS_IOC_SNAP_CREATE_V2";
        r = ioctl(dir, BTRFS_IOC_SNAP_CREATE_V2, &args);
    }
    if (r < 0)
        blocked("%s %s: %s", what, argv[1], ename(errno));
    char copy[4096];
    snprintf(copy, sizeof copy, "%s/%s/%s", argv[2], argv[3], argv[4]);
    int fd = open(copy, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s: %s", copy, ename(errno));
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0 && memmem(buf, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC)))
        escaped("read the secret through %s's snapshot %s", argv[1], copy);
    blocked("the copy (%zd bytes) holds no secret", n);
}
