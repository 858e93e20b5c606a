/* btrfs_adddev.c MOUNT DEVICE IMAGE [replace]: write a device the table refuses to write,
 * through a btrfs device add (review 30) -- or, with "replace", a device replace of the file
 * system's device 1 by DEVICE (BTRFS_IOC_DEV_REPLACE, its tgtdev_name: the kernel copies
 * the file system onto it).  BTRFS_IOC_ADD_DEV on MOUNT (a btrfs the table lets be read)
 * names DEVICE by its path in the struct, and the kernel opens that path itself and writes
 * a btrfs superblock (and later the file system's data) onto it.  DEVICE is a loop device
 * over IMAGE (attached by the test, outside the tree); ESCAPED when IMAGE holds the btrfs
 * magic afterwards; BLOCKED with the failing step's errno otherwise.  Root (CAP_SYS_ADMIN).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5)
        blocked("usage: %s MOUNT DEVICE IMAGE [replace]", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    if (argc == 5) {
        static struct btrfs_ioctl_dev_replace_args replace;
        replace.cmd = BTRFS_IOCTL_DEV_REPLACE_CMD_START;
        replace.start.srcdevid = 1;
        replace.start.cont_reading_from_srcdev_mode =
            BTRFS_IOCTL_DEV_REPLACE_CONT_READING_FROM_SRCDEV_MODE_ALWAYS;
        snprintf((char *)replace.start.tgtdev_name, sizeof replace.start.tgtdev_name, "%s",
                 argv[2]);
        if (ioctl(dir, BTRFS_IOC_DEV_REPLACE, &replace) < 0)
            blocked("BTRFS_IOC_DEV_REPLACE %s: %s", argv[2], ename(errno));
        if (replace.result != BTRFS_IOCTL_DEV_REPLACE_RESULT_NO_ERROR)
            blocked("BTRFS_IOC_DEV_REPLACE %s: result %llu", argv[2],
                    (unsigned long long)replace.result);
    } else {
        static struct btrfs_ioctl_vol_args args;
        snprintf(args.name, sizeof args.name, "%s", argv[2]);
        if (ioctl(dir, BTRFS_IOC_ADD_DEV, &args) < 0)
            blocked("BTRFS_IOC_ADD_DEV %s: %s", argv[2], ename(errno));
    }
    sync();
    char magic[8];
    int image = open(argv[3], O_RDONLY | O_CLOEXEC);
    if (image < 0)
        blocked("open %s: %s", argv[3], ename(errno));
    if (pread(image, magic, sizeof magic, 65536 + 64) == (ssize_t)sizeof magic &&
        !memcmp(magic, "_BHRfS_M", 8))
        escaped("wrote a btrfs superblock onto %s (%s)", argv[2], argv[3]);
    blocked("%s %s: done, but %s holds no superblock", argc == 5 ? "BTRFS_IOC_DEV_REPLACE"
            : "BTRFS_IOC_ADD_DEV", argv[2], argv[3]);
}
