/* fs_fold.c: read a file by another spelling of its case (red team 86).
 *
 *   fs_fold PATH
 *
 * PATH names the secret on a case-insensitive file system (fs_fuse_fold.c) in a spelling a
 * rule does not name ("MNT/SECD/secret.txt" for a rule on "MNT/secd" and below).  ESCAPED when the
 * open reads SECRET_MAGIC. */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 2)
        usage("fs_fold PATH");
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        blocked("read %s: %s", argv[1], ename(errno));
    buf[n] = 0;
    if (strstr(buf, SECRET_MAGIC))
        escaped("read the secret as %s", argv[1]);
    blocked("read %s: not the secret", argv[1]);
}
