/* loop_wo.c SECRET: read a file the table only lets the program write, through a loop
 * device (review 28).  The secret is opened O_WRONLY (what the table grants), attached to a
 * free loop device (LOOP_CTL_GET_FREE, LOOP_SET_FD -- which takes a descriptor not open for
 * reading: the device is then read-write, its reads the file's), and the device read: a
 * table that reads /dev/** has the file's contents.  ESCAPED when the secret was read;
 * BLOCKED with the failing step's errno otherwise.  Root (the loop devices).
 */
#include "attack.h"

#include <linux/loop.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc != 2)
        blocked("usage: %s SECRET", argv[0]);
    int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s O_WRONLY: %s", argv[1], ename(errno));
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        skipped("/dev/loop-control: %s", ename(errno));
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0)
        skipped("LOOP_CTL_GET_FREE: %s", ename(errno));
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    int loop = open(dev, O_RDWR | O_CLOEXEC);
    if (loop < 0)
        blocked("open %s: %s", dev, ename(errno));
    if (ioctl(loop, LOOP_SET_FD, fd) < 0) {
        if (errno == EBUSY)
            skipped("LOOP_SET_FD %s: %s", dev, ename(errno));
        blocked("LOOP_SET_FD %s: %s", dev, ename(errno));
    }
    int reader = open(dev, O_RDONLY | O_CLOEXEC);
    int secret = reader >= 0 && is_secret_fd(reader);
    int saved = errno;
    ioctl(loop, LOOP_CLR_FD, 0);
    if (secret)
        escaped("read the secret through %s", dev);
    blocked("read %s: %s", dev, reader < 0 ? ename(saved) : "not the secret");
}
