/* Review 44: a question about a loop device's attach -- LOOP_SET_FD, decided as an open of
 * the descriptor's file for reading and writing (Supervisor._loop_attach) -- was put as a
 * question about the ioctl of /dev/loopN, and the rule its answer remembered named that:
 * ``permit ioctl`` of /dev/loopN, every ioctl of the device, never asked about; the file's
 * read, which was asked about, stayed unanswered: the same attach asked again.
 *
 *   loop_remembered IMAGE
 *
 * opens IMAGE write-only, attaches it to a free loop device (LOOP_CTL_GET_FREE, LOOP_SET_FD)
 * and detaches it (LOOP_CLR_FD, the device closed), twice.  ATTACHED when both attaches
 * ran, else BLOCKED with the failing step's errno.  Root (the loop devices). */
#include "attack.h"
#include <linux/loop.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
    if (argc < 2) blocked("usage: loop_remembered IMAGE");
    int image = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (image < 0) blocked("open %s: %s", argv[1], ename(errno));
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) skipped("/dev/loop-control: %s", ename(errno));
    char device[64];
    for (int round = 1; round <= 2; round++) {  /* (a detach is done at the last close) */
        int number = ioctl(control, LOOP_CTL_GET_FREE);
        if (number < 0) skipped("LOOP_CTL_GET_FREE: %s", ename(errno));
        snprintf(device, sizeof device, "/dev/loop%d", number);
        int dev = open(device, O_RDWR | O_CLOEXEC);
        if (dev < 0) skipped("open %s: %s", device, ename(errno));
        if (ioctl(dev, LOOP_SET_FD, image) < 0)
            blocked("LOOP_SET_FD %s (attach %d): %s", argv[1], round, ename(errno));
        if (ioctl(dev, LOOP_CLR_FD, 0) < 0) blocked("LOOP_CLR_FD: %s", ename(errno));
        close(dev);
    }
    printf("ATTACHED %s twice (the last at %s)\n", argv[1], device);
    return 0;
}
